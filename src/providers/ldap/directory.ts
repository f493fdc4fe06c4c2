import { createHash } from 'node:crypto';
import type { CoreDeps } from '../../core/context.ts';
import { SEARCH_FULL_DIRECTORY } from '../../core/permissions.ts';
import type { Directory, OutpostProviderConfig } from '../../outposts/ldap/wire.ts';
import type { Database, Queryable } from '../../store/db.ts';
import { watchedDirectoryVersion } from '../../store/directoryVersion.ts';
import { directoryFingerprint, listDirectoryGroups, listDirectoryUsers, readDirectoryUserChanges } from '../../store/ldapDirectory.ts';
import type { LdapProviderRow } from '../../store/ldapProviders.ts';
import { holdersOfPermission } from '../../store/rbac.ts';

// What the core hands an LDAP outpost: its providers' settings and the directory (users, groups,
// memberships), plus a version string that changes whenever either does, so the outpost can
// poll the version cheaply and fetch the rest only on change.

/** Authentik's LDAPOutpostConfig, one per provider the outpost serves. */
export const presentOutpostConfig = (p: LdapProviderRow, bindFlowSlug: string): OutpostProviderConfig => ({
  pk: p.provider_id,
  name: p.provider_name,
  base_dn: p.base_dn,
  bind_flow_slug: bindFlowSlug,
  application_slug: p.application_slug,
  search_group: p.search_group_id,
  uid_start_number: p.uid_start_number,
  gid_start_number: p.gid_start_number,
  search_mode: p.search_mode,
  bind_mode: p.bind_mode,
  mfa_support: p.mfa_support,
});

/**
 * A custom attribute's LDAP name, as Authentik's outpost spells it (AttributeKeySanitize): `/`
 * becomes `-` and `.` goes, so `goauthentik.io/user/sources` is `goauthentikio-user-sources` and
 * an app set up against Authentik asks for the same name.
 */
const ldapName = (key: string) => key.replaceAll('/', '-').replaceAll('.', '');

/** Only scalar attributes (and lists of them) become LDAP attributes; names LDAP can carry. */
function ldapAttributes(attributes: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [original, value] of Object.entries(attributes ?? {})) {
    const key = ldapName(original);
    // Two keys that sanitize alike (a.b and ab): the first listed wins, as one attribute.
    if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(key) || Object.hasOwn(out, key)) continue;
    const scalar = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);
    if (Array.isArray(value)) {
      const values = value.map(scalar).filter((v): v is string => v !== null);
      if (values.length) out[key] = values;
    } else {
      const v = scalar(value);
      if (v !== null) out[key] = v;
    }
  }
  return out;
}

/** The groups whose members are superusers: is_superuser on the group or any ancestor. */
function superuserGroups(groups: Array<{ id: string; parent_id: string | null; is_superuser: boolean }>): Set<string> {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const result = new Set<string>();
  for (const group of groups) {
    const seen = new Set<string>();
    for (let g: typeof group | undefined = group; g && !seen.has(g.id); g = g.parent_id ? byId.get(g.parent_id) : undefined) {
      seen.add(g.id);
      if (g.is_superuser) {
        result.add(group.id);
        break;
      }
    }
  }
  return result;
}

/**
 * For each user holding `search_full_directory` (directly or through a role of one of their
 * groups), the providers among `providerPks` it is held on: a grant on the model covers all of them.
 */
export async function fullDirectorySearchers(db: Queryable, providerPks: number[]): Promise<Map<number, number[]>> {
  const result = new Map<number, number[]>();
  for (const { user_id, object_pk } of await holdersOfPermission(db, SEARCH_FULL_DIRECTORY)) {
    const covered = object_pk === null ? providerPks : providerPks.filter((pk) => String(pk) === object_pk);
    if (covered.length) result.set(user_id, [...new Set([...(result.get(user_id) ?? []), ...covered])].sort((a, b) => a - b));
  }
  return result;
}

/**
 * The directory's digest, computed only when its key moved since this process last computed it:
 * directory_version (migrations 0005 and 0013: identities, groups, memberships, grants;
 * announced, 0014: no read while LISTEN is up) and the count of new users, password and type
 * changes (0013, striped so those writes do not wait on each other). Outposts ask twice a
 * second each, and the digest reads every user, group and grant. Both parts of the key are read
 * before the digest and move only at commit, so a digest is never older than the key it is kept
 * under.
 */
const fingerprints = new WeakMap<Database, { counter: string; digest: Promise<string> }>();

async function currentFingerprint(db: Database): Promise<string> {
  const [version, userChanges] = await Promise.all([watchedDirectoryVersion(db), readDirectoryUserChanges(db)]);
  const counter = `${version}:${userChanges}`;
  const known = fingerprints.get(db);
  if (known?.counter === counter) return known.digest;
  const fresh = { counter, digest: directoryFingerprint(db) };
  fingerprints.set(db, fresh);
  // A failed read is not kept: the next poll tries again.
  fresh.digest.catch(() => {
    if (fingerprints.get(db) === fresh) fingerprints.delete(db);
  });
  return fresh.digest;
}

/** The directory for an outpost serving `providerPks`. */
export async function loadDirectory(deps: Pick<CoreDeps, 'db'>, configVersion: string, providerPks: number[]): Promise<Directory & { config_version: string }> {
  // The version first, the rows after: a change committed in between then makes the version
  // older than the rows (the outpost fetches once more), never newer (it would miss the change).
  const fingerprint = await currentFingerprint(deps.db);
  const [users, groups, searchers] = await Promise.all([
    listDirectoryUsers(deps.db),
    listDirectoryGroups(deps.db),
    fullDirectorySearchers(deps.db, providerPks),
  ]);
  const admins = superuserGroups(groups);
  return {
    version: combineVersion(fingerprint, configVersion),
    config_version: configVersion,
    users: users.map((u) => ({
      pk: u.id,
      uuid: u.uuid,
      username: u.username,
      name: u.name,
      email: u.email,
      is_active: u.is_active,
      is_superuser: u.group_ids.some((id) => admins.has(id)),
      attributes: ldapAttributes(u.attributes),
      groups: u.group_ids,
      search_full_directory: searchers.get(u.id) ?? [],
    })),
    groups: groups.map((g) => ({
      pk: g.id,
      num_pk: g.num_pk,
      name: g.name,
      is_superuser: admins.has(g.id),
      parent: g.parent_id,
      attributes: ldapAttributes(g.attributes),
    })),
  };
}

export async function directoryVersion(deps: Pick<CoreDeps, 'db'>, configVersion: string): Promise<string> {
  return combineVersion(await currentFingerprint(deps.db), configVersion);
}

const combineVersion = (fingerprint: string, configVersion: string) =>
  createHash('sha256').update(`${fingerprint}|${configVersion}`).digest('base64url').slice(0, 32);

export const configVersionOf = (configs: OutpostProviderConfig[]) => createHash('sha256').update(JSON.stringify(configs)).digest('base64url');
