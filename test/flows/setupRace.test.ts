import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser } from '../../src/core/users.ts';
import { findUserByUsername } from '../../src/store/users.ts';
import { createFreshInstall, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

// Initial setup's last line of defence: it only ever creates akadmin, never writes an existing one.
let t: TestApp;
before(async () => {
  t = await createFreshInstall();
});
after(() => t.close());

const answers = (email: string, password: string) => ({ email, password, password_repeat: password });

test('a setup whose akadmin appeared meanwhile is refused and writes nothing', async () => {
  const browser = new TestBrowser(t.app);
  assert.equal((await browser.flow('initial-setup')).component, 'ak-stage-prompt');
  // akadmin appears between this browser's check and its write (no active superuser yet: it is in no group).
  await createUser(t.deps, SYSTEM_CONTEXT, { username: 'akadmin', name: 'akadmin', email: 'first@example.com', isActive: true, attributes: {}, path: 'users', type: 'internal' });
  const answer = await browser.flow('initial-setup', answers('second@example.com', 'second-long-password'));
  assert.equal(answer.component, 'ak-stage-access-denied');
  assert.match(String(answer.error_message), /Setup is already done/);
  const akadmin = await findUserByUsername(t.deps.db, 'akadmin');
  assert.equal(akadmin?.email, 'first@example.com');
  assert.equal(akadmin?.password_hash, null, 'no password was set');
  assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).statusCode, 401);
});
