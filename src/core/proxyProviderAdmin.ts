import { NotFound, ValidationError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { findFlowById } from '../store/flows.ts';
import * as providerStore from '../store/providers.ts';
import * as proxyStore from '../store/proxyProviders.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, translatingConflicts } from './modelWrites.ts';

// Admin writes of proxy (forward auth) providers, each with its audit event in one transaction.
// Shapes (URLs, domains, regexes) are checked at the edge; what depends on the whole provider
// (mode against cookie domain, host uniqueness) and references are checked here.

export type ProxyProviderRow = proxyStore.ProxyProviderRow;

export interface ProxyProviderInput {
  name: string;
  authorization_flow: string;
  invalidation_flow?: string | null;
  mode?: proxyStore.ProxyMode;
  external_host: string;
  internal_host?: string;
  cookie_domain?: string;
  access_token_validity?: string;
  skip_path_regex?: string;
}

const providerRef = (p: ProxyProviderRow) => ({ model_name: 'proxy_provider' as const, pk: p.provider_id, name: p.provider_name });
const duplicate = () => ValidationError.field('name', 'provider with this name already exists.');

/** Whether `host` is `domain` or one of its subdomains (the browser's cookie domain-match). */
export function isWithinDomain(host: string, domain: string): boolean {
  const h = host.toLowerCase();
  const d = domain.toLowerCase().replace(/^\./, '');
  return h === d || h.endsWith(`.${d}`);
}

async function check(tx: Queryable, v: proxyStore.ProxyProviderValues, selfId: number | null): Promise<void> {
  if (!(await findFlowById(tx, v.authorization_flow_id))) {
    throw ValidationError.field('authorization_flow', `Invalid pk "${v.authorization_flow_id}" - object does not exist.`);
  }
  if (v.invalidation_flow_id !== null && !(await findFlowById(tx, v.invalidation_flow_id))) {
    throw ValidationError.field('invalidation_flow', `Invalid pk "${v.invalidation_flow_id}" - object does not exist.`);
  }
  const sameName = await providerStore.findProviderIdByName(tx, v.provider_name);
  if (sameName !== null && sameName !== selfId) throw duplicate();
  const externalHostname = new URL(v.external_host).hostname;
  if (v.mode === 'forward_domain') {
    if (v.cookie_domain === '') throw ValidationError.field('cookie_domain', 'Forward auth (domain level) needs a cookie domain, e.g. "example.com".');
    // The login happens on the external host, which sets the cookie: browsers accept it only
    // for a domain that contains that host.
    if (!isWithinDomain(externalHostname, v.cookie_domain)) {
      throw ValidationError.field('cookie_domain', `The external host "${externalHostname}" is not within "${v.cookie_domain}".`);
    }
  }
  // Two single-application providers on one host would make the host ambiguous.
  const others = (await proxyStore.listAllProxyProviders(tx)).filter((p) => p.provider_id !== selfId);
  if (v.mode === 'forward_single' && others.some((p) => p.mode === 'forward_single' && p.external_host === v.external_host)) {
    throw ValidationError.field('external_host', `Another forward auth provider already uses ${v.external_host}.`);
  }
  if (v.mode === 'forward_domain' && others.some((p) => p.mode === 'forward_domain' && p.cookie_domain === v.cookie_domain)) {
    throw ValidationError.field('cookie_domain', `Another domain-level provider already uses the cookie domain "${v.cookie_domain}".`);
  }
}

function valuesOf(input: Partial<ProxyProviderInput>, current: proxyStore.ProxyProviderValues): proxyStore.ProxyProviderValues {
  const mode = input.mode ?? current.mode;
  return {
    provider_name: input.name ?? current.provider_name,
    authorization_flow_id: input.authorization_flow ?? current.authorization_flow_id,
    invalidation_flow_id: input.invalidation_flow === undefined ? current.invalidation_flow_id : input.invalidation_flow,
    mode,
    external_host: (input.external_host ?? current.external_host).replace(/\/+$/, ''),
    internal_host: input.internal_host ?? current.internal_host,
    // A single-application provider's cookie is the app host's own: a domain would only widen it.
    cookie_domain: mode === 'forward_single' ? '' : (input.cookie_domain ?? current.cookie_domain).toLowerCase().replace(/^\./, ''),
    access_token_validity: input.access_token_validity ?? current.access_token_validity,
    skip_path_regex: input.skip_path_regex ?? current.skip_path_regex,
  };
}

const DEFAULTS = {
  invalidation_flow_id: null,
  mode: 'forward_single' as const,
  internal_host: '',
  cookie_domain: '',
  access_token_validity: 'hours=24',
  skip_path_regex: '',
};

export function createProxyProvider(deps: CoreDeps, ctx: RequestContext, input: ProxyProviderInput): Promise<ProxyProviderRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const start = { ...DEFAULTS, provider_name: input.name, authorization_flow_id: input.authorization_flow, external_host: input.external_host };
        const values = valuesOf(input, start);
        await check(tx, values, null);
        const id = await proxyStore.insertProxyProvider(tx, values);
        const provider = (await proxyStore.findProxyProviderById(tx, id)) as ProxyProviderRow;
        await recordEvent(tx, deps, ctx, 'model_created', { model: providerRef(provider) });
        return provider;
      }),
    duplicate,
  );
}

async function findProvider(tx: Queryable, id: number): Promise<ProxyProviderRow> {
  const provider = await proxyStore.findProxyProviderById(tx, id);
  if (!provider) throw new NotFound();
  return provider;
}

/** PUT and PATCH both merge into the stored provider (fields not sent keep their value, as in DRF). */
export function updateProxyProvider(deps: CoreDeps, ctx: RequestContext, id: number, changes: Partial<ProxyProviderInput>): Promise<ProxyProviderRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const values = valuesOf(changes, await findProvider(tx, id));
        await check(tx, values, id);
        await proxyStore.replaceProxyProvider(tx, id, values);
        const provider = await findProvider(tx, id);
        await recordEvent(tx, deps, ctx, 'model_updated', { model: providerRef(provider), context: { changed: changedFields({ ...changes }) } });
        return provider;
      }),
    duplicate,
  );
}

/** Its application stays, without a provider (as in Authentik); its forward-auth sessions stop working at once. */
export function deleteProxyProvider(deps: CoreDeps, ctx: RequestContext, id: number): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const provider = await findProvider(tx, id);
    await providerStore.deleteProvider(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: providerRef(provider), context: { application: provider.application_slug } });
  });
}
