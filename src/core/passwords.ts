import argon2 from 'argon2';

// OWASP's argon2id recommendation (m=19 MiB, t=2, p=1): ~20 ms a verify on this machine's cores.
export const PASSWORD_HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => argon2.hash(password, PASSWORD_HASH_OPTIONS);

// Verified against when the user is unknown or has no password, so that a miss costs as much as a
// hit and timing does not tell which usernames exist.
let dummyHash: Promise<string> | null = null;

export interface PasswordCheck {
  isValid: boolean;
  /** A fresh hash to store when the stored one used other parameters (rehash on login). */
  rehashed: string | null;
}

export async function checkPassword(storedHash: string | null, password: string): Promise<PasswordCheck> {
  if (storedHash === null) {
    dummyHash ??= hashPassword('gatehouse-dummy-password');
    await argon2.verify(await dummyHash, password).catch(() => false);
    return { isValid: false, rehashed: null };
  }
  let isValid: boolean;
  try {
    isValid = await argon2.verify(storedHash, password);
  } catch {
    return { isValid: false, rehashed: null };
  }
  const rehashed = isValid && argon2.needsRehash(storedHash, PASSWORD_HASH_OPTIONS) ? await hashPassword(password) : null;
  return { isValid, rehashed };
}
