import type { DirectoryTree } from './directory.ts';
import { isUnder, normalizeDn, parseDn } from './dn.ts';
import type { LdapOutpost } from './outpost.ts';

// Which user a bind DN names. Authentik's outpost takes the username from the `cn` of any DN
// under the provider's base (its DirectBinder.GetUsername), so apps are set up with bind DNs
// such as `cn=svc,dc=ldap,dc=goauthentik,dc=io` or `cn=svc,ou=people,…`: accept those too (the
// password and the bind flow still decide who gets in; Who-Am-I answers the canonical DN).
//
// One exception, unlike Authentik: a group's DN (anything under ou=groups or ou=virtual-groups)
// and any other entry of the tree that is not that user (an OU) is refused. An app that found
// such an entry by a search (`(cn=%s)` under the base finds a group named like a user) and binds
// with its DN would take the group's attributes for the account's: a group `developers` under
// `app-admins` carries `memberOf: cn=app-admins,…`, so a user named `developers` would pass a
// `(memberOf=cn=app-admins,…)` check with their own password. Refusing the group containers
// whole, not only the groups that exist, keeps a DN from binding until a group of its name appears.

export interface BindTarget {
  outpost: LdapOutpost;
  tree: DirectoryTree;
  username: string;
}

/** The user a bind DN names: its first RDN `cn=<name>` (or `uid=`), anywhere under a provider's base. */
export function findBindTarget(outposts: LdapOutpost[], dn: string): BindTarget | null {
  const first = parseDn(dn)?.[0];
  const normalized = normalizeDn(dn);
  if (!first || normalized === null || (first.type !== 'cn' && first.type !== 'uid') || first.value === '') return null;
  for (const outpost of outposts) {
    const tree = outpost.treeFor(dn);
    if (!tree || normalized === tree.normalizedBase || !isUnder(normalized, tree.normalizedBase)) continue;
    if (namesAnotherEntry(tree, normalized)) return null;
    return { outpost, tree, username: first.value };
  }
  return null;
}

const GROUP_CONTAINERS = ['ou=groups', 'ou=virtual-groups'];

/** Whether the DN is a group's (existing or not) or another entry of the tree than a user's own. */
function namesAnotherEntry(tree: DirectoryTree, normalized: string): boolean {
  if (GROUP_CONTAINERS.some((ou) => normalized.endsWith(`,${ou},${tree.normalizedBase}`))) return true;
  const entry = tree.byDn.get(normalized);
  if (!entry) return false;
  const userDn = entry.userPk === null ? undefined : tree.userDnByPk.get(entry.userPk);
  return userDn === undefined || normalizeDn(userDn) !== normalized;
}
