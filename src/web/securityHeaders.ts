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
