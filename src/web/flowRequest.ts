import type { FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../core/sessions.ts';
import type { FlowResponse } from '../flows/executor.ts';
import type { FlowRequest } from '../flows/stage.ts';
import { setSessionCookie } from './browserSession.ts';
import { ownOrigin } from './csrf.ts';

export function flowRequestOf(request: FastifyRequest): FlowRequest {
  return {
    sessionId: request.cookies[SESSION_COOKIE] ?? null,
    clientIp: request.ip,
    userAgent: String(request.headers['user-agent'] ?? '').slice(0, 500),
    origin: ownOrigin(request),
    hostname: request.hostname,
    requestId: request.id,
  };
}

/** Hands the browser the session the executor settled on (new at login, logout, or first visit). */
export function applySession(request: FastifyRequest, reply: FastifyReply, response: FlowResponse): void {
  if (response.sessionId === request.cookies[SESSION_COOKIE] && response.cookieMaxAge === undefined) return;
  const maxAge = response.cookieMaxAge === undefined ? null : response.cookieMaxAge;
  setSessionCookie(request, reply, response.sessionId, maxAge);
}
