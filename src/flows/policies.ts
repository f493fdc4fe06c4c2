import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import type { CoreDeps } from '../core/context.ts';
import { countConfirmedDevicesOfUser } from '../store/devices.ts';
import { isMemberOfGroup, listPolicyBindingsOf, type PolicyBindingRow, type PolicyEngineMode } from '../store/flows.ts';
import { findPoliciesByIds } from '../store/policyAdmin.ts';
import type { UserRow } from '../store/users.ts';
import type { Definitions } from './definitions.ts';
import type { FlowState } from './state.ts';
import { reputationScore, throttleNameOf } from './throttle.ts';

/** Config of each policy type, validated when stored (admin API) and when read. */
export const policyConfigSchemas = {
  has_mfa: z.strictObject({}),
  source_ip: z.strictObject({ cidrs: z.array(z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/)).min(1).max(100) }),
  reputation: z.strictObject({ threshold: z.number().int().max(0).default(-5) }),
  password_strength: z.strictObject({
    field: z.string().min(1).max(100).default('password'),
    min_length: z.number().int().min(1).max(1024).default(12),
    min_uppercase: z.number().int().min(0).max(100).default(0),
    min_lowercase: z.number().int().min(0).max(100).default(0),
    min_digits: z.number().int().min(0).max(100).default(0),
    min_symbols: z.number().int().min(0).max(100).default(0),
    error_message: z.string().max(500).default('The password is too weak.'),
  }),
} as const;
export type PolicyType = keyof typeof policyConfigSchemas;

export interface PolicySubject {
  user: UserRow | null;
  clientIp: string;
  state: FlowState | null;
  /** Answers group bindings; a read each time unless the caller remembers (the LDAP bind does). */
  isMemberOfGroup?: (userId: number, groupId: string) => Promise<boolean>;
}

export interface PolicyVerdict {
  isPassing: boolean;
  messages: string[];
}

function isInNetworks(ip: string, cidrs: string[]): boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/') as [string, string];
    const family = isIP(network) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(network, Number(prefix), family);
  }
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
}

function countOf(text: string, pattern: RegExp): number {
  return (text.match(pattern) ?? []).length;
}

async function evaluateBinding(deps: CoreDeps, binding: PolicyBindingRow, subject: PolicySubject): Promise<PolicyVerdict> {
  if (binding.group_id) {
    const isMember = subject.isMemberOfGroup ?? ((userId: number, groupId: string) => isMemberOfGroup(deps.db, userId, groupId));
    return { isPassing: subject.user !== null && (await isMember(subject.user.id, binding.group_id)), messages: [] };
  }
  if (binding.user_id !== null) return { isPassing: subject.user?.id === binding.user_id, messages: [] };
  const type = binding.policy_type as PolicyType;
  switch (type) {
    case 'has_mfa':
      return { isPassing: subject.user !== null && (await countConfirmedDevicesOfUser(deps.db, subject.user.id)) > 0, messages: [] };
    case 'source_ip': {
      const config = policyConfigSchemas.source_ip.parse(binding.policy_config);
      return { isPassing: isInNetworks(subject.clientIp, config.cidrs), messages: [] };
    }
    case 'reputation': {
      const config = policyConfigSchemas.reputation.parse(binding.policy_config);
      const score = await reputationScore(deps, throttleNameOf(subject.user, subject.state?.pendingUid) || null, subject.clientIp);
      return { isPassing: score > config.threshold, messages: [] };
    }
    case 'password_strength': {
      const config = policyConfigSchemas.password_strength.parse(binding.policy_config);
      const password = String(subject.state?.promptData[config.field] ?? '');
      const isPassing =
        password.length >= config.min_length &&
        countOf(password, /\p{Lu}/gu) >= config.min_uppercase &&
        countOf(password, /\p{Ll}/gu) >= config.min_lowercase &&
        countOf(password, /\p{N}/gu) >= config.min_digits &&
        countOf(password, /[^\p{L}\p{N}\s]/gu) >= config.min_symbols;
      return { isPassing, messages: isPassing ? [] : [config.error_message] };
    }
    default:
      // An unknown policy type fails closed.
      return { isPassing: false, messages: ['Unknown policy.'] };
  }
}

/**
 * Evaluates policies by id, all of which must pass (a prompt stage's validation_policies, as in
 * Authentik). A missing policy fails closed.
 */
export async function evaluatePolicyIds(deps: CoreDeps, policyIds: string[], subject: PolicySubject): Promise<PolicyVerdict> {
  const policies = await findPoliciesByIds(deps.db, policyIds);
  const messages: string[] = [];
  for (const id of policyIds) {
    const policy = policies.get(id);
    const asBinding: PolicyBindingRow = {
      id,
      target_flow_id: null,
      target_binding_id: null,
      policy_id: id,
      policy_type: policy?.type ?? 'missing',
      policy_config: policy?.config ?? {},
      group_id: null,
      user_id: null,
      negate: false,
      enabled: true,
      order: 0,
    };
    const verdict = await evaluateBinding(deps, asBinding, subject);
    if (!verdict.isPassing) messages.push(...(verdict.messages.length ? verdict.messages : ['Not allowed.']));
  }
  return { isPassing: messages.length === 0, messages };
}

/**
 * Evaluates the bindings of a flow or stage binding. No bindings: pass. Mode "any": one passing
 * binding is enough; "all": every one must pass. `negate` inverts one binding's result.
 */
export async function evaluatePolicies(
  deps: CoreDeps,
  targetId: string,
  mode: PolicyEngineMode,
  subject: PolicySubject,
  definitions?: Pick<Definitions, 'policyBindingsOf'>,
): Promise<PolicyVerdict> {
  const bindings = definitions ? await definitions.policyBindingsOf(targetId) : await listPolicyBindingsOf(deps.db, targetId);
  if (bindings.length === 0) return { isPassing: true, messages: [] };
  const verdicts = await Promise.all(
    bindings.map(async (binding) => {
      const verdict = await evaluateBinding(deps, binding, subject);
      return { isPassing: verdict.isPassing !== binding.negate, messages: verdict.messages };
    }),
  );
  const isPassing = mode === 'all' ? verdicts.every((v) => v.isPassing) : verdicts.some((v) => v.isPassing);
  return { isPassing, messages: isPassing ? [] : verdicts.flatMap((v) => v.messages) };
}
