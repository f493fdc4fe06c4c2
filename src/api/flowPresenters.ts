import { z } from 'zod';
import { policyConfigSchemas, type PolicyType } from '../flows/policies.ts';
import { stageDefinition } from '../flows/registry.ts';
import type { BindingRow, FlowRow, StageRow } from '../store/flows.ts';
import type { GroupRow } from '../store/groups.ts';
import type { PolicyBindingRecord, PolicyRow } from '../store/policyAdmin.ts';
import type { UserRow } from '../store/users.ts';
import { groupSchema, presentGroup, presentUserBrief } from './presenters.ts';

// Flows, stages, bindings and policies in Authentik's API v3 shape and field names.

const designations = ['authentication', 'authorization', 'enrollment', 'invalidation', 'recovery', 'stage_configuration', 'unenrollment'] as const;
export const flowDesignation = z.enum(designations);
export const flowAuthentication = z.enum(['none', 'require_authenticated', 'require_unauthenticated', 'require_superuser']);
export const policyEngineMode = z.enum(['any', 'all']);

export const flowSchema = z.object({
  pk: z.uuid(),
  policybindingmodel_ptr_id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  title: z.string(),
  designation: flowDesignation,
  authentication: flowAuthentication,
  policy_engine_mode: policyEngineMode,
  managed: z.string().nullable(),
  stages: z.array(z.uuid()),
  policies: z.array(z.uuid()),
});

export const presentFlow = (flow: FlowRow, stageIds: string[], policyIds: string[]) => ({
  pk: flow.id,
  policybindingmodel_ptr_id: flow.id,
  name: flow.name,
  slug: flow.slug,
  title: flow.title,
  designation: flow.designation,
  authentication: flow.authentication,
  policy_engine_mode: flow.policy_engine_mode,
  managed: flow.managed,
  stages: stageIds,
  policies: policyIds,
});

/** Authentik's names for each stage type: the admin form component and the Django model. */
const STAGE_MODELS: Record<string, { model: string; verboseName: string }> = {
  identification: { model: 'identificationstage', verboseName: 'Identification Stage' },
  password: { model: 'passwordstage', verboseName: 'Password Stage' },
  authenticator_validate: { model: 'authenticatorvalidatestage', verboseName: 'Authenticator Validation Stage' },
  authenticator_totp: { model: 'authenticatortotpstage', verboseName: 'TOTP Authenticator Setup Stage' },
  authenticator_static: { model: 'authenticatorstaticstage', verboseName: 'Static Authenticator Setup Stage' },
  authenticator_webauthn: { model: 'authenticatorwebauthnstage', verboseName: 'WebAuthn Authenticator Setup Stage' },
  user_login: { model: 'userloginstage', verboseName: 'User Login Stage' },
  user_logout: { model: 'userlogoutstage', verboseName: 'User Logout Stage' },
  user_write: { model: 'userwritestage', verboseName: 'User Write Stage' },
  prompt: { model: 'promptstage', verboseName: 'Prompt Stage' },
  consent: { model: 'consentstage', verboseName: 'Consent Stage' },
  deny: { model: 'denystage', verboseName: 'Deny Stage' },
};

export function stageTypeInfo(type: string) {
  const known = STAGE_MODELS[type] ?? { model: `${type.replace(/_/g, '')}stage`, verboseName: `${type} stage` };
  return {
    component: `ak-stage-${type.replace(/_/g, '-')}-form`,
    meta_model_name: `authentik_stages_${type}.${known.model}`,
    verbose_name: known.verboseName,
    verbose_name_plural: `${known.verboseName}s`,
  };
}

const flowSetSchema = z.object({ pk: z.uuid(), slug: z.string(), name: z.string(), title: z.string(), designation: flowDesignation });

export const stageSchema = z.object({
  pk: z.uuid(),
  name: z.string(),
  component: z.string(),
  verbose_name: z.string(),
  verbose_name_plural: z.string(),
  meta_model_name: z.string(),
  managed: z.string().nullable(),
  flow_set: z.array(flowSetSchema),
});
/** A stage of one type: the base fields plus its config fields at the top level. */
export const typedStageSchema = z.looseObject(stageSchema.shape);

/** The base fields (as /stages/all/ and stage_obj show them). */
export const presentStage = (stage: StageRow, flows: FlowRow[]) => ({
  pk: stage.id,
  name: stage.name,
  ...stageTypeInfo(stage.type),
  managed: stage.managed,
  flow_set: flows.map((f) => ({ pk: f.id, slug: f.slug, name: f.name, title: f.title, designation: f.designation })),
});

