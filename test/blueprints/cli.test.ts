// `gatehouse blueprint apply|export` as an operator runs them: real processes on embedded storage.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT } from '../support/processes.ts';
import { example } from './support.ts';

const work = mkdtempSync(join(tmpdir(), 'gh-blueprint-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function gatehouse(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      `${ROOT}bin/gatehouse`,
      args,
      {
        cwd: ROOT,
        timeout: 90_000,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_LOG_LEVEL: 'warn', ...env },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('gatehouse blueprint', () => {
  const first = join(work, 'first');
  const second = join(work, 'second');
  const file = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };

  test('apply --dry-run prints the diff and writes nothing; apply writes; apply again changes nothing', async () => {
    const grafana = file('grafana.yaml', example('grafana'));
    const dry = await gatehouse(first, ['blueprint', 'apply', grafana, '--dry-run'], { GRAFANA_CLIENT_SECRET: 'from-the-environment-0123456789' });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^Dry run, nothing applied: Grafana/);
    assert.match(dry.stdout, /\+ authentik_core.application \{"slug":"grafana"\}/);
    const applied = await gatehouse(first, ['blueprint', 'apply', grafana], { GRAFANA_CLIENT_SECRET: 'from-the-environment-0123456789' });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^Applied: Grafana\n\+ authentik_core.group/);
    const again = await gatehouse(first, ['blueprint', 'apply', grafana], { GRAFANA_CLIENT_SECRET: 'from-the-environment-0123456789' });
    assert.ok(again.stdout.split('\n').slice(1, -1).every((line) => line.startsWith('= ')), again.stdout);
  });

  test('an unknown field: file:line on stderr, exit 65, nothing applied', async () => {
    const bad = file('bad.yaml', 'version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: never-made}\n    attrs:\n      colour: blue\n');
    const res = await gatehouse(first, ['blueprint', 'apply', bad]);
    assert.equal(res.code, 65);
    assert.match(res.stderr, /bad\.yaml:6: authentik_core\.group: unknown field "colour"\./);
    assert.match(res.stderr, /Nothing was applied/);
    assert.doesNotMatch((await gatehouse(first, ['blueprint', 'export'])).stdout, /never-made/);
  });

  test('export, applied to an empty installation, exports the same again (round trip)', async () => {
    const exported = await gatehouse(first, ['blueprint', 'export']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^version: 1\n/);
    assert.match(exported.stdout, /client_secret: from-the-environment-0123456789/);
    assert.match(exported.stdout, /provider: !KeyOf oauth2provider-grafana/);
    const copy = file('export.yaml', exported.stdout);
    const applied = await gatehouse(second, ['blueprint', 'apply', copy]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /\+ authentik_providers_oauth2\.oauth2provider \{"name":"Grafana"\}/);
    const again = await gatehouse(second, ['blueprint', 'export']);
    assert.equal(again.stdout, exported.stdout);
  });

  test('usage errors exit 2', async () => {
    assert.equal((await gatehouse(first, ['blueprint', 'apply'])).code, 2);
  });
});
