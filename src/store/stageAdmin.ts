import type { Queryable } from './db.ts';
import type { StageRow } from './flows.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

// The admin API's queries over stages (the engine's reads and the blueprint's insert are in flows.ts).

const STAGE_COLUMNS = 's.id, s.name, s.type, s.config, s.managed';

export async function findStageByName(db: Queryable, name: string): Promise<StageRow | null> {
  const { rows } = await db.query<StageRow>(`SELECT ${STAGE_COLUMNS} FROM stages s WHERE s.name = $1`, [name]);
  return rows[0] ?? null;
}

export interface StageFilter {
  search?: string;
  name?: string;
  /** Only stages of this type (the per-type endpoints). */
  type?: string;
  ordering?: string[];
}

const STAGE_ORDERING = { name: 's.name', pk: 's.id' };

export async function listStages(db: Queryable, filter: StageFilter, page: PageRequest): Promise<PageOf<StageRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('s.name ILIKE ?', likePattern(filter.search));
  if (filter.name !== undefined) where.add('s.name = ?', filter.name);
  if (filter.type !== undefined) where.add('s.type = ?', filter.type);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], STAGE_ORDERING, 's.id');
  const [list, count] = await Promise.all([
    db.query<StageRow>(`SELECT ${STAGE_COLUMNS} FROM stages s ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM stages s ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export async function updateStage(
  db: Queryable,
  id: string,
  changes: { name?: string; config?: Record<string, unknown>; managed?: string | null },
): Promise<StageRow | null> {
  const { rows } = await db.query<StageRow>(
    `UPDATE stages s SET name = COALESCE($2, name), config = COALESCE($3::jsonb, config),
       managed = CASE WHEN $4 THEN $5 ELSE managed END, updated_at = now()
     WHERE id = $1 RETURNING ${STAGE_COLUMNS}`,
    [id, changes.name ?? null, changes.config === undefined ? null : JSON.stringify(changes.config), changes.managed !== undefined, changes.managed ?? null],
  );
  return rows[0] ?? null;
}

/** Deletes a stage (its flow bindings go with it); returns the ids of those bindings. */
export async function deleteStage(db: Queryable, id: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM flow_stage_bindings WHERE stage_id = $1 ORDER BY id', [id]);
  await db.query('DELETE FROM stages WHERE id = $1', [id]);
  return rows.map((r) => r.id);
}

