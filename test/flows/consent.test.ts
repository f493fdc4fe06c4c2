// The consent stage on its own: the protocols (OIDC, SAML) put the application into the flow.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser } from '../../src/core/users.ts';
import type { StageContext } from '../../src/flows/stage.ts';
import { consentStage } from '../../src/flows/stages/consent.ts';
import type { FlowState } from '../../src/flows/state.ts';
import type { UserRow } from '../../src/store/users.ts';
import { createTestCore, type TestCore } from '../support/backends.ts';

let core: TestCore;
let user: UserRow;
before(async () => {
  core = await createTestCore();
  user = await createUser(core.deps, SYSTEM_CONTEXT, {
    username: 'frida',
    name: 'Frida',
    email: '',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
});
after(() => core.close());

function contextFor(mode: 'always_require' | 'permanent' | 'expiring', withApp = true) {
  const state = {
    pendingUserId: user.id,
    scratch: {},
    application: withApp ? { slug: 'grafana', name: 'Grafana' } : undefined,
  } as unknown as FlowState;
  return {
    deps: core.deps,
    config: consentStage.configSchema.parse({ mode }),
    state,
    stage: { id: 'consent-stage' },
    pendingUser: async () => user,
    scratch() {
      (state.scratch as Record<string, Record<string, unknown>>)['consent-stage'] ??= {};
      return state.scratch['consent-stage'];
    },
  } as unknown as StageContext<ReturnType<typeof consentStage.configSchema.parse>>;
}

test('without an application there is nothing to consent to', async () => {
  assert.deepEqual(await consentStage.settleWithoutInput?.(contextFor('permanent', false)), { kind: 'next' });
});

test('asks, refuses a wrong token, and remembers a permanent consent', async () => {
  const ctx = contextFor('permanent');
  assert.equal(await consentStage.settleWithoutInput?.(ctx), null, 'asks the first time');
  const challenge = await consentStage.challenge(ctx);
  assert.equal(challenge.header_text, 'Do you want to let Grafana access your account?');
  assert.equal((await consentStage.submit(ctx, { token: 'forged' })).kind, 'invalid');
  assert.equal((await consentStage.submit(ctx, { token: challenge.token })).kind, 'next');
  assert.deepEqual(await consentStage.settleWithoutInput?.(contextFor('permanent')), { kind: 'next' }, 'remembered');
  assert.equal(await consentStage.settleWithoutInput?.(contextFor('always_require')), null, 'always_require asks every time');
});
