// A user's or group's custom attributes on its LDAP entry. As in Authentik's outpost
// (EnsureAttributes in entries.go) they win over the built-in ones, so a directory migrated from
// POSIX LDAP keeps its uidNumber, gidNumber, loginShell and homeDirectory (`%s` in a user's value
// is the username: homeDirectory=/srv/home/%s). Names compare without regard to case.
//
// Unlike Authentik, a few built-ins cannot be replaced: what names the entry (cn, uid,
// sAMAccountName, entryUUID), what it is (objectClass), and what apps decide access by
// (memberOf, member, memberUid, ak-active, ak-superuser). Only admins edit attributes today
// (the users and groups APIs are superuser-only, user_write writes none), but an attribute
// should never be a second, unaudited way to grant group membership or admin rights.

type Attributes = Array<[string, string[]]>;

export const PROTECTED_USER_ATTRIBUTES = new Set(['objectclass', 'cn', 'uid', 'samaccountname', 'entryuuid', 'memberof', 'ak-active', 'ak-superuser']);
export const PROTECTED_GROUP_ATTRIBUTES = new Set(['objectclass', 'cn', 'entryuuid', 'member', 'memberuid', 'memberof', 'ak-superuser']);

// POSIX ids must stay one decimal number each, and never 0: an attribute must not make an LDAP
// user root (uid 0) or put them in root's group on every NAS that trusts the directory.
const POSIX_IDS = new Set(['uidnumber', 'gidnumber']);
const isPosixId = (values: string[]) => values.length === 1 && /^[1-9]\d{0,9}$/.test(values[0] as string) && Number(values[0]) <= 4_294_967_294;

export interface CustomAttributeRules {
  protectedNames: Set<string>;
  /** Replaces `%s` in values (users: the username); absent for groups. */
  username?: string;
}

function customValues(value: string | string[], username: string | undefined): string[] {
  const values = Array.isArray(value) ? value : [value];
  return username === undefined ? values : values.map((v) => v.replaceAll('%s', username));
}

/** The built-in attributes with the custom ones laid over them, then the other custom ones. */
export function withCustomAttributes(builtIn: Attributes, custom: Record<string, string | string[]>, rules: CustomAttributeRules): Attributes {
  const overrides = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of Object.entries(custom)) {
    const key = name.toLowerCase();
    // Two spellings of one name (Foo, foo): the first listed wins, as one attribute.
    if (overrides.has(key) || rules.protectedNames.has(key)) continue;
    const values = customValues(value, rules.username);
    if (POSIX_IDS.has(key) && !isPosixId(values)) continue;
    overrides.set(key, { name, values });
  }
  const merged: Attributes = builtIn.map(([name, values]) => {
    const key = name.toLowerCase();
    const override = overrides.get(key);
    if (!override) return [name, values];
    overrides.delete(key);
    return [name, override.values];
  });
  for (const { name, values } of overrides.values()) merged.push([name, values]);
  return merged;
}
