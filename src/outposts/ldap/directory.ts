import { octets } from './ber.ts';
import { PROTECTED_GROUP_ATTRIBUTES, PROTECTED_USER_ATTRIBUTES, withCustomAttributes } from './customAttributes.ts';
import { escapeValue, normalizeDn, parseDn, type Rdn } from './dn.ts';
import { comparableValue, type MatchableEntry } from './filters.ts';
import { dnValues, HIDDEN } from './matchingRules.ts';
import { membershipChains } from './membershipChains.ts';
import { encodeAttribute } from './protocol.ts';
import type { Directory, DirectoryUser, OutpostProviderConfig } from './wire.ts';

// The tree one provider shows, laid out as Authentik's outpost lays it out:
//   <base>                      the base entry
//   ou=users,<base>             cn=<username>,ou=users,<base>
//   ou=groups,<base>            cn=<name>,ou=groups,<base>
//   ou=virtual-groups,<base>    cn=<username>,ou=virtual-groups,<base>: each user's primary group

export interface Entry {
  dn: string;
  /** Lower-case, for scope and equality checks. */
  normalizedDn: string;
  /** Attribute names as served (memberOf, not memberof), in a stable order. */
  attributes: Array<[string, string[]]>;
  /** Lower-case names, for filters and attribute selection. */
  matchable: MatchableEntry;
  /** Each attribute already BER-encoded (PartialAttribute), by lower-case name: searches only concatenate. */
  encoded: Map<string, Buffer>;
  /** The whole attribute list encoded, for `*` and no selection. */
  encodedAll: Buffer;
  /** The DN as a BER octet string, ready for a SearchResultEntry. */
  encodedDn: Buffer;
  /** How many RDNs the DN has (for one-level scope without reparsing). */
  depth: number;
  /**
   * Where the entry sits in the tree's one order (parents before children, then by RDN): the
   * order searches return, and what a paging cookie names to resume after (pagingCookie.ts).
   */
  sortKey: string;
  /** The user behind a user entry or their virtual group (for "who may see what"). */
  userPk: number | null;
}

export interface DirectoryTree {
  provider: OutpostProviderConfig;
  baseDn: string;
  normalizedBase: string;
  entries: Entry[];
  /** Entries by normalized DN. */
  byDn: Map<string, Entry>;
  usersByPk: Map<number, DirectoryUser>;
  userDnByPk: Map<number, string>;
  /** Users by lower-case username (for binds). */
  usersByName: Map<string, DirectoryUser>;
  /** Entries by (lower-case attribute, folded value), for cn/uid/mail lookups. */
  index: Map<string, Entry[]>;
  /** Members of the provider's search group, and users holding `search_full_directory` on it. */
  fullSearchUsers: Set<number>;
}

const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user', 'posixAccount', 'goauthentik.io/ldap/user'];
const GROUP_CLASSES = ['top', 'group', 'groupOfNames', 'groupOfUniqueNames', 'posixGroup', 'goauthentik.io/ldap/group'];
const VIRTUAL_GROUP_CLASSES = [...GROUP_CLASSES, 'goauthentik.io/ldap/virtual-group'];
export const INDEXED = ['cn', 'uid', 'samaccountname', 'mail', 'uidnumber', 'gidnumber', 'objectclass', 'member', 'memberof'];

/** The RDNs root first, each normalized, joined by NUL (which sorts before every other character). */
function sortKeyOf(rdns: Rdn[]): string {
  return rdns
    .slice()
    .reverse()
    .map((r) => `${r.type}=${escapeValue(r.value.toLowerCase()).replace(/\0/g, '\\00')}`)
    .join('\u0000');
}

export const compareSortKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function makeEntry(dn: string, attributes: Array<[string, string[]]>, userPk: number | null = null): Entry {
  const rdns = parseDn(dn) ?? [];
  const present = attributes.filter(([, values]) => values.length > 0);
  const encoded = new Map(present.map(([name, values]) => [name.toLowerCase(), encodeAttribute(name, values)]));
  return {
    dn,
    normalizedDn: normalizeDn(dn) ?? dn.toLowerCase(),
    attributes: present,
    // The DN's values too, for `:dn:` extensible filters (never returned: matchingRules.ts).
    matchable: new Map([...present.map(([name, values]) => [name.toLowerCase(), values] as [string, string[]]), ...dnValues(rdns)]),
    encoded,
    encodedAll: Buffer.concat([...encoded.values()]),
    encodedDn: octets(dn),
    depth: rdns.length,
    sortKey: sortKeyOf(rdns),
    userPk,
  };
}

