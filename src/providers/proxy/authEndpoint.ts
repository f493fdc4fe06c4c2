import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ForwardAuthOutcome, Metrics, ProxyKind } from '../../metrics/metrics.ts';
import type { AccessLog } from './accessLog.ts';
import type { Answer } from './answers.ts';
import { deniedPage, unknownHostPage } from './pages.ts';
import type { ForwardAuthState } from './state.ts';
import { type ForwardProvider, originalUrl, type ProxyRequest, requestHost } from './urls.ts';

export type { ProxyKind };

/** The answer's outcome and how long deciding it took (nothing at all when metrics are off). */
export function report(metrics: Metrics | undefined, kind: ProxyKind, outcome: ForwardAuthOutcome, started: number): void {
  metrics?.forwardAuth(kind, outcome, (performance.now() - started) / 1000);
}

/** What the answer to one proxy question is, before it is written in either transport. */
export type Verdict =
  | { outcome: 'unknown_host'; host: string }
  | { outcome: 'skipped' }
  | { outcome: 'unauthenticated'; provider: ForwardProvider; request: ProxyRequest }
  | { outcome: 'forbidden'; provider: ForwardProvider }
  | { outcome: 'allowed'; answer: Answer };

/** The question as the proxy asked it: its request, the cookie it carries by name, the client's address. */
export interface ProxyQuestion {
  request: ProxyRequest;
  cookie(name: string): string | undefined;
  /** The client's address, as Fastify's `request.ip` (X-Forwarded-For from trusted proxies only). */
  clientIp(): string;
}

/** A skip-path rule lets the original URL through without a login (Authentik's skip_path_regex). */
function isSkipped(provider: ForwardProvider, request: ProxyRequest): boolean {
  if (provider.skip.length === 0) return false;
  const original = originalUrl(request);
  if (!original) return false;
  // Authentik's rule: domain mode matches the whole URL (it spans hosts), single mode the path.
  const subject = provider.mode === 'forward_domain' ? original.href : original.pathname;
  return provider.skip.some((rule) => rule.test(subject));
}

const verdictOfAnswer = (provider: ForwardProvider, request: ProxyRequest, answer: Answer | null): Verdict =>
  !answer ? { outcome: 'unauthenticated', provider, request } : answer.allowed ? { outcome: 'allowed', answer } : { outcome: 'forbidden', provider };

/**
 * The question a proxy asks on every request: may this browser through, and as whom?
 * Costs: the provider and the user's answer from memory, the session from memory or one cache
 * read; no password hash, no database access (access counts are flushed later).
 */
export async function decide(state: ForwardAuthState, question: ProxyQuestion): Promise<Verdict> {
  const host = requestHost(question.request);
  const provider = await state.providerForHost(host);
  if (!provider) return { outcome: 'unknown_host', host };
  if (isSkipped(provider, question.request)) return { outcome: 'skipped' };
  const cookieValue = question.cookie(provider.cookieName);
  const session = cookieValue ? await state.sessionFor(cookieValue) : null;
  const answer = session && session.providerId === provider.provider_id ? await state.answerFor(session.userId, provider, question.clientIp()) : null;
  return verdictOfAnswer(provider, question.request, answer);
}

/**
 * The same decision from what this process holds in memory, without waiting on anything; null
 * when a step would need a lookup (then `decide` answers). Every verdict it gives is the one
 * `decide` gives at the same moment: the same steps, reading the same memos.
 */
export function decideFromMemory(state: ForwardAuthState, question: ProxyQuestion): Verdict | null {
  const provider = state.providerForHostNow(requestHost(question.request));
  if (!provider) return null;
  if (isSkipped(provider, question.request)) return { outcome: 'skipped' };
  const cookieValue = question.cookie(provider.cookieName);
  const session = cookieValue ? state.sessionNow(cookieValue) : null;
  if (session === undefined) return null;
  if (!session || session.providerId !== provider.provider_id) return verdictOfAnswer(provider, question.request, null);
  const answer = state.answerNow(session.userId, provider, question.clientIp());
  return answer === undefined ? null : verdictOfAnswer(provider, question.request, answer);
}

/** Where a Traefik or Caddy browser goes to sign in: /start with the URL it asked for. */
export const signInUrl = (provider: ForwardProvider, request: ProxyRequest): string =>
  `${provider.external_host}/outpost.goauthentik.io/start?rd=${encodeURIComponent(originalUrl(request)?.href ?? `${provider.external_host}/`)}`;

/**
 * The answer in Fastify: 200 with the X-authentik-* headers; not signed in: 401 for Nginx (its
 * error_page sends the browser to /start), 302 to /start for Traefik and Caddy; signed in but not
 * allowed: 403 and a page saying so; a host no provider answers for: 400 naming it.
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
  const question: ProxyQuestion = { request, cookie: (name) => request.cookies[name], clientIp: () => request.ip };
  const verdict = decideFromMemory(state, question) ?? (await decide(state, question));
  report(metrics, kind, verdict.outcome, started);
  switch (verdict.outcome) {
    case 'unknown_host':
      return unknownHostPage(reply, verdict.host);
    case 'skipped':
      return reply.status(200).send();
    case 'unauthenticated':
      if (kind === 'nginx') return reply.status(401).send();
      return reply.redirect(signInUrl(verdict.provider, verdict.request), 302);
    case 'forbidden':
      return deniedPage(reply, verdict.provider.application_name);
    case 'allowed':
      if (verdict.answer.applicationId) accessLog.record(verdict.answer.userId, verdict.answer.applicationId);
      return reply.status(200).headers(verdict.answer.headers).send();
  }
}
