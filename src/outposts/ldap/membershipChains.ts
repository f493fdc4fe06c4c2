import type { Directory } from './wire.ts';

// Nested membership for AD's in-chain rule (matchingRules.ts): a group's parent is a group it is
// in, so a user in a group is in every group above it too. Cycles cannot come from the core (it
// refuses them), but a walk stops at a group it has seen anyway.

export interface MembershipChains {
  /** Every group a user is in, directly or through the groups above theirs (by user pk). */
  userMemberOf: Map<number, string[]>;
  /** Every group above a group (by group pk). */
  groupMemberOf: Map<string, string[]>;
  /** A group's members with those of every group below it, and those groups (by group pk). */
  groupMembers: Map<string, string[]>;
}

export function membershipChains(directory: Directory, groupDn: (pk: string) => string | undefined, userDn: (pk: number) => string): MembershipChains {
  const parentOf = new Map(directory.groups.map((g) => [g.pk, g.parent]));
  const ancestors = new Map<string, string[]>();
  const ancestorsOf = (pk: string): string[] => {
    const known = ancestors.get(pk);
    if (known) return known;
    const chain: string[] = [];
    const seen = new Set([pk]);
    for (let at = parentOf.get(pk) ?? null; at !== null && !seen.has(at); at = parentOf.get(at) ?? null) {
      seen.add(at);
      chain.push(at);
    }
    ancestors.set(pk, chain);
    return chain;
  };
  const dnsOf = (pks: Iterable<string>) => [...pks].flatMap((pk) => groupDn(pk) ?? []);

  const userMemberOf = new Map<number, string[]>();
  const groupMembers = new Map<string, Set<string>>(directory.groups.map((g) => [g.pk, new Set<string>()]));
  for (const u of directory.users) {
    const all = new Set<string>();
    for (const g of u.groups) for (const pk of [g, ...ancestorsOf(g)]) all.add(pk);
    userMemberOf.set(u.pk, dnsOf(all));
    for (const pk of all) groupMembers.get(pk)?.add(userDn(u.pk));
  }
  const groupMemberOf = new Map<string, string[]>();
  for (const g of directory.groups) {
    const above = ancestorsOf(g.pk);
    groupMemberOf.set(g.pk, dnsOf(above));
    const dn = groupDn(g.pk);
    for (const pk of above) if (dn) groupMembers.get(pk)?.add(dn);
  }
  return { userMemberOf, groupMemberOf, groupMembers: new Map([...groupMembers].map(([pk, set]) => [pk, [...set]])) };
}
