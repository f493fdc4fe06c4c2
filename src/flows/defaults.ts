import type { CoreDeps } from '../core/context.ts';
import type { Queryable } from '../store/db.ts';
import {
  type FlowAuthentication,
  type FlowDesignation,
  findFlowByManaged,
  findStageByManaged,
  insertBinding,
  insertFlow,
  insertStage,
} from '../store/flows.ts';

// Authentik's default flows and stages, with its slugs, created once; `managed` keys find them
// again so later starts add what is missing and never duplicate or overwrite an admin's edits.

interface StageSpec {
  key: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
}
interface FlowSpec {
  key: string;
  slug: string;
  name: string;
  title: string;
  designation: FlowDesignation;
  authentication: FlowAuthentication;
  stages: string[];
}

export const INITIAL_SETUP_MANAGED = 'goauthentik.io/flows/initial-setup';

const STAGES: StageSpec[] = [
  { key: 'identification', name: 'default-authentication-identification', type: 'identification', config: {} },
  { key: 'password', name: 'default-authentication-password', type: 'password', config: {} },
  {
    key: 'mfa-validation',
    name: 'default-authentication-mfa-validation',
    type: 'authenticator_validate',
    config: { not_configured_action: 'skip' },
  },
  { key: 'login', name: 'default-authentication-login', type: 'user_login', config: {} },
  { key: 'logout', name: 'default-invalidation-logout', type: 'user_logout', config: {} },
  { key: 'totp-setup', name: 'default-authenticator-totp-setup', type: 'authenticator_totp', config: {} },
  { key: 'static-setup', name: 'default-authenticator-static-setup', type: 'authenticator_static', config: {} },
  { key: 'webauthn-setup', name: 'default-authenticator-webauthn-setup', type: 'authenticator_webauthn', config: {} },
  {
    key: 'explicit-consent',
    name: 'default-provider-authorization-consent',
    type: 'consent',
    config: { mode: 'permanent' },
  },
  {
    key: 'initial-setup-prompt',
    name: 'initial-setup-prompt',
    type: 'prompt',
    config: {
      fields: [
        { field_key: 'email', label: 'Email', type: 'email', required: true, order: 0 },
        { field_key: 'password', label: 'Password', type: 'password', required: true, order: 1 },
        { field_key: 'password_repeat', label: 'Password (repeat)', type: 'password', required: true, order: 2 },
      ],
    },
  },
  {
    key: 'initial-setup-write',
    name: 'initial-setup-write',
    type: 'user_write',
    config: { username: 'akadmin', groups: ['admins'], superuser_groups: ['admins'] },
  },
  // Authentik's default-recovery-flow: who, a link by mail, a new password, signed in (and out everywhere else).
  { key: 'recovery-identification', name: 'default-recovery-identification', type: 'identification', config: {} },
  {
    key: 'recovery-email',
    name: 'default-recovery-email',
    type: 'email',
    config: { token_expiry: 30, subject: 'Reset your password', template: 'email/password_reset.html' },
  },
  {
    key: 'recovery-password',
    name: 'default-recovery-field-password',
    type: 'prompt',
    config: {
      fields: [
        { field_key: 'password', label: 'New password', type: 'password', required: true, order: 0 },
        { field_key: 'password_repeat', label: 'New password (repeat)', type: 'password', required: true, order: 1 },
      ],
    },
  },
  { key: 'recovery-write', name: 'default-recovery-user-write', type: 'user_write', config: { user_creation_mode: 'never_create' } },
  { key: 'recovery-login', name: 'default-recovery-user-login', type: 'user_login', config: { terminate_other_sessions: true } },
  // Enrollment by invitation only (an open sign-up page is an admin's choice, not a default):
  // the invitation, the new user's details, an inactive account, a link that confirms the address.
  { key: 'enrollment-invitation', name: 'default-enrollment-invitation', type: 'invitation', config: {} },
  {
    key: 'enrollment-prompt',
    name: 'default-enrollment-prompt',
    type: 'prompt',
    config: {
      fields: [
        { field_key: 'username', label: 'Username', type: 'username', required: true, order: 0 },
        { field_key: 'name', label: 'Name', type: 'text', required: true, order: 1 },
        { field_key: 'email', label: 'Email', type: 'email', required: true, order: 2 },
        { field_key: 'password', label: 'Password', type: 'password', required: true, order: 3 },
        { field_key: 'password_repeat', label: 'Password (repeat)', type: 'password', required: true, order: 4 },
      ],
    },
  },
  {
    key: 'enrollment-write',
    name: 'default-enrollment-user-write',
    type: 'user_write',
    config: { user_creation_mode: 'always_create', create_users_as_inactive: true },
  },
  {
    key: 'enrollment-email',
    name: 'default-enrollment-email-verification',
    type: 'email',
    config: { subject: 'Confirm your email address', template: 'email/account_confirmation.html', activate_user_on_success: true },
  },
];

