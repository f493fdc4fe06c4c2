import { z } from 'zod';
import { bindingInput, bindingPatchSchema, flowInput, flowPatchSchema } from '../../api/flows.ts';
import { policyBindingPatchSchema } from '../../api/policies.ts';
import { type BindingInput, createBinding, createFlow, deleteBinding, deleteFlow, type FlowInput, updateBinding, updateFlow } from '../../core/flowAdmin.ts';
import {
  createPolicy,
  createPolicyBinding,
  deletePolicy,
  deletePolicyBinding,
  inputOfPolicyBinding,
  type PolicyBindingInput,
  updatePolicy,
  updatePolicyBinding,
} from '../../core/policyAdmin.ts';
import { createStage, deleteStage, updateStage } from '../../core/stageAdmin.ts';
import { ValidationError } from '../../errors.ts';
import { type PolicyType, policyConfigSchemas } from '../../flows/policies.ts';
import { stageDefinition, stageTypes } from '../../flows/registry.ts';
import { listBindings, listFlows } from '../../store/flowAdmin.ts';
import { findFlowById } from '../../store/flows.ts';
import { listPolicies, listPolicyBindings } from '../../store/policyAdmin.ts';
import { listStages } from '../../store/stageAdmin.ts';
import { ALL, type BlueprintModel, fieldsOf, parsedWith, str } from '../model.ts';

// authentik_flows, authentik_stages_* and authentik_policies*: flows, their stage bindings,
// stages and policies of every registered type, and policy bindings.

const defined = <T extends object>(input: T): Partial<T> =>
  Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as Partial<T>;

// Authentik's `managed`: a key that finds a default object again whatever the admin renamed it to
// (the shipped blueprints identify the default flows and stages by it). Not writable over the API.
const managedSchema = z.string().trim().min(1).max(200).nullable();
function withManaged(parse: (values: Record<string, unknown>) => Record<string, unknown>) {
  return ({ managed, ...values }: Record<string, unknown>): Record<string, unknown> => {
    const parsed = parse(values);
    if (managed === undefined) return parsed;
    const result = managedSchema.safeParse(managed);
    if (!result.success) throw ValidationError.field('managed', 'Enter a key of 1 to 200 characters, or null.');
    return { ...parsed, managed: result.data };
  };
}
const managedOf = (v: Record<string, unknown>) => (v.managed === undefined ? {} : { managed: v.managed as string | null });

export const flowModel: BlueprintModel = {
  name: 'authentik_flows.flow',
  fields: new Set([...fieldsOf(flowPatchSchema), 'managed']),
  ignored: new Set(['layout', 'background', 'compatibility_mode', 'denied_action', 'related_flow']),
  parse: withManaged(parsedWith(flowPatchSchema)),
  async list(tx) {
    return (await listFlows(tx, {}, ALL)).rows.map((f) => ({
      pk: f.id,
      values: {
        slug: f.slug,
        name: f.name,
        title: f.title,
        designation: f.designation,
        authentication: f.authentication,
        policy_engine_mode: f.policy_engine_mode,
        managed: f.managed,
      },
    }));
  },
  async create(deps, ctx, v) {
    const input = flowInput(v);
    const flow = await createFlow(deps, ctx, {
      ...(input as FlowInput),
      authentication: input.authentication ?? 'none',
      policyEngineMode: input.policyEngineMode ?? 'any',
      ...managedOf(v),
    });
    return flow.id;
  },
  async update(deps, ctx, pk, v) {
    const flow = await findFlowById(deps.db, str(pk));
    if (flow) await updateFlow(deps, ctx, flow.slug, { ...defined(flowInput(v)), ...managedOf(v) });
  },
  async remove(deps, ctx, pk) {
    const flow = await findFlowById(deps.db, str(pk));
    if (flow) await deleteFlow(deps, ctx, flow.slug);
  },
};

export const flowStageBindingModel: BlueprintModel = {
  name: 'authentik_flows.flowstagebinding',
  fields: fieldsOf(bindingPatchSchema),
  ignored: new Set(['invalid_response_action']),
  parse: parsedWith(bindingPatchSchema),
  async list(tx) {
    return (await listBindings(tx, {}, ALL)).rows.map((b) => ({
      pk: b.id,
      values: {
        target: b.flow_id,
        stage: b.stage_id,
        order: b.order,
        evaluate_on_plan: b.evaluate_on_plan,
        re_evaluate_policies: b.re_evaluate_policies,
        policy_engine_mode: b.policy_engine_mode,
      },
    }));
  },
  async create(deps, ctx, v) {
    const input = bindingInput(v);
    if (input.flowId === undefined || input.stageId === undefined || input.order === undefined) {
      throw ValidationError.field('non_field_errors', 'A flow-stage binding needs target, stage and order.');
    }
    const binding = await createBinding(deps, ctx, {
      ...(input as BindingInput),
      evaluateOnPlan: input.evaluateOnPlan ?? false,
      reEvaluatePolicies: input.reEvaluatePolicies ?? true,
      policyEngineMode: input.policyEngineMode ?? 'any',
    });
    return binding.id;
  },
  update: async (deps, ctx, pk, v) => void (await updateBinding(deps, ctx, str(pk), defined(bindingInput(v)))),
  remove: (deps, ctx, pk) => deleteBinding(deps, ctx, str(pk)),
};

