import { BerError, BerReader, enumerated, integer, octets, sequence, set, tlv } from './ber.ts';
import { type Filter, FilterTooComplex, readFilter } from './filters.ts';

// LDAPv3 messages (RFC 4511 §4) we read and write. Writes (add, modify, delete, modify DN) are
// decoded only as far as needed to refuse them with the matching response type.

export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  unavailable: 52,
  unwillingToPerform: 53,
  other: 80,
} as const;

export const OID = {
  pagedResults: '1.2.840.113556.1.4.319',
  whoAmI: '1.3.6.1.4.1.4203.1.11.3',
  startTls: '1.3.6.1.4.1.1466.20037',
  noticeOfDisconnection: '1.3.6.1.4.1.1466.20036',
} as const;

export interface Control {
  type: string;
  isCritical: boolean;
  value: Buffer | null;
}

export type Request =
  | { op: 'bind'; version: number; name: string; password: Buffer | null; isSasl: boolean }
  | { op: 'unbind' }
  | {
      op: 'search';
      base: string;
      scope: 0 | 1 | 2;
      sizeLimit: number;
      timeLimit: number;
      typesOnly: boolean;
      /** Null when the filter is past our limits: `filterProblem` says which, for that search's answer. */
      filter: Filter | null;
      filterProblem?: string;
      attributes: string[];
    }
  | { op: 'extended'; name: string; value: Buffer | null }
  | { op: 'abandon' }
  | { op: 'compare'; dn: string; attribute: string; value: string }
  /** A write: answered with `responseTag` and insufficientAccessRights. */
  | { op: 'write'; responseTag: number };

export interface Message {
  id: number;
  request: Request;
  controls: Control[];
}

// Request application tag → response tag, for the writes we refuse.
const WRITE_RESPONSES: Record<number, number> = { 102: 0x67, 104: 0x69, 74: 0x6b, 108: 0x6d };

/**
 * The search filter: its element is framed first (a BerError ends the connection), then decoded
 * within the filter limits; past them the request still decodes, with no filter, so that search
 * alone is refused.
 */
function readBoundedFilter(r: BerReader): { filter: Filter | null; filterProblem?: string } {
  const start = r.offset;
  r.read();
  const element = new BerReader(r.buf, start, r.offset);
  try {
    return { filter: readFilter(element) };
  } catch (error) {
    if (error instanceof FilterTooComplex) return { filter: null, filterProblem: error.message };
    throw error;
  }
}

function readRequest(reader: BerReader): Request {
  const tag = reader.peekTag();
  switch (tag) {
    case 0x60: {
      const r = reader.readConstructed(0x60);
      const version = r.readInteger();
      const name = r.readString();
      const authTag = r.peekTag();
      if (authTag === 0x80) return { op: 'bind', version, name, password: r.readOctets(0x80), isSasl: false };
      if (authTag === 0xa3) return { op: 'bind', version, name, password: null, isSasl: true };
      throw new BerError('unknown authentication choice');
    }
    case 0x42:
      reader.read(0x42);
      return { op: 'unbind' };
    case 0x63: {
      const r = reader.readConstructed(0x63);
      const base = r.readString();
      const scope = r.readEnumerated();
      if (scope < 0 || scope > 2) throw new BerError('bad scope');
      r.readEnumerated(); // derefAliases: there are no aliases here
      const sizeLimit = r.readInteger();
      const timeLimit = r.readInteger();
      const typesOnly = r.readBoolean();
      const { filter, filterProblem } = readBoundedFilter(r);
      const list = r.readConstructed(0x30);
      const attributes: string[] = [];
      while (list.hasMore) {
        if (attributes.length >= 256) throw new BerError('too many attributes');
        attributes.push(list.readString());
      }
      return { op: 'search', base, scope: scope as 0 | 1 | 2, sizeLimit, timeLimit, typesOnly, filter, filterProblem, attributes };
    }
    case 0x77: {
      const r = reader.readConstructed(0x77);
      const name = r.readString(0x80);
      const value = r.hasMore ? r.readOctets(0x81) : null;
      return { op: 'extended', name, value };
    }
    case 0x50:
      reader.readInteger(0x50);
      return { op: 'abandon' };
    case 0x6e: {
      const r = reader.readConstructed(0x6e);
      const dn = r.readString();
      const ava = r.readConstructed(0x30);
      return { op: 'compare', dn, attribute: ava.readString(), value: ava.readString() };
    }
    default: {
      const responseTag = tag === null ? undefined : WRITE_RESPONSES[tag];
      if (responseTag === undefined) throw new BerError(`unsupported operation 0x${(tag ?? 0).toString(16)}`);
      reader.read(tag as number);
      return { op: 'write', responseTag };
    }
  }
}

