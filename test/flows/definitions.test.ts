import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { loadDefinitions } from '../../src/flows/definitions.ts';
import { findFlowBySlug } from '../../src/store/flows.ts';
import { createTestCore, type TestCore } from '../support/backends.ts';

let core: TestCore;
before(async () => {
  core = await createTestCore();
});
after(() => core.close());

test('cached flow definitions are reused until any definition changes, then read again', async () => {
  const first = await loadDefinitions(core.deps.db);
  const flow = await first.flowBySlug('default-authentication-flow');
  assert.ok(flow);
  const again = await loadDefinitions(core.deps.db);
  assert.equal(await again.flowBySlug('default-authentication-flow'), flow, 'same object: served from the cache');
  // As the admin API writes (a transaction): seen by the very next request of this process.
  await core.deps.db.transaction((tx) => tx.query("UPDATE flows SET title = 'Sign in to the lab' WHERE slug = 'default-authentication-flow'"));
  const afterChange = await loadDefinitions(core.deps.db);
  const fresh = await afterChange.flowBySlug('default-authentication-flow');
  assert.equal(fresh?.title, 'Sign in to the lab', 'a change is seen by the very next request');
  assert.deepEqual(fresh, await findFlowBySlug(core.deps.db, 'default-authentication-flow'));
});

test("another process's change is seen once Postgres announces it", async () => {
  await loadDefinitions(core.deps.db);
  // A lone statement is how another replica's or a blueprint worker's commit looks from here.
  await core.deps.db.query("UPDATE flows SET title = 'Changed elsewhere' WHERE slug = 'default-authentication-flow'");
  const deadline = Date.now() + 5000;
  let title: string | undefined;
  while (Date.now() < deadline) {
    title = (await (await loadDefinitions(core.deps.db)).flowBySlug('default-authentication-flow'))?.title;
    if (title === 'Changed elsewhere') break;
    await sleep(5);
  }
  assert.equal(title, 'Changed elsewhere');
});

test('a rolled-back change does not move the version', async () => {
  const before = await loadDefinitions(core.deps.db);
  const stage = await before.flowBySlug('default-invalidation-flow');
  await assert.rejects(
    core.deps.db.transaction(async (tx) => {
      await tx.query("UPDATE flows SET title = 'x' WHERE slug = 'default-invalidation-flow'");
      throw new Error('rolled back');
    }),
  );
  assert.equal(await (await loadDefinitions(core.deps.db)).flowBySlug('default-invalidation-flow'), stage);
});
