import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BerError, BerReader, elementSize, integer, octets, sequence, tlv } from '../../src/outposts/ldap/ber.ts';
import { escapeValue, normalizeDn, parseDn } from '../../src/outposts/ldap/dn.ts';
import { FilterTooComplex, matches, readFilter } from '../../src/outposts/ldap/filters.ts';
import { decodeMessage } from '../../src/outposts/ldap/protocol.ts';
import { ROOT } from '../support/processes.ts';

test('integers survive encoding and decoding across the 32-bit range', () => {
  for (const n of [0, 1, 127, 128, 255, 256, -1, -128, -129, 2 ** 31 - 1, -(2 ** 31), ...Array.from({ length: 500 }, () => randomInt(-(2 ** 31), 2 ** 31 - 1))]) {
    assert.equal(new BerReader(integer(n)).readInteger(), n, String(n));
  }
});

test('elementSize: waits for a whole header, refuses indefinite and oversized lengths', () => {
  assert.equal(elementSize(Buffer.from([0x30]), 100), -1);
  assert.equal(elementSize(Buffer.from([0x30, 0x82, 0x01]), 1000), -1);
  assert.equal(elementSize(Buffer.from([0x30, 0x82, 0x01, 0x00]), 1000), 260);
  assert.throws(() => elementSize(Buffer.from([0x30, 0x80]), 100), BerError);
  assert.throws(() => elementSize(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]), 1 << 20), BerError);
});

test('decodeMessage throws only BerError on random and truncated input (never anything else)', () => {
  const valid = sequence(integer(1), tlv(0x60, Buffer.concat([integer(3), octets('cn=a,dc=x'), octets('pw', 0x80)])));
  assert.equal(decodeMessage(valid).request.op, 'bind');
  for (let i = 0; i < 5000; i++) {
    const input = i % 2 ? randomBytes(randomInt(0, 200)) : valid.subarray(0, randomInt(valid.length));
    try {
      decodeMessage(input);
    } catch (error) {
      assert.ok(error instanceof BerError, `${input.toString('hex')}: ${error}`);
    }
  }
});

const filterOf = (ber: Buffer) => readFilter(new BerReader(ber));
const eq = (a: string, v: string) => tlv(0xa3, Buffer.concat([octets(a), octets(v)]));

test('filters match without regard to case, numbers compare as numbers', () => {
  const entry = new Map([
    ['cn', ['Alice']],
    ['uidnumber', ['2010']],
    ['mail', ['Alice@Example.com']],
  ]);
  assert.ok(matches(filterOf(eq('CN', 'alice')), entry));
  assert.ok(matches(filterOf(tlv(0xa5, Buffer.concat([octets('uidNumber'), octets('999')]))), entry), '2010 >= 999 numerically');
  const substrings = tlv(0xa4, Buffer.concat([octets('mail'), sequence(octets('ali', 0x80), octets('@', 0x81), octets('.COM', 0x82))]));
  assert.ok(matches(filterOf(substrings), entry));
  assert.ok(!matches(filterOf(tlv(0xa2, eq('cn', 'ALICE'))), entry));
  // Past the limits a well-formed filter is refused as too complex (that search fails), not as malformed BER.
  assert.throws(() => {
    let deep = eq('cn', 'x');
    for (let i = 0; i < 100; i++) deep = tlv(0xa2, deep);
    filterOf(deep);
  }, FilterTooComplex);
  assert.throws(() => filterOf(tlv(0xa1, Buffer.concat(Array.from({ length: 601 }, (_, i) => eq('cn', `u${i}`))))), FilterTooComplex);
  assert.throws(() => filterOf(tlv(0xa2, Buffer.concat([eq('cn', 'a'), eq('cn', 'b')]))), BerError, 'malformed stays a BER error');
});

test('DNs: escaped values round-trip and compare without case or spacing', () => {
  for (const value of ['a,b', 'x+y', ' lead', 'trail ', '#hash', 'q"uo\\te', 'Zoë', 'a=b;c<d>', 'emoji 🦊']) {
    const dn = `cn=${escapeValue(value)},ou=users,dc=x`;
    assert.equal(parseDn(dn)?.[0]?.value, value);
    assert.equal(parseDn(dn)?.length, 3, dn);
  }
  assert.equal(normalizeDn('CN=Alice, OU=Users,DC=Example'), 'cn=alice,ou=users,dc=example');
  assert.equal(parseDn('cn=Zo\\C3\\AB,dc=x')?.[0]?.value, 'Zoë', 'hex escapes are UTF-8 bytes');
  assert.equal(parseDn('cn=a,,dc=x'), null);
  assert.equal(parseDn('no equals sign'), null);
});

test('the LDAP outpost imports neither the store, pg nor the core: it talks to the core over HTTP only', () => {
  const dir = join(ROOT, 'src/outposts/ldap');
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    assert.doesNotMatch(text, /from ['"](\.\.\/)+(store|core|flows|web|api|cache)\//, name);
    assert.doesNotMatch(text, /from ['"](pg|@electric-sql\/pglite|ioredis)['"]/, name);
  }
});
