import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isTimedelta, TIMEDELTA_MESSAGE } from '../core/durations.ts';
import { createProxyProvider, deleteProxyProvider, type ProxyProviderRow, updateProxyProvider } from '../core/proxyProviderAdmin.ts';
import { NotFound } from '../errors.ts';
import { findProxyProviderById, listProxyProviders } from '../store/proxyProviders.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { presentSummary, providerSummaryFields } from './applicationPresenters.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

/** An origin the browser uses: http(s), a host, maybe a port — no path, query or credentials. */
const externalHost = z
  .string()
  .max(500)
  .refine((value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.pathname === '/' && !url.search && !url.hash && !value.includes('\\');
  }, 'Enter the address the browser uses, such as "https://app.example.com" (scheme and host, no path).');

const internalHost = z
  .string()
  .max(500)
  .refine((value) => value === '' || (URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)), 'Enter a URL such as "http://127.0.0.1:3001".');

// A cookie domain is a bare DNS name: letters, digits, hyphens, at least two labels.
const cookieDomain = z
  .string()
  .max(253)
  .regex(/^$|^\.?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, 'Enter a domain such as "example.com".');

/** One regular expression per line, each of which must compile. */
const skipPathRegex = z
  .string()
  .max(10_000)
  .superRefine((value, ctx) => {
    for (const line of value.split('\n').map((l) => l.trim()).filter(Boolean)) {
      try {
        new RegExp(line);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${line}" is not a valid regular expression.` });
      }
    }
  });

const modes = z.enum(['forward_single', 'forward_domain', 'proxy']).refine((mode) => mode !== 'proxy', {
  message: 'Gatehouse does not carry app traffic itself: use "forward_single" or "forward_domain" behind Nginx, Traefik or Caddy.',
});

const optionalFields = {
  invalidation_flow: z.uuid().nullable().optional(),
  mode: modes.optional(),
  internal_host: internalHost.optional(),
  cookie_domain: cookieDomain.optional(),
  access_token_validity: z.string().max(200).refine(isTimedelta, TIMEDELTA_MESSAGE).optional(),
  skip_path_regex: skipPathRegex.optional(),
};
const name = z.string().trim().min(1).max(200);
const writeSchema = z.strictObject({ name, authorization_flow: z.uuid(), external_host: externalHost, ...optionalFields });
export const proxyPatchSchema = z.strictObject({ name: name.optional(), authorization_flow: z.uuid().optional(), external_host: externalHost.optional(), ...optionalFields });
const pkParams = z.object({ pk: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const listQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name', 'pk', 'external_host']), name: z.string().max(200).optional() });

export const proxyProviderSchema = z.object({
  ...providerSummaryFields,
  mode: z.enum(['forward_single', 'forward_domain']),
  external_host: z.string(),
  internal_host: z.string(),
  cookie_domain: z.string(),
  access_token_validity: z.string(),
  skip_path_regex: z.string(),
  redirect_uris: z.array(z.object({ matching_mode: z.string(), url: z.string() })),
});

function present(p: ProxyProviderRow) {
  return {
    ...presentSummary(p.provider_id, 'proxy', { ...p, name: p.provider_name }),
    mode: p.mode,
    external_host: p.external_host,
    internal_host: p.internal_host,
    cookie_domain: p.cookie_domain,
    access_token_validity: p.access_token_validity,
    skip_path_regex: p.skip_path_regex,
    // Where the login returns to (single mode: the app host's callback), as Authentik lists it.
    redirect_uris: [{ matching_mode: 'strict', url: `${p.external_host}/outpost.goauthentik.io/callback?X-authentik-auth-callback=true` }],
  };
}

/** /providers/proxy/: forward auth for Nginx, Traefik and Caddy (pk is the integer id). */
export const proxyProvidersApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['providers'];

  app.get('/providers/proxy/', {
    schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(proxyProviderSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      return paginate(await listProxyProviders(deps.db, { search: q.search, name: q.name, ordering: q.ordering }, { page: q.page, pageSize: q.page_size }), q, present);
    },
  });

  app.post('/providers/proxy/', {
    schema: { tags, body: writeSchema, response: { 201: proxyProviderSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const body = request.body as z.infer<typeof writeSchema> & { mode?: 'forward_single' | 'forward_domain' };
      return reply.status(201).send(present(await createProxyProvider(deps, requestContext(request), body)));
    },
  });

  app.get('/providers/proxy/:pk/', {
    schema: { tags, params: pkParams, response: { 200: proxyProviderSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const provider = await findProxyProviderById(deps.db, request.params.pk);
      if (!provider) throw new NotFound();
      return present(provider);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/providers/proxy/:pk/',
      schema: { tags, params: pkParams, body: method === 'PUT' ? writeSchema : proxyPatchSchema, response: { 200: proxyProviderSchema, 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        const body = request.body as Partial<z.infer<typeof writeSchema>> & { mode?: 'forward_single' | 'forward_domain' };
        return present(await updateProxyProvider(deps, requestContext(request), request.params.pk, body));
      },
    });
  }

  app.delete('/providers/proxy/:pk/', {
    schema: { tags, params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteProxyProvider(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