export function buildTree(provider: OutpostProviderConfig, directory: Directory): DirectoryTree {
  const baseDn = provider.base_dn;
  const usersOu = `ou=users,${baseDn}`;
  const groupsOu = `ou=groups,${baseDn}`;
  const virtualGroupsOu = `ou=virtual-groups,${baseDn}`;
  const userDn = (u: DirectoryUser) => `cn=${escapeValue(u.username)},${usersOu}`;
  const groupDns = new Map(directory.groups.map((g) => [g.pk, `cn=${escapeValue(g.name)},${groupsOu}`]));
  const members = new Map<string, DirectoryUser[]>();
  for (const u of directory.users) for (const g of u.groups) members.set(g, [...(members.get(g) ?? []), u]);
  const children = new Map<string, string[]>();
  for (const g of directory.groups) if (g.parent) children.set(g.parent, [...(children.get(g.parent) ?? []), groupDns.get(g.pk) as string]);

  const firstRdn = baseDn.split(',')[0] ?? '';
  const entries: Entry[] = [
    makeEntry(baseDn, [
      ['objectClass', ['top', 'domain']],
      [firstRdn.split('=')[0]?.trim() || 'dc', [firstRdn.split('=').slice(1).join('=').trim()]],
    ]),
    makeEntry(usersOu, [['objectClass', ['top', 'organizationalUnit']], ['ou', ['users']]]),
    makeEntry(groupsOu, [['objectClass', ['top', 'organizationalUnit']], ['ou', ['groups']]]),
    makeEntry(virtualGroupsOu, [['objectClass', ['top', 'organizationalUnit']], ['ou', ['virtual-groups']]]),
  ];
  const userDnByPk = new Map<number, string>();
  const userEntries: Array<[DirectoryUser, Entry]> = [];
  for (const u of directory.users) {
    const dn = userDn(u);
    userDnByPk.set(u.pk, dn);
    const uidNumber = String(provider.uid_start_number + u.pk);
    const attributes: Array<[string, string[]]> = [
      ['objectClass', USER_CLASSES],
      ['cn', [u.username]],
      ['uid', [u.username]],
      ['sAMAccountName', [u.username]],
      ['name', [u.name]],
      ['displayName', [u.name]],
      ['sn', [u.name]],
      ['mail', u.email ? [u.email] : []],
      ['memberOf', u.groups.flatMap((g) => groupDns.get(g) ?? [])],
      ['uidNumber', [uidNumber]],
      // As in Authentik: each user's primary group is a virtual one numbered like the user.
      ['gidNumber', [uidNumber]],
      ['homeDirectory', [`/home/${u.username}`]],
      ['loginShell', ['/bin/bash']],
      ['entryUUID', [u.uuid]],
      ['ak-active', [String(u.is_active)]],
      ['ak-superuser', [String(u.is_superuser)]],
    ];
    const entry = makeEntry(dn, withCustomAttributes(attributes, u.attributes, { protectedNames: PROTECTED_USER_ATTRIBUTES, username: u.username }), u.pk);
    entries.push(entry);
    userEntries.push([u, entry]);
  }
  for (const g of directory.groups) {
    const groupMembers = members.get(g.pk) ?? [];
    const attributes: Array<[string, string[]]> = [
      ['objectClass', GROUP_CLASSES],
      ['cn', [g.name]],
      ['name', [g.name]],
      // As in Authentik: the groups below this one are members too (rfc2307bis/AD nesting, which
      // sssd and Nextcloud follow), after the users.
      ['member', [...groupMembers.map(userDn), ...(children.get(g.pk) ?? [])]],
      ['memberUid', groupMembers.map((u) => u.username)],
      ['memberOf', g.parent ? [groupDns.get(g.parent) ?? ''].filter(Boolean) : []],
      ['gidNumber', [String(provider.gid_start_number + g.num_pk)]],
      ['entryUUID', [g.pk]],
      ['ak-superuser', [String(g.is_superuser)]],
    ];
    entries.push(makeEntry(groupDns.get(g.pk) as string, withCustomAttributes(attributes, g.attributes, { protectedNames: PROTECTED_GROUP_ATTRIBUTES })));
  }

  entries.push(...virtualGroups(userEntries, virtualGroupsOu, entries));

  // Nested membership, for in-chain filters: kept beside the entries' values, never returned.
  const chains = membershipChains(directory, (pk) => groupDns.get(pk), (pk) => userDnByPk.get(pk) as string);
  const groupPkByDn = new Map([...groupDns].map(([pk, dn]) => [dn, pk]));
  for (const entry of entries) {
    const groupPk = groupPkByDn.get(entry.dn);
    if (groupPk !== undefined) {
      entry.matchable.set(HIDDEN.memberOfChain, chains.groupMemberOf.get(groupPk) ?? []);
      entry.matchable.set(HIDDEN.memberChain, chains.groupMembers.get(groupPk) ?? []);
    } else if (entry.userPk !== null && userDnByPk.get(entry.userPk) === entry.dn) {
      entry.matchable.set(HIDDEN.memberOfChain, chains.userMemberOf.get(entry.userPk) ?? []);
    }
  }

  // One stable order, whatever order the core listed users and groups in: the index lists below
  // inherit it, so every candidate list a search filters is already in it.
  entries.sort((a, b) => compareSortKeys(a.sortKey, b.sortKey));
  const index = new Map<string, Entry[]>();
  for (const entry of entries) {
    for (const name of INDEXED) {
      for (const value of entry.matchable.get(name) ?? []) {
        const key = `${name}\u0000${comparableValue(name, value)}`;
        const list = index.get(key);
        if (list) list.push(entry);
        else index.set(key, [entry]);
      }
    }
  }
  const fullSearchUsers = new Set([
    ...(members.get(provider.search_group ?? '') ?? []).map((u) => u.pk),
    ...directory.users.filter((u) => u.search_full_directory?.includes(provider.pk)).map((u) => u.pk),
  ]);
  return {
    provider,
    baseDn,
    normalizedBase: normalizeDn(baseDn) ?? baseDn.toLowerCase(),
    entries,
    byDn: new Map(entries.map((e) => [e.normalizedDn, e])),
    usersByPk: new Map(directory.users.map((u) => [u.pk, u])),
    userDnByPk,
    usersByName: new Map(directory.users.map((u) => [u.username.toLowerCase(), u])),
    index,
    fullSearchUsers,
  };
}

