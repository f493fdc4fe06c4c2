import { NotFound, ValidationError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { findFlowById } from '../store/flows.ts';
import { findGroupById } from '../store/groups.ts';
import * as ldapStore from '../store/ldapProviders.ts';
import * as providerStore from '../store/providers.ts';
import { deleteAssignmentsOnObject } from '../store/rbac.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, translatingConflicts } from './modelWrites.ts';

// Admin writes of LDAP providers, each with its audit event in one transaction. Shapes are
// checked at the edge; references (flows, search group) and uniqueness here.

export type LdapProviderRow = ldapStore.LdapProviderRow;

/** The writable fields, as Authentik's API spells them. */
export interface LdapProviderInput {
  name: string;
  authorization_flow: string;
  invalidation_flow?: string | null;
  base_dn?: string;
  search_group?: string | null;
  uid_start_number?: number;
  gid_start_number?: number;
  mfa_support?: boolean;
  bind_mode?: LdapProviderRow['bind_mode'];
  search_mode?: LdapProviderRow['search_mode'];
}

export const DEFAULT_BASE_DN = 'DC=ldap,DC=goauthentik,DC=io';

const providerRef = (p: { provider_id: number; provider_name: string }) => ({
  model_name: 'ldap_provider' as const,
  pk: p.provider_id,
  name: p.provider_name,
});
const duplicate = () => ValidationError.field('non_field_errors', 'A provider with this name or base DN already exists.');

async function checkReferences(tx: Queryable, values: ldapStore.LdapProviderValues, selfId: number | null): Promise<void> {
  if (!(await findFlowById(tx, values.authorization_flow_id))) {
    throw ValidationError.field('authorization_flow', `Invalid pk "${values.authorization_flow_id}" - object does not exist.`);
  }
  if (values.invalidation_flow_id !== null && !(await findFlowById(tx, values.invalidation_flow_id))) {
    throw ValidationError.field('invalidation_flow', `Invalid pk "${values.invalidation_flow_id}" - object does not exist.`);
  }
  if (values.search_group_id !== null && !(await findGroupById(tx, values.search_group_id))) {
    throw ValidationError.field('search_group', `Invalid pk "${values.search_group_id}" - object does not exist.`);
  }
  const sameName = await providerStore.findProviderIdByName(tx, values.provider_name);
  if (sameName !== null && sameName !== selfId) throw ValidationError.field('name', 'provider with this name already exists.');
  // One listener serves every provider, chosen by base DN: two providers cannot share one.
  const sameBase = await ldapStore.findLdapProviderIdByBaseDn(tx, values.base_dn);
  if (sameBase !== null && sameBase !== selfId) throw ValidationError.field('base_dn', 'Another LDAP provider already uses this base DN.');
}

function valuesOf(input: Partial<LdapProviderInput>, current: ldapStore.LdapProviderValues): ldapStore.LdapProviderValues {
  return {
    provider_name: input.name ?? current.provider_name,
    authorization_flow_id: input.authorization_flow ?? current.authorization_flow_id,
    invalidation_flow_id: input.invalidation_flow === undefined ? current.invalidation_flow_id : input.invalidation_flow,
    base_dn: input.base_dn ?? current.base_dn,
    search_group_id: input.search_group === undefined ? current.search_group_id : input.search_group,
    uid_start_number: input.uid_start_number ?? current.uid_start_number,
    gid_start_number: input.gid_start_number ?? current.gid_start_number,
    mfa_support: input.mfa_support ?? current.mfa_support,
    bind_mode: input.bind_mode ?? current.bind_mode,
    search_mode: input.search_mode ?? current.search_mode,
  };
}

async function findProvider(tx: Queryable, id: number): Promise<LdapProviderRow> {
  const provider = await ldapStore.findLdapProviderById(tx, id);
  if (!provider) throw new NotFound();
  return provider;
}

export function createLdapProvider(deps: CoreDeps, ctx: RequestContext, input: LdapProviderInput): Promise<LdapProviderRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const values = valuesOf(input, {
          provider_name: input.name,
          authorization_flow_id: input.authorization_flow,
          invalidation_flow_id: null,
          base_dn: DEFAULT_BASE_DN,
          search_group_id: null,
          uid_start_number: 2000,
          gid_start_number: 4000,
          mfa_support: true,
          bind_mode: 'cached',
          search_mode: 'cached',
        });
        await checkReferences(tx, values, null);
        const provider = await findProvider(tx, await ldapStore.insertLdapProvider(tx, values));
        await recordEvent(tx, deps, ctx, 'model_created', { model: providerRef(provider) });
        return provider;
      }),
    duplicate,
  );
}

/** PUT and PATCH both merge into the stored provider (fields not sent keep their value, as in DRF). */
export function updateLdapProvider(deps: CoreDeps, ctx: RequestContext, id: number, changes: Partial<LdapProviderInput>): Promise<LdapProviderRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const values = valuesOf(changes, await findProvider(tx, id));
        await checkReferences(tx, values, id);
        await ldapStore.replaceLdapProvider(tx, id, values);
        const provider = await findProvider(tx, id);
        await recordEvent(tx, deps, ctx, 'model_updated', { model: providerRef(provider), context: { changed: changedFields({ ...changes }) } });
        return provider;
      }),
    duplicate,
  );
}

/** Its application stays, without a provider; outposts stop serving it (as in Authentik). */
export function deleteLdapProvider(deps: CoreDeps, ctx: RequestContext, id: number): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const provider = await findProvider(tx, id);
    await providerStore.deleteProvider(tx, id);
    await deleteAssignmentsOnObject(tx, 'authentik_providers_ldap', 'ldapprovider', String(id));
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: providerRef(provider), context: { application: provider.application_slug } });
  });
}
