import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { integer, octets, oid, sequence, tlv } from './ber.ts';

// TLS for LDAPS and StartTLS: the operator's certificate and key (PEM files), or else a
// self-signed one made at start (EC P-256, a year, for localhost and the given names), so
// LDAPS works out of the box and clients that pin or skip verification can connect.

export interface TlsFiles {
  certPath?: string;
  keyPath?: string;
}

function name(commonName: string): Buffer {
  return sequence(tlv(0x31, sequence(oid('2.5.4.3'), octets(commonName, 0x0c))));
}

function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${text}Z`, 'ascii'));
}

function subjectAltNames(names: string[]): Buffer {
  const general = names.map((n) =>
    /^\d+\.\d+\.\d+\.\d+$/.test(n) ? tlv(0x87, Buffer.from(n.split('.').map(Number))) : tlv(0x82, Buffer.from(n, 'ascii')),
  );
  return sequence(oid('2.5.29.17'), octets(sequence(...general)));
}

/** A self-signed X.509 v3 certificate (DER) and its key (PEM), built with our own DER writer. */
export function selfSignedCertificate(
  hostnames: string[],
  now = new Date(),
  random: (size: number) => Buffer = randomBytes,
): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  // A DER INTEGER is positive and minimal: a first byte of 0x40–0x7f is neither negative nor
  // padding. (Masking off the top bit alone left a leading zero byte in 1 of 256 serials, which
  // OpenSSL refuses as "illegal padding": LDAPS then failed to start.)
  const serial = Buffer.from(random(16));
  serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
  const subject = name(hostnames[0] ?? 'localhost');
  const validity = sequence(utcTime(new Date(now.getTime() - 60_000)), utcTime(new Date(now.getTime() + 365 * 86_400_000)));
  const basicConstraints = sequence(oid('2.5.29.19'), octets(sequence()));
  const tbs = sequence(
    tlv(0xa0, integer(2)),
    tlv(0x02, serial),
    ecdsaWithSha256,
    subject,
    validity,
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, sequence(basicConstraints, subjectAltNames(hostnames))),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`;
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** The secure context for LDAPS and StartTLS: from files when configured, else self-signed. */
export function loadSecureContext(
  files: TlsFiles,
  hostnames: string[],
): { context: SecureContext; cert: string; key: string; isSelfSigned: boolean } {
  if (files.certPath && files.keyPath) {
    const cert = readFileSync(files.certPath, 'utf8');
    const key = readFileSync(files.keyPath, 'utf8');
    createPrivateKey(key); // a clear error at start rather than at the first handshake
    return { context: createSecureContext({ cert, key, minVersion: 'TLSv1.2' }), cert, key, isSelfSigned: false };
  }
  const { cert, key } = selfSignedCertificate([...new Set(['localhost', '127.0.0.1', ...hostnames])]);
  return { context: createSecureContext({ cert, key, minVersion: 'TLSv1.2' }), cert, key, isSelfSigned: true };
}
