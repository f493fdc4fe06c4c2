import { NotFound, ValidationError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { findFlowById } from '../store/flows.ts';
import * as providerStore from '../store/providers.ts';
import * as samlStore from '../store/samlProviders.ts';
import { generateSigningCertificate } from './certificates.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, translatingConflicts } from './modelWrites.ts';

// Admin writes of SAML providers, each with its audit event in one transaction. Shapes (URLs,
// durations, algorithms, certificates) are checked at the edge; references and uniqueness here.
// Every provider gets its own RSA key and self-signed certificate when it is made.

export type SamlProviderRow = samlStore.SamlProviderRow;

/** The writable fields, as the API spells them. */
export interface SamlProviderInput {
  name: string;
  authorization_flow: string;
  invalidation_flow?: string | null;
  acs_url: string;
  issuer?: string;
  audience?: string;
  sp_binding?: SamlProviderRow['sp_binding'];
  sls_url?: string;
  sls_binding?: SamlProviderRow['sls_binding'];
  default_relay_state?: string;
  name_id_mapping?: SamlProviderRow['name_id_mapping'];
  digest_algorithm?: string;
  signature_algorithm?: string;
  assertion_valid_not_before?: string;
  assertion_valid_not_on_or_after?: string;
  session_valid_not_on_or_after?: string;
  sign_assertion?: boolean;
  sign_response?: boolean;
  /** PEM, already checked to parse; null removes it. */
  verification_certificate?: string | null;
  /** PEM of the SP's encryption certificate; when set, assertions are encrypted to it. */
  encryption_certificate?: string | null;
}

const providerRef = (p: { provider_id: number; provider_name: string }) => ({
  model_name: 'saml_provider' as const,
  pk: p.provider_id,
  name: p.provider_name,
});
const duplicate = () => ValidationError.field('name', 'provider with this name already exists.');

async function checkReferences(tx: Queryable, values: samlStore.SamlProviderValues, selfId: number | null): Promise<void> {
  if (!(await findFlowById(tx, values.authorization_flow_id))) {
    throw ValidationError.field('authorization_flow', `Invalid pk "${values.authorization_flow_id}" - object does not exist.`);
  }
  if (values.invalidation_flow_id !== null && !(await findFlowById(tx, values.invalidation_flow_id))) {
    throw ValidationError.field('invalidation_flow', `Invalid pk "${values.invalidation_flow_id}" - object does not exist.`);
  }
  const sameName = await providerStore.findProviderIdByName(tx, values.provider_name);
  if (sameName !== null && sameName !== selfId) throw duplicate();
}

type Current = Omit<samlStore.SamlProviderValues, 'provider_name' | 'authorization_flow_id' | 'acs_url'> &
  Partial<samlStore.SamlProviderValues>;

function valuesOf(input: Partial<SamlProviderInput>, current: Current): samlStore.SamlProviderValues {
  const pick = <K extends keyof SamlProviderInput & keyof samlStore.SamlProviderValues>(key: K) =>
    (input[key] === undefined ? current[key] : input[key]) as samlStore.SamlProviderValues[K];
  return {
    provider_name: input.name ?? (current.provider_name as string),
    authorization_flow_id: input.authorization_flow ?? (current.authorization_flow_id as string),
    invalidation_flow_id: input.invalidation_flow === undefined ? current.invalidation_flow_id : input.invalidation_flow,
    acs_url: input.acs_url ?? (current.acs_url as string),
    issuer: pick('issuer'),
    audience: pick('audience'),
    sp_binding: pick('sp_binding'),
    sls_url: pick('sls_url'),
    sls_binding: pick('sls_binding'),
    default_relay_state: pick('default_relay_state'),
    name_id_mapping: pick('name_id_mapping'),
    digest_algorithm: pick('digest_algorithm'),
    signature_algorithm: pick('signature_algorithm'),
    assertion_valid_not_before: pick('assertion_valid_not_before'),
    assertion_valid_not_on_or_after: pick('assertion_valid_not_on_or_after'),
    session_valid_not_on_or_after: pick('session_valid_not_on_or_after'),
    sign_assertion: pick('sign_assertion'),
    sign_response: pick('sign_response'),
    signing_key_encrypted: current.signing_key_encrypted,
    signing_certificate: current.signing_certificate,
    verification_certificate: pick('verification_certificate'),
    encryption_certificate: pick('encryption_certificate'),
  };
}

/** Authentik's defaults for a new SAML provider. */
const DEFAULTS = {
  invalidation_flow_id: null,
  issuer: 'authentik',
  audience: '',
  sp_binding: 'redirect',
  sls_url: '',
  sls_binding: 'redirect',
  default_relay_state: '',
  name_id_mapping: null,
  digest_algorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  signature_algorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  assertion_valid_not_before: 'minutes=-5',
  assertion_valid_not_on_or_after: 'minutes=5',
  session_valid_not_on_or_after: 'minutes=86400',
  sign_assertion: true,
  sign_response: false,
  verification_certificate: null,
  encryption_certificate: null,
} as const;

export async function createSamlProvider(deps: CoreDeps, ctx: RequestContext, input: SamlProviderInput): Promise<SamlProviderRow> {
  // Made before the transaction: RSA key generation takes a moment and holds no lock.
  const key = await generateSigningCertificate(`gatehouse SAML ${input.name}`, deps.now());
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const values = valuesOf(input, {
          ...DEFAULTS,
          signing_key_encrypted: deps.signingKeyBox.seal(key.privateKeyPem),
          signing_certificate: key.certificatePem,
        });
        await checkReferences(tx, values, null);
        const id = await samlStore.insertSamlProvider(tx, values);
        const provider = (await samlStore.findSamlProviderById(tx, id)) as SamlProviderRow;
        await recordEvent(tx, deps, ctx, 'model_created', { model: providerRef(provider) });
        return provider;
      }),
    duplicate,
  );
}

async function findProvider(tx: Queryable, id: number): Promise<SamlProviderRow> {
  const provider = await samlStore.findSamlProviderById(tx, id);
  if (!provider) throw new NotFound();
  return provider;
}

/** PUT and PATCH both merge into the stored provider (fields not sent keep their value, as in DRF). */
export function updateSamlProvider(deps: CoreDeps, ctx: RequestContext, id: number, changes: Partial<SamlProviderInput>): Promise<SamlProviderRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const values = valuesOf(changes, await findProvider(tx, id));
        await checkReferences(tx, values, id);
        await samlStore.replaceSamlProvider(tx, id, values);
        const provider = await findProvider(tx, id);
        await recordEvent(tx, deps, ctx, 'model_updated', { model: providerRef(provider), context: { changed: changedFields({ ...changes }) } });
        return provider;
      }),
    duplicate,
  );
}

/** Its application stays, without a provider (as in Authentik). */
export function deleteSamlProvider(deps: CoreDeps, ctx: RequestContext, id: number): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const provider = await findProvider(tx, id);
    await providerStore.deleteProvider(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: providerRef(provider), context: { application: provider.application_slug } });
  });
}
