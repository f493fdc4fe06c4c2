import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPostgres } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createEmptyDatabase, hasPostgres } from '../support/backends.ts';

test('applies every migration once and records it', async () => {
  const { db, drop } = await createEmptyDatabase();
  try {
    const first = await migrate(db);
    assert.ok(first.applied.includes('0001_core.sql'));
    const second = await migrate(db);
    assert.deepEqual(second.applied, []);
    assert.equal(second.alreadyApplied, first.applied.length);
    const { rows } = await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    assert.deepEqual(rows.map((r) => r.name), first.applied);
  } finally {
    await drop();
  }
});

test('several processes migrating one fresh database at once never race', { skip: !hasPostgres && 'needs Postgres' }, async () => {
  const { settings, drop } = await createEmptyDatabase();
  // Separate pools stand in for separate replicas: separate connections, one advisory lock.
  const pools = Array.from({ length: 4 }, () => openPostgres({ ...(settings as NonNullable<typeof settings>), password: '', ssl: false, poolSize: 2 }));
  try {
    const reports = await Promise.all(pools.map((db) => migrate(db)));
    const appliedCounts = reports.map((r) => r.applied.length).sort();
    assert.deepEqual(appliedCounts.slice(0, 3), [0, 0, 0], 'only one replica applies');
    assert.ok((appliedCounts[3] ?? 0) >= 1);
    const { rows } = await (pools[0] as (typeof pools)[number]).query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    assert.equal(rows[0]?.n, appliedCounts[3]);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await drop();
  }
});

test('a failing migration rolls back whole and is not recorded; an edited one stops the run', async () => {
  const { db, drop } = await createEmptyDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'gh-migrations-'));
  try {
    writeFileSync(join(dir, '0001_first.sql'), 'CREATE TABLE first_table (id int);');
    writeFileSync(join(dir, '0002_broken.sql'), 'CREATE TABLE second_table (id int); SELECT * FROM no_such_table;');
    await assert.rejects(migrate(db, dir), /0002_broken\.sql failed/);
    const tables = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('first_table', 'second_table')",
    );
    assert.equal(tables.rows[0]?.n, 1, 'the broken file left nothing behind');
    writeFileSync(join(dir, '0002_broken.sql'), 'CREATE TABLE second_table (id int);');
    assert.deepEqual((await migrate(db, dir)).applied, ['0002_broken.sql']);
    writeFileSync(join(dir, '0001_first.sql'), 'CREATE TABLE first_table (id bigint);');
    await assert.rejects(migrate(db, dir), /0001_first\.sql was edited after it was applied/);
  } finally {
    await drop();
  }
});
