import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { CoreDeps } from '../core/context.ts';
import { redeemRecoveryKey } from '../core/recovery.ts';
import { createSession } from '../core/sessions.ts';
import { requestContext } from './authentication.ts';
import { setSessionCookie } from './browserSession.ts';

const keyParams = z.object({ key: z.string().min(16).max(512).regex(/^[A-Za-z0-9_-]+$/) });

/** /recovery/use-token/<key>/: the one-time link `gatehouse create-recovery-key` prints. */
export const recoveryRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get('/recovery/use-token/:key/', async (request, reply) => {
    reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer');
    const params = keyParams.safeParse(request.params);
    const user = params.success ? await redeemRecoveryKey(deps, requestContext(request), params.data.key) : null;
    if (!user) {
      return reply.status(404).type('text/plain; charset=utf-8').send('This recovery link is invalid, used or expired.');
    }
    const sessionId = await createSession(deps, {
      userId: user.id,
      clientIp: request.ip,
      userAgent: request.headers['user-agent'] ?? '',
      method: 'recovery_link',
    });
    setSessionCookie(request, reply, sessionId, null);
    return reply.redirect('/if/user/', 302);
  });
};
