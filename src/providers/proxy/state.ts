import type { FastifyBaseLogger as Logger } from 'fastify';
import type { CoreDeps } from '../../core/context.ts';
import { listAllProxyProviders, type ProxyProviderRow, readDirectoryVersion } from '../../store/proxyProviders.ts';
import { type Answer, computeAnswer } from './answers.ts';
import { type ForwardSession, findForwardSession } from './forwardSessions.ts';
import { type ForwardProvider, providerForHost, toForwardProvider } from './urls.ts';

/*
 * What the forward-auth hot path keeps in this process, so an authenticated request costs no
 * password hash, no database access and at most one cache (Redis) read:
 * - the proxy providers, reloaded when the directory version moves;
 * - each user's answer per provider (headers, access), dropped when the directory version moves
 *   (a group change, a deactivation, a policy edit) and after a minute at most;
 * - each session lookup, for 750 ms: a revoked session stops working within a second.
 * The directory version (one tiny row, moved by triggers — migrations/0005) is polled twice a
 * second, off the request path.
 */
export const SESSION_MEMO_MS = 750;
const ANSWER_MEMO_MS = 60_000;
const POLL_MS = 500;
const MAX_ENTRIES = 100_000;

export interface ForwardAuthState {
  providerForHost(host: string): Promise<ForwardProvider | null>;
  providerById(id: number): Promise<ForwardProvider | null>;
  sessionFor(cookieValue: string): Promise<ForwardSession | null>;
  /** Forget a session at once in this process (sign out here). */
  forgetSession(cookieValue: string): void;
  answerFor(userId: number, provider: ProxyProviderRow, clientIp: string): Promise<Answer | null>;
  stop(): void;
}

interface Memo<T> {
  value: T;
  expires: number;
}

function remember<T>(map: Map<string, Memo<T>>, key: string, value: T, ttlMs: number): T {
  if (map.size >= MAX_ENTRIES) map.clear();
  map.set(key, { value, expires: Date.now() + ttlMs });
  return value;
}

export function startForwardAuthState(deps: CoreDeps, logger: Logger, coreUrl: string | null): ForwardAuthState {
  let providers: ForwardProvider[] = [];
  let version: string | null = null;
  let refreshing: Promise<void> | null = null;
  const answers = new Map<string, Memo<Answer | null>>();
  const sessions = new Map<string, Memo<ForwardSession | null>>();

  const reload = async () => {
    const current = await readDirectoryVersion(deps.db);
    if (current === version) return;
    providers = (await listAllProxyProviders(deps.db)).map(toForwardProvider);
    answers.clear();
    version = current;
  };
  // One reload at a time: the poller and a request that missed share it.
  const refresh = () => {
    refreshing ??= reload().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };
  const timer = setInterval(() => {
    refresh().catch((error) => logger.warn({ err: error }, 'forward_auth_refresh_failed'));
  }, POLL_MS);
  timer.unref();

  const ensureLoaded = async () => {
    if (version === null) await refresh();
  };

  return {
    async providerForHost(host) {
      await ensureLoaded();
      const found = providerForHost(providers, host);
      if (found) return found;
      // A provider made a moment ago may not be here yet: look once more before saying no.
      await refresh();
      return providerForHost(providers, host);
    },
    async providerById(id) {
      await ensureLoaded();
      const found = providers.find((p) => p.provider_id === id);
      if (found) return found;
      await refresh();
      return providers.find((p) => p.provider_id === id) ?? null;
    },
    async sessionFor(cookieValue) {
      const memo = sessions.get(cookieValue);
      if (memo && memo.expires > Date.now()) return memo.value;
      return remember(sessions, cookieValue, await findForwardSession(deps, cookieValue), SESSION_MEMO_MS);
    },
    forgetSession(cookieValue) {
      sessions.delete(cookieValue);
    },
    async answerFor(userId, provider, clientIp) {
      const key = `${userId}|${provider.provider_id}|${clientIp}`;
      const memo = answers.get(key);
      if (memo && memo.expires > Date.now()) return memo.value;
      const seenVersion = version;
      const answer = await computeAnswer(deps, userId, provider, clientIp, coreUrl);
      // Computed across a change: use it for this request, but do not keep it.
      if (seenVersion !== version) return answer;
      return remember(answers, key, answer, ANSWER_MEMO_MS);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
