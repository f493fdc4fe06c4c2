import type { Queryable } from './db.ts';

export type SigningAlgorithm = 'RS256' | 'ES256';

export interface SigningKeyRow {
  kid: string;
  algorithm: SigningAlgorithm;
  private_jwk_encrypted: string;
  signs_from: Date;
}

const USABLE = '(expires_at IS NULL OR expires_at > $1) AND (retired_at IS NULL OR retired_at > $1) AND signs_from <= $1';

/** Keys that may sign now (not expired, not retired, signs_from passed), newest first. */
export async function listUsableSigningKeys(db: Queryable, now: Date): Promise<SigningKeyRow[]> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, algorithm, private_jwk_encrypted, signs_from FROM signing_keys WHERE ${USABLE}
      ORDER BY signs_from DESC, created_at DESC`,
    [now],
  );
  return rows;
}

export interface NewSigningKey {
  kid: string;
  algorithm: SigningAlgorithm;
  privateJwkEncrypted: string;
  publicJwk: Record<string, unknown>;
  signsFrom: Date;
}

export async function insertSigningKey(db: Queryable, key: NewSigningKey): Promise<void> {
  await db.query('INSERT INTO signing_keys (kid, algorithm, private_jwk_encrypted, public_jwk, signs_from) VALUES ($1, $2, $3, $4, $5)', [
    key.kid,
    key.algorithm,
    key.privateJwkEncrypted,
    JSON.stringify(key.publicJwk),
    key.signsFrom,
  ]);
}
