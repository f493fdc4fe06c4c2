import type { Queryable } from './db.ts';

export type FlowDesignation =
  | 'authentication'
  | 'authorization'
  | 'enrollment'
  | 'invalidation'
  | 'recovery'
  | 'stage_configuration'
  | 'unenrollment';
export type FlowAuthentication = 'none' | 'require_authenticated' | 'require_unauthenticated' | 'require_superuser';
export type PolicyEngineMode = 'any' | 'all';

export interface FlowRow {
  id: string;
  slug: string;
  name: string;
  title: string;
  designation: FlowDesignation;
  authentication: FlowAuthentication;
  policy_engine_mode: PolicyEngineMode;
  managed: string | null;
}

export interface StageRow {
  id: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
  managed: string | null;
}

export interface BindingRow {
  id: string;
  flow_id: string;
  stage_id: string;
  order: number;
  evaluate_on_plan: boolean;
  re_evaluate_policies: boolean;
  policy_engine_mode: PolicyEngineMode;
}

export interface PolicyBindingRow {
  id: string;
  target_flow_id: string | null;
  target_binding_id: string | null;
  policy_id: string | null;
  policy_type: string | null;
  policy_config: Record<string, unknown> | null;
  group_id: string | null;
  user_id: number | null;
  negate: boolean;
  enabled: boolean;
  order: number;
}

const FLOW_COLUMNS = 'id, slug, name, title, designation, authentication, policy_engine_mode, managed';

export async function findFlowBySlug(db: Queryable, slug: string): Promise<FlowRow | null> {
  const { rows } = await db.query<FlowRow>(`SELECT ${FLOW_COLUMNS} FROM flows WHERE slug = $1`, [slug]);
  return rows[0] ?? null;
}

/** Every flow's slug (cancelling a browser's progress in all of them). */
export async function listFlowSlugs(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ slug: string }>('SELECT slug FROM flows');
  return rows.map((row) => row.slug);
}

