import type { Queryable } from './db.ts';

export type SigningAlgorithm = 'RS256' | 'ES256';

export interface SigningKeyRow {
  kid: string;
  algorithm: SigningAlgorithm;
  private_jwk_encrypted: string;
  signs_from: Date;
  retired_at: Date | null;
  expires_at: Date | null;
}

/**
 * Keys published in JWKS at `now`: every key not yet expired — the pending next key (signs_from
 * ahead), the signing one, and retired ones whose tokens may still be live. Newest first.
 */
export async function listPublishedSigningKeys(db: Queryable, now: Date): Promise<SigningKeyRow[]> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, algorithm, private_jwk_encrypted, signs_from, retired_at, expires_at FROM signing_keys
      WHERE expires_at IS NULL OR expires_at > $1
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

/**
 * Retires the keys of `algorithm` that a newer key has replaced as signer (a newer key whose
 * signs_from has passed): they stop signing at `now` and stay published until `expiresAt`.
 */
export async function retireSupersededSigningKeys(db: Queryable, algorithm: SigningAlgorithm, now: Date, expiresAt: Date): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE signing_keys AS old SET retired_at = $2, expires_at = $3
      WHERE old.algorithm = $1 AND old.retired_at IS NULL AND old.signs_from <= $2
        AND EXISTS (SELECT 1 FROM signing_keys AS newer WHERE newer.algorithm = old.algorithm AND newer.retired_at IS NULL
                      AND newer.signs_from <= $2 AND newer.signs_from > old.signs_from)`,
    [algorithm, now, expiresAt],
  );
  return rowCount;
}

/** Deletes keys past expires_at: no token they signed can still be valid. */
export async function deleteExpiredSigningKeys(db: Queryable, now: Date): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM signing_keys WHERE expires_at <= $1', [now]);
  return rowCount;
}
