import type { FastifyRequest } from 'fastify';
import { secretsEqual } from '../core/crypto.ts';

export const CSRF_COOKIE = 'authentik_csrf';
export const CSRF_HEADER = 'x-authentik-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin this request was addressed to, as the browser saw it. */
export function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

// GATEHOUSE_EXTERNAL_URL's origin is ours too: behind a proxy that passes `Host $host` (the
// seed guide's Nginx block) a non-default port is lost from Host but not from the browser's Origin.
let externalOrigin: string | null = null;
export function useExternalOrigin(externalUrl: string | undefined): void {
  externalOrigin = externalUrl ? new URL(externalUrl).origin : null;
}

/**
 * The origin the browser's page is on: GATEHOUSE_EXTERNAL_URL's when the request says so (its
 * Origin header), else the one it was addressed to. WebAuthn checks the browser's signed origin
 * against this, so a passkey works behind a proxy that drops a non-default port from Host.
 */
export function browserOrigin(request: FastifyRequest): string {
  return externalOrigin !== null && request.headers.origin === externalOrigin ? externalOrigin : ownOrigin(request);
}

/**
 * DESIGN.md: a cookie-authenticated POST is accepted when its Origin (or, lacking it, Referer)
 * is our own origin, or when it carries X-authentik-CSRF equal to the authentik_csrf cookie.
 */
export function isCsrfSafe(request: FastifyRequest): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const origin = request.headers.origin ?? refererOrigin(request.headers.referer);
  if (origin) return origin === ownOrigin(request) || (externalOrigin !== null && origin === externalOrigin);
  const header = request.headers[CSRF_HEADER];
  const cookie = request.cookies[CSRF_COOKIE];
  return typeof header === 'string' && typeof cookie === 'string' && cookie.length >= 16 && secretsEqual(header, cookie);
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}