function readControls(reader: BerReader): Control[] {
  const controls: Control[] = [];
  const list = reader.readConstructed(0xa0);
  while (list.hasMore) {
    if (controls.length >= 32) throw new BerError('too many controls');
    const c = list.readConstructed(0x30);
    const type = c.readString();
    const isCritical = c.peekTag() === 0x01 ? c.readBoolean() : false;
    const value = c.hasMore ? c.readOctets() : null;
    controls.push({ type, isCritical, value });
  }
  return controls;
}

/** Decodes one whole LDAPMessage; throws BerError when it is malformed. */
export function decodeMessage(buf: Buffer): Message {
  const outer = new BerReader(buf).readConstructed(0x30);
  const id = outer.readInteger();
  if (id < 0) throw new BerError('negative message id');
  const request = readRequest(outer);
  const controls = outer.hasMore ? readControls(outer) : [];
  return { id, request, controls };
}

/** RFC 2696: the paged results control's value, { size, cookie }. */
export function decodePagedControl(value: Buffer | null): { size: number; cookie: Buffer } {
  if (!value) throw new BerError('paged results control without a value');
  const r = new BerReader(value).readConstructed(0x30);
  const size = r.readInteger();
  const cookie = r.readOctets();
  return { size, cookie };
}

// --- responses -------------------------------------------------------------------------------

const result = (code: number, message = '', matchedDn = '') => [enumerated(code), octets(matchedDn), octets(message)];

function envelope(id: number, op: Buffer, controls: Buffer[] = []): Buffer {
  return sequence(integer(id), op, ...(controls.length ? [tlv(0xa0, Buffer.concat(controls))] : []));
}

export const resultMessage = (id: number, responseTag: number, code: number, message = '', controls: Buffer[] = [], matchedDn = '') =>
  envelope(id, tlv(responseTag, Buffer.concat(result(code, message, matchedDn))), controls);

export const bindResponse = (id: number, code: number, message = '') => resultMessage(id, 0x61, code, message);
export const searchDone = (id: number, code: number, message = '', controls: Buffer[] = [], matchedDn = '') =>
  resultMessage(id, 0x65, code, message, controls, matchedDn);

export function extendedResponse(id: number, code: number, options: { name?: string; value?: string; message?: string } = {}): Buffer {
  const parts = result(code, options.message ?? '');
  if (options.name !== undefined) parts.push(octets(options.name, 0x8a));
  if (options.value !== undefined) parts.push(octets(options.value, 0x8b));
  return envelope(id, tlv(0x78, Buffer.concat(parts)));
}

/** RFC 4511 §4.4.1: the server is about to close the connection, and why. */
export const noticeOfDisconnection = (code: number, message: string) =>
  extendedResponse(0, code, { name: OID.noticeOfDisconnection, message });

/** PartialAttribute ::= SEQUENCE { type, vals SET OF value }. */
export const encodeAttribute = (name: string, values: string[]) => sequence(octets(name), set(...values.map((v) => octets(v))));

/** A SearchResultEntry from its DN and attributes already encoded (octets(dn), encodeAttribute). */
export function searchEntryEncoded(id: number, encodedDn: Buffer, encodedAttributes: Buffer): Buffer {
  return envelope(id, tlv(0x64, Buffer.concat([encodedDn, tlv(0x30, encodedAttributes)])));
}

export function searchEntry(id: number, dn: string, attributes: Array<[string, string[]]>, typesOnly: boolean): Buffer {
  const list = attributes.map(([name, values]) => (typesOnly ? sequence(octets(name), set()) : encodeAttribute(name, values)));
  return searchEntryEncoded(id, octets(dn), Buffer.concat(list));
}

export const pagedControl = (cookie: Buffer) =>
  sequence(octets(OID.pagedResults), octets(sequence(integer(0), octets(cookie))));

