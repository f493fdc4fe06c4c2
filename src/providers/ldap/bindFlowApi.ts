import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../core/context.ts';
import { PermissionDenied } from '../../errors.ts';
import { loadDefinitions } from '../../flows/definitions.ts';
import { answerChallenge } from '../../flows/executor.ts';
import { noteOutpostSeen } from '../../core/outpostHealth.ts';
import { findLdapProviderServedByOutpostAccount } from '../../store/ldapProviders.ts';
import { requireActor } from '../../web/authentication.ts';
import { applySession, flowAnswer, flowRequestOf, flowSlug } from '../../web/flowRequest.ts';
import { bindVerdict, rememberOutpostTokens, verdictSchema } from './bindAccess.ts';

/*
 * An LDAP bind's walk through its provider's bind flow: the same executor, the same stages and
 * policies as a browser's, but only for the outpost's token, and a sign-in makes no browser
 * session — the answer carries the check_access verdict instead (`ldap_bind`).
 *
 * `bind_flow/<slug>/answers/` takes the bind's answers at once (identification, password, the
 * MFA code if the client sent one), each given to the stage then waiting: a bind that needs no
 * more is one exchange, with no session or flow state stored. `bind_flow/<slug>/` takes one
 * answer, after identification at the executor (outposts older than the batch).
 */

const params = z.object({
  pk: z.coerce.number().int().positive().max(2 ** 31 - 1),
  slug: flowSlug,
});
const batch = z.object({ answers: z.array(flowAnswer.and(z.looseObject({ component: z.string().max(100) }))).min(1).max(4) });
const challengeSchema = z.looseObject({ component: z.string().optional(), ldap_bind: verdictSchema.optional() });

export const ldapBindFlowApi: FastifyPluginAsyncZod<{ deps: CoreDeps }> = async (app, { deps }) => {
  rememberOutpostTokens(app);
  async function walk(request: FastifyRequest<{ Params: z.infer<typeof params> }>, reply: FastifyReply, answers: Record<string, unknown> | Record<string, unknown>[]) {
    const { pk, slug } = request.params;
    const actor = requireActor(request);
    // Both from the definitions snapshot (migration 0012): a provider removed from the outpost,
    // or the outpost deleted, refuses the very next bind, on every replica.
    const definitions = await loadDefinitions(deps.db);
    const [provider, flow] = await Promise.all([
      definitions.remember(`ldap-provider-served:${actor.id}:${pk}`, () => findLdapProviderServedByOutpostAccount(deps.db, actor.id, pk)),
      definitions.flowBySlug(slug),
    ]);
    if (!provider) throw new PermissionDenied('Only an LDAP outpost that serves this provider may bind through it.');
    await noteOutpostSeen(deps, provider.outpost_id, request.ip);
    if (!flow || flow.id !== provider.authorization_flow_id) throw new PermissionDenied("That is not this provider's bind flow.");
    const flowRequest = { ...flowRequestOf(request), isBind: true };
    const response = await answerChallenge(deps, slug, flowRequest, new URLSearchParams(), answers);
    reply.header('Cache-Control', 'no-store');
    const user = response.signedInUser;
    // A sign-in leaves nothing for the outpost to hold: the anonymous session the walk began under
    // (in the same request, for a batch) was never stored, and no signed-in one is made.
    if (!user) {
      applySession(request, reply, response);
      return response.challenge;
    }
    return { ...response.challenge, ldap_bind: await bindVerdict(deps, request, provider, user, flowRequest.clientIp) };
  }

  app.post('/outposts/ldap/:pk/bind_flow/:slug/answers/', {
    bodyLimit: 64 * 1024,
    schema: { tags: ['outposts'], params, body: batch, response: { 200: challengeSchema } },
    handler: (request, reply) => walk(request, reply, request.body.answers),
  });
  app.post('/outposts/ldap/:pk/bind_flow/:slug/', {
    bodyLimit: 64 * 1024,
    schema: { tags: ['outposts'], params, body: flowAnswer, response: { 200: challengeSchema } },
    handler: (request, reply) => walk(request, reply, request.body),
  });
};
