import type { FastifyBaseLogger as Logger } from 'fastify';
import type { CoreDeps } from '../../core/context.ts';
import { watchedDirectoryVersion } from '../../store/directoryVersion.ts';
import { listAllProxyProviders, type ProxyProviderRow, readDirectoryVersion } from '../../store/proxyProviders.ts';
import { type Answer, computeAnswer } from './answers.ts';
import { type ForwardSession, findForwardSession, isWellFormedCookie } from './forwardSessions.ts';
import { boundedMemo } from './boundedMemo.ts';
import { type ForwardProvider, providerForHost, toForwardProvider } from './urls.ts';

/*
 * What the forward-auth hot path keeps in this process, so an authenticated request costs no
 * password hash, no database access and at most one cache (Redis) read:
 * - the proxy providers, reloaded when the directory version moves;
 * - each user's answer per provider (headers, access), dropped when the directory version moves
 *   (a group change, a deactivation, a policy edit) and after a minute at most;
 * - each session lookup, for 750 ms counted from when the cache read started (concurrent requests
 *   share one read): a revoked session stops working within a second.
 * The directory version (one tiny row, moved by triggers — migrations/0005) is polled twice a
 * second, off the request path. The `…Now` readers answer from memory only (undefined: not known
 * there), for the answer given before Fastify's routing (earlyAnswer.ts).
 */
export const SESSION_MEMO_MS = 750;
const ANSWER_MEMO_MS = 60_000;
const POLL_MS = 500;
const MAX_ENTRIES = 100_000;
// Hosts come from the request: only names a DNS host (with a port) can have are remembered, and
// fewer of them, so odd or huge Host headers cannot fill memory.
const MAX_HOST_LENGTH = 260;
const MAX_HOSTS = 10_000;

export interface ForwardAuthState {
  providerForHost(host: string): Promise<ForwardProvider | null>;
  providerById(id: number): Promise<ForwardProvider | null>;
  sessionFor(cookieValue: string): Promise<ForwardSession | null>;
  /** Forget a session at once in this process (sign out here). */
  forgetSession(cookieValue: string): void;
  answerFor(userId: number, provider: ProxyProviderRow, clientIp: string): Promise<Answer | null>;
  /** The provider for a host from what is loaded; undefined when none is (a reload may find one). */
  providerForHostNow(host: string): ForwardProvider | undefined;
  /** A fresh session lookup from memory; undefined when there is none. */
  sessionNow(cookieValue: string): ForwardSession | null | undefined;
  /** A user's answer from memory; undefined when there is none. */
  answerNow(userId: number, provider: ProxyProviderRow, clientIp: string): Answer | null | undefined;
  stop(): void;
}

interface Memo<T> {
  value: T;
  expires: number;
}

function remember<T>(map: Map<string, Memo<T>>, key: string, value: T, expires: number): T {
  if (map.size >= MAX_ENTRIES) map.clear();
  map.set(key, { value, expires });
  return value;
}

function fresh<T>(map: Map<string, Memo<T>>, key: string): T | undefined {
  const memo = map.get(key);
  return memo && memo.expires > Date.now() ? memo.value : undefined;
}

const answerKey = (userId: number, provider: ProxyProviderRow, clientIp: string) => `${userId}|${provider.provider_id}|${clientIp}`;

