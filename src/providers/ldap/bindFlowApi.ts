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
import { bindVerdict, verdictSchema } from './bindAccess.ts';

/*
 * The rest of an LDAP bind's walk through its provider's bind flow, after identification (which
 * the outpost answers at the executor like any client): the same executor, the same stages and
 * policies, but the outpost's token is required and a sign-in makes no browser session — the
 * answer carries the check_access verdict instead (`ldap_bind`). That spares a bind a second
 * exchange, and the session row and cache entry check_access would only have deleted again.
 */

const params = z.object({
  pk: z.coerce.number().int().positive().max(2 ** 31 - 1),
  slug: flowSlug,
});
const challengeSchema = z.looseObject({ component: z.string().optional(), ldap_bind: verdictSchema.optional() });

export const ldapBindFlowApi: FastifyPluginAsyncZod<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.post('/outposts/ldap/:pk/bind_flow/:slug/', {
    bodyLimit: 64 * 1024,
    schema: { tags: ['outposts'], params, body: flowAnswer, response: { 200: challengeSchema } },
    handler: async (request, reply) => {
      const { pk, slug } = request.params;
      const actor = requireActor(request);
      const [provider, flow] = await Promise.all([
        findLdapProviderServedByOutpostAccount(deps.db, actor.id, pk),
        loadDefinitions(deps.db).then((definitions) => definitions.flowBySlug(slug)),
      ]);
      if (!provider) throw new PermissionDenied('Only an LDAP outpost that serves this provider may bind through it.');
      await noteOutpostSeen(deps, provider.outpost_id, request.ip);
      if (!flow || flow.id !== provider.authorization_flow_id) throw new PermissionDenied("That is not this provider's bind flow.");
      const flowRequest = { ...flowRequestOf(request), isBind: true };
      const response = await answerChallenge(deps, slug, flowRequest, new URLSearchParams(), request.body);
      applySession(request, reply, response);
      reply.header('Cache-Control', 'no-store');
      const user = response.signedInUser;
      if (!user) return response.challenge;
      return { ...response.challenge, ldap_bind: await bindVerdict(deps, request, provider, user, flowRequest.clientIp) };
    },
  });
};
