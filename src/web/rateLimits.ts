import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { CoreDeps } from '../core/context.ts';
import { html, page } from './html.ts';
import { securityHeaders } from './securityHeaders.ts';

/**
 * Per-client-address limits on the unauthenticated endpoints where a guesser spends our CPU or
 * probes a secret. Only refusals are counted (a 401 from the OAuth endpoints' client
 * authentication, any 4xx from the browser endpoints), so a busy app server or a NAT full of
 * users signing in is never slowed; an address past its limit gets 429 and Retry-After before any
 * work is done, until its window ends. Counters live in the shared cache, so every replica sees
 * the same count. Logins have their own per-account and per-address throttle (flows/throttle.ts),
 * which LDAP binds go through too.
 */
export interface RateRule {
  group: string;
  limit: number;
  windowSeconds: number;
  isRefusal: (status: number) => boolean;
  format: 'json' | 'html';
}

const is4xx = (status: number) => status >= 400 && status < 500 && status !== 429;

export const RATE_RULES = {
  // Client-secret guessing at the token, introspection, revocation and device endpoints.
  oauthClient: { group: 'oauth-client', limit: 30, windowSeconds: 60, isRefusal: (s) => s === 401, format: 'json' },
  // Forward auth's login hand-offs: forged state, codes and return targets.
  forwardLogin: { group: 'forward-login', limit: 60, windowSeconds: 60, isRefusal: is4xx, format: 'html' },
  // SAML requests: each refused one may have cost a signature check.
  saml: { group: 'saml', limit: 60, windowSeconds: 60, isRefusal: is4xx, format: 'html' },
  // Recovery links: guessing keys.
  recovery: { group: 'recovery', limit: 10, windowSeconds: 60, isRefusal: is4xx, format: 'html' },
} satisfies Record<string, RateRule>;

/** Which rule a route falls under, by its declared URL (not the raw one, so no encoding games). */
export function ruleFor(method: string, routeUrl: string | undefined): RateRule | null {
  if (!routeUrl) return null;
  if (method === 'POST' && /^\/application\/o\/(token|introspect|revoke|device)\/?$/.test(routeUrl)) return RATE_RULES.oauthClient;
  if (/^\/outpost\.goauthentik\.io\/(start|callback|handoff)\/?$/.test(routeUrl)) return RATE_RULES.forwardLogin;
  if (/^\/application\/saml\/:slug\/(sso|slo)\//.test(routeUrl)) return RATE_RULES.saml;
  if (routeUrl.startsWith('/recovery/use-token/')) return RATE_RULES.recovery;
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
  const windowOf = (rule: RateRule) => Math.floor(deps.now().getTime() / 1000 / rule.windowSeconds);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const rule = ruleFor(request.method, request.routeOptions.url);
    if (!rule) return;
    const window = windowOf(rule);
    // A cache outage throws ServiceUnavailable here: fail closed (503), as the endpoint would.
    const count = Number((await deps.cache.get(keyOf(rule, request.ip, window))) ?? 0);
    if (count < rule.limit) return;
    const retryAfter = Math.max(1, (window + 1) * rule.windowSeconds - Math.floor(deps.now().getTime() / 1000));
    request.log.warn({ group: rule.group, ip: request.ip }, 'rate_limited');
    return refuse(reply, rule, retryAfter);
  });

  app.addHook('onResponse', async (request, reply) => {
    const rule = ruleFor(request.method, request.routeOptions.url);
    if (!rule?.isRefusal(reply.statusCode)) return;
    await deps.cache.increment(keyOf(rule, request.ip, windowOf(rule)), rule.windowSeconds).catch((error: unknown) => {
      request.log.warn({ err: error, group: rule.group }, 'rate_limit_count_failed');
    });
  });
}

/** Registered once on the root instance: its hooks see every route. */
export const rateLimits = fp(rateLimitsPlugin, { name: 'gatehouse-rate-limits' });
