import { NotFound, ValidationError } from '../errors.ts';
import { stageDefinition } from '../flows/registry.ts';
import type { Queryable } from '../store/db.ts';
import * as flowStore from '../store/flows.ts';
import { findPoliciesByIds } from '../store/policyAdmin.ts';
import * as stageStore from '../store/stageAdmin.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, fieldErrorsOf, translatingConflicts } from './modelWrites.ts';

// Admin writes of stages. A stage's config is checked by its type's configSchema from the flow
// registry, looked up at each request (so a type registered later is served without changes here).

export interface StageInput {
  name: string;
  /** The type's config fields, as the client sent them (top level, as in Authentik). */
  config: Record<string, unknown>;
  /** Set only by blueprints (Authentik's `managed`: the default stages' keys); the API leaves it alone. */
  managed?: string | null;
}

const stageRef = (stage: flowStore.StageRow) => ({ model_name: 'stage' as const, pk: stage.id, name: stage.name });
const duplicateName = () => ValidationError.field('name', 'stage with this name already exists.');

async function assertManagedFree(tx: Queryable, managed: string | null | undefined, id: string | null): Promise<void> {
  if (!managed) return;
  const holder = await flowStore.findStageByManaged(tx, managed);
  if (holder && holder.id !== id) throw ValidationError.field('managed', 'stage with this managed key already exists.');
}

/**
 * Validates a config for a stage type; returns it parsed (defaults filled in) for the reference
 * checks. What is stored is the config as given: defaults are applied when the stage is read,
 * as for the default stages, so a stored config holds what the admin chose.
 */
function validatedConfig(type: string, config: Record<string, unknown>): Record<string, unknown> {
  const definition = stageDefinition(type);
  if (!definition) throw ValidationError.field('non_field_errors', `Unknown stage type "${type}".`);
  const parsed = definition.configSchema.safeParse(config);
  if (!parsed.success) throw fieldErrorsOf(parsed.error);
  return parsed.data;
}

const stringsOf = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** References inside a config (to stages, flows, policy targets) must point at something that exists. */
async function assertValidReferences(tx: Queryable, parsed: Record<string, unknown>) {
  const setupIds = stringsOf(parsed.configuration_stages);
  const stages = await flowStore.findStagesByIds(tx, setupIds);
  for (const id of setupIds) {
    const type = stages.get(id)?.type;
    if (!type) throw ValidationError.field('configuration_stages', `Unknown stage ${id}.`);
    if (!type.startsWith('authenticator_') || type === 'authenticator_validate') {
      throw ValidationError.field('configuration_stages', `Stage ${id} does not set up an authenticator.`);
    }
  }
  const passwordStageId = parsed.password_stage;
  if (typeof passwordStageId === 'string') {
    const type = (await flowStore.findStagesByIds(tx, [passwordStageId])).get(passwordStageId)?.type;
    if (!type) throw ValidationError.field('password_stage', `Unknown stage ${passwordStageId}.`);
    if (type !== 'password') throw ValidationError.field('password_stage', `Stage ${passwordStageId} is not a password stage.`);
  }
  const policyIds = stringsOf(parsed.validation_policies);
  const policies = await findPoliciesByIds(tx, policyIds);
  for (const id of policyIds) {
    if (!policies.has(id)) throw ValidationError.field('validation_policies', `Unknown policy ${id}.`);
  }
  for (const field of ['enrollment_flow', 'recovery_flow', 'passwordless_flow']) {
    const slug = parsed[field];
    if (typeof slug === 'string' && !(await flowStore.findFlowBySlug(tx, slug))) throw ValidationError.field(field, `Unknown flow "${slug}".`);
  }
}

export function createStage(deps: CoreDeps, ctx: RequestContext, type: string, input: StageInput): Promise<flowStore.StageRow> {
  const parsed = validatedConfig(type, input.config);
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        if (await stageStore.findStageByName(tx, input.name)) throw duplicateName();
        await assertValidReferences(tx, parsed);
        await assertManagedFree(tx, input.managed, null);
        const stage = await flowStore.insertStage(tx, { name: input.name, type, config: input.config, managed: input.managed ?? null });
        await recordEvent(tx, deps, ctx, 'model_created', { model: stageRef(stage), context: { type } });
        return stage;
      }),
    duplicateName,
  );
}

/** The stage with this id, when it is of this type (the per-type endpoints see only their own). */
async function findStageOfType(tx: Queryable, id: string, type: string | null): Promise<flowStore.StageRow> {
  const stage = await flowStore.findStageById(tx, id);
  if (!stage || (type !== null && stage.type !== type)) throw new NotFound();
  return stage;
}

/**
 * PUT replaces the config (absent fields take their defaults); PATCH merges the given fields
 * into the stored config. Either way the result is validated whole.
 */
export function updateStage(
  deps: CoreDeps,
  ctx: RequestContext,
  type: string,
  id: string,
  changes: Partial<StageInput> & { isReplacing: boolean },
): Promise<flowStore.StageRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const current = await findStageOfType(tx, id, type);
        const config = changes.isReplacing ? (changes.config ?? {}) : { ...current.config, ...changes.config };
        const parsed = validatedConfig(type, config);
        if (changes.name !== undefined && changes.name !== current.name && (await stageStore.findStageByName(tx, changes.name))) {
          throw duplicateName();
        }
        await assertValidReferences(tx, parsed);
        await assertManagedFree(tx, changes.managed, id);
        const stage = (await stageStore.updateStage(tx, id, { name: changes.name, config, managed: changes.managed })) as flowStore.StageRow;
        await recordEvent(tx, deps, ctx, 'model_updated', {
          model: stageRef(stage),
          context: { type, changed: changedFields({ name: changes.name, managed: changes.managed, ...changes.config }) },
        });
        return stage;
      }),
    duplicateName,
  );
}

/** Deleting a managed (default) stage is allowed, as in Authentik; its bindings go with it. */
export function deleteStage(deps: CoreDeps, ctx: RequestContext, type: string | null, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const stage = await findStageOfType(tx, id, type);
    const removedBindings = await stageStore.deleteStage(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', {
      model: stageRef(stage),
      context: { type: stage.type, managed: stage.managed, removed_bindings: removedBindings },
    });
  });
}
