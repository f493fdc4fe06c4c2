import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';

const params = z.object({ initials: z.string().regex(/^[A-Z0-9]{1,2}$/) });
const query = z.object({ hue: z.coerce.number().int().min(0).max(359).default(210) });

/** /static/avatar/AB.svg?hue=120: the default avatar of the API's `avatar` field. */
export const avatarRoutes: FastifyPluginAsync = async (app) => {
  app.get('/static/avatar/:file', async (request, reply) => {
    const file = String((request.params as { file: string }).file);
    const initials = params.safeParse({ initials: file.replace(/\.svg$/, '') });
    const options = query.safeParse(request.query);
    if (!file.endsWith('.svg') || !initials.success || !options.success) {
      return reply.status(404).send({ detail: 'Not found.' });
    }
    // The picture depends on the URL alone, so it may be cached for good.
    return reply
      .type('image/svg+xml')
      .header('Cache-Control', 'public, max-age=31536000, immutable')
      .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      .header('X-Content-Type-Options', 'nosniff')
      .send(
        `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" fill="hsl(${options.data.hue},45%,42%)"/><text x="32" y="32" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="26" fill="#fff">${initials.data.initials}</text></svg>`,
      );
  });
};
