import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

export type OutpostType = 'ldap' | 'proxy';

export interface OutpostRow {
  id: string;
  name: string;
  type: OutpostType;
  service_account_id: number;
  config: Record<string, unknown>;
  provider_ids: number[];
}

const OUTPOST_COLUMNS = `o.id, o.name, o.type, o.service_account_id, o.config,
  COALESCE((SELECT array_agg(op.provider_id ORDER BY op.provider_id) FROM outpost_providers op WHERE op.outpost_id = o.id), '{}') AS provider_ids`;

export async function insertOutpost(
  db: Queryable,
  outpost: { name: string; type: OutpostType; serviceAccountId: number; config: Record<string, unknown> },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO outposts (name, type, service_account_id, config) VALUES ($1, $2, $3, $4) RETURNING id',
    [outpost.name, outpost.type, outpost.serviceAccountId, JSON.stringify(outpost.config)],
  );
  return (rows[0] as { id: string }).id;
}

export async function updateOutpost(db: Queryable, id: string, changes: { name: string; config: Record<string, unknown> }): Promise<void> {
  await db.query('UPDATE outposts SET name = $2, config = $3 WHERE id = $1', [id, changes.name, JSON.stringify(changes.config)]);
}

export async function setProvidersOfOutpost(db: Queryable, outpostId: string, providerIds: number[]): Promise<void> {
  await db.query('DELETE FROM outpost_providers WHERE outpost_id = $1', [outpostId]);
  await db.query(
    'INSERT INTO outpost_providers (outpost_id, provider_id) SELECT $1, unnest($2::int[]) ON CONFLICT DO NOTHING',
    [outpostId, providerIds],
  );
}

export async function findOutpostById(db: Queryable, id: string): Promise<OutpostRow | null> {
  const { rows } = await db.query<OutpostRow>(`SELECT ${OUTPOST_COLUMNS} FROM outposts o WHERE o.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findOutpostIdByName(db: Queryable, name: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM outposts WHERE name = $1', [name]);
  return rows[0]?.id ?? null;
}

/** The outpost whose service account this is (an outpost's API calls authenticate as it). */
export async function findOutpostByServiceAccount(db: Queryable, userId: number): Promise<OutpostRow | null> {
  const { rows } = await db.query<OutpostRow>(`SELECT ${OUTPOST_COLUMNS} FROM outposts o WHERE o.service_account_id = $1`, [userId]);
  return rows[0] ?? null;
}

export async function listOutposts(
  db: Queryable,
  filter: { search?: string; name?: string; type?: OutpostType; providerId?: number; ordering?: string[] },
  page: PageRequest,
): Promise<PageOf<OutpostRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('o.name ILIKE ?', likePattern(filter.search));
  if (filter.name !== undefined) where.add('o.name = ?', filter.name);
  if (filter.type !== undefined) where.add('o.type = ?', filter.type);
  if (filter.providerId !== undefined) {
    where.add('EXISTS (SELECT 1 FROM outpost_providers op WHERE op.outpost_id = o.id AND op.provider_id = ?)', filter.providerId);
  }
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'o.name', type: 'o.type' }, 'o.id');
  const [list, count] = await Promise.all([
    db.query<OutpostRow>(`SELECT ${OUTPOST_COLUMNS} FROM outposts o ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outposts o ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

/** Every outpost of a type with its token's encrypted key: what `gatehouse all` runs in-process. */
export async function listOutpostsWithTokens(
  db: Queryable,
  type: OutpostType,
  tokenIdentifier: (outpostId: string) => string,
): Promise<Array<{ id: string; name: string; key_encrypted: string | null }>> {
  const { rows } = await db.query<{ id: string; name: string }>('SELECT id, name FROM outposts WHERE type = $1 ORDER BY name', [type]);
  if (rows.length === 0) return [];
  const identifiers = rows.map((r) => tokenIdentifier(r.id));
  const tokens = await db.query<{ identifier: string; key_encrypted: string }>(
    `SELECT identifier, key_encrypted FROM tokens WHERE identifier = ANY($1::text[]) AND (NOT expiring OR expires > now())`,
    [identifiers],
  );
  const byIdentifier = new Map(tokens.rows.map((t) => [t.identifier, t.key_encrypted]));
  return rows.map((r) => ({ id: r.id, name: r.name, key_encrypted: byIdentifier.get(tokenIdentifier(r.id)) ?? null }));
}

export async function deleteOutpost(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM outposts WHERE id = $1', [id]);
  return rowCount > 0;
}
