import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the request in progress knows that oidc-provider cannot: the Gatehouse user signed in on
 * this browser (the login prompt re-runs when it differs from oidc-provider's own session) and
 * how the client authenticates at the token endpoint (Authentik accepts basic and post alike,
 * oidc-provider wants one method per client, so the client metadata follows the request).
 */
export interface RequestScope {
  gatehouseUserId: number | null;
  clientAuthMethod: 'client_secret_basic' | 'client_secret_post';
}

export const requestScope = new AsyncLocalStorage<RequestScope>();
