import type { Queryable } from './db.ts';

// oidc-provider's artifacts (sessions, codes, tokens, grants, interactions, …) in oidc_payloads.

export interface StoredPayload {
  payload: Record<string, unknown>;
  consumed_at: Date | null;
}

export interface PayloadWrite {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  expiresAt: Date | null;
}

export async function upsertPayload(db: Queryable, write: PayloadWrite): Promise<void> {
  await db.query(
    `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
       user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
    [write.model, write.id, JSON.stringify(write.payload), write.grantId, write.userCode, write.uid, write.expiresAt],
  );
}

const LOOKUPS = { id: 'id', userCode: 'user_code', uid: 'uid' } as const;

/** One live (not expired) payload of a model by id, user code or uid. */
export async function findPayload(
  db: Queryable,
  model: string,
  by: keyof typeof LOOKUPS,
  value: string,
): Promise<StoredPayload | null> {
  const { rows } = await db.query<StoredPayload>(
    `SELECT payload, consumed_at FROM oidc_payloads
      WHERE model = $1 AND ${LOOKUPS[by]} = $2 AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
    [model, value],
  );
  return rows[0] ?? null;
}

export async function consumePayload(db: Queryable, model: string, id: string): Promise<void> {
  await db.query('UPDATE oidc_payloads SET consumed_at = now() WHERE model = $1 AND id = $2', [model, id]);
}

/**
 * Marks a payload consumed, once: returns false when it already was (or is gone), so two
 * concurrent uses of one refresh token cannot both succeed.
 */
export async function consumePayloadOnce(db: Queryable, model: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE oidc_payloads SET consumed_at = now() WHERE model = $1 AND id = $2 AND consumed_at IS NULL', [
    model,
    id,
  ]);
  return rowCount > 0;
}

/** The grant a payload belongs to, expired or not. */
export async function findGrantIdOfPayload(db: Queryable, model: string, id: string): Promise<string | null> {
  const { rows } = await db.query<{ grant_id: string | null }>('SELECT grant_id FROM oidc_payloads WHERE model = $1 AND id = $2', [model, id]);
  return rows[0]?.grant_id ?? null;
}

export async function deletePayload(db: Queryable, model: string, id: string): Promise<void> {
  await db.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [model, id]);
}

export async function deletePayloadsOfGrant(db: Queryable, grantId: string): Promise<void> {
  await db.query('DELETE FROM oidc_payloads WHERE grant_id = $1', [grantId]);
}

/**
 * Ends a grant: the Grant itself and everything issued under it, so a token saved by a request
 * still in flight is refused too (oidc-provider checks the grant on every use).
 */
export async function deleteGrantWithPayloads(db: Queryable, grantId: string): Promise<void> {
  await db.query("DELETE FROM oidc_payloads WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)", [grantId]);
}

/** Removes expired artifacts; meant for the maintenance worker. */
export async function deleteExpiredPayloads(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM oidc_payloads WHERE expires_at < now()');
  return rowCount;
}

/** The client a live payload (interaction, access token, …) belongs to. */
export async function findPayloadClientId(db: Queryable, model: 'Interaction' | 'AccessToken', id: string): Promise<string | null> {
  const { rows } = await db.query<{ client_id: string | null }>(
    `SELECT CASE WHEN $1 = 'Interaction' THEN payload->'params'->>'client_id' ELSE payload->>'clientId' END AS client_id
       FROM oidc_payloads WHERE model = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > now())`,
    [model, id],
  );
  return rows[0]?.client_id ?? null;
}
