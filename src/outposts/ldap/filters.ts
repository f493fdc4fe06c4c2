import { BerError, type BerReader } from './ber.ts';
import { normalizeDn } from './dn.ts';
import { type ExtensibleFilter, matchesExtensible } from './matchingRules.ts';

// RFC 4511 §4.5.1.7 search filters: decoded with bounded depth and size, matched without regard
// to case (every attribute we serve compares as caseIgnoreMatch, numbers as integers), unlike
// ldapjs, whose case-sensitive matching (#856) missed "(uid=Alice)". Extensible matches with a
// rule follow that rule (matchingRules.ts).

export type Filter =
  | { kind: 'and' | 'or'; filters: Filter[] }
  | { kind: 'not'; filter: Filter }
  | { kind: 'equal' | 'approx' | 'greaterOrEqual' | 'lessOrEqual'; attribute: string; value: string }
  | { kind: 'substrings'; attribute: string; initial: string | null; any: string[]; final: string | null }
  | { kind: 'present'; attribute: string }
  | ({ kind: 'extensible' } & ExtensibleFilter);

const MAX_DEPTH = 32;
const MAX_NODES = 512;

/**
 * A well-formed filter past our limits (MAX_NODES terms, MAX_DEPTH levels): that search is
 * refused (adminLimitExceeded), the connection goes on. Malformed BER stays a BerError, which
 * ends the connection.
 */
export class FilterTooComplex extends Error {
  override name = 'FilterTooComplex';
}

/** An entry as filters see it: lower-case attribute names to values. */
export type MatchableEntry = Map<string, string[]>;

export function readFilter(reader: BerReader): Filter {
  const budget = { nodes: 0 };
  return readNode(reader, 0, budget);
}

/** An attribute description, lower-cased; a NUL is no part of one (and could reach hidden entry data). */
function readAttribute(reader: BerReader, tag?: number): string {
  const name = (tag === undefined ? reader.readString() : reader.readString(tag)).toLowerCase();
  if (name.includes('\u0000')) throw new BerError('bad attribute description');
  return name;
}

function readNode(reader: BerReader, depth: number, budget: { nodes: number }): Filter {
  if (depth > MAX_DEPTH) throw new FilterTooComplex(`The filter is nested deeper than ${MAX_DEPTH} levels.`);
  if (++budget.nodes > MAX_NODES) throw new FilterTooComplex(`The filter has more than ${MAX_NODES} terms.`);
  const tag = reader.peekTag();
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      const inner = reader.readConstructed(tag);
      const filters: Filter[] = [];
      while (inner.hasMore) filters.push(readNode(inner, depth + 1, budget));
      return { kind: tag === 0xa0 ? 'and' : 'or', filters };
    }
    case 0xa2: {
      const inner = reader.readConstructed(0xa2);
      const filter = readNode(inner, depth + 1, budget);
      if (inner.hasMore) throw new BerError('not takes one filter');
      return { kind: 'not', filter };
    }
    case 0xa3:
    case 0xa5:
    case 0xa6:
    case 0xa8: {
      const inner = reader.readConstructed(tag);
      const attribute = readAttribute(inner);
      const value = inner.readString();
      const kind = tag === 0xa3 ? 'equal' : tag === 0xa5 ? 'greaterOrEqual' : tag === 0xa6 ? 'lessOrEqual' : 'approx';
      return { kind, attribute, value };
    }
    case 0xa4: {
      const inner = reader.readConstructed(0xa4);
      const attribute = readAttribute(inner);
      const parts = inner.readConstructed(0x30);
      let initial: string | null = null;
      let final: string | null = null;
      const any: string[] = [];
      while (parts.hasMore) {
        const partTag = parts.peekTag();
        if (partTag === 0x80 && initial === null && any.length === 0) initial = parts.readString(0x80);
        else if (partTag === 0x81 && final === null) any.push(parts.readString(0x81));
        else if (partTag === 0x82 && final === null) final = parts.readString(0x82);
        else throw new BerError('bad substring filter');
      }
      return { kind: 'substrings', attribute, initial, any, final };
    }
    case 0x87:
      return { kind: 'present', attribute: readAttribute(reader, 0x87) };
    case 0xa9: {
      const inner = reader.readConstructed(0xa9);
      let rule: string | null = null;
      let attribute: string | null = null;
      let value: string | null = null;
      let dnAttributes = false;
      while (inner.hasMore) {
        const t = inner.peekTag();
        if (t === 0x81) rule = inner.readString(0x81);
        else if (t === 0x82) attribute = readAttribute(inner, 0x82);
        else if (t === 0x83) value = inner.readString(0x83);
        else if (t === 0x84) dnAttributes = inner.readBoolean(0x84);
        else throw new BerError('bad extensible filter');
      }
      if (value === null) throw new BerError('extensible filter without a value');
      // RFC 4511: without a type, the rule is required.
      if (rule === null && attribute === null) throw new BerError('extensible filter without a rule or a type');
      return { kind: 'extensible', rule, attribute, value, dnAttributes };
    }
    default:
      throw new BerError(`unknown filter tag ${tag}`);
  }
}

