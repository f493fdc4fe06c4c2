import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SESSION_COOKIE } from '../core/sessions.ts';
import type { FlowResponse } from '../flows/executor.ts';
import type { FlowRequest } from '../flows/stage.ts';
import { setSessionCookie } from './browserSession.ts';
import { currentBrand } from './brand.ts';
import { browserOrigin } from './csrf.ts';

/** A flow's slug as a path segment (the executor, the flow pages, the LDAP outposts' bind route). */
export const flowSlug = z.string().regex(/^[-a-z0-9_]{1,100}$/);

/** An answer to a challenge: a flat object of a few fields (WebAuthn's assertion is the largest). */
export const flowAnswer = z
  .record(z.string().max(100), z.unknown())
  .refine((value) => Object.keys(value).length <= 50, 'Too many fields.');

export function flowRequestOf(request: FastifyRequest): FlowRequest {
  return {
    sessionId: request.cookies[SESSION_COOKIE] ?? null,
    clientIp: request.ip,
    userAgent: String(request.headers['user-agent'] ?? '').slice(0, 500),
    origin: browserOrigin(request),
    hostname: request.hostname,
    requestId: request.id,
    brandTitle: currentBrand().title,
  };
}

/** Hands the browser the session the executor settled on (new at login, logout, or first visit). */
export function applySession(request: FastifyRequest, reply: FastifyReply, response: FlowResponse): void {
  if (response.sessionId === request.cookies[SESSION_COOKIE] && response.cookieMaxAge === undefined) return;
  const maxAge = response.cookieMaxAge === undefined ? null : response.cookieMaxAge;
  setSessionCookie(request, reply, response.sessionId, maxAge);
}
