import { NotFound, ValidationError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import * as adminStore from '../store/flowAdmin.ts';
import * as flowStore from '../store/flows.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, translatingConflicts } from './modelWrites.ts';

// Admin writes of flows and their stage bindings: each change and its audit event in one transaction.

export interface FlowInput {
  slug: string;
  name: string;
  title: string;
  designation: flowStore.FlowDesignation;
  authentication: flowStore.FlowAuthentication;
  policyEngineMode: flowStore.PolicyEngineMode;
  /** Set only by blueprints (Authentik's `managed`: the default flows' keys); the API leaves it alone. */
  managed?: string | null;
}

const flowRef = (flow: flowStore.FlowRow) => ({ model_name: 'flow' as const, pk: flow.id, name: flow.slug });
const duplicateSlug = () => ValidationError.field('slug', 'flow with this slug already exists.');
const duplicateManaged = () => ValidationError.field('managed', 'flow with this managed key already exists.');

/** A managed key names one flow: refuse taking another's (a clear 400, not the slug's conflict message). */
async function assertManagedFree(tx: Queryable, managed: string | null | undefined, id: string | null): Promise<void> {
  if (!managed) return;
  const holder = await flowStore.findFlowByManaged(tx, managed);
  if (holder && holder.id !== id) throw duplicateManaged();
}

export function createFlow(deps: CoreDeps, ctx: RequestContext, input: FlowInput): Promise<flowStore.FlowRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        if (await flowStore.findFlowBySlug(tx, input.slug)) throw duplicateSlug();
        await assertManagedFree(tx, input.managed, null);
        let flow = await flowStore.insertFlow(tx, { ...input, managed: input.managed ?? null });
        if (input.policyEngineMode !== flow.policy_engine_mode) {
          flow = (await adminStore.updateFlow(tx, flow.id, { policyEngineMode: input.policyEngineMode })) as flowStore.FlowRow;
        }
        await recordEvent(tx, deps, ctx, 'model_created', { model: flowRef(flow) });
        return flow;
      }),
    duplicateSlug,
  );
}

export function updateFlow(
  deps: CoreDeps,
  ctx: RequestContext,
  slug: string,
  changes: Partial<FlowInput>,
): Promise<flowStore.FlowRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const current = await flowStore.findFlowBySlug(tx, slug);
        if (!current) throw new NotFound();
        if (changes.slug !== undefined && changes.slug !== current.slug && (await flowStore.findFlowBySlug(tx, changes.slug))) {
          throw duplicateSlug();
        }
        await assertManagedFree(tx, changes.managed, current.id);
        const flow = (await adminStore.updateFlow(tx, current.id, changes)) as flowStore.FlowRow;
        await recordEvent(tx, deps, ctx, 'model_updated', {
          model: flowRef(flow),
          context: { changed: changedFields({ ...changes }), ...(slug !== flow.slug ? { previous_slug: slug } : {}) },
        });
        return flow;
      }),
    duplicateSlug,
  );
}

/** Deleting a managed (default) flow is allowed, as in Authentik; the event says it was managed. */
export function deleteFlow(deps: CoreDeps, ctx: RequestContext, slug: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const flow = await flowStore.findFlowBySlug(tx, slug);
    if (!flow) throw new NotFound();
    await adminStore.deleteFlow(tx, flow.id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: flowRef(flow), context: { managed: flow.managed } });
  });
}

export interface BindingInput {
  flowId: string;
  stageId: string;
  order: number;
  evaluateOnPlan: boolean;
  reEvaluatePolicies: boolean;
  policyEngineMode: flowStore.PolicyEngineMode;
}

const notUnique = () => ValidationError.field('non_field_errors', 'The fields target, stage, order must make a unique set.');

/** Checks the binding's flow and stage exist and that no other binding has the same place. */
async function describeBinding(tx: Queryable, binding: Omit<BindingInput, 'evaluateOnPlan' | 'reEvaluatePolicies' | 'policyEngineMode'>, id: string | null) {
  const flow = await flowStore.findFlowById(tx, binding.flowId);
  if (!flow) throw ValidationError.field('target', 'Unknown flow.');
  const stage = await flowStore.findStageById(tx, binding.stageId);
  if (!stage) throw ValidationError.field('stage', 'Unknown stage.');
  if (await adminStore.findBindingAt(tx, binding.flowId, binding.stageId, binding.order, id)) throw notUnique();
  return `${flow.slug} #${binding.order}: ${stage.name}`;
}

const bindingRef = (binding: flowStore.BindingRow, name: string) => ({
  model_name: 'flow_stage_binding' as const,
  pk: binding.id,
  name,
});

export function createBinding(deps: CoreDeps, ctx: RequestContext, input: BindingInput): Promise<flowStore.BindingRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const name = await describeBinding(tx, input, null);
        let binding = await flowStore.insertBinding(tx, input);
        if (input.policyEngineMode !== binding.policy_engine_mode) {
          binding = (await adminStore.updateBinding(tx, binding.id, { policyEngineMode: input.policyEngineMode })) as flowStore.BindingRow;
        }
        await recordEvent(tx, deps, ctx, 'model_created', { model: bindingRef(binding, name) });
        return binding;
      }),
    notUnique,
  );
}

export function updateBinding(
  deps: CoreDeps,
  ctx: RequestContext,
  id: string,
  changes: Partial<BindingInput>,
): Promise<flowStore.BindingRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const current = await flowStore.findBindingById(tx, id);
        if (!current) throw new NotFound();
        const name = await describeBinding(
          tx,
          { flowId: changes.flowId ?? current.flow_id, stageId: changes.stageId ?? current.stage_id, order: changes.order ?? current.order },
          id,
        );
        const binding = (await adminStore.updateBinding(tx, id, changes)) as flowStore.BindingRow;
        await recordEvent(tx, deps, ctx, 'model_updated', { model: bindingRef(binding, name), context: { changed: changedFields({ ...changes }) } });
        return binding;
      }),
    notUnique,
  );
}

export function deleteBinding(deps: CoreDeps, ctx: RequestContext, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const binding = await flowStore.findBindingById(tx, id);
    if (!binding) throw new NotFound();
    const flow = await flowStore.findFlowById(tx, binding.flow_id);
    const stage = await flowStore.findStageById(tx, binding.stage_id);
    await adminStore.deleteBinding(tx, id);
    const name = `${flow?.slug ?? binding.flow_id} #${binding.order}: ${stage?.name ?? binding.stage_id}`;
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: bindingRef(binding, name) });
  });
}
