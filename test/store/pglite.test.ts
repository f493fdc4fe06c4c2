import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPglite } from '../../src/store/db.ts';

const sharedBuffers = async (db: Awaited<ReturnType<typeof openPglite>>) =>
  (await db.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]?.shared_buffers;

// The embedded database lives in the process's memory, and WASM memory never shrinks: initdb's
// default of 128 MB of shared buffers cost `gatehouse all` ~130 MiB of RSS for good.
test('the embedded database runs with 16 MB of shared buffers, on a new and on an existing data dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-pglite-'));
  try {
    const dataDir = join(dir, 'pglite');
    const first = await openPglite(dataDir);
    assert.equal(await sharedBuffers(first), '16MB');
    await first.query('CREATE TABLE kept (n int)');
    await first.query('INSERT INTO kept VALUES (1)');
    await first.close();
    const conf = readFileSync(join(dataDir, 'postgresql.conf'), 'utf8');

    const again = await openPglite(dataDir);
    assert.equal(await sharedBuffers(again), '16MB');
    assert.deepEqual((await again.query<{ n: number }>('SELECT n FROM kept')).rows, [{ n: 1 }]);
    await again.close();
    // Set at start, not written into the data dir: an older Gatehouse opens it as before.
    assert.equal(readFileSync(join(dataDir, 'postgresql.conf'), 'utf8'), conf);
    assert.doesNotMatch(conf, /^shared_buffers\s*=\s*16MB/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an in-memory embedded database (backup checks) runs with the same shared buffers', async () => {
  const db = await openPglite(null);
  try {
    assert.equal(await sharedBuffers(db), '16MB');
  } finally {
    await db.close();
  }
});
