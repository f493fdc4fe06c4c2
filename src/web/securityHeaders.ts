import type { FastifyReply } from 'fastify';
import { currentBrand } from './brand.ts';

/** Headers every HTML page carries: no inline script, no framing, no sniffing, no referrer leak. */
export function securityHeaders(reply: FastifyReply): FastifyReply {
  const logoOrigin = currentBrand().logoOrigin;
  // Over https (directly or behind a trusted proxy) the browser should never come back over http.
  if (reply.request.protocol === 'https') reply.header('Strict-Transport-Security', 'max-age=31536000');
  return reply
    .header(
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:${logoOrigin ? ` ${logoOrigin}` : ''}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    )
    .header('X-Content-Type-Options', 'nosniff')
    .header('X-Frame-Options', 'DENY')
    .header('Referrer-Policy', 'same-origin')
    .header('Cache-Control', 'no-store');
}

/**
 * The same protections on what oidc-provider writes itself (its error pages, form_post responses),
 * set on the raw response before it is handed over. No form-action: form_post submits to the
 * app's redirect URI. oidc-provider adds the hash of its one inline script to script-src, so
 * inline script stays refused.
 */
export function setOidcProviderHeaders(reply: FastifyReply): void {
  const raw = reply.raw;
  if (reply.request.protocol === 'https') raw.setHeader('Strict-Transport-Security', 'max-age=31536000');
  raw.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  );
  raw.setHeader('X-Content-Type-Options', 'nosniff');
  raw.setHeader('X-Frame-Options', 'DENY');
  raw.setHeader('Referrer-Policy', 'same-origin');
}
