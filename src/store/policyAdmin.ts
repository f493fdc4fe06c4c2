import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

// The admin API's queries over policies and policy bindings (the engine reads them in flows.ts).

export interface PolicyRow {
  id: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
}

const POLICY_COLUMNS = 'p.id, p.name, p.type, p.config';

export async function insertPolicy(db: Queryable, policy: Omit<PolicyRow, 'id'>): Promise<PolicyRow> {
  const { rows } = await db.query<PolicyRow>(
    `INSERT INTO policies AS p (name, type, config) VALUES ($1, $2, $3) RETURNING ${POLICY_COLUMNS}`,
    [policy.name, policy.type, JSON.stringify(policy.config)],
  );
  return rows[0] as PolicyRow;
}

export async function findPolicyById(db: Queryable, id: string): Promise<PolicyRow | null> {
  const { rows } = await db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM policies p WHERE p.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findPoliciesByIds(db: Queryable, ids: string[]): Promise<Map<string, PolicyRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM policies p WHERE p.id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((p) => [p.id, p]));
}

export async function findPolicyByName(db: Queryable, name: string): Promise<PolicyRow | null> {
  const { rows } = await db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM policies p WHERE p.name = $1`, [name]);
  return rows[0] ?? null;
}

export interface PolicyFilter {
  search?: string;
  name?: string;
  type?: string;
  ordering?: string[];
}

export async function listPolicies(db: Queryable, filter: PolicyFilter, page: PageRequest): Promise<PageOf<PolicyRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('p.name ILIKE ?', likePattern(filter.search));
  if (filter.name !== undefined) where.add('p.name = ?', filter.name);
  if (filter.type !== undefined) where.add('p.type = ?', filter.type);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'p.name', pk: 'p.id' }, 'p.id');
  const [list, count] = await Promise.all([
    db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM policies p ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM policies p ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export async function updatePolicy(
  db: Queryable,
  id: string,
  changes: { name?: string; config?: Record<string, unknown> },
): Promise<PolicyRow | null> {
  const { rows } = await db.query<PolicyRow>(
    `UPDATE policies p SET name = COALESCE($2, name), config = COALESCE($3::jsonb, config) WHERE id = $1 RETURNING ${POLICY_COLUMNS}`,
    [id, changes.name ?? null, changes.config === undefined ? null : JSON.stringify(changes.config)],
  );
  return rows[0] ?? null;
}

export async function deletePolicy(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM policies WHERE id = $1', [id]);
  return rowCount > 0;
}

/** How many bindings use each policy (Authentik's bound_to). */
export async function countBindingsOfPolicies(db: Queryable, ids: string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>(ids.map((id) => [id, 0]));
  if (ids.length === 0) return result;
  const { rows } = await db.query<{ policy_id: string; n: number }>(
    'SELECT policy_id, count(*)::int AS n FROM policy_bindings WHERE policy_id = ANY($1::uuid[]) GROUP BY policy_id',
    [ids],
  );
  for (const row of rows) result.set(row.policy_id, row.n);
  return result;
}

/** The policies bound directly to each flow (a flow's `policies`). */
export async function policyIdsOfFlows(db: Queryable, flowIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(flowIds.map((id) => [id, []]));
  if (flowIds.length === 0) return result;
  const { rows } = await db.query<{ flow_id: string; policy_id: string }>(
    `SELECT target_flow_id AS flow_id, policy_id FROM policy_bindings
     WHERE target_flow_id = ANY($1::uuid[]) AND policy_id IS NOT NULL ORDER BY "order", id`,
    [flowIds],
  );
  for (const row of rows) result.get(row.flow_id)?.push(row.policy_id);
  return result;
}

export interface PolicyBindingRecord {
  id: string;
  target_flow_id: string | null;
  target_binding_id: string | null;
  target_application_id: string | null;
  policy_id: string | null;
  group_id: string | null;
  user_id: number | null;
  negate: boolean;
  enabled: boolean;
  order: number;
}

const BINDING_COLUMNS =
  'b.id, b.target_flow_id, b.target_binding_id, b.target_application_id, b.policy_id, b.group_id, b.user_id, b.negate, b.enabled, b."order"';

/** What a policy binding's target id names: a flow, a flow-stage binding, an application, or nothing. */
export async function findPolicyTargetKind(db: Queryable, id: string): Promise<'flow' | 'binding' | 'application' | null> {
  const { rows } = await db.query<{ is_flow: boolean; is_binding: boolean; is_application: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM flows WHERE id = $1) AS is_flow,
            EXISTS (SELECT 1 FROM flow_stage_bindings WHERE id = $1) AS is_binding,
            EXISTS (SELECT 1 FROM applications WHERE id = $1) AS is_application`,
    [id],
  );
  const row = rows[0];
  return row?.is_flow ? 'flow' : row?.is_binding ? 'binding' : row?.is_application ? 'application' : null;
}

