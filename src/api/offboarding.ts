import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { offboardUser } from '../core/offboarding.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { errorSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// A Gatehouse addition beside Authentik's user actions: one call for someone who leaves.

const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const reportSchema = z.object({
  user: z.object({ pk: z.number().int(), username: z.string(), is_active: z.boolean() }),
  sessions_ended: z.number().int(),
  tokens_revoked: z.array(z.object({ identifier: z.string(), intent: z.string() })),
  applications: z.array(z.object({ slug: z.string(), name: z.string(), last_used: z.string(), how: z.string() })),
});

export const offboardingApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.post('/core/users/:id/offboard/', {
    schema: { tags: ['core'], params: idParams, response: { 200: reportSchema, 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const report = await offboardUser(deps, requestContext(request), request.params.id);
      return {
        user: { pk: report.user.id, username: report.user.username, is_active: report.user.is_active },
        sessions_ended: report.sessionsEnded,
        tokens_revoked: report.tokensRevoked,
        applications: report.applications.map((a) => ({ ...a, last_used: new Date(a.last_used).toISOString() })),
      };
    },
  });
};
