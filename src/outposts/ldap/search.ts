import { canSearchAll, compareSortKeys, type DirectoryTree, type Entry, INDEXED } from './directory.ts';
import { depthBelow, isUnder, normalizeDn, parseDn } from './dn.ts';
import { equalityKeys, type Filter, matches } from './filters.ts';
import { isVisibleTo, ownEntries } from './ownEntries.ts';
import { openCookie, type PagePosition, sealCookie, searchDigest } from './pagingCookie.ts';
import { OID, ResultCode } from './protocol.ts';
import { SUBSCHEMA_DN } from './subschema.ts';

// Which entries a search returns, and in what shape: scope, filter, visibility, attribute
// selection, size limit and RFC 2696 paging. Pure: the server writes what this decides.

export interface SearchQuery {
  base: string;
  scope: 0 | 1 | 2;
  filter: Filter;
  attributes: string[];
  sizeLimit: number;
}

export type SearchOutcome =
  | { code: typeof ResultCode.success | typeof ResultCode.sizeLimitExceeded; entries: Entry[]; nextCookie: Buffer | null }
  | { code: typeof ResultCode.noSuchObject | typeof ResultCode.invalidDNSyntax | typeof ResultCode.protocolError; message: string };

/** Entries in scope of `base`: the base itself (0), its children (1), or the whole subtree (2). */
function inScope(entry: Entry, base: string, baseDepth: number, scope: 0 | 1 | 2): boolean {
  if (!isUnder(entry.normalizedDn, base)) return false;
  const depth = entry.depth - baseDepth;
  return scope === 0 ? depth === 0 : scope === 1 ? depth === 1 : true;
}

/** The smallest index list that holds every match, or every entry when no indexed term narrows it. */
function candidates(tree: DirectoryTree, filter: Filter): Entry[] {
  let best: Entry[] = tree.entries;
  for (const key of equalityKeys(filter)) {
    if (!INDEXED.includes(key.attribute)) continue;
    const indexed = tree.index.get(`${key.attribute}\u0000${key.value}`) ?? [];
    if (indexed.length < best.length) best = indexed;
  }
  return best;
}

/** The index of the first entry of `found` (in sort order) after `lastKey`. */
function firstAfter(found: Entry[], lastKey: string): number {
  let low = 0;
  let high = found.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareSortKeys((found[mid] as Entry).sortKey, lastKey) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

export function runSearch(
  tree: DirectoryTree,
  userPk: number,
  query: SearchQuery,
  paging: { size: number; cookie: Buffer } | null,
): SearchOutcome {
  const base = normalizeDn(query.base);
  if (base === null) return { code: ResultCode.invalidDNSyntax, message: 'Invalid base DN.' };
  const isInTree = depthBelow(base, tree.normalizedBase) >= 0;
  const isAboveTree = depthBelow(tree.normalizedBase, base) > 0;
  if (isInTree && !isVisibleTo(tree, userPk, base)) {
    return { code: ResultCode.noSuchObject, message: 'No such object.' };
  }
  if (!isInTree && !isAboveTree) return { code: ResultCode.noSuchObject, message: 'No such object.' };

  if (paging && paging.size < 0) return { code: ResultCode.protocolError, message: 'Invalid paged results size.' };
  let position: PagePosition = { lastKey: '', returned: 0 };
  const digest = paging ? searchDigest({ providerPk: tree.provider.pk, userPk, normalizedBase: base, scope: query.scope, filter: query.filter }) : null;
  if (paging && digest && paging.cookie.length > 0) {
    const opened = openCookie(paging.cookie, digest);
    // RFC 2696 §3: a cookie the server did not hand out for this search fails the search.
    if (opened === null) return { code: ResultCode.protocolError, message: 'Invalid paged results cookie.' };
    position = opened;
  }
  // RFC 2696 §3: size 0 abandons the paged search.
  if (paging && paging.size === 0) return { code: ResultCode.success, entries: [], nextCookie: null };

  const baseDepth = base === '' ? 0 : (parseDn(base)?.length ?? 0);
  const pool = canSearchAll(tree, userPk) ? candidates(tree, query.filter) : ownEntries(tree, userPk);
  const found = pool.filter((e) => inScope(e, base, baseDepth, query.scope) && matches(query.filter, e.matchable));

  // Entries are in the tree's sort order: a page resumes after the last entry the previous sent.
  const start = position.lastKey === '' ? 0 : firstAfter(found, position.lastKey);
  let end = paging ? Math.min(found.length, start + paging.size) : found.length;
  let code: typeof ResultCode.success | typeof ResultCode.sizeLimitExceeded = ResultCode.success;
  // The size limit bounds the whole result, across pages (RFC 2696 §3).
  if (query.sizeLimit > 0 && position.returned + (end - start) > query.sizeLimit) {
    end = start + Math.max(0, query.sizeLimit - position.returned);
    code = ResultCode.sizeLimitExceeded;
  }
  const entries = found.slice(start, end);
  const hasMore = end < found.length && code === ResultCode.success;
  const last = entries.at(-1);
  const nextCookie =
    paging && digest
      ? hasMore && last
        ? sealCookie(digest, { lastKey: last.sortKey, returned: position.returned + entries.length })
        : Buffer.alloc(0)
      : null;
  return { code, entries, nextCookie };
}

/** The encoded attributes to send (see selectAttributes), from the entry's pre-encoded ones. */
export function selectEncoded(entry: Entry, requested: string[]): Buffer {
  if (requested.length === 0) return entry.encodedAll;
  const wanted = requested.map((a) => a.toLowerCase());
  if (wanted.includes('*')) return entry.encodedAll;
  if (wanted.length === 1 && wanted[0] === '1.1') return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const name of new Set(wanted)) {
    const part = entry.encoded.get(name);
    if (part) parts.push(part);
  }
  return Buffer.concat(parts);
}