/** The one target a binding guards, whichever column holds it. */
export const targetOfPolicyBinding = (b: PolicyBindingRecord): string =>
  (b.target_flow_id ?? b.target_binding_id ?? b.target_application_id) as string;

export async function findPolicyBindingById(db: Queryable, id: string): Promise<PolicyBindingRecord | null> {
  const { rows } = await db.query<PolicyBindingRecord>(`SELECT ${BINDING_COLUMNS} FROM policy_bindings b WHERE b.id = $1`, [id]);
  return rows[0] ?? null;
}

export interface PolicyBindingFilter {
  search?: string;
  targetId?: string;
  policyId?: string;
  groupId?: string;
  userId?: number;
  enabled?: boolean;
  order?: number;
  ordering?: string[];
}

const BINDING_ORDERING = { order: 'b."order"', pk: 'b.id', target: 'COALESCE(b.target_flow_id, b.target_binding_id, b.target_application_id)' };

export async function listPolicyBindings(
  db: Queryable,
  filter: PolicyBindingFilter,
  page: PageRequest,
): Promise<PageOf<PolicyBindingRecord>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('p.name ILIKE ?', likePattern(filter.search));
  if (filter.targetId !== undefined) {
    const id = filter.targetId;
    where.add('(b.target_flow_id = ? OR b.target_binding_id = ? OR b.target_application_id = ?)', id, id, id);
  }
  if (filter.policyId !== undefined) where.add('b.policy_id = ?', filter.policyId);
  if (filter.groupId !== undefined) where.add('b.group_id = ?', filter.groupId);
  if (filter.userId !== undefined) where.add('b.user_id = ?', filter.userId);
  if (filter.enabled !== undefined) where.add('b.enabled = ?', filter.enabled);
  if (filter.order !== undefined) where.add('b."order" = ?', filter.order);
  const countParams = [...where.params];
  const from = 'policy_bindings b LEFT JOIN policies p ON p.id = b.policy_id';
  const order = orderClause(filter.ordering ?? ['order'], BINDING_ORDERING, 'b.id');
  const [list, count] = await Promise.all([
    db.query<PolicyBindingRecord>(`SELECT ${BINDING_COLUMNS} FROM ${from} ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${from} ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export type PolicyBindingValues = Omit<PolicyBindingRecord, 'id'>;

const bindingParams = (b: PolicyBindingValues) => [
  b.target_flow_id,
  b.target_binding_id,
  b.target_application_id,
  b.policy_id,
  b.group_id,
  b.user_id,
  b.negate,
  b.enabled,
  b.order,
];

export async function insertPolicyBinding(db: Queryable, binding: PolicyBindingValues): Promise<PolicyBindingRecord> {
  const { rows } = await db.query<PolicyBindingRecord>(
    `INSERT INTO policy_bindings AS b (target_flow_id, target_binding_id, target_application_id, policy_id, group_id, user_id,
       negate, enabled, "order")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${BINDING_COLUMNS}`,
    bindingParams(binding),
  );
  return rows[0] as PolicyBindingRecord;
}

/** Writes every column: the caller merged the change into the whole binding and checked it. */
export async function replacePolicyBinding(db: Queryable, id: string, binding: PolicyBindingValues): Promise<PolicyBindingRecord | null> {
  const { rows } = await db.query<PolicyBindingRecord>(
    `UPDATE policy_bindings b SET target_flow_id = $2, target_binding_id = $3, target_application_id = $4, policy_id = $5,
       group_id = $6, user_id = $7, negate = $8, enabled = $9, "order" = $10
     WHERE id = $1 RETURNING ${BINDING_COLUMNS}`,
    [id, ...bindingParams(binding)],
  );
  return rows[0] ?? null;
}

export async function deletePolicyBinding(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM policy_bindings WHERE id = $1', [id]);
  return rowCount > 0;
}
