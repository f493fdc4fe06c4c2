import { createCipheriv, createDecipheriv, createHmac, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Encrypts secrets at rest (token keys, TOTP seeds, signing keys) with AES-256-GCM under a key
 * derived from GATEHOUSE_SECRET_KEY. Each purpose gets its own derived key, so one leaked
 * ciphertext class never helps against another.
 *
 * Rotation: the keys of GATEHOUSE_SECRET_KEY_FALLBACKS (older secret keys) still open what they
 * sealed, as Django's SECRET_KEY_FALLBACKS; everything new is sealed under the current key, and
 * `gatehouse rotate-secret-key` re-seals the rest so the fallbacks can be dropped.
 */
export class SecretBox {
  private readonly key: Buffer;
  private readonly fallbackKeys: Buffer[];

  constructor(secretKey: string, purpose: string, fallbackSecretKeys: readonly string[] = []) {
    const derive = (secret: string) => Buffer.from(hkdfSync('sha256', secret, 'gatehouse', `secret-box:${purpose}`, 32));
    this.key = derive(secretKey);
    this.fallbackKeys = fallbackSecretKeys.filter((k) => k !== secretKey).map(derive);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** A stable secret for another use of the same purpose (e.g. cookie-signing keys), never the box key itself. */
  derive(label: string): string {
    return SecretBox.hmac(this.key, label);
  }

  /** derive() under the current key, then under each fallback: for key lists that verify old signatures. */
  deriveAll(label: string): string[] {
    return [this.key, ...this.fallbackKeys].map((key) => SecretBox.hmac(key, label));
  }

  open(sealed: string): string {
    const opened = this.tryOpen(sealed);
    if (opened === null) throw new Error('cannot decrypt: sealed under another secret key');
    return opened.plaintext;
  }

  /**
   * For rotation: the value sealed under the current key, or null when it already is. Throws
   * when no key opens it (then nothing should be written).
   */
  reseal(sealed: string): string | null {
    const opened = this.tryOpen(sealed);
    if (opened === null) throw new Error('cannot decrypt: sealed under a secret key that is neither current nor a fallback');
    return opened.isCurrent ? null : this.seal(opened.plaintext);
  }

  private tryOpen(sealed: string): { plaintext: string; isCurrent: boolean } | null {
    if (!sealed.startsWith('v1.')) throw new Error('unknown ciphertext version');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    for (const key of [this.key, ...this.fallbackKeys]) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        const plaintext = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
        return { plaintext, isCurrent: key === this.key };
      } catch {
        // The tag does not match under this key: try the next.
      }
    }
    return null;
  }

  private static hmac(key: Buffer, label: string): string {
    return createHmac('sha256', key).update(label, 'utf8').digest('base64url');
  }
}

// The one-shot hash: about a third cheaper than createHash().update().digest() (several per request).
export const sha256 = (value: string): Buffer => hash('sha256', value, 'buffer');

/** A random key for tokens: 60 characters of base64url (360 bits). */
export const generateTokenKey = (): string => randomBytes(45).toString('base64url');

/** Compares two secrets without leaking where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}
