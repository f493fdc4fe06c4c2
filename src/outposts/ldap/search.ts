import { createHash } from 'node:crypto';
import { canSearchAll, type DirectoryTree, type Entry, INDEXED } from './directory.ts';
import { depthBelow, isUnder, normalizeDn, parseDn } from './dn.ts';
import { equalityKeys, type Filter, matches } from './filters.ts';
import { OID, ResultCode } from './protocol.ts';

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

// A cookie names the next offset and the query it belongs to, so a cookie cannot be replayed
// against a different search.
const queryHash = (q: SearchQuery, userPk: number) =>
  createHash('sha256').update(JSON.stringify([q.base.toLowerCase(), q.scope, q.filter, userPk])).digest().subarray(0, 12);

function readCookie(cookie: Buffer, expected: Buffer): number | null {
  if (cookie.length !== 16 || !cookie.subarray(4).equals(expected)) return null;
  return cookie.readUInt32BE(0);
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
  if (isInTree && !tree.byDn.has(base)) {
    return { code: ResultCode.noSuchObject, message: 'No such object.' };
  }
  if (!isInTree && !isAboveTree) return { code: ResultCode.noSuchObject, message: 'No such object.' };

  const seesAll = canSearchAll(tree, userPk);
  const baseDepth = base === '' ? 0 : (parseDn(base)?.length ?? 0);
  const found = candidates(tree, query.filter).filter(
    (e) => (seesAll || e.userPk === userPk) && inScope(e, base, baseDepth, query.scope) && matches(query.filter, e.matchable),
  );

  let start = 0;
  const hash = queryHash(query, userPk);
  if (paging && paging.cookie.length > 0) {
    const offset = readCookie(paging.cookie, hash);
    if (offset === null) return { code: ResultCode.protocolError, message: 'Invalid paged results cookie.' };
    start = offset;
  }
  if (paging && paging.size === 0) return { code: ResultCode.success, entries: [], nextCookie: null };
  let end = paging ? Math.min(found.length, start + paging.size) : found.length;
  let code: typeof ResultCode.success | typeof ResultCode.sizeLimitExceeded = ResultCode.success;
  // The size limit bounds the whole result, across pages (RFC 2696 §3).
  if (query.sizeLimit > 0 && end > query.sizeLimit) {
    end = Math.max(start, query.sizeLimit);
    code = ResultCode.sizeLimitExceeded;
  }
  const hasMore = end < found.length && code === ResultCode.success;
  const nextCookie = paging ? (hasMore ? cookieFor(end, hash) : Buffer.alloc(0)) : null;
  return { code, entries: found.slice(start, end), nextCookie };
}

function cookieFor(offset: number, hash: Buffer): Buffer {
  const cookie = Buffer.alloc(16);
  cookie.writeUInt32BE(offset, 0);
  hash.copy(cookie, 4);
  return cookie;
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
  const entry = tree.byDn.get(normalizeDn(request.dn) ?? '');
  if (!entry || !(canSearchAll(tree, userPk) || entry.userPk === userPk)) return ResultCode.noSuchObject;
  const filter: Filter = { kind: 'equal', attribute: request.attribute.toLowerCase(), value: request.value };
  return matches(filter, entry.matchable) ? ResultCode.compareTrue : ResultCode.compareFalse;
}

/** RFC 4512 §5.1: what this server is and can do, readable before binding. */
export function rootDse(namingContexts: string[]): Array<[string, string[]]> {
  return [
    ['objectClass', ['top']],
    ['namingContexts', namingContexts],
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

