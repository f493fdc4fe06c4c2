import { createPublicKey, generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';

// A self-signed X.509 v3 certificate for a provider's signing key. Node can read certificates but
// not make them, and the one job here (name, validity, key, signature) is a few DER structures,
// so they are written out rather than pulling in an ASN.1 library for it.

const generate = promisify(generateKeyPair);

const length = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const sequence = (...parts: Buffer[]) => tlv(0x30, ...parts);
const set = (...parts: Buffer[]) => tlv(0x31, ...parts);
const NULL = Buffer.from([0x05, 0x00]);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const value of rest) {
    const chunk = [value & 0x7f];
    for (let v = value >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/**
 * A positive INTEGER from random bytes (RFC 5280 §4.1.2.2: at most 20 octets, positive). The
 * first octet is kept in 0x40–0x7f: positive, and never a leading zero, which DER forbids.
 */
const serialNumber = (): Buffer => {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x3f) | 0x40;
  return tlv(0x02, bytes);
};

// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after.
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const commonName = (cn: string) => sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), NULL);

export interface KeyPairWithCertificate {
  privateKeyPem: string;
  certificatePem: string;
}

/** An RSA-2048 key and a certificate for it, self-signed, valid from now for `years`. */
export async function generateSigningCertificate(cn: string, now: Date, years = 10): Promise<KeyPairWithCertificate> {
  const { privateKey } = await generate('rsa', { modulusLength: 2048 });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years);
  const name = commonName(cn.slice(0, 64) || 'gatehouse');
  const tbs = sequence(tlv(0xa0, tlv(0x02, Buffer.from([2]))), serialNumber(), SHA256_WITH_RSA, name, sequence(time(now), time(notAfter)), name, spki);
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), signature));
  const certificatePem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, certificatePem };
}

/** The base64 body of a PEM certificate, as <ds:X509Certificate> carries it. */
export const certificateBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

/** A PEM certificate from what an admin or SP metadata gives (PEM, or bare base64), checked to parse. */
export function normaliseCertificate(text: string): string | null {
  const body = certificateBody(text);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return null;
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
    return pem;
  } catch {
    return null;
  }
}

