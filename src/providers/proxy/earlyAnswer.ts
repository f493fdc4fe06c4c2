import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { AccessLog } from './accessLog.ts';
import { boundedMemo } from './boundedMemo.ts';
import type { Answer } from './answers.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { decideFromMemory, type ProxyKind, type ProxyQuestion, report } from './authEndpoint.ts';
import type { ForwardAuthState } from './state.ts';
import type { ProxyRequest } from './urls.ts';

/**
 * Answers a request before Fastify sees it, or returns false (then Fastify does, as for any
 * other request). Installed on the HTTP server by buildApp (src/web/httpServer.ts).
 */
export type EarlyAnswer = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Whether the address at hop `i` of X-Forwarded-For is a trusted proxy: Fastify's `trustProxy` function. */
export type TrustProxy = (address: string, hop: number) => boolean;

// The proxies' question paths (routes.ts registers the same ones in Fastify) and methods.
export const QUESTION_PATHS: ReadonlyMap<string, ProxyKind> = new Map<string, ProxyKind>([
  ['/outpost.goauthentik.io', 'nginx'],
  ['/outpost.goauthentik.io/auth/nginx', 'nginx'],
  ['/outpost.goauthentik.io/auth/traefik', 'traefik'],
  ['/outpost.goauthentik.io/auth/caddy', 'caddy'],
]);
export const QUESTION_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const METHODS = new Set(QUESTION_METHODS);

const MAX_MEMO = 10_000;
const MAX_KEY_LENGTH = 200;

/**
 * Fastify's request.ip for a raw request (@fastify/proxy-addr with the same trust), remembered
 * per peer address and X-Forwarded-For value, the only inputs it depends on.
 */
export function clientAddressResolver(trustProxy: TrustProxy): (request: IncomingMessage) => string {
  const known = boundedMemo<string>({ maxKeyLength: MAX_KEY_LENGTH, maxEntries: MAX_MEMO });
  return (request) =>
    // A long X-Forwarded-For (a client can make it so) is worked out, not remembered.
    known.get(`${request.socket.remoteAddress} ${request.headers['x-forwarded-for'] ?? ''}`, () => proxyAddr(request, trustProxy));
}

/** Fastify's request.protocol for a raw request: X-Forwarded-Proto (its last entry) from a trusted peer, else the socket's. */
export function protocolResolver(trustProxy: TrustProxy): (request: IncomingMessage) => string {
  return (request) => {
    // Node joins a repeated X-Forwarded-Proto into one string (only Set-Cookie stays a list).
    const forwarded = request.headers['x-forwarded-proto'] as string | undefined;
    const socket = request.socket as IncomingMessage['socket'] & { encrypted?: boolean };
    if (forwarded && socket.remoteAddress !== undefined && trustProxy(socket.remoteAddress, 0)) {
      const last = forwarded.lastIndexOf(',');
      return last === -1 ? forwarded.trim() : forwarded.slice(last + 1).trim();
    }
    return socket.encrypted ? 'https' : 'http';
  };
}

/** A raw request as the question decideFromMemory reads: one object, cookies parsed on first use. */
class RawQuestion implements ProxyQuestion, ProxyRequest {
  readonly request: ProxyRequest = this;
  readonly headers: IncomingHttpHeaders;
  #cookies: Record<string, string | undefined> | null = null;
  readonly #raw: IncomingMessage;
  readonly #parseCookie: (header: string) => Record<string, string | undefined>;
  readonly #clientIp: (request: IncomingMessage) => string;
  readonly #protocol: (request: IncomingMessage) => string;

  constructor(
    raw: IncomingMessage,
    parseCookie: (header: string) => Record<string, string | undefined>,
    clientIp: (request: IncomingMessage) => string,
    protocol: (request: IncomingMessage) => string,
  ) {
    this.#raw = raw;
    this.headers = raw.headers;
    this.#parseCookie = parseCookie;
    this.#clientIp = clientIp;
    this.#protocol = protocol;
  }

  get protocol(): string {
    return this.#protocol(this.#raw);
  }

  cookie(name: string): string | undefined {
    this.#cookies ??= this.headers.cookie ? this.#parseCookie(this.headers.cookie) : {};
    return this.#cookies[name];
  }

  clientIp(): string {
    return this.#clientIp(this.#raw);
  }
}

/**
 * Forward auth's hot path without Fastify: an authenticated request is a few lookups in memory,
 * and Fastify's own work around it (request and reply objects, a child logger, hooks, routing,
 * header checks one by one) cost more than the answer itself. This answers the proxies' question
 * when `decideFromMemory` can (a known host, and the session and the user's answer held in
 * memory; their lifetimes in state.ts are unchanged, so a revoked session still stops working
 * within a second) and the verdict is 200 (allowed, or a skip path) or Nginx's 401; anything
 * else — a lookup to make, a 302, 403 or 400, an unusual cookie or path — goes to Fastify's route
 * (routes.ts), which decides it the same way. The answer is the route's, header for header
 * (test/providers/proxyEarlyAnswer.test.ts compares them); access is counted the same way; like the
 * route (logLevel warn), it writes no log line.
 */
export function createEarlyAnswer(options: {
  state: ForwardAuthState;
  accessLog: AccessLog;
  /** The cookie parser Fastify's request.cookies come from (@fastify/cookie's). */
  parseCookie: (header: string) => Record<string, string | undefined>;
  trustProxy: TrustProxy;
  /** Early answers never reach Fastify's hooks: they are counted here (absent when metrics are off). */
  metrics?: Metrics;
}): EarlyAnswer {
  const { state, accessLog, parseCookie, trustProxy, metrics } = options;
  const clientIpOf = clientAddressResolver(trustProxy);
  const protocolOf = protocolResolver(trustProxy);
  // Each answer's response headers, built once: [name, value, …] with the request id's slot empty.
  const headerLists = new WeakMap<Answer, string[]>();
  const bare = ['Cache-Control', 'no-store', 'X-Request-Id', '', 'Content-Length', '0'];
  const headersFor = (answer: Answer): string[] => {
    let list = headerLists.get(answer);
    if (!list) {
      list = [...bare.slice(0, 4), ...Object.entries(answer.headers).flat(), 'Content-Length', '0'];
      headerLists.set(answer, list);
    }
    return list;
  };
  const withRequestId = (list: string[]) => {
    const copy = list.slice();
    copy[3] = randomUUID();
    return copy;
  };

  return (request, response) => {
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const kind = QUESTION_PATHS.get(query === -1 ? url : url.slice(0, query));
    if (!kind || !METHODS.has(request.method ?? '')) return false;
    const started = metrics ? performance.now() : 0;
    const verdict = decideFromMemory(state, new RawQuestion(request, parseCookie, clientIpOf, protocolOf));
    if (!verdict) return false;
    switch (verdict.outcome) {
      case 'allowed':
        response.writeHead(200, withRequestId(headersFor(verdict.answer)));
        if (verdict.answer.applicationId) accessLog.record(verdict.answer.userId, verdict.answer.applicationId);
        break;
      case 'skipped':
        response.writeHead(200, withRequestId(bare));
        break;
      case 'unauthenticated':
        if (kind !== 'nginx') return false;
        response.writeHead(401, withRequestId(bare));
        break;
      default:
        return false;
    }
    response.end();
    report(metrics, kind, verdict.outcome, started);
    return true;
  };
}
