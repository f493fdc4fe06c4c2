import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Encrypts secrets at rest (token keys, TOTP seeds, signing keys) with AES-256-GCM under a key
 * derived from GATEHOUSE_SECRET_KEY. Each purpose gets its own derived key, so one leaked
 * ciphertext class never helps against another.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(secretKey: string, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, 'gatehouse', `secret-box:${purpose}`, 32));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** A stable secret for another use of the same purpose (e.g. cookie-signing keys), never the box key itself. */
  derive(label: string): string {
    return createHmac('sha256', this.key).update(label, 'utf8').digest('base64url');
  }

  open(sealed: string): string {
    if (!sealed.startsWith('v1.')) throw new Error('unknown ciphertext version');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

export const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** A random key for tokens: 60 characters of base64url (360 bits). */
export const generateTokenKey = (): string => randomBytes(45).toString('base64url');

/** Compares two secrets without leaking where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}
