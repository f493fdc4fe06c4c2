import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

export type BlueprintInstanceStatus = 'successful' | 'warning' | 'error' | 'orphaned' | 'unknown';

export interface BlueprintInstanceRow {
  id: string;
  name: string;
  path: string;
  content: string;
  metadata: Record<string, unknown>;
  context: Record<string, unknown>;
  enabled: boolean;
  status: BlueprintInstanceStatus;
  last_applied: Date | null;
  last_applied_hash: string;
  managed_models: string[];
}

/** What the folder applier needs to decide whether a file must be applied: no content, no context. */
export interface InstanceFingerprint {
  id: string;
  path: string;
  enabled: boolean;
  status: BlueprintInstanceStatus;
  last_applied_hash: string;
}

const COLUMNS = 'b.id, b.name, b.path, b.content, b.metadata, b.context, b.enabled, b.status, b.last_applied, b.last_applied_hash, b.managed_models';

export interface InstanceInput {
  name: string;
  path: string;
  content: string;
  metadata: Record<string, unknown>;
  context: Record<string, unknown>;
  enabled: boolean;
}

export async function insertInstance(db: Queryable, input: InstanceInput): Promise<BlueprintInstanceRow> {
  const { rows } = await db.query<BlueprintInstanceRow>(
    `INSERT INTO blueprint_instances AS b (name, path, content, metadata, context, enabled) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${COLUMNS}`,
    [input.name, input.path, input.content, JSON.stringify(input.metadata), JSON.stringify(input.context), input.enabled],
  );
  return rows[0] as BlueprintInstanceRow;
}

export async function updateInstance(db: Queryable, id: string, changes: Partial<InstanceInput>): Promise<BlueprintInstanceRow | null> {
  const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
  const { rows } = await db.query<BlueprintInstanceRow>(
    `UPDATE blueprint_instances b SET name = COALESCE($2, name), path = COALESCE($3, path), content = COALESCE($4, content),
       metadata = COALESCE($5::jsonb, metadata), context = COALESCE($6::jsonb, context), enabled = COALESCE($7, enabled), updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.name ?? null, changes.path ?? null, changes.content ?? null, json(changes.metadata), json(changes.context), changes.enabled ?? null],
  );
  return rows[0] ?? null;
}

/** The outcome of an apply: status, the hash of the text applied, the models its entries name. */
export async function recordInstanceApply(
  db: Queryable,
  id: string,
  outcome: { status: BlueprintInstanceStatus; hash: string; managedModels: string[]; metadata?: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `UPDATE blueprint_instances SET status = $2, last_applied_hash = $3, managed_models = $4, metadata = COALESCE($5::jsonb, metadata),
       last_applied = now(), updated_at = now() WHERE id = $1`,
    [id, outcome.status, outcome.hash, outcome.managedModels, outcome.metadata === undefined ? null : JSON.stringify(outcome.metadata)],
  );
}

/**
 * File instances whose path is not among `paths` (the files that exist) become orphaned; a
 * disabled orphan whose file is back is 'unknown' again (an enabled one is applied again, which
 * sets its status). Returns the newly orphaned paths.
 */
export async function syncOrphanedInstances(db: Queryable, paths: string[]): Promise<string[]> {
  const { rows } = await db.query<{ path: string }>(
    `UPDATE blueprint_instances SET status = 'orphaned', updated_at = now()
     WHERE path <> '' AND status <> 'orphaned' AND NOT (path = ANY($1::text[])) RETURNING path`,
    [paths],
  );
  await db.query(
    `UPDATE blueprint_instances SET status = 'unknown', updated_at = now()
     WHERE status = 'orphaned' AND NOT enabled AND path = ANY($1::text[])`,
    [paths],
  );
  return rows.map((r) => r.path);
}

export async function deleteInstance(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM blueprint_instances WHERE id = $1', [id]);
  return rowCount > 0;
}

export async function findInstanceById(db: Queryable, id: string): Promise<BlueprintInstanceRow | null> {
  const { rows } = await db.query<BlueprintInstanceRow>(`SELECT ${COLUMNS} FROM blueprint_instances b WHERE b.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findInstanceByPath(db: Queryable, path: string): Promise<BlueprintInstanceRow | null> {
  const { rows } = await db.query<BlueprintInstanceRow>(`SELECT ${COLUMNS} FROM blueprint_instances b WHERE b.path = $1 AND b.path <> ''`, [path]);
  return rows[0] ?? null;
}

export async function isInstanceNameTaken(db: Queryable, name: string, exceptId: string | null): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM blueprint_instances WHERE name = $1 AND id IS DISTINCT FROM $2::uuid', [name, exceptId]);
  return rows.length > 0;
}

/** One small query per check: the fingerprints of the instances of these files. */
export async function findFingerprintsByPaths(db: Queryable, paths: string[]): Promise<Map<string, InstanceFingerprint>> {
  const { rows } = await db.query<InstanceFingerprint>(
    'SELECT id, path, enabled, status, last_applied_hash FROM blueprint_instances WHERE path = ANY($1::text[])',
    [paths],
  );
  return new Map(rows.map((r) => [r.path, r]));
}

export async function listInstances(
  db: Queryable,
  filter: { search?: string; name?: string; path?: string; ordering?: string[] },
  page: PageRequest,
): Promise<PageOf<BlueprintInstanceRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('(b.name ILIKE ? OR b.path ILIKE ?)', likePattern(filter.search), likePattern(filter.search));
  if (filter.name !== undefined) where.add('b.name = ?', filter.name);
  if (filter.path !== undefined) where.add('b.path = ?', filter.path);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'b.name', path: 'b.path', status: 'b.status', last_applied: 'b.last_applied' }, 'b.id');
  const [list, count] = await Promise.all([
    db.query<BlueprintInstanceRow>(`SELECT ${COLUMNS} FROM blueprint_instances b ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM blueprint_instances b ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}
