import { normalizeDn, type Rdn } from './dn.ts';

// Extensible match (RFC 4511 §4.5.1.7.7): `(attr:rule:=value)`, `(attr:dn:=value)`, `(:rule:=value)`.
// The rules apps send: the standard equality rules, and Active Directory's bitwise and in-chain
// rules (AD-minded apps exclude disabled accounts with `(!(userAccountControl:…803:=2))` and test
// nested group membership with `(memberOf:…1941:=cn=staff,…)`). A rule we do not know matches
// nothing: RFC 4511 makes it Undefined, and a guess could let an entry through that should not be.

/**
 * Entry data that filters may test but searches never return, under keys no attribute
 * description from the wire can spell (filters.ts refuses a NUL in one).
 */
export const HIDDEN = {
  /** memberOf with every ancestor group (users: of each group they are in; groups: of their parent). */
  memberOfChain: 'memberof\u0000chain',
  /** A group's members with those of every group below it, and those groups. */
  memberChain: 'member\u0000chain',
  /** The values of the entry's DN, per attribute type: `\0dn:ou` → ['users']. */
  dnPrefix: '\u0000dn:',
} as const;

const IN_CHAIN = '1.2.840.113556.1.4.1941';
const BIT_AND = '1.2.840.113556.1.4.803';
const BIT_OR = '1.2.840.113556.1.4.804';

type Comparator = (entryValue: string, assertion: string) => boolean;

const fold = (s: string) => s.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
const INTEGER = /^-?\d{1,18}$/;

const caseIgnore: Comparator = (a, b) => fold(a) === fold(b);
const caseExact: Comparator = (a, b) => a.normalize('NFC') === b.normalize('NFC');
const dnMatch: Comparator = (a, b) => (normalizeDn(a) ?? fold(a)) === (normalizeDn(b) ?? fold(b));
const integerMatch: Comparator = (a, b) => INTEGER.test(a) && INTEGER.test(b) && BigInt(a) === BigInt(b);
const bits = (test: (value: bigint, mask: bigint) => boolean): Comparator => (a, b) => INTEGER.test(a) && INTEGER.test(b) && test(BigInt(a), BigInt(b));

/** Known rules by OID and by name (lower case). */
const RULES = new Map<string, Comparator>([
  ...['2.5.13.2', 'caseignorematch', '1.3.6.1.4.1.1466.109.114.2', 'caseignoreia5match'].map((k) => [k, caseIgnore] as const),
  ...['2.5.13.5', 'caseexactmatch', '1.3.6.1.4.1.1466.109.114.1', 'caseexactia5match', '2.5.13.17', 'octetstringmatch'].map((k) => [k, caseExact] as const),
  ...['2.5.13.1', 'distinguishednamematch'].map((k) => [k, dnMatch] as const),
  ...['2.5.13.14', 'integermatch'].map((k) => [k, integerMatch] as const),
  [BIT_AND, bits((v, mask) => (v & mask) === mask)],
  [BIT_OR, bits((v, mask) => (v & mask) !== 0n)],
  [IN_CHAIN, dnMatch],
]);

export interface ExtensibleFilter {
  rule: string | null;
  attribute: string | null;
  value: string;
  dnAttributes: boolean;
}

/** The hidden `\0dn:<type>` values of a DN, for `:dn:` filters. */
export function dnValues(rdns: Rdn[]): Array<[string, string[]]> {
  const byType = new Map<string, string[]>();
  for (const { type, value } of rdns) {
    const key = `${HIDDEN.dnPrefix}${type.toLowerCase()}`;
    byType.set(key, [...(byType.get(key) ?? []), value]);
  }
  return [...byType];
}

/** The values an extensible filter tests: the attribute's (or every one's), and the DN's with `:dn:`. */
function valuesFor(filter: ExtensibleFilter, entry: Map<string, string[]>): string[] {
  if (filter.rule === IN_CHAIN) {
    const chain = filter.attribute === 'memberof' ? HIDDEN.memberOfChain : filter.attribute === 'member' ? HIDDEN.memberChain : null;
    return chain ? (entry.get(chain) ?? []) : [];
  }
  if (filter.attribute !== null) {
    const own = entry.get(filter.attribute) ?? [];
    return filter.dnAttributes ? [...own, ...(entry.get(`${HIDDEN.dnPrefix}${filter.attribute}`) ?? [])] : own;
  }
  const values: string[] = [];
  for (const [name, list] of entry) {
    const isDn = name.startsWith(HIDDEN.dnPrefix);
    if ((isDn && filter.dnAttributes) || !name.includes('\u0000')) values.push(...list);
  }
  return values;
}

/**
 * Whether the entry matches; `equality` is the attribute's own equality (what a filter without a
 * rule uses). A rule without an attribute applies to every value (RFC 4511).
 */
export function matchesExtensible(filter: ExtensibleFilter, entry: Map<string, string[]>, equality: Comparator): boolean {
  const compare = filter.rule === null ? equality : RULES.get(filter.rule.toLowerCase());
  if (!compare) return false;
  return valuesFor(filter, entry).some((v) => compare(v, filter.value));
}
