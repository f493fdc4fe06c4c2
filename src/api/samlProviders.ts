import { createHash, X509Certificate } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { normaliseCertificate } from '../core/certificates.ts';
import { createSamlProvider, deleteSamlProvider, type SamlProviderRow, updateSamlProvider } from '../core/samlProviderAdmin.ts';
import { NotFound, ValidationError } from '../errors.ts';
import { SamlError } from '../providers/saml/errors.ts';
import { samlPaths } from '../providers/saml/paths.ts';

// The XML libraries (metadata, SP metadata import) load on first use: they cost ~20 MiB of RSS
// in every server, most of which never serves SAML.
const metadataModule = () => import('../providers/saml/metadata.ts');
const spMetadataModule = () => import('../providers/saml/spMetadata.ts');

import { parseSignedTimedelta, SIGNED_TIMEDELTA_MESSAGE } from '../providers/saml/timing.ts';
import { findSamlProviderById, listSamlProviders } from '../store/samlProviders.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { presentProviderSummary, providerSummarySchema } from './applicationPresenters.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// /providers/saml/ in Authentik's shape. Gatehouse makes each provider's signing key pair itself
// (signing_kp names its certificate by fingerprint); the SP's certificate for signed requests is
// given as PEM in verification_certificate.

const httpUrl = (what: string) =>
  z
    .string()
    .max(2000)
    .refine((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), `Enter a valid ${what} (an absolute http(s) URL).`);
const duration = z.string().max(200).refine((text) => parseSignedTimedelta(text) !== null, SIGNED_TIMEDELTA_MESSAGE);
const bindings = z.enum(['redirect', 'post']);
const nameIdMappings = z.enum(['username', 'email', 'uid', 'hashed_user_id']);
export const DIGEST_ALGORITHMS = ['http://www.w3.org/2000/09/xmldsig#sha1', 'http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512'] as const;
export const SIGNATURE_ALGORITHMS = [
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
] as const;
const certificate = z
  .string()
  .max(20_000)
  .transform((text, ctx) => {
    const pem = normaliseCertificate(text);
    if (!pem) ctx.addIssue({ code: 'custom', message: 'Enter a PEM-encoded X.509 certificate.' });
    return pem ?? '';
  });

