import { randomBytes } from 'node:crypto';
import type { CoreDeps } from '../../core/context.ts';
import { sha256 } from '../../core/crypto.ts';
import { consumeStaticToken } from '../../store/devices.ts';

// Ten codes of 12 characters from a 32-letter alphabet (60 bits each): too long to guess, so a
// fast hash (SHA-256) at rest is enough.
export const STATIC_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i
const CODE_LENGTH = 12;

export function newStaticCodes(): string[] {
  return Array.from({ length: STATIC_CODE_COUNT }, () => {
    const bytes = randomBytes(CODE_LENGTH);
    return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('');
  });
}

export const normalizeStaticCode = (code: string): string => code.trim().toLowerCase().replace(/[\s-]/g, '');
export const staticCodeHash = (code: string): Buffer => sha256(normalizeStaticCode(code));

/** Spends one of the user's recovery codes; true when it was valid (and is now used up). */
export async function useStaticCode(deps: CoreDeps, userId: number, code: string): Promise<boolean> {
  const normalized = normalizeStaticCode(code);
  if (!/^[a-z0-9]{8,32}$/.test(normalized)) return false;
  return (await consumeStaticToken(deps.db, userId, staticCodeHash(normalized))) !== null;
}
