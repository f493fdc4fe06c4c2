// A minimal BER codec (X.690) for the LDAP messages we serve. Definite lengths only (RFC 4511
// §5.1 forbids the indefinite form), lengths bounded, every read checked against its container:
// a malformed message is an exception for that message, never a crash or an unbounded buffer.

export class BerError extends Error {
  override name = 'BerError';
}

export interface Tlv {
  tag: number;
  /** Where the value starts and ends in the buffer. */
  start: number;
  end: number;
}

/**
 * The total size of the element at the start of `buf` (header + value), or -1 when the header
 * is not complete yet. Throws when the element would exceed `maxBytes` or is malformed.
 */
export function elementSize(buf: Buffer, maxBytes: number): number {
  if (buf.length < 2) return -1;
  if (((buf[0] as number) & 0x1f) === 0x1f) throw new BerError('multi-byte tags are not used by LDAP');
  const first = buf[1] as number;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0) throw new BerError('indefinite length');
  if (count > 4) throw new BerError('length too large');
  if (buf.length < 2 + count) return -1;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (buf[2 + i] as number);
  const total = 2 + count + length;
  if (total > maxBytes) throw new BerError(`message of ${total} bytes exceeds ${maxBytes}`);
  return total;
}

/** Reads sequential elements inside [start, end) of a buffer. */
export class BerReader {
  readonly buf: Buffer;
  offset: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.offset = start;
    this.end = end;
  }

  get hasMore(): boolean {
    return this.offset < this.end;
  }

  peekTag(): number | null {
    return this.offset < this.end ? (this.buf[this.offset] as number) : null;
  }

  read(expectedTag?: number): Tlv {
    if (this.offset + 2 > this.end) throw new BerError('truncated element');
    const tag = this.buf[this.offset] as number;
    if ((tag & 0x1f) === 0x1f) throw new BerError('multi-byte tag');
    if (expectedTag !== undefined && tag !== expectedTag) {
      throw new BerError(`expected tag 0x${expectedTag.toString(16)}, got 0x${tag.toString(16)}`);
    }
    let pos = this.offset + 1;
    let length = this.buf[pos++] as number;
    if (length >= 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4) throw new BerError('bad length');
      if (pos + count > this.end) throw new BerError('truncated length');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (this.buf[pos++] as number);
    }
    if (pos + length > this.end) throw new BerError('element overruns its container');
    this.offset = pos + length;
    return { tag, start: pos, end: pos + length };
  }

  /** A reader over the value of the next element (a SEQUENCE, SET or constructed choice). */
  readConstructed(expectedTag?: number): BerReader {
    const tlv = this.read(expectedTag);
    if ((tlv.tag & 0x20) === 0) throw new BerError('expected a constructed element');
    return new BerReader(this.buf, tlv.start, tlv.end);
  }

  readInteger(expectedTag = 0x02): number {
    const { start, end } = this.read(expectedTag);
    if (end - start < 1 || end - start > 4) throw new BerError('integer out of range');
    return this.toSigned(start, end);
  }

  private toSigned(start: number, end: number): number {
    let value = 0;
    for (let i = start; i < end; i++) value = value * 256 + (this.buf[i] as number);
    const bits = (end - start) * 8;
    return (this.buf[start] as number) & 0x80 ? value - 2 ** bits : value;
  }

  readEnumerated(): number {
    return this.readInteger(0x0a);
  }

  readBoolean(expectedTag = 0x01): boolean {
    const { start, end } = this.read(expectedTag);
    if (end - start !== 1) throw new BerError('bad boolean');
    return this.buf[start] !== 0;
  }

  readOctets(expectedTag = 0x04): Buffer {
    const { start, end } = this.read(expectedTag);
    return this.buf.subarray(start, end);
  }

  readString(expectedTag = 0x04): string {
    return this.readOctets(expectedTag).toString('utf8');
  }
}

// --- writing ---------------------------------------------------------------------------------

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(value.length), value]);
}

export const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
export const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
export const octets = (value: string | Buffer, tag = 0x04): Buffer => tlv(tag, typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
export const boolean = (value: boolean, tag = 0x01): Buffer => tlv(tag, Buffer.from([value ? 0xff : 0]));

export function integer(value: number, tag = 0x02): Buffer {
  const bytes: number[] = [];
  let n = value;
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n !== 0 && n !== -1);
  // Keep the sign bit honest: 128 is 00 80, -129 is ff 7f.
  if (value >= 0 && (bytes[0] as number) & 0x80) bytes.unshift(0);
  if (value < 0 && !((bytes[0] as number) & 0x80)) bytes.unshift(0xff);
  return tlv(tag, Buffer.from(bytes));
}

export const enumerated = (value: number): Buffer => integer(value, 0x0a);

/** An OBJECT IDENTIFIER from dotted form (for the certificates tls.ts builds). */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [(parts[0] as number) * 40 + (parts[1] as number)];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [];
    let n = part;
    do {
      chunk.unshift((n & 0x7f) | (chunk.length ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}
