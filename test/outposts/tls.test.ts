import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createSecureContext } from 'node:tls';
import { selfSignedCertificate } from '../../src/outposts/ldap/tls.ts';

// The certificate LDAPS starts with when none is configured is built by our own DER writer: it
// must load whatever its random serial is. A leading zero byte used to be written as DER padding,
// which OpenSSL refuses: 1 start in 256 had no LDAPS (and `startLdapServer` threw).

test('the self-signed certificate loads whatever random bytes its serial starts with', () => {
  for (const first of [0x00, 0x01, 0x3f, 0x7f, 0x80, 0xff]) {
    for (const second of [0x00, 0x7f, 0x80, 0xff]) {
      const random = (size: number) => Buffer.from([first, second, ...Array.from({ length: size - 2 }, () => second)]);
      const { cert, key } = selfSignedCertificate(['localhost', '127.0.0.1'], new Date(), random);
      assert.doesNotThrow(() => createSecureContext({ cert, key }), `serial starting ${first.toString(16)} ${second.toString(16)}`);
      const parsed = new X509Certificate(cert);
      assert.match(parsed.serialNumber, /^[4-7][0-9A-F]{31}$/, 'positive, 16 bytes, no padding');
      assert.equal(parsed.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    }
  }
});