/**
 * As in Authentik: each user's primary group, a posixGroup whose gidNumber is the user's
 * gidNumber and whose only member is the user, so sssd and nslcd can resolve it. Seen by whoever
 * may see the user (it carries the user's pk). A user whose gidNumber (set by a custom attribute)
 * is a real group's gets none: that group already answers to the number.
 */
function virtualGroups(users: Array<[DirectoryUser, Entry]>, ou: string, built: Entry[]): Entry[] {
  const realGids = new Set(built.filter((e) => e.userPk === null).flatMap((e) => e.matchable.get('gidnumber') ?? []));
  const groups: Entry[] = [];
  for (const [u, entry] of users) {
    const gidNumber = entry.matchable.get('gidnumber')?.[0];
    if (gidNumber === undefined || realGids.has(gidNumber)) continue;
    const attributes: Array<[string, string[]]> = [
      ['objectClass', VIRTUAL_GROUP_CLASSES],
      // No uid or sAMAccountName: a lookup by either still finds the user alone.
      ['cn', [u.username]],
      ['member', [entry.dn]],
      ['memberUid', [u.username]],
      ['gidNumber', [gidNumber]],
      ['ak-superuser', ['false']],
    ];
    groups.push(makeEntry(`cn=${escapeValue(u.username)},${ou}`, attributes, u.pk));
  }
  return groups;
}

/**
 * Superusers, members of the search group and holders of `search_full_directory` see the whole
 * tree; others see only themselves.
 */
export function canSearchAll(tree: DirectoryTree, userPk: number): boolean {
  const user = tree.usersByPk.get(userPk);
  return !!user && (user.is_superuser || tree.fullSearchUsers.has(userPk));
}
