import { NotFound, ValidationError } from '../errors.ts';
import { policyConfigSchemas, type PolicyType } from '../flows/policies.ts';
import type { Queryable } from '../store/db.ts';
import { findGroupById } from '../store/groups.ts';
import * as policyStore from '../store/policyAdmin.ts';
import { findUserById } from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, fieldErrorsOf, translatingConflicts } from './modelWrites.ts';

// Admin writes of policies and policy bindings, each with its audit event in one transaction.

export interface PolicyInput {
  name: string;
  /** The type's config fields, as the client sent them (top level, as in Authentik). */
  config: Record<string, unknown>;
}

const policyRef = (policy: policyStore.PolicyRow) => ({ model_name: 'policy' as const, pk: policy.id, name: policy.name });
const duplicateName = () => ValidationError.field('name', 'policy with this name already exists.');

/** Validates a config; what is stored is the config as given (defaults apply when evaluated). */
function assertValidConfig(type: PolicyType, config: Record<string, unknown>): void {
  const parsed = policyConfigSchemas[type].safeParse(config);
  if (!parsed.success) throw fieldErrorsOf(parsed.error);
}

export function createPolicy(deps: CoreDeps, ctx: RequestContext, type: PolicyType, input: PolicyInput): Promise<policyStore.PolicyRow> {
  assertValidConfig(type, input.config);
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        if (await policyStore.findPolicyByName(tx, input.name)) throw duplicateName();
        const policy = await policyStore.insertPolicy(tx, { name: input.name, type, config: input.config });
        await recordEvent(tx, deps, ctx, 'model_created', { model: policyRef(policy), context: { type } });
        return policy;
      }),
    duplicateName,
  );
}

async function findPolicyOfType(tx: Queryable, id: string, type: PolicyType | null): Promise<policyStore.PolicyRow> {
  const policy = await policyStore.findPolicyById(tx, id);
  if (!policy || (type !== null && policy.type !== type)) throw new NotFound();
  return policy;
}

/** PUT replaces the config (absent fields take their defaults); PATCH merges into it. */
export function updatePolicy(
  deps: CoreDeps,
  ctx: RequestContext,
  type: PolicyType,
  id: string,
  changes: Partial<PolicyInput> & { isReplacing: boolean },
): Promise<policyStore.PolicyRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const current = await findPolicyOfType(tx, id, type);
        const config = changes.isReplacing ? (changes.config ?? {}) : { ...current.config, ...changes.config };
        assertValidConfig(type, config);
        if (changes.name !== undefined && changes.name !== current.name && (await policyStore.findPolicyByName(tx, changes.name))) {
          throw duplicateName();
        }
        const policy = (await policyStore.updatePolicy(tx, id, { name: changes.name, config })) as policyStore.PolicyRow;
        await recordEvent(tx, deps, ctx, 'model_updated', {
          model: policyRef(policy),
          context: { type, changed: changedFields({ name: changes.name, ...changes.config }) },
        });
        return policy;
      }),
    duplicateName,
  );
}

export function deletePolicy(deps: CoreDeps, ctx: RequestContext, type: PolicyType | null, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const policy = await findPolicyOfType(tx, id, type);
    await policyStore.deletePolicy(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: policyRef(policy), context: { type: policy.type } });
  });
}

export interface PolicyBindingInput {
  /** A flow's, a flow-stage binding's or an application's pk: what the binding guards. */
  target: string;
  policy: string | null;
  group: string | null;
  user: number | null;
  negate: boolean;
  enabled: boolean;
  order: number;
}

const bindingRef = (binding: policyStore.PolicyBindingRecord, input: PolicyBindingInput) => ({
  model_name: 'policy_binding' as const,
  pk: binding.id,
  name: `${input.policy ? `policy ${input.policy}` : input.group ? `group ${input.group}` : `user ${input.user}`} on ${input.target}`,
});

/** Checks the whole binding: a target that exists, exactly one of policy/group/user, and that it exists. */
async function rowOf(tx: Queryable, input: PolicyBindingInput): Promise<policyStore.PolicyBindingValues> {
  const kind = await policyStore.findPolicyTargetKind(tx, input.target);
  if (!kind) throw ValidationError.field('target', 'Unknown target: expected the pk of a flow, a flow-stage binding or an application.');
  const count = [input.policy, input.group, input.user].filter((v) => v !== null).length;
  if (count > 1) throw ValidationError.field('non_field_errors', "Only one of 'policy', 'group' or 'user' can be set.");
  if (count === 0) throw ValidationError.field('non_field_errors', "One of 'policy', 'group' or 'user' must be set.");
  if (input.policy && !(await policyStore.findPolicyById(tx, input.policy))) throw ValidationError.field('policy', 'Unknown policy.');
  if (input.group && !(await findGroupById(tx, input.group))) throw ValidationError.field('group', 'Unknown group.');
  if (input.user !== null && !(await findUserById(tx, input.user))) throw ValidationError.field('user', 'Unknown user.');
  return {
    target_flow_id: kind === 'flow' ? input.target : null,
    target_binding_id: kind === 'binding' ? input.target : null,
    target_application_id: kind === 'application' ? input.target : null,
    policy_id: input.policy,
    group_id: input.group,
    user_id: input.user,
    negate: input.negate,
    enabled: input.enabled,
    order: input.order,
  };
}

const missingReference = () => ValidationError.field('non_field_errors', 'A referenced object no longer exists.');

export function createPolicyBinding(deps: CoreDeps, ctx: RequestContext, input: PolicyBindingInput): Promise<policyStore.PolicyBindingRecord> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const binding = await policyStore.insertPolicyBinding(tx, await rowOf(tx, input));
        await recordEvent(tx, deps, ctx, 'model_created', { model: bindingRef(binding, input) });
        return binding;
      }),
    missingReference,
  );
}

export const inputOfPolicyBinding = (b: policyStore.PolicyBindingRecord): PolicyBindingInput => ({
  target: policyStore.targetOfPolicyBinding(b),
  policy: b.policy_id,
  group: b.group_id,
  user: b.user_id,
  negate: b.negate,
  enabled: b.enabled,
  order: b.order,
});

/** PUT and PATCH both merge into the stored binding, then check it whole. */
export function updatePolicyBinding(
  deps: CoreDeps,
  ctx: RequestContext,
  id: string,
  changes: Partial<PolicyBindingInput>,
): Promise<policyStore.PolicyBindingRecord> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const current = await policyStore.findPolicyBindingById(tx, id);
        if (!current) throw new NotFound();
        const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
        const input = { ...inputOfPolicyBinding(current), ...defined };
        const binding = (await policyStore.replacePolicyBinding(tx, id, await rowOf(tx, input))) as policyStore.PolicyBindingRecord;
        await recordEvent(tx, deps, ctx, 'model_updated', { model: bindingRef(binding, input), context: { changed: changedFields(changes) } });
        return binding;
      }),
    missingReference,
  );
}

export function deletePolicyBinding(deps: CoreDeps, ctx: RequestContext, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const binding = await policyStore.findPolicyBindingById(tx, id);
    if (!binding) throw new NotFound();
    await policyStore.deletePolicyBinding(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: bindingRef(binding, inputOfPolicyBinding(binding)) });
  });
}
