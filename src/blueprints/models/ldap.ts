import { ldapPatchSchema, ldapWriteSchema } from '../../api/ldapProviders.ts';
import { outpostPatchSchema, outpostWriteSchema } from '../../api/outposts.ts';
import { createLdapProvider, deleteLdapProvider, type LdapProviderInput, updateLdapProvider } from '../../core/ldapProviderAdmin.ts';
import { createOutpost, deleteOutpost, type OutpostInput, updateOutpost } from '../../core/outpostAdmin.ts';
import { listLdapProviders } from '../../store/ldapProviders.ts';
import { listOutposts } from '../../store/outposts.ts';
import { ALL, type BlueprintModel, fieldsOf, num, parsedWith, str } from '../model.ts';

// authentik_providers_ldap.ldapprovider and authentik_outposts.outpost: an LDAP directory for
// apps that only speak LDAP, and the outpost that serves it (`gatehouse all` runs it in-process).

export const ldapProviderModel: BlueprintModel = {
  name: 'authentik_providers_ldap.ldapprovider',
  fields: fieldsOf(ldapPatchSchema),
  // The outpost loads its own certificate (GATEHOUSE_LDAP__TLS_CERT/KEY); attributes are Authentik's fixed set.
  ignored: new Set(['property_mappings', 'certificate', 'tls_server_name', 'authentication_flow']),
  parse: parsedWith(ldapPatchSchema),
  async list(tx) {
    return (await listLdapProviders(tx, {}, ALL)).rows.map((p) => ({
      pk: p.provider_id,
      values: {
        name: p.provider_name,
        authorization_flow: p.authorization_flow_id,
        invalidation_flow: p.invalidation_flow_id,
        base_dn: p.base_dn,
        search_group: p.search_group_id,
        uid_start_number: p.uid_start_number,
        gid_start_number: p.gid_start_number,
        mfa_support: p.mfa_support,
        bind_mode: p.bind_mode,
        search_mode: p.search_mode,
      },
    }));
  },
  // A new provider needs what POST needs (name, authorization_flow): the API's create schema says so.
  create: async (deps, ctx, v) => (await createLdapProvider(deps, ctx, parsedWith(ldapWriteSchema)(v) as unknown as LdapProviderInput)).provider_id,
  update: async (deps, ctx, pk, v) => void (await updateLdapProvider(deps, ctx, num(pk), v as Partial<LdapProviderInput>)),
  remove: (deps, ctx, pk) => deleteLdapProvider(deps, ctx, num(pk)),
};

/** Authentik's deployment integration: an outpost here is run by `gatehouse all` or by hand, never deployed. */
const withoutServiceConnection = ({ service_connection: _none, ...rest }: Record<string, unknown>) => rest;

export const outpostModel: BlueprintModel = {
  name: 'authentik_outposts.outpost',
  fields: fieldsOf(outpostPatchSchema),
  // Authentik marks its embedded outpost as managed; Gatehouse's outposts are all the admin's.
  ignored: new Set(['managed']),
  parse: parsedWith(outpostPatchSchema),
  async list(tx) {
    return (await listOutposts(tx, {}, ALL)).rows.map((o) => ({
      pk: o.id,
      values: {
        name: o.name,
        type: o.type,
        providers: [...o.provider_ids].sort((a, b) => a - b),
        config: o.config,
        service_connection: null,
      },
    }));
  },
  create: async (deps, ctx, v) => (await createOutpost(deps, ctx, withoutServiceConnection(parsedWith(outpostWriteSchema)(v)) as unknown as OutpostInput)).id,
  update: async (deps, ctx, pk, v) => void (await updateOutpost(deps, ctx, str(pk), withoutServiceConnection(v) as Partial<OutpostInput>)),
  remove: (deps, ctx, pk) => deleteOutpost(deps, ctx, str(pk)),
};
