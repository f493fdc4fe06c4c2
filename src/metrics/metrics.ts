// What the rest of Gatehouse reports to the metrics listener. This file imports nothing: a
// process with GATEHOUSE_LISTEN__METRICS=off never loads prom-client, and code that reports
// calls `deps.metrics?.…`, which costs nothing then.

/** What forward auth answered: let through, let through by a skip rule, sent to log in, refused, or no provider for the host. */
export type ForwardAuthOutcome = 'allowed' | 'skipped' | 'unauthenticated' | 'forbidden' | 'unknown_host';
export type ProxyKind = 'nginx' | 'traefik' | 'caddy';
export type LoginOutcome = 'succeeded' | 'failed';
export type JobOutcome = 'succeeded' | 'failed';

export interface Metrics {
  /** One HTTP request, labelled by its route pattern (never the raw URL). */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** A sign-in that a flow completed or refused, at the stage that decided it. */
  login(flow: string, stage: string, outcome: LoginOutcome, reason: string): void;
  /** Forward auth's hot path: slots of typed arrays, nothing more (seconds: time to decide). */
  forwardAuth(proxy: ProxyKind, outcome: ForwardAuthOutcome, seconds: number): void;
  /** A token endpoint answer: a grant issued (error null) or refused with an OAuth error code. */
  oauth2Grant(grantType: string, error: string | null): void;
  /** One LDAP operation in the outpost, by the name of its LDAP result code (success, invalidCredentials, …). */
  ldapRequest(type: string, result: string, seconds: number): void;
  /** One run of a background job. */
  job(task: string, outcome: JobOutcome, seconds: number): void;
}

// Label values that come from outside (a grant_type a client sent, a failure reason) are
// checked against these lists, so no request can mint a new time series.
export const GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'password',
  'implicit',
]);
export const LOGIN_FAILURE_REASONS = new Set(['invalid_credentials', 'locked', 'invalid_mfa']);