export async function findFlowById(db: Queryable, id: string): Promise<FlowRow | null> {
  const { rows } = await db.query<FlowRow>(`SELECT ${FLOW_COLUMNS} FROM flows WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findStageById(db: Queryable, id: string): Promise<StageRow | null> {
  const { rows } = await db.query<StageRow>('SELECT id, name, type, config, managed FROM stages WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function findStagesByIds(db: Queryable, ids: string[]): Promise<Map<string, StageRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<StageRow>('SELECT id, name, type, config, managed FROM stages WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((s) => [s.id, s]));
}

export async function listBindingsOfFlow(db: Queryable, flowId: string): Promise<BindingRow[]> {
  const { rows } = await db.query<BindingRow>(
    `SELECT id, flow_id, stage_id, "order", evaluate_on_plan, re_evaluate_policies, policy_engine_mode
     FROM flow_stage_bindings WHERE flow_id = $1 ORDER BY "order", id`,
    [flowId],
  );
  return rows;
}

export async function findBindingById(db: Queryable, id: string): Promise<BindingRow | null> {
  const { rows } = await db.query<BindingRow>(
    `SELECT id, flow_id, stage_id, "order", evaluate_on_plan, re_evaluate_policies, policy_engine_mode
     FROM flow_stage_bindings WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** The enabled policy bindings of a flow, a stage binding or an application, in order. */
export async function listPolicyBindingsOf(db: Queryable, targetId: string): Promise<PolicyBindingRow[]> {
  const { rows } = await db.query<PolicyBindingRow>(
    `SELECT b.id, b.target_flow_id, b.target_binding_id, b.policy_id, p.type AS policy_type, p.config AS policy_config,
            b.group_id, b.user_id, b.negate, b.enabled, b."order"
     FROM policy_bindings b LEFT JOIN policies p ON p.id = b.policy_id
     WHERE (b.target_flow_id = $1 OR b.target_binding_id = $1 OR b.target_application_id = $1) AND b.enabled
     ORDER BY b."order", b.id`,
    [targetId],
  );
  return rows;
}

/** Whether the user is a member of the group, directly or through a child group. */
export async function isMemberOfGroup(db: Queryable, userId: number, groupId: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    `WITH RECURSIVE lineage(id, parent_id) AS (
       SELECT g.id, g.parent_id FROM groups g JOIN group_memberships m ON m.group_id = g.id WHERE m.user_id = $1
       UNION SELECT p.id, p.parent_id FROM groups p JOIN lineage l ON p.id = l.parent_id
     ) SELECT EXISTS (SELECT 1 FROM lineage WHERE id = $2) AS found`,
    [userId, groupId],
  );
  return rows[0]?.found ?? false;
}

// --- writes used by the default-flow blueprint and the admin API --------------------------------

export interface NewFlow {
  slug: string;
  name: string;
  title: string;
  designation: FlowDesignation;
  authentication: FlowAuthentication;
  managed: string | null;
}

export async function insertFlow(db: Queryable, flow: NewFlow): Promise<FlowRow> {
  const { rows } = await db.query<FlowRow>(
    `INSERT INTO flows (slug, name, title, designation, authentication, managed) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${FLOW_COLUMNS}`,
    [flow.slug, flow.name, flow.title, flow.designation, flow.authentication, flow.managed],
  );
  return rows[0] as FlowRow;
}

export async function insertStage(
  db: Queryable,
  stage: { name: string; type: string; config: Record<string, unknown>; managed: string | null },
): Promise<StageRow> {
  const { rows } = await db.query<StageRow>(
    'INSERT INTO stages (name, type, config, managed) VALUES ($1, $2, $3, $4) RETURNING id, name, type, config, managed',
    [stage.name, stage.type, JSON.stringify(stage.config), stage.managed],
  );
  return rows[0] as StageRow;
}

export async function findStageByManaged(db: Queryable, managed: string): Promise<StageRow | null> {
  const { rows } = await db.query<StageRow>('SELECT id, name, type, config, managed FROM stages WHERE managed = $1', [managed]);
  return rows[0] ?? null;
}

export async function findFlowByManaged(db: Queryable, managed: string): Promise<FlowRow | null> {
  const { rows } = await db.query<FlowRow>(`SELECT ${FLOW_COLUMNS} FROM flows WHERE managed = $1`, [managed]);
  return rows[0] ?? null;
}

export async function insertBinding(
  db: Queryable,
  binding: { flowId: string; stageId: string; order: number; evaluateOnPlan?: boolean; reEvaluatePolicies?: boolean },
): Promise<BindingRow> {
  const { rows } = await db.query<BindingRow>(
    `INSERT INTO flow_stage_bindings (flow_id, stage_id, "order", evaluate_on_plan, re_evaluate_policies)
     VALUES ($1, $2, $3, $4, $5)
     RETURNING id, flow_id, stage_id, "order", evaluate_on_plan, re_evaluate_policies, policy_engine_mode`,
    [binding.flowId, binding.stageId, binding.order, binding.evaluateOnPlan ?? false, binding.reEvaluatePolicies ?? true],
  );
  return rows[0] as BindingRow;
}

// --- remembered consent -------------------------------------------------------------------------

export async function hasLiveConsent(db: Queryable, userId: number, application: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM user_consents WHERE user_id = $1 AND application = $2 AND (expires IS NULL OR expires > now())) AS found',
    [userId, application],
  );
  return rows[0]?.found ?? false;
}

export async function rememberConsent(db: Queryable, userId: number, application: string, expiresInSeconds: number | null): Promise<void> {
  await db.query(
    `INSERT INTO user_consents (user_id, application, expires)
     VALUES ($1, $2, CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $3::float8) END)
     ON CONFLICT (user_id, application) DO UPDATE SET expires = EXCLUDED.expires, created_at = now()`,
    [userId, application, expiresInSeconds],
  );
}

/** The counter the definition triggers move (migrations/0004): equal counters, equal definitions. */
export async function readDefinitionVersion(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ version: string }>('SELECT version::text AS version FROM definition_version');
  return rows[0]?.version ?? '0';
}
