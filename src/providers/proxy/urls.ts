import type { IncomingHttpHeaders } from 'node:http';
import { isWithinDomain } from '../../core/proxyProviderAdmin.ts';
import type { ProxyProviderRow } from '../../store/proxyProviders.ts';
import { forwardCookieName } from './forwardSessions.ts';

// What a proxy tells us about the request it is asking about, and where a browser may be sent.

const first = (value: string | string[] | undefined): string | undefined => {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const comma = text.indexOf(',');
  return (comma === -1 ? text : text.slice(0, comma)).trim();
};

/** What the answer reads of the proxy's request: Fastify's request, or the raw one before routing (earlyAnswer.ts). */
export interface ProxyRequest {
  headers: IncomingHttpHeaders;
  /** http or https, as Fastify's `request.protocol` (X-Forwarded-Proto from a trusted proxy). */
  readonly protocol: string;
}

/** The host the browser asked for: X-Forwarded-Host (Traefik, Caddy), else Host — lower case, port kept. */
export function requestHost(request: Pick<ProxyRequest, 'headers'>): string {
  return (first(request.headers['x-forwarded-host']) || first(request.headers.host) || '').toLowerCase();
}

const hostnameOf = (host: string): string => host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');

/**
 * The URL the browser asked the proxy for: X-Original-URL (Nginx, as the seed guide sets it),
 * X-Original-URI with the host (Nginx, Authentik's own snippet), or X-Forwarded-Proto/Host/Uri
 * (Traefik, Caddy). Null when the proxy sent nothing usable.
 */
export function originalUrl(request: ProxyRequest): URL | null {
  const headers = request.headers;
  const full = first(headers['x-original-url']);
  if (full && URL.canParse(full)) return new URL(full);
  const proto = first(headers['x-forwarded-proto']) || (request.protocol === 'https' ? 'https' : 'http');
  const path = first(headers['x-original-uri']) ?? first(headers['x-forwarded-uri']);
  const host = requestHost(request);
  if (!host || path === undefined || !/^https?$/.test(proto)) return null;
  const candidate = `${proto}://${host}${path.startsWith('/') ? path : `/${path}`}`;
  return URL.canParse(candidate) ? new URL(candidate) : null;
}

/**
 * A provider with what every request needs derived once, when the providers are (re)loaded: no
 * URL parsing, hashing or regex compiling per request on the hot path.
 */
export interface ForwardProvider extends ProxyProviderRow {
  /** The external host's `host` (with port) and `hostname`. */
  externalHost: string;
  externalHostname: string;
  cookieName: string;
  skip: RegExp[];
}

export const toForwardProvider = (row: ProxyProviderRow): ForwardProvider => {
  const external = new URL(row.external_host);
  return { ...row, externalHost: external.host, externalHostname: external.hostname, cookieName: forwardCookieName(row.provider_id), skip: skipRules(row) };
};

/**
 * The provider answering for a host: an exact external-host match first (host with port, then
 * host alone), then the domain-level provider with the longest cookie domain containing it.
 */
export function providerForHost(providers: readonly ForwardProvider[], host: string): ForwardProvider | null {
  const hostname = hostnameOf(host);
  const exact = providers.find((p) => p.externalHost === host) ?? providers.find((p) => p.externalHostname === hostname);
  if (exact) return exact;
  let best: ForwardProvider | null = null;
  for (const p of providers) {
    if (p.mode !== 'forward_domain' || !isWithinDomain(hostname, p.cookie_domain)) continue;
    if (!best || p.cookie_domain.length > best.cookie_domain.length) best = p;
  }
  return best;
}

/**
 * Where the browser may return after the login: an absolute http(s) URL on the provider's own
 * host (single mode) or within its cookie domain (domain mode); never userinfo, backslashes or
 * control characters; never from https down to http. Anything else: null (never an open redirect).
 */
export function allowedReturn(provider: ProxyProviderRow, candidate: unknown): URL | null {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 4000) return null;
  if ([...candidate].some((c) => c.charCodeAt(0) < 0x21 || c.charCodeAt(0) === 0x7f) || candidate.includes('\\')) return null;
  if (!/^https?:\/\/[^/]/i.test(candidate) || !URL.canParse(candidate)) return null;
  const url = new URL(candidate);
  if (url.username !== '' || url.password !== '') return null;
  const external = new URL(provider.external_host);
  if (external.protocol === 'https:' && url.protocol !== 'https:') return null;
  const allowed = provider.mode === 'forward_domain' ? isWithinDomain(url.hostname, provider.cookie_domain) : url.hostname === external.hostname;
  return allowed ? url : null;
}

/** The provider's compiled skip-path rules (one regex per line), checked against the original path. */
function skipRules(provider: ProxyProviderRow): RegExp[] {
  return provider.skip_path_regex
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [new RegExp(line)];
      } catch {
        return [];
      }
    });
}
