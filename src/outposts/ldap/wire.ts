// What the core's outpost API sends an LDAP outpost (src/providers/ldap/outpostApi.ts), as JSON.

/** Authentik's LDAPOutpostConfig: one provider the outpost serves. */
export interface OutpostProviderConfig {
  pk: number;
  name: string;
  base_dn: string;
  bind_flow_slug: string;
  application_slug: string | null;
  search_group: string | null;
  uid_start_number: number;
  gid_start_number: number;
  search_mode: 'cached' | 'direct';
  bind_mode: 'cached' | 'direct';
  mfa_support: boolean;
}

export interface DirectoryUser {
  pk: number;
  uuid: string;
  username: string;
  name: string;
  email: string;
  is_active: boolean;
  is_superuser: boolean;
  attributes: Record<string, string | string[]>;
  /** Group uuids (direct memberships). */
  groups: string[];
  /**
   * Providers (pks) on which the user holds Authentik's `search_full_directory`, directly or
   * through a role of a group; absent from a core that predates permissions.
   */
  search_full_directory?: number[];
}

export interface DirectoryGroup {
  pk: string;
  num_pk: number;
  name: string;
  is_superuser: boolean;
  parent: string | null;
  attributes: Record<string, string | string[]>;
}

export interface Directory {
  version: string;
  /**
   * The `version` of the provider settings (GET /outposts/ldap/) this directory was built for, so
   * an outpost that fetched both at once can tell whether they match; absent from older cores.
   */
  config_version?: string;
  users: DirectoryUser[];
  groups: DirectoryGroup[];
}

/** The answer to check_access after a bind flow signed a user in. */
export interface AccessVerdict {
  access: { passing: boolean; messages: string[] };
  has_search_permission?: boolean;
  user: { pk: number; username: string } | null;
}