const FLOWS: FlowSpec[] = [
  {
    key: 'default-authentication-flow',
    slug: 'default-authentication-flow',
    name: 'Welcome to Gatehouse!',
    title: 'Welcome to Gatehouse!',
    designation: 'authentication',
    authentication: 'none',
    stages: ['identification', 'password', 'mfa-validation', 'login'],
  },
  {
    key: 'default-invalidation-flow',
    slug: 'default-invalidation-flow',
    name: 'Logout',
    title: 'Default Invalidation Flow',
    designation: 'invalidation',
    authentication: 'none',
    stages: ['logout'],
  },
  {
    key: 'default-provider-authorization-implicit-consent',
    slug: 'default-provider-authorization-implicit-consent',
    name: 'Authorize Application',
    title: 'Redirecting to %(app)s',
    designation: 'authorization',
    authentication: 'require_authenticated',
    stages: [],
  },
  {
    key: 'default-provider-authorization-explicit-consent',
    slug: 'default-provider-authorization-explicit-consent',
    name: 'Authorize Application',
    title: 'Redirecting to %(app)s',
    designation: 'authorization',
    authentication: 'require_authenticated',
    stages: ['explicit-consent'],
  },
  {
    key: 'default-authenticator-totp-setup',
    slug: 'default-authenticator-totp-setup',
    name: 'default-authenticator-totp-setup',
    title: 'Set up an authenticator app',
    designation: 'stage_configuration',
    authentication: 'require_authenticated',
    stages: ['totp-setup'],
  },
  {
    key: 'default-authenticator-static-setup',
    slug: 'default-authenticator-static-setup',
    name: 'default-authenticator-static-setup',
    title: 'Set up recovery codes',
    designation: 'stage_configuration',
    authentication: 'require_authenticated',
    stages: ['static-setup'],
  },
  {
    key: 'default-authenticator-webauthn-setup',
    slug: 'default-authenticator-webauthn-setup',
    name: 'default-authenticator-webauthn-setup',
    title: 'Set up a passkey or security key',
    designation: 'stage_configuration',
    authentication: 'require_authenticated',
    stages: ['webauthn-setup'],
  },
  {
    key: 'initial-setup',
    slug: 'initial-setup',
    name: 'Initial setup',
    title: 'Welcome to Gatehouse! Create the administrator account.',
    designation: 'stage_configuration',
    authentication: 'require_unauthenticated',
    stages: ['initial-setup-prompt', 'initial-setup-write', 'login'],
  },
  {
    key: 'default-recovery-flow',
    slug: 'default-recovery-flow',
    name: 'Default recovery flow',
    title: 'Reset your password',
    designation: 'recovery',
    authentication: 'require_unauthenticated',
    stages: ['recovery-identification', 'recovery-email', 'recovery-password', 'recovery-write', 'recovery-login'],
  },
  {
    key: 'default-enrollment-flow',
    slug: 'default-enrollment-flow',
    name: 'Default enrollment flow',
    title: 'Create your account',
    designation: 'enrollment',
    authentication: 'require_unauthenticated',
    stages: ['enrollment-invitation', 'enrollment-prompt', 'enrollment-write', 'enrollment-email', 'login'],
  },
];

const managedKey = (kind: 'stages' | 'flows', key: string) => `goauthentik.io/${kind}/${key}`;

async function ensureStage(db: Queryable, spec: StageSpec): Promise<string> {
  const managed = managedKey('stages', spec.key);
  const existing = await findStageByManaged(db, managed);
  if (existing) return existing.id;
  return (await insertStage(db, { name: spec.name, type: spec.type, config: spec.config, managed })).id;
}

/** Creates whatever default flow or stage is missing. Safe to run at every start, on every replica (under a lock). */
export async function ensureDefaultFlows(deps: Pick<CoreDeps, 'db'>): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const stageIds = new Map<string, string>();
    for (const spec of STAGES) stageIds.set(spec.key, await ensureStage(tx, spec));
    let created = 0;
    for (const spec of FLOWS) {
      const managed = spec.key === 'initial-setup' ? INITIAL_SETUP_MANAGED : managedKey('flows', spec.key);
      if (await findFlowByManaged(tx, managed)) continue;
      const flow = await insertFlow(tx, { ...spec, managed });
      for (const [i, key] of spec.stages.entries()) {
        // Authentik's spacing: 10, 20, 30, …, and the sign-in itself at 100, leaving room to insert.
        const order = key === 'login' || key === 'recovery-login' ? 100 : (i + 1) * 10;
        await insertBinding(tx, { flowId: flow.id, stageId: stageIds.get(key) as string, order });
      }
      created += 1;
    }
    return created;
  });
}
