import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isTimedelta, TIMEDELTA_MESSAGE } from '../core/durations.ts';
import { createOAuth2Provider, deleteOAuth2Provider, updateOAuth2Provider } from '../core/providerAdmin.ts';
import { NotFound } from '../errors.ts';
import { findOAuth2ProviderById, listOAuth2Providers } from '../store/applications.ts';
import { listProviders } from '../store/providers.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import {
  clientTypes,
  matchingModes,
  oauth2ProviderSchema,
  presentOAuth2Provider,
  presentProviderSummary,
  providerSummarySchema,
  signingAlgorithms,
  subModes,
} from './applicationPresenters.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Schemes a browser would run rather than hand to an app: never a redirect target.
const SCRIPT_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:']);

/** A strict redirect URI is absolute and fragment-free (RFC 6749 §3.1.2); a regex must compile. */
const redirectUri = z
  .strictObject({ matching_mode: matchingModes.default('strict'), url: z.string().min(1).max(2000) })
  .superRefine(({ matching_mode, url }, ctx) => {
    if (matching_mode === 'regex') {
      try {
        new RegExp(url);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${url}" is not a valid regular expression.` });
      }
      return;
    }
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (!parsed || SCRIPT_SCHEMES.has(parsed.protocol)) ctx.addIssue({ code: 'custom', message: `"${url}" is not an absolute URL.` });
    else if (url.includes('#')) ctx.addIssue({ code: 'custom', message: `"${url}" must not contain a fragment.` });
  });

const duration = z.string().max(200).refine(isTimedelta, TIMEDELTA_MESSAGE);
// RFC 6749 §3.3 scope-token.
const scope = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/, 'Enter a valid scope (printable characters, no spaces or quotes).');
const scopes = z
  .array(scope)
  .max(50)
  .refine((list) => new Set(list).size === list.length, 'Scopes must not repeat.');
const visible = (max: number, what: string) => z.string().regex(new RegExp(`^[\\x21-\\x7E]{1,${max}}$`), `Enter a valid ${what}.`);

const optionalFields = {
  invalidation_flow: z.uuid().nullable().optional(),
  client_type: clientTypes.optional(),
  client_id: visible(255, 'client ID').optional(),
  client_secret: visible(255, 'client secret').optional(),
  redirect_uris: z.array(redirectUri).max(100).optional(),
  access_code_validity: duration.optional(),
  access_token_validity: duration.optional(),
  refresh_token_validity: duration.optional(),
  sub_mode: subModes.optional(),
  include_claims_in_id_token: z.boolean().optional(),
  signing_algorithm: signingAlgorithms.optional(),
  scopes: scopes.optional(),
};
const name = z.string().trim().min(1).max(200);
const providerWriteSchema = z.strictObject({ name, authorization_flow: z.uuid(), ...optionalFields });
export const providerPatchSchema = z.strictObject({ name: name.optional(), authorization_flow: z.uuid().optional(), ...optionalFields });
const pkParams = z.object({ pk: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const oauth2ListQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['name', 'pk', 'client_id']),
  name: z.string().max(200).optional(),
  client_id: z.string().max(255).optional(),
});
const allListQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name', 'pk']) });

/** /providers/all/ (every provider, any protocol) and /providers/oauth2/ (pk is the integer id). */
export const providersApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const present = (p: Parameters<typeof presentOAuth2Provider>[0]) => presentOAuth2Provider(p, deps.clientSecretBox);
  const tags = ['providers'];

  app.get('/providers/all/', {
    schema: { tags, querystring: allListQuery, response: { 200: paginatedSchema(providerSummarySchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listProviders(deps.db, { search: q.search, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
      return paginate(page, q, presentProviderSummary);
    },
  });

  app.get('/providers/oauth2/', {
    schema: { tags, querystring: oauth2ListQuery, response: { 200: paginatedSchema(oauth2ProviderSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const filter = { search: q.search, name: q.name, clientId: q.client_id, ordering: q.ordering };
      return paginate(await listOAuth2Providers(deps.db, filter, { page: q.page, pageSize: q.page_size }), q, present);
    },
  });

  app.post('/providers/oauth2/', {
    schema: { tags, body: providerWriteSchema, response: { 201: oauth2ProviderSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const provider = await createOAuth2Provider(deps, requestContext(request), request.body);
      return reply.status(201).send(present(provider));
    },
  });

  app.get('/providers/oauth2/:pk/', {
    schema: { tags, params: pkParams, response: { 200: oauth2ProviderSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const provider = await findOAuth2ProviderById(deps.db, request.params.pk);
      if (!provider) throw new NotFound();
      return present(provider);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/providers/oauth2/:pk/',
      schema: {
        tags,
        params: pkParams,
        body: method === 'PUT' ? providerWriteSchema : providerPatchSchema,
        response: { 200: oauth2ProviderSchema, 400: errorSchema },
      },
      handler: async (request) => {
        requireSuperuser(request);
        return present(await updateOAuth2Provider(deps, requestContext(request), request.params.pk, request.body));
      },
    });
  }

  app.delete('/providers/oauth2/:pk/', {
    schema: { tags, params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteOAuth2Provider(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
