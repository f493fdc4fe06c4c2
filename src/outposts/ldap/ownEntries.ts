import { canSearchAll, compareSortKeys, type DirectoryTree, type Entry, makeEntry } from './directory.ts';
import { normalizeDn } from './dn.ts';
import { HIDDEN } from './matchingRules.ts';

// What a user who may not search the whole directory sees, as Authentik's outpost shows it: their
// own entry, their primary (virtual) group, and each group they are directly in, with themselves
// as its only member. An app that binds as the user (Grafana's bind_dn = "cn=%s,…", then
// group_search_filter = "(member=%s)") finds the user's groups that way; no other member of
// those groups, and no group below them, is shown or can be probed with a filter or a compare.

const byTree = new WeakMap<DirectoryTree, Map<number, Entry[]>>();

/** The user's view of the tree, in the tree's order; built once per copy of the directory. */
export function ownEntries(tree: DirectoryTree, userPk: number): Entry[] {
  const views = byTree.get(tree) ?? new Map<number, Entry[]>();
  byTree.set(tree, views);
  const known = views.get(userPk);
  if (known) return known;
  const own = tree.entries.filter((e) => e.userPk === userPk);
  const user = tree.usersByPk.get(userPk);
  const userEntry = own.find((e) => e.dn === tree.userDnByPk.get(userPk));
  if (user && userEntry) {
    // memberOf comes from the core only (custom attributes cannot set it: customAttributes.ts).
    for (const groupDn of userEntry.matchable.get('memberof') ?? []) {
      const group = tree.byDn.get(normalizeDn(groupDn) ?? '');
      if (group && group.userPk === null) own.push(asOnlyMember(group, userEntry.dn, user.username, userPk));
    }
  }
  own.sort((a, b) => compareSortKeys(a.sortKey, b.sortKey));
  views.set(userPk, own);
  return own;
}

/** The group with the user as its only member, in its values and in what filters can test. */
function asOnlyMember(group: Entry, userDn: string, username: string, userPk: number): Entry {
  const attributes = group.attributes.map(([name, values]): [string, string[]] => {
    const key = name.toLowerCase();
    return [name, key === 'member' ? [userDn] : key === 'memberuid' ? [username] : values];
  });
  const entry = makeEntry(group.dn, attributes, userPk);
  entry.matchable.set(HIDDEN.memberChain, [userDn]);
  entry.matchable.set(HIDDEN.memberOfChain, group.matchable.get(HIDDEN.memberOfChain) ?? []);
  return entry;
}

/**
 * Whether the user may learn that an entry exists (as a search base): anything for those who see
 * the whole tree; else the base and its OUs, which every tree has, and their own entries. Others
 * answer noSuchObject like a DN that names nothing, or a base search would tell `cn=bob` (success,
 * no entries) from `cn=nobody` (noSuchObject) and list who has an account, one guess at a time.
 */
export function isVisibleTo(tree: DirectoryTree, userPk: number, normalizedDn: string): boolean {
  if (!tree.byDn.has(normalizedDn)) return false;
  if (canSearchAll(tree, userPk)) return true;
  const base = tree.normalizedBase;
  const containers = [base, `ou=users,${base}`, `ou=groups,${base}`, `ou=virtual-groups,${base}`];
  return containers.includes(normalizedDn) || ownEntries(tree, userPk).some((e) => e.normalizedDn === normalizedDn);
}