const fold = (s: string) => s.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();

// Attributes whose values are DNs compare as DNs: "cn=A, ou=Users" equals "cn=a,ou=users".
const DN_ATTRIBUTES = new Set(['member', 'memberof', 'uniquemember', 'distinguishedname', 'entrydn']);

// Member lists repeat the same DNs in every search: their normal forms are remembered (bounded).
const normalizedDns = new Map<string, string>();

/** The comparable form of a value of `attribute` (lower-case name): for indexes and equality. */
export function comparableValue(attribute: string, value: string): string {
  if (!DN_ATTRIBUTES.has(attribute)) return fold(value);
  let normal = normalizedDns.get(value);
  if (normal === undefined) {
    normal = normalizeDn(value) ?? fold(value);
    if (normalizedDns.size >= 50_000) normalizedDns.clear();
    normalizedDns.set(value, normal);
  }
  return normal;
}
const isInteger = (s: string) => /^-?\d{1,15}$/.test(s);

function compare(a: string, b: string): number {
  if (isInteger(a) && isInteger(b)) return Number(a) - Number(b);
  const x = fold(a);
  const y = fold(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matchesSubstrings(value: string, f: Extract<Filter, { kind: 'substrings' }>): boolean {
  const text = fold(value);
  let pos = 0;
  if (f.initial !== null) {
    const initial = fold(f.initial);
    if (!text.startsWith(initial)) return false;
    pos = initial.length;
  }
  for (const part of f.any) {
    const found = text.indexOf(fold(part), pos);
    if (found < 0) return false;
    pos = found + fold(part).length;
  }
  if (f.final !== null) {
    const final = fold(f.final);
    return text.length - final.length >= pos && text.endsWith(final);
  }
  return true;
}

export function matches(filter: Filter, entry: MatchableEntry): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.filters.every((f) => matches(f, entry));
    case 'or':
      return filter.filters.some((f) => matches(f, entry));
    case 'not':
      return !matches(filter.filter, entry);
    case 'present':
      return filter.attribute === 'objectclass' || (entry.get(filter.attribute)?.length ?? 0) > 0;
    case 'equal':
    case 'approx': {
      if (DN_ATTRIBUTES.has(filter.attribute)) {
        const wanted = comparableValue(filter.attribute, filter.value);
        return (entry.get(filter.attribute) ?? []).some((v) => comparableValue(filter.attribute, v) === wanted);
      }
      return (entry.get(filter.attribute) ?? []).some((v) => compare(v, filter.value) === 0);
    }
    case 'greaterOrEqual':
      return (entry.get(filter.attribute) ?? []).some((v) => compare(v, filter.value) >= 0);
    case 'lessOrEqual':
      return (entry.get(filter.attribute) ?? []).some((v) => compare(v, filter.value) <= 0);
    case 'substrings':
      return (entry.get(filter.attribute) ?? []).some((v) => matchesSubstrings(v, filter));
    case 'extensible': {
      const attribute = filter.attribute ?? '';
      const equality = DN_ATTRIBUTES.has(attribute)
        ? (v: string, wanted: string) => comparableValue(attribute, v) === comparableValue(attribute, wanted)
        : (v: string, wanted: string) => compare(v, wanted) === 0;
      return matchesExtensible(filter, entry, equality);
    }
  }
}

/**
 * The `(attr=value)` terms every match must satisfy (the filter itself, or terms of an `&`), for
 * an index lookup: the caller picks the most selective.
 */
export function equalityKeys(filter: Filter): Array<{ attribute: string; value: string }> {
  if (filter.kind === 'equal') return [{ attribute: filter.attribute, value: comparableValue(filter.attribute, filter.value) }];
  if (filter.kind === 'and') return filter.filters.flatMap(equalityKeys);
  return [];
}

