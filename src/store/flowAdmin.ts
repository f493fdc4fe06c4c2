import type { Queryable } from './db.ts';
import type { BindingRow, FlowAuthentication, FlowDesignation, FlowRow, PolicyEngineMode } from './flows.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

// The admin API's queries over flows and their stage bindings (the engine's reads are in flows.ts).

const FLOW_COLUMNS = 'f.id, f.slug, f.name, f.title, f.designation, f.authentication, f.policy_engine_mode, f.managed';
const BINDING_COLUMNS = 'b.id, b.flow_id, b.stage_id, b."order", b.evaluate_on_plan, b.re_evaluate_policies, b.policy_engine_mode';

/** A reference to a row that is missing (a concurrent delete): the caller answers 400, not 500. */
export const isForeignKeyViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23503';

export interface FlowFilter {
  search?: string;
  slug?: string;
  name?: string;
  designation?: FlowDesignation;
  ordering?: string[];
}

const FLOW_ORDERING = { slug: 'f.slug', name: 'f.name', title: 'f.title', designation: 'f.designation' };

export async function listFlows(db: Queryable, filter: FlowFilter, page: PageRequest): Promise<PageOf<FlowRow>> {
  const where = new WhereBuilder();
  if (filter.search) {
    const pattern = likePattern(filter.search);
    where.add('(f.name ILIKE ? OR f.slug ILIKE ? OR f.title ILIKE ? OR f.designation ILIKE ?)', pattern, pattern, pattern, pattern);
  }
  if (filter.slug !== undefined) where.add('f.slug = ?', filter.slug);
  if (filter.name !== undefined) where.add('f.name = ?', filter.name);
  if (filter.designation !== undefined) where.add('f.designation = ?', filter.designation);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['slug'], FLOW_ORDERING, 'f.id');
  const [list, count] = await Promise.all([
    db.query<FlowRow>(`SELECT ${FLOW_COLUMNS} FROM flows f ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM flows f ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export interface FlowChanges {
  slug?: string;
  name?: string;
  title?: string;
  designation?: FlowDesignation;
  authentication?: FlowAuthentication;
  policyEngineMode?: PolicyEngineMode;
  /** Only blueprints set it (the default flows' keys); null clears it. */
  managed?: string | null;
}

export async function updateFlow(db: Queryable, id: string, changes: FlowChanges): Promise<FlowRow | null> {
  const { rows } = await db.query<FlowRow>(
    `UPDATE flows f SET slug = COALESCE($2, slug), name = COALESCE($3, name), title = COALESCE($4, title),
       designation = COALESCE($5, designation), authentication = COALESCE($6, authentication),
       policy_engine_mode = COALESCE($7, policy_engine_mode), managed = CASE WHEN $8 THEN $9 ELSE managed END, updated_at = now()
     WHERE id = $1 RETURNING ${FLOW_COLUMNS}`,
    [
      id,
      changes.slug ?? null,
      changes.name ?? null,
      changes.title ?? null,
      changes.designation ?? null,
      changes.authentication ?? null,
      changes.policyEngineMode ?? null,
      changes.managed !== undefined,
      changes.managed ?? null,
    ],
  );
  return rows[0] ?? null;
}

export async function deleteFlow(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM flows WHERE id = $1', [id]);
  return rowCount > 0;
}

/** The stage ids bound to each flow, in binding order. */
export async function stageIdsOfFlows(db: Queryable, flowIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(flowIds.map((id) => [id, []]));
  if (flowIds.length === 0) return result;
  const { rows } = await db.query<{ flow_id: string; stage_id: string }>(
    'SELECT flow_id, stage_id FROM flow_stage_bindings WHERE flow_id = ANY($1::uuid[]) ORDER BY "order", id',
    [flowIds],
  );
  for (const row of rows) result.get(row.flow_id)?.push(row.stage_id);
  return result;
}

/** The flows each stage is bound to (a stage's flow_set). */
export async function flowsOfStages(db: Queryable, stageIds: string[]): Promise<Map<string, FlowRow[]>> {
  const result = new Map<string, FlowRow[]>(stageIds.map((id) => [id, []]));
  if (stageIds.length === 0) return result;
  const { rows } = await db.query<FlowRow & { stage_id: string }>(
    `SELECT DISTINCT b.stage_id, ${FLOW_COLUMNS} FROM flow_stage_bindings b JOIN flows f ON f.id = b.flow_id
     WHERE b.stage_id = ANY($1::uuid[]) ORDER BY f.slug`,
    [stageIds],
  );
  for (const { stage_id, ...flow } of rows) result.get(stage_id)?.push(flow);
  return result;
}

export interface BindingFilter {
  search?: string;
  flowId?: string;
  stageId?: string;
  order?: number;
  evaluateOnPlan?: boolean;
  reEvaluatePolicies?: boolean;
  policyEngineMode?: PolicyEngineMode;
  ordering?: string[];
}

const BINDING_ORDERING = { order: 'b."order"', pk: 'b.id', target: 'b.flow_id', stage: 'b.stage_id' };

export async function listBindings(db: Queryable, filter: BindingFilter, page: PageRequest): Promise<PageOf<BindingRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('s.name ILIKE ?', likePattern(filter.search));
  if (filter.flowId !== undefined) where.add('b.flow_id = ?', filter.flowId);
  if (filter.stageId !== undefined) where.add('b.stage_id = ?', filter.stageId);
  if (filter.order !== undefined) where.add('b."order" = ?', filter.order);
  if (filter.evaluateOnPlan !== undefined) where.add('b.evaluate_on_plan = ?', filter.evaluateOnPlan);
  if (filter.reEvaluatePolicies !== undefined) where.add('b.re_evaluate_policies = ?', filter.reEvaluatePolicies);
  if (filter.policyEngineMode !== undefined) where.add('b.policy_engine_mode = ?', filter.policyEngineMode);
  const countParams = [...where.params];
  const from = 'flow_stage_bindings b JOIN stages s ON s.id = b.stage_id';
  const order = orderClause(filter.ordering ?? ['order'], BINDING_ORDERING, 'b.id');
  const [list, count] = await Promise.all([
    db.query<BindingRow>(`SELECT ${BINDING_COLUMNS} FROM ${from} ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${from} ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

/** A binding of this stage to this flow at this order, other than `exceptId` (they must be unique). */
export async function findBindingAt(db: Queryable, flowId: string, stageId: string, order: number, exceptId: string | null) {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM flow_stage_bindings WHERE flow_id = $1 AND stage_id = $2 AND "order" = $3 AND ($4::uuid IS NULL OR id <> $4)`,
    [flowId, stageId, order, exceptId],
  );
  return rows[0]?.id ?? null;
}

export interface BindingChanges {
  flowId?: string;
  stageId?: string;
  order?: number;
  evaluateOnPlan?: boolean;
  reEvaluatePolicies?: boolean;
  policyEngineMode?: PolicyEngineMode;
}

export async function updateBinding(db: Queryable, id: string, changes: BindingChanges): Promise<BindingRow | null> {
  const { rows } = await db.query<BindingRow>(
    `UPDATE flow_stage_bindings b SET flow_id = COALESCE($2, flow_id), stage_id = COALESCE($3, stage_id),
       "order" = COALESCE($4, "order"), evaluate_on_plan = COALESCE($5, evaluate_on_plan),
       re_evaluate_policies = COALESCE($6, re_evaluate_policies), policy_engine_mode = COALESCE($7, policy_engine_mode)
     WHERE id = $1 RETURNING ${BINDING_COLUMNS}`,
    [
      id,
      changes.flowId ?? null,
      changes.stageId ?? null,
      changes.order ?? null,
      changes.evaluateOnPlan ?? null,
      changes.reEvaluatePolicies ?? null,
      changes.policyEngineMode ?? null,
    ],
  );
  return rows[0] ?? null;
}

export async function deleteBinding(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM flow_stage_bindings WHERE id = $1', [id]);
  return rowCount > 0;
}
