import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ForwardAuthOutcome, Metrics, ProxyKind } from '../../metrics/metrics.ts';
import type { AccessLog } from './accessLog.ts';
import { deniedPage, unknownHostPage } from './pages.ts';
import type { ForwardAuthState } from './state.ts';
import { originalUrl, requestHost } from './urls.ts';

export type { ProxyKind };

/** The answer's outcome and how long deciding it took (nothing at all when metrics are off). */
function report(metrics: Metrics | undefined, kind: ProxyKind, outcome: ForwardAuthOutcome, started: number): void {
  metrics?.forwardAuth(kind, outcome, (performance.now() - started) / 1000);
}

/**
 * The question a proxy asks on every request: may this browser through, and as whom?
 * 200 with the X-authentik-* headers; not signed in: 401 for Nginx (its error_page sends the
 * browser to /start), 302 to /start for Traefik and Caddy; signed in but not allowed: 403 and a
 * page saying so; a host no provider answers for: 400 naming it.
 * Costs: the provider and the user's answer from memory, the session from memory or one cache
 * read; no password hash, no database access (access counts are flushed later).
 */
export async function answerProxy(
  kind: ProxyKind,
  state: ForwardAuthState,
  accessLog: AccessLog,
  request: FastifyRequest,
  reply: FastifyReply,
  metrics: Metrics | undefined,
): Promise<FastifyReply> {
  const started = metrics ? performance.now() : 0;
  reply.header('Cache-Control', 'no-store');
  const host = requestHost(request);
  const provider = await state.providerForHost(host);
  if (!provider) {
    report(metrics, kind, 'unknown_host', started);
    return unknownHostPage(reply, host);
  }
  const original = originalUrl(request);

  if (original && provider.skip.length > 0) {
    // Authentik's rule: domain mode matches the whole URL (it spans hosts), single mode the path.
    const subject = provider.mode === 'forward_domain' ? original.href : original.pathname;
    if (provider.skip.some((rule) => rule.test(subject))) {
      report(metrics, kind, 'skipped', started);
      return reply.status(200).send();
    }
  }

  const cookieValue = request.cookies[provider.cookieName];
  const session = cookieValue ? await state.sessionFor(cookieValue) : null;
  const answer = session && session.providerId === provider.provider_id ? await state.answerFor(session.userId, provider, request.ip) : null;
  if (!answer) {
    report(metrics, kind, 'unauthenticated', started);
    if (kind === 'nginx') return reply.status(401).send();
    const back = original?.href ?? `${provider.external_host}/`;
    return reply.redirect(`${provider.external_host}/outpost.goauthentik.io/start?rd=${encodeURIComponent(back)}`, 302);
  }
  if (!answer.allowed) {
    report(metrics, kind, 'forbidden', started);
    return deniedPage(reply, provider.application_name);
  }
  report(metrics, kind, 'allowed', started);
  if (answer.applicationId) accessLog.record(answer.userId, answer.applicationId);
  return reply.status(200).headers(answer.headers).send();
}
