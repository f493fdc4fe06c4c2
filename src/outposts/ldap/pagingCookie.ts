import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Filter } from './filters.ts';

// RFC 2696 paging cookies. A cookie names the last entry a page returned (its sort key, see
// directory.ts) rather than a position: the next page resumes after that entry in the tree's one
// order, so an entry removed or added between pages never shifts a still-present one out of the
// result (a position in a list rebuilt for every page did: pe was never returned once pc, already
// sent, was deleted). It also carries how many entries went before, for the size limit across pages.
//
// A cookie is bound to its search (base, scope, filter, who searches, which provider) and sealed
// with an HMAC under a key of this process: a tampered cookie, one from another search, or one from
// before a restart is refused for that search alone. The server keeps nothing per cookie.
//
// Layout: version (1) | entries returned so far (4, big-endian) | MAC (16) | last sort key (UTF-8).

const VERSION = 1;
const HEADER_BYTES = 1 + 4 + 16;
// A sort key comes from a DN (at most 4,096 characters, dn.ts): 4 bytes a character at worst.
const MAX_KEY_BYTES = 4 * 4096;
const SEAL_KEY = randomBytes(32);

export interface PagePosition {
  /** The sort key of the last entry returned. */
  lastKey: string;
  /** How many entries the pages before returned. */
  returned: number;
}

export interface PagedSearch {
  providerPk: number;
  userPk: number;
  normalizedBase: string;
  scope: number;
  filter: Filter;
}

/** What a cookie is bound to: a digest of the search it belongs to. */
export function searchDigest(search: PagedSearch): Buffer {
  const { providerPk, userPk, normalizedBase, scope, filter } = search;
  return createHash('sha256').update(JSON.stringify([providerPk, userPk, normalizedBase, scope, filter])).digest();
}

function mac(returned: Buffer, digest: Buffer, key: Buffer): Buffer {
  return createHmac('sha256', SEAL_KEY).update(Buffer.of(VERSION)).update(returned).update(digest).update(key).digest().subarray(0, 16);
}

export function sealCookie(digest: Buffer, position: PagePosition): Buffer {
  const key = Buffer.from(position.lastKey, 'utf8');
  if (key.length > MAX_KEY_BYTES) throw new RangeError('sort key too long for a paging cookie');
  const returned = Buffer.alloc(4);
  returned.writeUInt32BE(position.returned);
  return Buffer.concat([Buffer.of(VERSION), returned, mac(returned, digest, key), key]);
}

/** The position a cookie names, or null when it is not one this process made for this search. */
export function openCookie(cookie: Buffer, digest: Buffer): PagePosition | null {
  if (cookie.length <= HEADER_BYTES || cookie.length > HEADER_BYTES + MAX_KEY_BYTES || cookie[0] !== VERSION) return null;
  const returned = cookie.subarray(1, 5);
  const key = cookie.subarray(HEADER_BYTES);
  if (!timingSafeEqual(cookie.subarray(5, HEADER_BYTES), mac(returned, digest, key))) return null;
  return { lastKey: key.toString('utf8'), returned: returned.readUInt32BE(0) };
}
