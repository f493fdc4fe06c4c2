import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CoreDeps } from '../../core/context.ts';
import { startAccessLog } from './accessLog.ts';
import type { EarlyAnswerSlot } from '../../web/httpServer.ts';
import { answerProxy, type ProxyKind } from './authEndpoint.ts';
import { createEarlyAnswer, QUESTION_METHODS, QUESTION_PATHS, type TrustProxy } from './earlyAnswer.ts';
import { callback, handoff, start } from './login.ts';
import { unknownHostPage } from './pages.ts';
import { signOut } from './signOut.ts';
import { startForwardAuthState } from './state.ts';
import { requestHost } from './urls.ts';

export interface ProxyRouteOptions {
  deps: CoreDeps;
  /** Gatehouse's own address (GATEHOUSE_EXTERNAL_URL): where single-mode logins are sent. */
  externalUrl?: string;
  /** Where the proxies' questions get answered before Fastify's routing when memory allows (earlyAnswer.ts). */
  earlyAnswer?: EarlyAnswerSlot;
  /** The trust Fastify's request.ip uses, for the early answer to read the same address. */
  trustProxy?: TrustProxy;
}

/** The proxies' questions (the hot path): their own counter by outcome, no per-request histogram. */
export const PROXY_QUESTIONS: ReadonlyMap<string, ProxyKind> = QUESTION_PATHS;

/**
 * Forward auth on Authentik's embedded-outpost paths (DESIGN.md, "Forward auth"):
 * /outpost.goauthentik.io (the seed's Nginx block) and /auth/nginx, /auth/traefik, /auth/caddy
 * for the proxies' questions; /start, /callback, /sign_out for browsers; /handoff/ for the
 * single-mode login on Gatehouse's own host.
 */
export async function proxyRoutes(app: FastifyInstance, { deps, externalUrl, earlyAnswer, trustProxy }: ProxyRouteOptions) {
  const coreUrl = externalUrl ? externalUrl.replace(/\/+$/, '') : null;
  const state = startForwardAuthState(deps, app.log, coreUrl);
  const accessLog = startAccessLog(deps, app.log);
  app.addHook('onClose', async () => {
    state.stop();
    await accessLog.stop();
  });

  if (earlyAnswer && trustProxy) {
    earlyAnswer.set(createEarlyAnswer({ state, accessLog, parseCookie: (header) => app.parseCookie(header), trustProxy, metrics: deps.metrics }));
  }

  // Nginx's auth_request repeats the browser's method (and may announce a body it never sends):
  // the answer is given before any body is read, for every method.
  const proxyQuestion = (kind: ProxyKind) => ({
    method: [...QUESTION_METHODS],
    // One line per request at 10,000 requests a second is a log nobody reads: warnings only.
    logLevel: 'warn' as const,
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      await answerProxy(kind, state, accessLog, request, reply, deps.metrics);
    },
    handler: async (_request: FastifyRequest, reply: FastifyReply) => reply,
  });
  for (const [url, kind] of PROXY_QUESTIONS) app.route({ url, exposeHeadRoute: false, ...proxyQuestion(kind) });

  const withProvider = (handler: (provider: NonNullable<Awaited<ReturnType<typeof state.providerForHost>>>, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('Cache-Control', 'no-store');
      const host = requestHost(request);
      const provider = await state.providerForHost(host);
      if (!provider) return unknownHostPage(reply, host);
      return handler(provider, request, reply);
    };

  // The provider is the one `rd` points at when there is one (the seed's Nginx block sends every
  // app's login to the auth host), else the one of this host.
  app.get('/outpost.goauthentik.io/start', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    const rd = (request.query as Record<string, unknown>).rd;
    const target = typeof rd === 'string' && rd.length <= 4000 && URL.canParse(rd) ? new URL(rd) : null;
    const host = requestHost(request);
    const provider = (target && /^https?:$/.test(target.protocol) ? await state.providerForHost(target.host) : null) ?? (await state.providerForHost(host));
    if (!provider) return unknownHostPage(reply, host);
    return start(deps, provider, coreUrl, request, reply);
  });
  app.get('/outpost.goauthentik.io/callback', withProvider((provider, request, reply) => callback(deps, provider, request, reply)));
  app.get('/outpost.goauthentik.io/sign_out', withProvider((provider, request, reply) => signOut(deps, state, provider, request, reply)));
  app.get('/outpost.goauthentik.io/handoff/', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return handoff(deps, (id) => state.providerById(id), request, reply);
  });
}
