import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { recordEvent } from '../core/events.ts';
import { RECOVERY_PATH } from '../core/recovery.ts';
import { createToken } from '../core/tokens.ts';
import { NotFound } from '../errors.ts';
import { findUserById } from '../store/users.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { ownOrigin } from '../web/csrf.ts';
import { errorSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /core/users/<pk>/recovery/: a one-time login link for a user who lost their
// password or second factor, handed over by the admin (recoveryEmail.ts mails one instead). The same
// single-use `recovery` token as `gatehouse create-recovery-key`, valid for an hour.

const VALID_MINUTES = 60;
const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });

export const recoveryLinksApi: FastifyPluginAsyncZod<{ deps: ApiDeps; externalUrl?: string }> = async (app, { deps, externalUrl }) => {
  // The link is for the user, who reaches Gatehouse by its public name (GATEHOUSE_EXTERNAL_URL)
  // rather than by whatever address the admin's request came in on.
  const baseOf = (request: Parameters<typeof ownOrigin>[0]) => externalUrl?.replace(/\/+$/, '') ?? ownOrigin(request);
  // GET as Authentik spells it; POST for clients that (rightly) expect a write to be one.
  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/core/users/:id/recovery/',
      schema: { tags: ['core'], params: idParams, response: { 200: z.object({ link: z.string() }), 400: errorSchema } },
      handler: async (request, reply) => {
        requireSuperuser(request);
        const user = await findUserById(deps.db, request.params.id);
        if (!user) throw new NotFound();
        const ctx = requestContext(request);
        const { key, token } = await createToken(deps, ctx, {
          identifier: `recovery-${user.id}-${randomBytes(6).toString('hex')}`,
          intent: 'recovery',
          userId: user.id,
          description: `Recovery link created by ${ctx.actor?.username ?? 'an administrator'}`,
          expiring: true,
          expires: new Date(deps.now().getTime() + VALID_MINUTES * 60_000),
        });
        await recordEvent(deps.db, deps, ctx, 'recovery_link_created', {
          subject: { id: user.id, username: user.username, email: user.email },
          context: { token: token.identifier, expires: token.expires, created_by: ctx.actor?.username },
        });
        reply.header('Cache-Control', 'no-store');
        return { link: `${baseOf(request)}${RECOVERY_PATH}${key}/` };
      },
    });
  }
};