/** With its config, defaults filled in (a config the type no longer accepts is shown as stored). */
export function presentTypedStage(stage: StageRow, flows: FlowRow[]) {
  const parsed = stageDefinition(stage.type)?.configSchema.safeParse(stage.config);
  return { ...(parsed?.success ? parsed.data : stage.config), ...presentStage(stage, flows) };
}

export const bindingSchema = z.object({
  pk: z.uuid(),
  policybindingmodel_ptr_id: z.uuid(),
  target: z.uuid(),
  stage: z.uuid(),
  stage_obj: stageSchema,
  evaluate_on_plan: z.boolean(),
  re_evaluate_policies: z.boolean(),
  order: z.number().int(),
  policy_engine_mode: policyEngineMode,
});

export const presentBinding = (binding: BindingRow, stage: ReturnType<typeof presentStage>) => ({
  pk: binding.id,
  policybindingmodel_ptr_id: binding.id,
  target: binding.flow_id,
  stage: binding.stage_id,
  stage_obj: stage,
  evaluate_on_plan: binding.evaluate_on_plan,
  re_evaluate_policies: binding.re_evaluate_policies,
  order: binding.order,
  policy_engine_mode: binding.policy_engine_mode,
});

/** Authentik's model names where the policy exists there; our own in its style otherwise. */
const POLICY_MODELS: Record<PolicyType, { meta: string; component: string; verboseName: string }> = {
  has_mfa: { meta: 'authentik_policies_has_mfa.hasmfapolicy', component: 'ak-policy-has-mfa-form', verboseName: 'Has MFA Policy' },
  source_ip: { meta: 'authentik_policies_source_ip.sourceippolicy', component: 'ak-policy-source-ip-form', verboseName: 'Source IP Policy' },
  reputation: { meta: 'authentik_policies_reputation.reputationpolicy', component: 'ak-policy-reputation-form', verboseName: 'Reputation Policy' },
  password_strength: { meta: 'authentik_policies_password.passwordpolicy', component: 'ak-policy-password-form', verboseName: 'Password Policy' },
};

export const policySchema = z.object({
  pk: z.uuid(),
  name: z.string(),
  component: z.string(),
  verbose_name: z.string(),
  verbose_name_plural: z.string(),
  meta_model_name: z.string(),
  bound_to: z.number().int(),
});
export const typedPolicySchema = z.looseObject(policySchema.shape);

export function presentPolicy(policy: PolicyRow, boundTo: number) {
  const kind = POLICY_MODELS[policy.type as PolicyType];
  return {
    pk: policy.id,
    name: policy.name,
    component: kind?.component ?? '',
    verbose_name: kind?.verboseName ?? policy.type,
    verbose_name_plural: `${kind?.verboseName ?? policy.type}s`,
    meta_model_name: kind?.meta ?? '',
    bound_to: boundTo,
  };
}

export function presentTypedPolicy(policy: PolicyRow, boundTo: number) {
  const parsed = policyConfigSchemas[policy.type as PolicyType]?.safeParse(policy.config);
  return { ...(parsed?.success ? parsed.data : policy.config), ...presentPolicy(policy, boundTo) };
}

const userBriefSchema = z.object({ pk: z.number().int(), username: z.string(), name: z.string(), email: z.string(), is_active: z.boolean() });

export const policyBindingSchema = z.object({
  pk: z.uuid(),
  policy: z.uuid().nullable(),
  group: z.uuid().nullable(),
  user: z.number().int().nullable(),
  policy_obj: policySchema.nullable(),
  group_obj: groupSchema.nullable(),
  user_obj: userBriefSchema.nullable(),
  target: z.uuid(),
  negate: z.boolean(),
  enabled: z.boolean(),
  order: z.number().int(),
});

export interface PolicyBindingRelations {
  policy: ReturnType<typeof presentPolicy> | null;
  group: GroupRow | null;
  user: UserRow | null;
}

export const presentPolicyBinding = (binding: PolicyBindingRecord, related: PolicyBindingRelations) => ({
  pk: binding.id,
  policy: binding.policy_id,
  group: binding.group_id,
  user: binding.user_id,
  policy_obj: related.policy,
  group_obj: related.group ? presentGroup(related.group) : null,
  user_obj: related.user ? presentUserBrief(related.user) : null,
  target: (binding.target_flow_id ?? binding.target_binding_id) as string,
  negate: binding.negate,
  enabled: binding.enabled,
  order: binding.order,
});
