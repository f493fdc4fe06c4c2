import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../../core/context.ts';
import { recordEvent } from '../../core/events.ts';
import { endSession, findSession } from '../../core/sessions.ts';
import { PermissionDenied } from '../../errors.ts';
import type { OutpostProviderConfig } from '../../outposts/ldap/wire.ts';
import { loadDefinitions } from '../../flows/definitions.ts';
import { findFlowById } from '../../store/flows.ts';
import { findLdapProvidersByIds } from '../../store/ldapProviders.ts';
import type { OutpostRow } from '../../store/outposts.ts';
import { findUserById, findUsersByIds } from '../../store/users.ts';
import { requestContext } from '../../web/authentication.ts';
import { bindVerdict, callingOutpost, FAILED_BIND, rememberOutpostTokens, verdictSchema } from './bindAccess.ts';
import { configVersionOf, directoryVersion, loadDirectory, presentOutpostConfig } from './directory.ts';

// The API an LDAP outpost calls with its own token (and nothing else): its providers' settings,
// the directory, and — after it walked a bind flow through the flow executor the browser's way —
// whether the user that flow signed in may use the provider's application (bindFlowApi.ts
// answers that with the walk itself; check_access serves outposts that do not use it).

const pkParams = z.object({ pk: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const accessBody = z.strictObject({ session: z.string().min(1).max(200), client_ip: z.string().max(100).optional() });
const modes = z.enum(['cached', 'direct']);
const configSchema = z.object({
  pk: z.number().int(),
  name: z.string(),
  base_dn: z.string(),
  bind_flow_slug: z.string(),
  application_slug: z.string().nullable(),
  search_group: z.string().nullable(),
  uid_start_number: z.number().int(),
  gid_start_number: z.number().int(),
  search_mode: modes,
  bind_mode: modes,
  mfa_support: z.boolean(),
});
const configListSchema = z.object({ pagination: z.record(z.string(), z.number()), results: z.array(configSchema), version: z.string() });
const attributes = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
const directorySchema = z.object({
  version: z.string(),
  config_version: z.string(),
  users: z.array(
    z.object({
      pk: z.number().int(),
      uuid: z.string(),
      username: z.string(),
      name: z.string(),
      email: z.string(),
      is_active: z.boolean(),
      is_superuser: z.boolean(),
      attributes,
      groups: z.array(z.string()),
      search_full_directory: z.array(z.number().int()).optional(),
    }),
  ),
  groups: z.array(
    z.object({ pk: z.string(), num_pk: z.number().int(), name: z.string(), is_superuser: z.boolean(), parent: z.string().nullable(), attributes }),
  ),
});
const cachedBindsBody = z.strictObject({
  binds: z
    .array(z.strictObject({ user: z.number().int().positive(), client_ip: z.string().max(100), count: z.number().int().min(1).max(10_000_000) }))
    .max(1000),
});

/**
 * The settings of the providers an outpost serves, from the definitions snapshot: providers,
 * LDAP providers, applications, outposts and flows all move the counter (migrations 0004, 0012),
 * so a poll reads none of them while nothing changed. Shared between requests: never changed.
 */
async function configsOf(deps: CoreDeps, outpost: OutpostRow): Promise<OutpostProviderConfig[]> {
  const definitions = await loadDefinitions(deps.db);
  return definitions.remember(`ldap-outpost-configs:${outpost.id}:${outpost.provider_ids.join(',')}`, async () => {
    const providers = await findLdapProvidersByIds(deps.db, outpost.provider_ids);
    return Promise.all(providers.map(async (p) => presentOutpostConfig(p, (await findFlowById(deps.db, p.authorization_flow_id))?.slug ?? '')));
  });
}

export const ldapOutpostApi: FastifyPluginAsyncZod<{ deps: CoreDeps }> = async (app, { deps }) => {
  const tags = ['outposts'];
  rememberOutpostTokens(app);

  app.get('/outposts/ldap/', {
    schema: { tags, response: { 200: configListSchema } },
    handler: async (request) => {
      const configs = await configsOf(deps, await callingOutpost(deps, request));
      const pagination = { count: configs.length, current: 1, next: 0, previous: 0, total_pages: 1, start_index: 1, end_index: configs.length };
      return { pagination, results: configs, version: configVersionOf(configs) };
    },
  });

  app.get('/outposts/ldap/directory/version/', {
    schema: { tags, response: { 200: z.object({ version: z.string() }) } },
    handler: async (request, reply) => {
      const configs = await configsOf(deps, await callingOutpost(deps, request));
      reply.header('Cache-Control', 'no-store');
      return { version: await directoryVersion(deps, configVersionOf(configs)) };
    },
  });

  app.get('/outposts/ldap/directory/', {
    schema: { tags, response: { 200: directorySchema } },
    handler: async (request, reply) => {
      const configs = await configsOf(deps, await callingOutpost(deps, request));
      reply.header('Cache-Control', 'no-store');
      return loadDirectory(deps, configVersionOf(configs), configs.map((c) => c.pk));
    },
  });

  // Binds answered from the outpost's cache never reached the flow: the outpost reports them in
  // batches (per user and client address), and each batch entry becomes one `login` event.
  app.post('/outposts/ldap/:pk/cached_binds/', {
    schema: { tags, params: pkParams, body: cachedBindsBody },
    handler: async (request, reply) => {
      const outpost = await callingOutpost(deps, request);
      if (!outpost.provider_ids.includes(request.params.pk)) throw new PermissionDenied('This outpost does not serve that provider.');
      const [provider] = await findLdapProvidersByIds(deps.db, [request.params.pk]);
      const users = await findUsersByIds(deps.db, [...new Set(request.body.binds.map((b) => b.user))]);
      await deps.db.transaction(async (tx) => {
        for (const bind of request.body.binds) {
          const user = users.get(bind.user);
          if (!user) continue;
          await recordEvent(tx, deps, { ...requestContext(request, null), clientIp: bind.client_ip || null }, 'login', {
            subject: { id: user.id, username: user.username, email: user.email },
            context: { auth_method: 'ldap_cached_bind', binds: bind.count, ldap_provider: provider?.provider_id, application: provider?.application_slug },
          });
        }
      });
      return reply.status(204).send();
    },
  });

  // The bind flow signed the user in on `session`; this decides whether the bind stands, and
  // ends that session either way (a bind is not a browser login to keep).
  app.post('/outposts/ldap/:pk/check_access/', {
    schema: { tags, params: pkParams, body: accessBody, response: { 200: verdictSchema } },
    handler: async (request) => {
      const outpost = await callingOutpost(deps, request);
      if (!outpost.provider_ids.includes(request.params.pk)) throw new PermissionDenied('This outpost does not serve that provider.');
      // Independent reads side by side: a direct bind waits on this answer.
      const [[provider], session] = await Promise.all([findLdapProvidersByIds(deps.db, [request.params.pk]), findSession(deps, request.body.session)]);
      const [user] = await Promise.all([
        session?.userId != null ? findUserById(deps.db, session.userId) : null,
        endSession(deps, request.body.session),
      ]);
      if (!provider || !user) return FAILED_BIND;
      return bindVerdict(deps, request, provider, user, request.body.client_ip ?? session?.clientIp ?? '');
    },
  });
};
