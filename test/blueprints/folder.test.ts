// The blueprints folder: applied at start, re-applied when a file changes, examples and broken
// files left alone (the broken one reported with its line), each file's instance recording how it
// went, a restarted server skipping files whose hash did not change, a removed file's instance
// orphaned, and the watcher stops.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { watchBlueprintFolder } from '../../src/blueprints/folder.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-blueprints-'));
const lines: Array<Record<string, unknown>> = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
let t: TestApp;

const group = (name: string, superuser: boolean) =>
  `version: 1\nmetadata:\n  name: ${name}\nentries:\n  - model: authentik_core.group\n    identifiers:\n      name: ${name}\n    attrs:\n      is_superuser: ${superuser}\n`;
const instances = async () =>
  Object.fromEntries(
    ((await t.api('GET', '/api/v3/managed/blueprints/?page_size=100')).json().results as Array<{ path: string; status: string }>)
      .filter((i) => !i.path.startsWith('default/'))
      .map((i) => [i.path, i.status]),
  );
const findGroup = async (name: string) => (await t.api('GET', `/api/v3/core/groups/?name=${encodeURIComponent(name)}`)).json().results[0];

describe('blueprints folder', () => {
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('applies every file, then only what changed; skips examples; reports a broken file once with its line', async () => {
    mkdirSync(join(dir, 'custom'));
    writeFileSync(join(dir, 'custom', 'family.yaml'), group('family', false));
    writeFileSync(join(dir, 'example.yaml'), group('example-only', false).replace('metadata:\n', 'metadata:\n  labels:\n    blueprints.goauthentik.io/instantiate: "false"\n'));
    writeFileSync(join(dir, 'broken.yml'), 'version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: broken}\n    attrs:\n      colour: red\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a blueprint');
    const watcher = watchBlueprintFolder(t.deps, { dir, env: {}, logger, intervalMs: 60_000 });
    try {
      await watcher.runOnce();
      assert.equal((await findGroup('family'))?.is_superuser, false);
      assert.equal(await findGroup('example-only'), undefined, 'an example is applied only on request');
      assert.equal(await findGroup('broken'), undefined);
      const invalid = lines.filter((l) => l.msg === 'blueprint_invalid');
      assert.equal(invalid.length, 1);
      assert.deepEqual(invalid[0]?.problems, ['line 6: authentik_core.group: unknown field "colour".']);

      const before = lines.length;
      await watcher.runOnce();
      assert.equal(lines.length, before, 'nothing changed, nothing applied or logged');

      writeFileSync(join(dir, 'custom', 'family.yaml'), group('family', true));
      await watcher.runOnce();
      assert.equal((await findGroup('family'))?.is_superuser, true);
      const applied = lines.filter((l) => l.msg === 'blueprint_applied' && l.blueprint === 'custom/family.yaml');
      assert.deepEqual(applied.map((l) => [l.create, l.update]), [[1, 0], [0, 1]]);
      assert.deepEqual(await instances(), { 'broken.yml': 'error', 'custom/family.yaml': 'successful', 'example.yaml': 'unknown' });
      const example = (await t.api('GET', '/api/v3/managed/blueprints/?path=example.yaml')).json().results[0];
      assert.equal(example.enabled, false, 'an example\'s instance is disabled: applied only on request');
    } finally {
      await watcher.stop();
    }
  });

  test('a restarted server applies no file whose hash did not change; a removed file\'s instance is orphaned', async () => {
    const events = async () => (await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]?.n;
    const before = { lines: lines.length, events: await events() };
    const restarted = watchBlueprintFolder(t.deps, { dir, env: {}, logger, intervalMs: 60_000 });
    try {
      await restarted.runOnce();
      assert.equal(lines.length, before.lines, 'nothing applied, nothing logged');
      assert.equal(await events(), before.events);
      unlinkSync(join(dir, 'custom', 'family.yaml'));
      await restarted.runOnce();
      assert.equal((await instances())['custom/family.yaml'], 'orphaned');
      assert.deepEqual(lines.at(-1)?.blueprints, ['custom/family.yaml']);
      assert.equal((await findGroup('family'))?.is_superuser, true, 'an orphan\'s objects stay');
      writeFileSync(join(dir, 'custom', 'family.yaml'), group('family', true));
      await restarted.runOnce();
      assert.equal((await instances())['custom/family.yaml'], 'successful', 'back in the folder, applied again');
    } finally {
      await restarted.stop();
    }
  });
});
