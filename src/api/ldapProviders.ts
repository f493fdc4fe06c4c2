import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createLdapProvider, deleteLdapProvider, type LdapProviderRow, updateLdapProvider } from '../core/ldapProviderAdmin.ts';
import { NotFound } from '../errors.ts';
import { parseDn } from '../outposts/ldap/dn.ts';
import { findLdapProviderById, listLdapProviders } from '../store/ldapProviders.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { presentProviderSummary, providerSummarySchema } from './applicationPresenters.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

const modes = z.enum(['cached', 'direct']);
const baseDn = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .refine((dn) => parseDn(dn) !== null && (parseDn(dn)?.length ?? 0) > 0, 'Enter a valid DN, e.g. DC=ldap,DC=example,DC=com.');
const startNumber = z.number().int().min(0).max(2 ** 31 - 1 - 10_000_000);

const optionalFields = {
  invalidation_flow: z.uuid().nullable().optional(),
  base_dn: baseDn.optional(),
  search_group: z.uuid().nullable().optional(),
  uid_start_number: startNumber.optional(),
  gid_start_number: startNumber.optional(),
  mfa_support: z.boolean().optional(),
  bind_mode: modes.optional(),
  search_mode: modes.optional(),
};
const name = z.string().trim().min(1).max(200);
export const ldapWriteSchema = z.strictObject({ name, authorization_flow: z.uuid(), ...optionalFields });
export const ldapPatchSchema = z.strictObject({ name: name.optional(), authorization_flow: z.uuid().optional(), ...optionalFields });
const pkParams = z.object({ pk: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const listQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name', 'pk', 'base_dn']), name: z.string().max(200).optional() });

export const ldapProviderSchema = providerSummarySchema.extend({
  base_dn: z.string(),
  search_group: z.uuid().nullable(),
  uid_start_number: z.number().int(),
  gid_start_number: z.number().int(),
  mfa_support: z.boolean(),
  bind_mode: modes,
  search_mode: modes,
  certificate: z.null(),
  tls_server_name: z.string(),
});

function present(p: LdapProviderRow) {
  return {
    ...presentProviderSummary({
      id: p.provider_id,
      name: p.provider_name,
      type: 'ldap',
      authorization_flow_id: p.authorization_flow_id,
      invalidation_flow_id: p.invalidation_flow_id,
      application_slug: p.application_slug,
      application_name: p.application_name,
    }),
    base_dn: p.base_dn,
    search_group: p.search_group_id,
    uid_start_number: p.uid_start_number,
    gid_start_number: p.gid_start_number,
    mfa_support: p.mfa_support,
    bind_mode: p.bind_mode,
    search_mode: p.search_mode,
    // The outpost makes or loads its own certificate (GATEHOUSE_LDAP__TLS_CERT/KEY).
    certificate: null,
    tls_server_name: '',
  };
}

/** /providers/ldap/ (pk is the integer id, as for every provider). */
export const ldapProvidersApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['providers'];

  app.get('/providers/ldap/', {
    schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(ldapProviderSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      return paginate(await listLdapProviders(deps.db, { search: q.search, name: q.name, ordering: q.ordering }, { page: q.page, pageSize: q.page_size }), q, present);
    },
  });

  app.post('/providers/ldap/', {
    schema: { tags, body: ldapWriteSchema, response: { 201: ldapProviderSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      return reply.status(201).send(present(await createLdapProvider(deps, requestContext(request), request.body)));
    },
  });

  app.get('/providers/ldap/:pk/', {
    schema: { tags, params: pkParams, response: { 200: ldapProviderSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const provider = await findLdapProviderById(deps.db, request.params.pk);
      if (!provider) throw new NotFound();
      return present(provider);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/providers/ldap/:pk/',
      schema: { tags, params: pkParams, body: method === 'PUT' ? ldapWriteSchema : ldapPatchSchema, response: { 200: ldapProviderSchema, 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        return present(await updateLdapProvider(deps, requestContext(request), request.params.pk, request.body));
      },
    });
  }

  app.delete('/providers/ldap/:pk/', {
    schema: { tags, params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteLdapProvider(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
