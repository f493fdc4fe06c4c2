import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { recordEvent } from '../core/events.ts';
import { NotFound, ValidationError } from '../errors.ts';
import { findFlowBySlug, findStageById } from '../store/flows.ts';
import { findUserById, type UserRow } from '../store/users.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { errorSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's POST /core/users/<pk>/recovery_email/: the recovery link mailed to the user rather
// than handed over by the admin. The job is queued; the worker makes the single-use token and
// mails `/if/flow/default-recovery-flow/?flow_token=…` (the same job as the recovery flow's own
// email stage), so no usable link sits in the jobs table or in this answer.

const FLOW_SLUG = 'default-recovery-flow';
const DEFAULTS = { subject: 'Reset your password', validMinutes: 30 };
const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });
// email_stage: Authentik's query parameter naming the email stage whose subject and expiry apply.
const sendQuery = z.object({ email_stage: z.uuid().optional() });

/** Why no recovery mail can go to this user, or null (Gatehouse's GET answers it for the admin UI). */
function whyNot(deps: ApiDeps, user: UserRow): string | null {
  if (!deps.jobs?.canSendEmail) return 'Email is not configured on this server (GATEHOUSE_EMAIL__HOST).';
  if (!user.email) return 'User does not have an email address set.';
  if (!user.is_active) return 'User is deactivated.';
  return null;
}

async function mailSettings(deps: ApiDeps, stageId: string | undefined) {
  if (!stageId) return DEFAULTS;
  const stage = await findStageById(deps.db, stageId);
  if (stage?.type !== 'email') throw ValidationError.field('email_stage', 'Not an email stage.');
  const subject = typeof stage.config.subject === 'string' ? stage.config.subject : DEFAULTS.subject;
  const validMinutes = typeof stage.config.token_expiry === 'number' ? stage.config.token_expiry : DEFAULTS.validMinutes;
  return { subject, validMinutes };
}

export const recoveryEmailApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['core'];
  const loadUser = async (id: number) => {
    const user = await findUserById(deps.db, id);
    if (!user) throw new NotFound();
    return user;
  };

  app.get('/core/users/:id/recovery_email/', {
    schema: { tags, params: idParams, response: { 200: z.object({ can_send: z.boolean(), reason: z.string().nullable() }) } },
    handler: async (request) => {
      requireSuperuser(request);
      const reason = whyNot(deps, await loadUser(request.params.id));
      return { can_send: reason === null, reason };
    },
  });

  app.post('/core/users/:id/recovery_email/', {
    schema: { tags, params: idParams, querystring: sendQuery, response: { 204: z.null(), 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const user = await loadUser(request.params.id);
      const reason = whyNot(deps, user);
      if (reason) throw ValidationError.field('non_field_errors', reason);
      if (!(await findFlowBySlug(deps.db, FLOW_SLUG))) throw ValidationError.field('non_field_errors', `No recovery flow (${FLOW_SLUG}).`);
      const settings = await mailSettings(deps, request.query.email_stage);
      const ctx = requestContext(request);
      await deps.jobs?.enqueue('send_recovery_email', { userId: user.id, flowSlug: FLOW_SLUG, ...settings });
      await recordEvent(deps.db, deps, ctx, 'recovery_link_created', {
        subject: { id: user.id, username: user.username, email: user.email },
        context: { sent_by_email: true, to: user.email, flow: FLOW_SLUG, valid_minutes: settings.validMinutes, created_by: ctx.actor?.username },
      });
      return reply.status(204).send(null);
    },
  });
};
