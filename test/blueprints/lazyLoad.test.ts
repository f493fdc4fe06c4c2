// A start whose default blueprints and folder files were already applied to its database
// compares hashes and loads neither the blueprint engine nor the YAML parser (idle memory).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { watchBlueprintFolder } from '../../src/blueprints/folder.ts';
import type { CoreDeps } from '../../src/core/context.ts';
import { SecretBox } from '../../src/core/crypto.ts';
import { ensureDefaultFlows } from '../../src/flows/defaults.ts';
import { openPglite } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createTestCore, hasPostgres, openTestCache, TEST_SECRET_KEY, type TestCore } from '../support/backends.ts';

const work = mkdtempSync(join(tmpdir(), 'gh-blueprint-lazy-'));
const folder = join(work, 'blueprints');
let core: TestCore | undefined;
after(async () => {
  await core?.close();
  rmSync(work, { recursive: true, force: true });
});

function child(target: string): Promise<{ applied: number; afterStart: string[]; control: boolean }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [new URL('./lazyLoadChild.ts', import.meta.url).pathname, target, folder], { timeout: 90_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

test('a start with nothing new to apply loads neither the blueprint engine nor the YAML parser', async () => {
  mkdirSync(folder);
  writeFileSync(join(folder, 'family.yaml'), 'version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: family}\n');
  // An example too (as the image's /blueprints holds): its disabled instance spares parsing it again.
  writeFileSync(join(folder, 'example.yaml'), 'version: 1\nmetadata:\n  name: example\n  labels: {blueprints.goauthentik.io/instantiate: "false"}\nentries: []\n');
  const applyFolder = async (deps: CoreDeps) => {
    const watcher = watchBlueprintFolder(deps, { dir: folder, env: {}, logger: pino({ level: 'silent' }), intervalMs: 60_000 });
    await watcher.runOnce();
    await watcher.stop();
  };
  let target: string;
  if (hasPostgres) {
    core = await createTestCore();
    await applyFolder(core.deps);
    target = JSON.stringify(core.database.settings);
  } else {
    // Embedded: a PGlite data directory, which the child opens once this process has closed it.
    target = join(work, 'pglite');
    const db = await openPglite(target);
    await migrate(db);
    const deps: CoreDeps = {
      db,
      cache: openTestCache(db),
      tokenBox: new SecretBox(TEST_SECRET_KEY, 'token-keys'),
      totpBox: new SecretBox(TEST_SECRET_KEY, 'totp-seeds'),
      clientSecretBox: new SecretBox(TEST_SECRET_KEY, 'oauth2-client-secrets'),
      signingKeyBox: new SecretBox(TEST_SECRET_KEY, 'signing-keys'),
      eventRetentionDays: 1,
      sessionMaxAgeSeconds: 60,
      now: () => new Date(),
    };
    assert.ok((await ensureDefaultFlows(deps)) > 0);
    await applyFolder(deps);
    await deps.cache.close();
    await db.close();
  }
  const report = await child(target);
  assert.equal(report.applied, 0);
  assert.deepEqual(report.afterStart, []);
  assert.equal(report.control, true, 'the hook sees the YAML parser when it is loaded');
});
