import type { Queryable } from './db.ts';

/** Every column that holds a value sealed by a SecretBox, and which box sealed it. */
export const SEALED_COLUMNS = [
  { table: 'tokens', key: 'id', column: 'key_encrypted', box: 'tokenBox' },
  { table: 'totp_devices', key: 'id', column: 'secret_encrypted', box: 'totpBox' },
  { table: 'oauth2_providers', key: 'provider_id', column: 'client_secret_encrypted', box: 'clientSecretBox' },
  { table: 'signing_keys', key: 'id', column: 'private_jwk_encrypted', box: 'signingKeyBox' },
  { table: 'saml_providers', key: 'provider_id', column: 'signing_key_encrypted', box: 'signingKeyBox' },
] as const;

export type SealedColumn = (typeof SEALED_COLUMNS)[number];

/** The sealed values of one column, locked until the transaction ends (empty means "none set"). */
export async function lockSealedValues(tx: Queryable, c: SealedColumn): Promise<Array<{ key: string; sealed: string }>> {
  const { rows } = await tx.query<{ key: string; sealed: string }>(
    `SELECT ${c.key}::text AS key, ${c.column} AS sealed FROM ${c.table} WHERE ${c.column} <> '' ORDER BY ${c.key} FOR UPDATE`,
  );
  return rows;
}

export async function replaceSealedValue(tx: Queryable, c: SealedColumn, key: string, sealed: string): Promise<void> {
  await tx.query(`UPDATE ${c.table} SET ${c.column} = $2 WHERE ${c.key}::text = $1`, [key, sealed]);
}