export function startForwardAuthState(deps: CoreDeps, logger: Logger, coreUrl: string | null): ForwardAuthState {
  let providers: ForwardProvider[] = [];
  let version: string | null = null;
  let refreshing: Promise<void> | null = null;
  const answers = new Map<string, Memo<Answer | null>>();
  const sessions = new Map<string, Memo<ForwardSession | null>>();
  const sessionReads = new Map<string, Promise<ForwardSession | null>>();
  // Hosts seen, with the provider answering for them (null: none): matching costs a regex or two.
  const hosts = boundedMemo<ForwardProvider | null>({ maxKeyLength: MAX_HOST_LENGTH, maxEntries: MAX_HOSTS });

  // The periodic check takes the announced version (no read while LISTEN is up); a miss reads it.
  const reload = async (isPeriodic: boolean) => {
    const current = isPeriodic ? await watchedDirectoryVersion(deps.db) : await readDirectoryVersion(deps.db);
    if (current === version) return;
    providers = (await listAllProxyProviders(deps.db)).map(toForwardProvider);
    answers.clear();
    hosts.clear();
    version = current;
  };
  const matchHost = (host: string) => hosts.get(host, () => providerForHost(providers, host));
  // One reload at a time: the poller and a request that missed share it.
  const refresh = (isPeriodic = false) => {
    refreshing ??= reload(isPeriodic).finally(() => {
      refreshing = null;
    });
    return refreshing;
  };
  // A miss must see what was committed before it: a reload already under way may have read the
  // version earlier, so wait for it and read again (concurrent misses still share one reload).
  const refreshAfterNow = async () => {
    await refreshing?.catch(() => undefined);
    await refresh();
  };
  const timer = setInterval(() => {
    refresh(true).catch((error) => logger.warn({ err: error }, 'forward_auth_refresh_failed'));
  }, POLL_MS);
  timer.unref();

  const ensureLoaded = async () => {
    if (version === null) await refresh();
  };

  return {
    async providerForHost(host) {
      await ensureLoaded();
      const found = matchHost(host);
      if (found) return found;
      // A provider made a moment ago may not be here yet: look once more before saying no.
      await refreshAfterNow();
      return matchHost(host);
    },
    providerForHostNow(host) {
      return version === null ? undefined : (matchHost(host) ?? undefined);
    },
    async providerById(id) {
      await ensureLoaded();
      const found = providers.find((p) => p.provider_id === id);
      if (found) return found;
      await refreshAfterNow();
      return providers.find((p) => p.provider_id === id) ?? null;
    },
    async sessionFor(cookieValue) {
      // Not a value Gatehouse issues: no session, nothing looked up or remembered.
      if (!isWellFormedCookie(cookieValue)) return null;
      const known = fresh(sessions, cookieValue);
      if (known !== undefined) return known;
      const pending = sessionReads.get(cookieValue);
      if (pending) return pending;
      // The memo counts from the start of the read: nothing older than SESSION_MEMO_MS is used.
      const started = Date.now();
      const isCurrent = () => sessionReads.get(cookieValue) === read;
      const read: Promise<ForwardSession | null> = findForwardSession(deps, cookieValue).then(
        (session) => {
          // Forgotten while the read was under way (signed out here): answer it, keep nothing.
          if (!isCurrent()) return session;
          sessionReads.delete(cookieValue);
          return remember(sessions, cookieValue, session, started + SESSION_MEMO_MS);
        },
        (error: unknown) => {
          if (isCurrent()) sessionReads.delete(cookieValue);
          throw error;
        },
      );
      sessionReads.set(cookieValue, read);
      return read;
    },
    sessionNow(cookieValue) {
      return isWellFormedCookie(cookieValue) ? fresh(sessions, cookieValue) : null;
    },
    forgetSession(cookieValue) {
      sessions.delete(cookieValue);
      sessionReads.delete(cookieValue);
    },
    async answerFor(userId, provider, clientIp) {
      const key = answerKey(userId, provider, clientIp);
      const known = fresh(answers, key);
      if (known !== undefined) return known;
      const seenVersion = version;
      const answer = await computeAnswer(deps, userId, provider, clientIp, coreUrl);
      // Computed across a change: use it for this request, but do not keep it.
      if (seenVersion !== version) return answer;
      return remember(answers, key, answer, Date.now() + ANSWER_MEMO_MS);
    },
    answerNow(userId, provider, clientIp) {
      return fresh(answers, answerKey(userId, provider, clientIp));
    },
    stop() {
      clearInterval(timer);
    },
  };
}