/**
 * The attributes to send: all user attributes for none or `*`, none for `1.1`, otherwise those
 * asked for, compared without case (ldapjs dropped `memberOf` when asked for in upper case).
 */
export function selectAttributes(attributes: Array<[string, string[]]>, requested: string[]): Array<[string, string[]]> {
  const wanted = requested.map((a) => a.toLowerCase());
  if (wanted.length === 0 || wanted.includes('*')) return attributes;
  if (wanted.length === 1 && wanted[0] === '1.1') return [];
  const names = new Set(wanted);
  return attributes.filter(([name]) => names.has(name.toLowerCase()));
}

/** RFC 4511 §4.10: whether the entry (if this user may see it) holds the value. */
export function runCompare(
  tree: DirectoryTree,
  userPk: number,
  request: { dn: string; attribute: string; value: string },
): typeof ResultCode.compareTrue | typeof ResultCode.compareFalse | typeof ResultCode.noSuchObject {
  const dn = normalizeDn(request.dn) ?? '';
  const entry = canSearchAll(tree, userPk) ? tree.byDn.get(dn) : ownEntries(tree, userPk).find((e) => e.normalizedDn === dn);
  if (!entry) return ResultCode.noSuchObject;
  // No attribute description holds a NUL: the entry's hidden values (matchingRules.ts) stay out of reach.
  if (request.attribute.includes('\u0000')) return ResultCode.compareFalse;
  const filter: Filter = { kind: 'equal', attribute: request.attribute.toLowerCase(), value: request.value };
  return matches(filter, entry.matchable) ? ResultCode.compareTrue : ResultCode.compareFalse;
}

/**
 * RFC 4512 §5.1: what this server is and can do, readable before binding. The subschema pointer
 * only before a bind, as Authentik's outpost does (subschema.ts says why).
 */
export function rootDse(namingContexts: string[], { hasSubschemaPointer = false } = {}): Array<[string, string[]]> {
  return [
    ['objectClass', ['top']],
    ['namingContexts', namingContexts],
    ['subschemaSubentry', hasSubschemaPointer ? [SUBSCHEMA_DN] : []],
    ['supportedLDAPVersion', ['3']],
    ['supportedExtension', [OID.whoAmI, OID.startTls]],
    ['supportedControl', [OID.pagedResults]],
    ['supportedSASLMechanisms', []],
    ['vendorName', ['Gatehouse']],
  ].filter(([, v]) => (v as string[]).length > 0) as Array<[string, string[]]>;
}

export function rootDseMatches(filter: Filter): boolean {
  const entry = new Map(rootDse([]).map(([n, v]) => [n.toLowerCase(), v]));
  return matches(filter, entry) || (filter.kind === 'present' && filter.attribute === 'objectclass');
}

