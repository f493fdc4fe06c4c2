import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { EarlyAnswer } from '../providers/proxy/earlyAnswer.ts';

/** Where a plugin installs its answer-before-routing (forward auth's hot path, earlyAnswer.ts). */
export interface EarlyAnswerSlot {
  set(answer: EarlyAnswer): void;
  /** From here on every request is Fastify's (closing: it answers 503 and the plugins stop). */
  clear(): void;
}

// How many requests each server answered early: for tests and diagnostics, never on a hot path.
const earlyCounts = new WeakMap<Server, { answered: number }>();

/** How many requests this server answered before Fastify's routing. */
export const earlyAnswersOf = (server: Server): number => earlyCounts.get(server)?.answered ?? 0;

interface FastifyServerSettings {
  http?: ServerOptions | null;
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
  maxRequestsPerSocket: number;
}

/**
 * Fastify's `serverFactory`: the HTTP server Fastify would make itself (same options and
 * timeouts as its own getServerInstance), with one step before Fastify's handler — the early
 * answer, when one is installed. A request it does not answer (or that fails in it before a
 * byte is written) is Fastify's, exactly as without it.
 */
export function earlyAnsweringServerFactory(logger: FastifyBaseLogger): {
  slot: EarlyAnswerSlot;
  serverFactory: (handler: (request: IncomingMessage, response: ServerResponse) => void, options: Record<string, unknown>) => Server;
} {
  let early: EarlyAnswer | null = null;
  const serverFactory = (handler: (request: IncomingMessage, response: ServerResponse) => void, rawOptions: Record<string, unknown>) => {
    const options = rawOptions as unknown as FastifyServerSettings;
    const count = { answered: 0 };
    const server = createServer(options.http ?? {}, (request, response) => {
      if (early) {
        try {
          if (early(request, response)) {
            count.answered++;
            return;
          }
        } catch (error) {
          logger.warn({ err: error }, 'early_answer_failed');
          if (response.headersSent) {
            if (!response.writableEnded) response.end();
            return;
          }
        }
      }
      handler(request, response);
    });
    server.keepAliveTimeout = options.keepAliveTimeout;
    server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    earlyCounts.set(server, count);
    return server;
  };
  return {
    slot: {
      set(answer) {
        early = answer;
      },
      clear() {
        early = null;
      },
    },
    serverFactory,
  };
}
