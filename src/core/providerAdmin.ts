import { randomInt } from 'node:crypto';
import { NotFound, ValidationError } from '../errors.ts';
import * as appStore from '../store/applications.ts';
import type { Queryable } from '../store/db.ts';
import { findFlowById } from '../store/flows.ts';
import * as providerStore from '../store/providers.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, translatingConflicts } from './modelWrites.ts';

// Admin writes of OAuth2/OpenID providers, each with its audit event in one transaction. Shapes
// (redirect URIs, durations, scopes) are checked at the edge; references and uniqueness here.

export type OAuth2ProviderRow = appStore.OAuth2ClientRow;
export type RedirectUri = OAuth2ProviderRow['redirect_uris'][number];

/** The writable fields, as the API spells them; the secret in clear (it is sealed here). */
export interface OAuth2ProviderInput {
  name: string;
  authorization_flow: string;
  invalidation_flow?: string | null;
  client_type?: OAuth2ProviderRow['client_type'];
  client_id?: string;
  client_secret?: string;
  redirect_uris?: RedirectUri[];
  access_code_validity?: string;
  access_token_validity?: string;
  refresh_token_validity?: string;
  sub_mode?: OAuth2ProviderRow['sub_mode'];
  include_claims_in_id_token?: boolean;
  signing_algorithm?: OAuth2ProviderRow['signing_algorithm'];
  scopes?: string[];
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Authentik's generate_id / generate_key: random letters and digits. */
export const randomAlphanumeric = (length: number): string =>
  Array.from({ length }, () => ALPHANUMERIC.charAt(randomInt(ALPHANUMERIC.length))).join('');
export const generateClientId = (): string => randomAlphanumeric(40);
export const generateClientSecret = (): string => randomAlphanumeric(128);

export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

const providerRef = (p: { provider_id: number; provider_name: string }) => ({
  model_name: 'oauth2_provider' as const,
  pk: p.provider_id,
  name: p.provider_name,
});
const duplicateName = () => ValidationError.field('name', 'provider with this name already exists.');
const duplicateClientId = () => ValidationError.field('client_id', 'OAuth2/OpenID Provider with this Client ID already exists.');
const duplicate = () => ValidationError.field('non_field_errors', 'A provider with this name or client ID already exists.');

/** The whole provider is checked: flows exist, name and client id are free (but for `selfId`). */
async function checkReferences(tx: Queryable, values: providerStore.OAuth2ProviderValues, selfId: number | null): Promise<void> {
  if (!(await findFlowById(tx, values.authorization_flow_id))) {
    throw ValidationError.field('authorization_flow', `Invalid pk "${values.authorization_flow_id}" - object does not exist.`);
  }
  if (values.invalidation_flow_id !== null && !(await findFlowById(tx, values.invalidation_flow_id))) {
    throw ValidationError.field('invalidation_flow', `Invalid pk "${values.invalidation_flow_id}" - object does not exist.`);
  }
  const sameName = await providerStore.findProviderIdByName(tx, values.provider_name);
  if (sameName !== null && sameName !== selfId) throw duplicateName();
  const sameClient = await providerStore.findProviderIdByClientId(tx, values.client_id);
  if (sameClient !== null && sameClient !== selfId) throw duplicateClientId();
}

/** A confidential client always has a secret: one is generated when none is given (as in Authentik). */
function sealedSecret(deps: CoreDeps, input: Partial<OAuth2ProviderInput>, clientType: string, current: string): string {
  if (input.client_secret !== undefined) return deps.clientSecretBox.seal(input.client_secret);
  if (clientType === 'confidential' && current === '') return deps.clientSecretBox.seal(generateClientSecret());
  return current;
}

function valuesOf(deps: CoreDeps, input: Partial<OAuth2ProviderInput>, current: providerStore.OAuth2ProviderValues) {
  const clientType = input.client_type ?? current.client_type;
  return {
    provider_name: input.name ?? current.provider_name,
    authorization_flow_id: input.authorization_flow ?? current.authorization_flow_id,
    invalidation_flow_id: input.invalidation_flow === undefined ? current.invalidation_flow_id : input.invalidation_flow,
    client_type: clientType,
    client_id: input.client_id ?? current.client_id,
    client_secret_encrypted: sealedSecret(deps, input, clientType, current.client_secret_encrypted),
    redirect_uris: input.redirect_uris ?? current.redirect_uris,
    access_code_validity: input.access_code_validity ?? current.access_code_validity,
    access_token_validity: input.access_token_validity ?? current.access_token_validity,
    refresh_token_validity: input.refresh_token_validity ?? current.refresh_token_validity,
    sub_mode: input.sub_mode ?? current.sub_mode,
    include_claims_in_id_token: input.include_claims_in_id_token ?? current.include_claims_in_id_token,
    signing_algorithm: input.signing_algorithm ?? current.signing_algorithm,
    scopes: input.scopes ?? current.scopes,
  } satisfies providerStore.OAuth2ProviderValues;
}

const DEFAULTS: Omit<providerStore.OAuth2ProviderValues, 'provider_name' | 'authorization_flow_id' | 'client_id'> = {
  invalidation_flow_id: null,
  client_type: 'confidential',
  client_secret_encrypted: '',
  redirect_uris: [],
  access_code_validity: 'minutes=1',
  access_token_validity: 'hours=1',
  refresh_token_validity: 'days=30',
  sub_mode: 'hashed_user_id',
  include_claims_in_id_token: true,
  signing_algorithm: 'RS256',
  scopes: DEFAULT_SCOPES,
};

export function createOAuth2Provider(deps: CoreDeps, ctx: RequestContext, input: OAuth2ProviderInput): Promise<OAuth2ProviderRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const start = { ...DEFAULTS, provider_name: input.name, authorization_flow_id: input.authorization_flow, client_id: generateClientId() };
        const values = valuesOf(deps, input, start);
        await checkReferences(tx, values, null);
        const id = await providerStore.insertOAuth2Provider(tx, values);
        const provider = (await appStore.findOAuth2ProviderById(tx, id)) as OAuth2ProviderRow;
        await recordEvent(tx, deps, ctx, 'model_created', { model: providerRef(provider) });
        return provider;
      }),
    duplicate,
  );
}

async function findProvider(tx: Queryable, id: number): Promise<OAuth2ProviderRow> {
  const provider = await appStore.findOAuth2ProviderById(tx, id);
  if (!provider) throw new NotFound();
  return provider;
}

/** PUT and PATCH both merge into the stored provider (fields not sent keep their value, as in DRF). */
export function updateOAuth2Provider(
  deps: CoreDeps,
  ctx: RequestContext,
  id: number,
  changes: Partial<OAuth2ProviderInput>,
): Promise<OAuth2ProviderRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const values = valuesOf(deps, changes, await findProvider(tx, id));
        await checkReferences(tx, values, id);
        await providerStore.replaceOAuth2Provider(tx, id, values);
        const provider = await findProvider(tx, id);
        await recordEvent(tx, deps, ctx, 'model_updated', { model: providerRef(provider), context: { changed: changedFields({ ...changes }) } });
        return provider;
      }),
    duplicate,
  );
}

/** Its application stays, without a provider (as in Authentik). */
export function deleteOAuth2Provider(deps: CoreDeps, ctx: RequestContext, id: number): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const provider = await findProvider(tx, id);
    await providerStore.deleteProvider(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', {
      model: providerRef(provider),
      context: { application: provider.application_slug },
    });
  });
}
