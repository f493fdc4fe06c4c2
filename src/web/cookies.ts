import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';

/** HttpOnly, SameSite=Lax, and Secure whenever the browser came over https (directly or via a trusted proxy). */
export function sessionCookieOptions(request: FastifyRequest, maxAgeSeconds: number): CookieSerializeOptions {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    maxAge: maxAgeSeconds,
  };
}
