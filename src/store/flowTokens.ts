import type { Queryable } from './db.ts';

export type FlowTokenPurpose = 'recovery' | 'verification';

export interface FlowTokenRow {
  user_id: number;
  flow_slug: string;
  purpose: FlowTokenPurpose;
  expires: Date;
}

export async function insertFlowToken(
  db: Queryable,
  token: { keyHash: Buffer; userId: number; flowSlug: string; purpose: FlowTokenPurpose; expires: Date },
): Promise<void> {
  await db.query('INSERT INTO flow_tokens (key_hash, user_id, flow_slug, purpose, expires) VALUES ($1, $2, $3, $4, $5)', [
    token.keyHash,
    token.userId,
    token.flowSlug,
    token.purpose,
    token.expires,
  ]);
}

/** A newer link makes the older ones of the same user and flow useless. */
export async function deleteFlowTokensOfUser(db: Queryable, userId: number, flowSlug: string): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM flow_tokens WHERE user_id = $1 AND flow_slug = $2', [userId, flowSlug]);
  return rowCount;
}

/** Deletes and returns a live token of this flow: a second use finds nothing. */
export async function consumeFlowToken(db: Queryable, keyHash: Buffer, flowSlug: string): Promise<FlowTokenRow | null> {
  const { rows } = await db.query<FlowTokenRow>(
    `DELETE FROM flow_tokens WHERE key_hash = $1 AND flow_slug = $2 AND expires > now()
     RETURNING user_id, flow_slug, purpose, expires`,
    [keyHash, flowSlug],
  );
  return rows[0] ?? null;
}

export async function deleteExpiredFlowTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM flow_tokens WHERE expires <= now()');
  return rowCount;
}