/** Authentik's model name of a stage type: authentik_stages_user_login.userloginstage. */
export const stageModelName = (type: string): string => `authentik_stages_${type}.${type.replaceAll('_', '')}stage`;

const shapeKeys = (schema: unknown): string[] => {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
};

function stageModel(type: string): BlueprintModel {
  const definition = stageDefinition(type);
  const nameSchema = z.string().trim().min(1).max(200);
  return {
    name: stageModelName(type),
    fields: new Set(['name', 'managed', ...shapeKeys(definition?.configSchema)]),
    ignored: new Set(['flow_set']),
    parse: withManaged(({ name, ...config }) => {
      if (name === undefined) return config;
      const parsed = nameSchema.safeParse(name);
      if (!parsed.success) throw ValidationError.field('name', 'Enter a name of 1 to 200 characters.');
      return { name: parsed.data, ...config };
    }),
    async list(tx) {
      return (await listStages(tx, { type }, ALL)).rows.map((s) => ({ pk: s.id, values: { name: s.name, managed: s.managed, ...s.config } }));
    },
    async create(deps, ctx, { name, managed, ...config }) {
      if (typeof name !== 'string') throw ValidationError.field('name', 'This field is required.');
      return (await createStage(deps, ctx, type, { name, config, ...managedOf({ managed }) })).id;
    },
    async update(deps, ctx, pk, { name, managed, ...config }) {
      await updateStage(deps, ctx, type, str(pk), { name: name as string | undefined, config, isReplacing: false, ...managedOf({ managed }) });
    },
    remove: (deps, ctx, pk) => deleteStage(deps, ctx, type, str(pk)),
  };
}

/** Authentik's policy models: authentik_policies_password.passwordpolicy is Gatehouse's password_strength, … */
const POLICY_MODELS: Record<PolicyType, string> = {
  has_mfa: 'authentik_policies_mfa.hasmfapolicy',
  source_ip: 'authentik_policies_source_ip.sourceippolicy',
  reputation: 'authentik_policies_reputation.reputationpolicy',
  password_strength: 'authentik_policies_password.passwordpolicy',
};

function policyModel(type: PolicyType): BlueprintModel {
  return {
    name: POLICY_MODELS[type],
    fields: new Set(['name', ...shapeKeys(policyConfigSchemas[type])]),
    ignored: new Set(['execution_logging']),
    parse: (values) => values,
    async list(tx) {
      return (await listPolicies(tx, {}, ALL)).rows.filter((p) => p.type === type).map((p) => ({ pk: p.id, values: { name: p.name, ...p.config } }));
    },
    async create(deps, ctx, { name, ...config }) {
      if (typeof name !== 'string') throw ValidationError.field('name', 'This field is required.');
      return (await createPolicy(deps, ctx, type, { name, config })).id;
    },
    async update(deps, ctx, pk, { name, ...config }) {
      await updatePolicy(deps, ctx, type, str(pk), { name: name as string | undefined, config, isReplacing: false });
    },
    remove: (deps, ctx, pk) => deletePolicy(deps, ctx, type, str(pk)),
  };
}

export const policyBindingModel: BlueprintModel = {
  name: 'authentik_policies.policybinding',
  fields: fieldsOf(policyBindingPatchSchema),
  ignored: new Set(['timeout', 'failure_result']),
  parse: parsedWith(policyBindingPatchSchema),
  async list(tx) {
    return (await listPolicyBindings(tx, {}, ALL)).rows.map((b) => ({ pk: b.id, values: { ...inputOfPolicyBinding(b) } }));
  },
  async create(deps, ctx, v) {
    if (typeof v.target !== 'string' || typeof v.order !== 'number') throw ValidationError.field('non_field_errors', 'A policy binding needs target and order.');
    const input: PolicyBindingInput = {
      target: v.target,
      order: v.order,
      policy: (v.policy as string | null | undefined) ?? null,
      group: (v.group as string | null | undefined) ?? null,
      user: (v.user as number | null | undefined) ?? null,
      negate: (v.negate as boolean | undefined) ?? false,
      enabled: (v.enabled as boolean | undefined) ?? true,
    };
    return (await createPolicyBinding(deps, ctx, input)).id;
  },
  update: async (deps, ctx, pk, v) => void (await updatePolicyBinding(deps, ctx, str(pk), v as Partial<PolicyBindingInput>)),
  remove: (deps, ctx, pk) => deletePolicyBinding(deps, ctx, str(pk)),
};

/**
 * Stages other stages name first: authenticator setup stages (a validation stage's
 * configuration_stages) and password stages (an identification stage's password_stage).
 */
const isNamedByStages = (type: string) => type === 'password' || (type.startsWith('authenticator_') && type !== 'authenticator_validate');
export const stageModels = (): BlueprintModel[] =>
  [...stageTypes()].sort((a, b) => Number(isNamedByStages(b)) - Number(isNamedByStages(a))).map(stageModel);
export const policyModels = (): BlueprintModel[] => (Object.keys(policyConfigSchemas) as PolicyType[]).map(policyModel);
