import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAccessibleApplications } from '../core/applicationAccess.ts';
import { createApplication, deleteApplication, updateApplication } from '../core/applicationAdmin.ts';
import { NotAuthenticated, NotFound } from '../errors.ts';
import { type ApplicationRow, findApplicationBySlug, listApplications } from '../store/applications.ts';
import { findProviderSummaries } from '../store/providers.ts';
import { findUserById } from '../store/users.ts';
import { requestContext, requireActor, requireSuperuser } from '../web/authentication.ts';
import { applicationSchema, presentApplication } from './applicationPresenters.ts';
import { policyEngineMode } from './flowPresenters.ts';
import { booleanQuery, errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

const slug = z
  .string()
  .regex(/^[-a-z0-9_]{1,50}$/, 'Enter a valid "slug" consisting of lowercase letters, numbers, underscores or hyphens.');
const isHttpUrl = (text: string) => URL.canParse(text) && ['http:', 'https:'].includes(new URL(text).protocol);
const launchUrl = z
  .string()
  .max(2000)
  .refine((url) => url === '' || isHttpUrl(url), 'Enter a valid http(s) URL, or leave it empty.');
// An icon is a link the browser loads: an http(s) URL or a path on this server.
const iconUrl = z
  .string()
  .max(2000)
  .refine((url) => url === '' || isHttpUrl(url) || /^\/(?![/\\])/.test(url), 'Enter a valid http(s) URL or a path, or leave it empty.');

const optionalFields = {
  provider: z.number().int().positive().max(2 ** 31 - 1).nullable().optional(),
  meta_launch_url: launchUrl.optional(),
  // The brief's (and Authentik's read-only) name for it, accepted on write too.
  launch_url: launchUrl.optional(),
  open_in_new_tab: z.boolean().optional(),
  meta_icon: iconUrl.optional(),
  meta_description: z.string().max(2000).optional(),
  meta_publisher: z.string().max(250).optional(),
  group: z.string().max(250).optional(),
  policy_engine_mode: policyEngineMode.optional(),
};
const name = z.string().trim().min(1).max(250);
const applicationWriteSchema = z.strictObject({ name, slug, ...optionalFields });
export const applicationPatchSchema = z.strictObject({ name: name.optional(), slug: slug.optional(), ...optionalFields });
const slugParams = z.object({ slug });
const listQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['name', 'slug', 'group']),
  name: z.string().max(250).optional(),
  slug: z.string().max(50).optional(),
  group: z.string().max(250).optional(),
  superuser_full_list: booleanQuery,
});

export const inputOf = ({ launch_url, ...body }: z.infer<typeof applicationPatchSchema>) => ({
  ...body,
  meta_launch_url: body.meta_launch_url ?? launch_url,
});

/** /core/applications/, looked up by slug as in Authentik. */
export const applicationsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function presentAll(apps: ApplicationRow[]) {
    const providers = await findProviderSummaries(deps.db, [...new Set(apps.flatMap((a) => (a.provider_id !== null ? [a.provider_id] : [])))]);
    return apps.map((a) => presentApplication(a, (a.provider_id !== null ? providers.get(a.provider_id) : null) ?? null));
  }
  const presentOne = async (a: ApplicationRow) => (await presentAll([a]))[0] as ReturnType<typeof presentApplication>;
  const tags = ['core'];

  // Everyone signed in may list: a superuser asking for the full list gets every application,
  // anyone else (a superuser too, without the flag) only those their policies let them open.
  app.get('/core/applications/', {
    schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(applicationSchema), 400: errorSchema } },
    handler: async (request) => {
      const actor = requireActor(request);
      const q = request.query;
      const filter = { search: q.search, name: q.name, slug: q.slug, group: q.group, ordering: q.ordering };
      if (q.superuser_full_list && actor.isSuperuser) {
        const page = await listApplications(deps.db, filter, { page: q.page, pageSize: q.page_size });
        return paginate({ rows: await presentAll(page.rows), count: page.count }, q, (a) => a);
      }
      const user = await findUserById(deps.db, actor.id);
      if (!user) throw new NotAuthenticated();
      const allowed = await listAccessibleApplications(deps, user, request.ip, filter);
      const rows = allowed.slice((q.page - 1) * q.page_size, q.page * q.page_size);
      return paginate({ rows: await presentAll(rows), count: allowed.length }, q, (a) => a);
    },
  });

  app.post('/core/applications/', {
    schema: { tags, body: applicationWriteSchema, response: { 201: applicationSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const b = request.body;
      const created = await createApplication(deps, requestContext(request), { ...inputOf(b), name: b.name, slug: b.slug });
      return reply.status(201).send(await presentOne(created));
    },
  });

  app.get('/core/applications/:slug/', {
    schema: { tags, params: slugParams, response: { 200: applicationSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const found = await findApplicationBySlug(deps.db, request.params.slug);
      if (!found) throw new NotFound();
      return presentOne(found);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/core/applications/:slug/',
      schema: {
        tags,
        params: slugParams,
        body: method === 'PUT' ? applicationWriteSchema : applicationPatchSchema,
        response: { 200: applicationSchema, 400: errorSchema },
      },
      handler: async (request) => {
        requireSuperuser(request);
        return presentOne(await updateApplication(deps, requestContext(request), request.params.slug, inputOf(request.body)));
      },
    });
  }

  app.delete('/core/applications/:slug/', {
    schema: { tags, params: slugParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteApplication(deps, requestContext(request), request.params.slug);
      return reply.status(204).send();
    },
  });
};
