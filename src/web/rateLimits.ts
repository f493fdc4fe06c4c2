import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RateLimits } from '../config/schema.ts';
import { type CoreDeps, rateLimitsOf } from '../core/context.ts';
import { html, page } from './html.ts';
import { securityHeaders } from './securityHeaders.ts';

/**
 * Per-client-address limits on the unauthenticated endpoints where a guesser spends our CPU or
 * probes a secret. Only refusals are counted (a 401 from the OAuth endpoints' client
 * authentication, any 4xx from the browser endpoints), so a busy app server or a NAT full of
 * users signing in is never slowed; an address past its limit gets 429 and Retry-After before any
 * work is done, until its window ends. Counters live in the shared cache, so every replica sees
 * the same count. The numbers are GATEHOUSE_RATE_LIMITS__<RULE>__LIMIT / __WINDOW_SECONDS, read
 * from the dependencies at each request. Logins have their own per-account and per-address
 * throttle (flows/throttle.ts), which LDAP binds go through too.
 */
export interface RateRule {
  group: string;
  setting: Exclude<keyof RateLimits, 'login' | 'email' | 'enrollment'>;
  isRefusal: (status: number) => boolean;
  format: 'json' | 'html';
}

const is4xx = (status: number) => status >= 400 && status < 500 && status !== 429;

export const RATE_RULES = {
  // Client-secret guessing at the token, introspection, revocation and device endpoints.
  oauthClient: { group: 'oauth-client', setting: 'oauth_client', isRefusal: (s) => s === 401, format: 'json' },
  // Forward auth's login hand-offs: forged state, codes and return targets.
  forwardLogin: { group: 'forward-login', setting: 'forward_login', isRefusal: is4xx, format: 'html' },
  // SAML requests: each refused one may have cost a signature check.
  saml: { group: 'saml', setting: 'saml', isRefusal: is4xx, format: 'html' },
  // Recovery links: guessing keys.
  recovery: { group: 'recovery', setting: 'recovery', isRefusal: is4xx, format: 'html' },
  // Device-flow user codes typed at an app's verification page (a wrong one answers 400).
  deviceCode: { group: 'device-code', setting: 'device_code', isRefusal: is4xx, format: 'html' },
} satisfies Record<string, RateRule>;

/**
 * Which rule a request falls under, by its declared route URL and parameters (not the raw URL,
 * so no encoding games: the handler dispatches on the same decoded parameters).
 */
export function ruleFor(method: string, routeUrl: string | undefined, params: unknown = {}): RateRule | null {
  if (!routeUrl) return null;
  if (method === 'POST' && /^\/application\/o\/(token|introspect|revoke|device)\/?$/.test(routeUrl)) return RATE_RULES.oauthClient;
  if (/^\/outpost\.goauthentik\.io\/(start|callback|handoff)\/?$/.test(routeUrl)) return RATE_RULES.forwardLogin;
  if (/^\/application\/saml\/:slug\/(sso|slo)\//.test(routeUrl)) return RATE_RULES.saml;
  if (routeUrl.startsWith('/recovery/use-token/')) return RATE_RULES.recovery;
  if (method === 'POST' && routeUrl === '/application/o/:slug/*' && /^device(\/|$)/.test(String((params as { '*'?: unknown })['*'] ?? ''))) {
    return RATE_RULES.deviceCode;
  }
  return null;
}

const keyOf = (rule: RateRule, ip: string, window: number) => `ratelimit:${rule.group}:${ip}:${window}`;

function refuse(reply: FastifyReply, rule: RateRule, retryAfter: number) {
  reply.status(429).header('Retry-After', String(retryAfter));
  if (rule.format === 'json') return reply.send({ error: 'rate_limited', error_description: 'Too many refused requests from this address; try again later.' });
  return securityHeaders(reply)
    .type('text/html; charset=utf-8')
    .send(page('Too many attempts', html`<main class="error"><h1>Too many attempts</h1><p>Too many refused requests came from your address. Try again in ${retryAfter} seconds.</p></main>`));
}

async function rateLimitsPlugin(app: FastifyInstance, { deps }: { deps: CoreDeps }) {
  const limitOf = (rule: RateRule) => rateLimitsOf(deps)[rule.setting];
  const windowOf = (rule: RateRule) => Math.floor(deps.now().getTime() / 1000 / limitOf(rule).window_seconds);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const rule = ruleFor(request.method, request.routeOptions.url, request.params);
    if (!rule) return;
    const { limit, window_seconds: windowSeconds } = limitOf(rule);
    const window = windowOf(rule);
    // A cache outage throws ServiceUnavailable here: fail closed (503), as the endpoint would.
    const count = Number((await deps.cache.get(keyOf(rule, request.ip, window))) ?? 0);
    if (count < limit) return;
    const retryAfter = Math.max(1, (window + 1) * windowSeconds - Math.floor(deps.now().getTime() / 1000));
    request.log.warn({ group: rule.group, ip: request.ip }, 'rate_limited');
    return refuse(reply, rule, retryAfter);
  });

  app.addHook('onResponse', async (request, reply) => {
    const rule = ruleFor(request.method, request.routeOptions.url, request.params);
    if (!rule?.isRefusal(reply.statusCode)) return;
    await deps.cache.increment(keyOf(rule, request.ip, windowOf(rule)), limitOf(rule).window_seconds).catch((error: unknown) => {
      request.log.warn({ err: error, group: rule.group }, 'rate_limit_count_failed');
    });
  });
}

/** Registered once on the root instance: its hooks see every route. */
export const rateLimits = fp(rateLimitsPlugin, { name: 'gatehouse-rate-limits' });