const optionalFields = {
  invalidation_flow: z.uuid().nullable().optional(),
  issuer: z.string().trim().min(1).max(2000).optional(),
  audience: z.string().trim().max(2000).optional(),
  sp_binding: bindings.optional(),
  sls_url: z.union([z.literal(''), httpUrl('SLS URL')]).optional(),
  sls_binding: bindings.optional(),
  default_relay_state: z.string().max(80).optional(),
  name_id_mapping: nameIdMappings.nullable().optional(),
  digest_algorithm: z.enum(DIGEST_ALGORITHMS).optional(),
  signature_algorithm: z.enum(SIGNATURE_ALGORITHMS).optional(),
  assertion_valid_not_before: duration.optional(),
  assertion_valid_not_on_or_after: duration.optional(),
  session_valid_not_on_or_after: duration.optional(),
  sign_assertion: z.boolean().optional(),
  sign_response: z.boolean().optional(),
  verification_certificate: certificate.nullable().optional(),
  encryption_certificate: certificate.nullable().optional(),
  // Authentik's key-pair references. Gatehouse makes each provider's signing key itself, so
  // signing_kp is accepted and ignored; the SP's certificates come as PEM (the fields above),
  // and a key-pair reference there is refused rather than silently dropped.
  signing_kp: z.string().max(200).nullable().optional(),
  verification_kp: z.null({ error: 'Give the SP certificate as PEM in verification_certificate.' }).optional(),
  encryption_kp: z.null({ error: 'Give the SP certificate as PEM in encryption_certificate.' }).optional(),
};
const name = z.string().trim().min(1).max(200);
const writeSchema = z.strictObject({ name, authorization_flow: z.uuid(), acs_url: httpUrl('ACS URL'), ...optionalFields });
export const samlPatchSchema = z.strictObject({ name: name.optional(), authorization_flow: z.uuid().optional(), acs_url: httpUrl('ACS URL').optional(), ...optionalFields });
const importSchema = z.strictObject({
  name,
  authorization_flow: z.uuid(),
  invalidation_flow: z.uuid().nullable().optional(),
  file: z.string().min(1).max(256 * 1024),
});
const pkParams = z.object({ pk: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const listQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name', 'pk']), name: z.string().max(200).optional() });

const nullableUrl = z.string().nullable();
const samlProviderSchema = providerSummarySchema.extend({
  acs_url: z.string(),
  issuer: z.string(),
  audience: z.string(),
  sp_binding: bindings,
  sls_url: z.string(),
  sls_binding: bindings,
  default_relay_state: z.string(),
  name_id_mapping: nameIdMappings.nullable(),
  digest_algorithm: z.string(),
  signature_algorithm: z.string(),
  assertion_valid_not_before: z.string(),
  assertion_valid_not_on_or_after: z.string(),
  session_valid_not_on_or_after: z.string(),
  sign_assertion: z.boolean(),
  sign_response: z.boolean(),
  signing_kp: z.string(),
  signing_certificate: z.string(),
  verification_certificate: z.string().nullable(),
  encryption_certificate: z.string().nullable(),
  url_download_metadata: nullableUrl,
  url_sso_post: nullableUrl,
  url_sso_redirect: nullableUrl,
  url_sso_init: nullableUrl,
  url_slo_post: nullableUrl,
  url_slo_redirect: nullableUrl,
});

function present(p: SamlProviderRow, origin: string) {
  const paths = p.application_slug ? samlPaths(origin, p.application_slug) : null;
  return {
    ...presentProviderSummary({ id: p.provider_id, type: 'saml', name: p.provider_name, ...p }),
    acs_url: p.acs_url,
    issuer: p.issuer,
    audience: p.audience,
    sp_binding: p.sp_binding,
    sls_url: p.sls_url,
    sls_binding: p.sls_binding,
    default_relay_state: p.default_relay_state,
    name_id_mapping: p.name_id_mapping,
    digest_algorithm: p.digest_algorithm,
    signature_algorithm: p.signature_algorithm,
    assertion_valid_not_before: p.assertion_valid_not_before,
    assertion_valid_not_on_or_after: p.assertion_valid_not_on_or_after,
    session_valid_not_on_or_after: p.session_valid_not_on_or_after,
    sign_assertion: p.sign_assertion,
    sign_response: p.sign_response,
    signing_kp: createHash('sha256').update(new X509Certificate(p.signing_certificate).raw).digest('hex'),
    signing_certificate: p.signing_certificate,
    verification_certificate: p.verification_certificate,
    encryption_certificate: p.encryption_certificate,
    url_download_metadata: paths ? `${paths.metadata}?download` : null,
    url_sso_post: paths?.ssoPost ?? null,
    url_sso_redirect: paths?.ssoRedirect ?? null,
    url_sso_init: paths?.ssoInit ?? null,
    url_slo_post: paths?.sloPost ?? null,
    url_slo_redirect: paths?.sloRedirect ?? null,
  };
}

export function withoutKeyPairs<T extends { signing_kp?: unknown; verification_kp?: unknown; encryption_kp?: unknown }>(body: T) {
  const { signing_kp: _s, verification_kp: _v, encryption_kp: _e, ...rest } = body;
  return rest;
}

export const samlProvidersApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['providers'];
  const originOf = (request: { protocol: string; host: string }) => `${request.protocol}://${request.host}`;

  app.get('/providers/saml/', {
    schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(samlProviderSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listSamlProviders(deps.db, { search: q.search, name: q.name, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
      return paginate(page, q, (p) => present(p, originOf(request)));
    },
  });

  app.post('/providers/saml/', {
    schema: { tags, body: writeSchema, response: { 201: samlProviderSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const provider = await createSamlProvider(deps, requestContext(request), withoutKeyPairs(request.body));
      return reply.status(201).send(present(provider, originOf(request)));
    },
  });

  // Authentik answers 204; the new provider is found by name.
  app.post('/providers/saml/import_metadata/', {
    schema: { tags, body: importSchema },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const { file, ...rest } = request.body;
      const { readSpMetadata } = await spMetadataModule();
      let imported: ReturnType<typeof readSpMetadata>;
      try {
        imported = readSpMetadata(file);
      } catch (error) {
        if (error instanceof SamlError) throw ValidationError.field('file', error.message);
        throw error;
      }
      await createSamlProvider(deps, requestContext(request), { ...rest, ...imported });
      return reply.status(204).send();
    },
  });

  app.get('/providers/saml/:pk/', {
    schema: { tags, params: pkParams, response: { 200: samlProviderSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const provider = await findSamlProviderById(deps.db, request.params.pk);
      if (!provider) throw new NotFound();
      return present(provider, originOf(request));
    },
  });

  // Authentik's metadata action: {metadata: "<xml>"}, or the file itself with ?download.
  app.get('/providers/saml/:pk/metadata/', {
    schema: { tags, params: pkParams, querystring: z.object({ download: z.string().optional() }), response: { 200: z.unknown() } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const provider = await findSamlProviderById(deps.db, request.params.pk);
      if (!provider?.application_slug) throw new NotFound('Provider has no application assigned.');
      const { buildMetadata } = await metadataModule();
      const xml = buildMetadata(provider, originOf(request), provider.application_slug);
      if (request.query.download === undefined) return { metadata: xml };
      return reply
        .type('application/xml; charset=utf-8')
        .header('content-disposition', `attachment; filename="${provider.application_slug}-metadata.xml"`)
        .send(xml);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/providers/saml/:pk/',
      schema: { tags, params: pkParams, body: method === 'PUT' ? writeSchema : samlPatchSchema, response: { 200: samlProviderSchema, 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        const changes = withoutKeyPairs(request.body);
        return present(await updateSamlProvider(deps, requestContext(request), request.params.pk, changes), originOf(request));
      },
    });
  }

  app.delete('/providers/saml/:pk/', {
    schema: { tags, params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteSamlProvider(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
