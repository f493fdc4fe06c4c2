import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { DEFINITIONS_CHANNEL } from '../../src/flows/definitions.ts';
import { watchCounter } from '../../src/store/counterWatch.ts';
import type { Database } from '../../src/store/db.ts';
import { readDefinitionVersion } from '../../src/store/flows.ts';
import { createMigratedDatabase, hasPostgres, type TestDatabase } from '../support/backends.ts';

let database: TestDatabase;
before(async () => {
  database = await createMigratedDatabase();
});
after(() => database.drop());

/** A watch on definition_version that counts its reads of the table. */
function countingWatch(db: Database) {
  const counted = { reads: 0 };
  const watch = watchCounter(db, DEFINITIONS_CHANNEL, (on) => {
    counted.reads += 1;
    return readDefinitionVersion(on);
  });
  return { watch, counted };
}

/** Until the watch reports something other than `previous` (a notification in flight), at most 5 s. */
async function nextValue(watch: ReturnType<typeof watchCounter>, previous: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await watch.current();
    if (value !== previous || Date.now() > deadline) return value;
    await sleep(5);
  }
}

/** Until the watch answers without reading (LISTEN up, counter read after it), at most 5 s. */
async function untilTrusted(watch: ReturnType<typeof watchCounter>, counted: { reads: number }): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const reads = counted.reads;
    await watch.current();
    if (counted.reads === reads) return;
    if (Date.now() > deadline) assert.fail('the watch never stopped reading the counter');
    await sleep(20);
  }
}

test('once listening, the version is known without reading it, and a bump arrives by notification', async () => {
  const { db } = database;
  const { watch, counted } = countingWatch(db);
  try {
    const first = await watch.current();
    assert.equal(first, await readDefinitionVersion(db));
    await untilTrusted(watch, counted);
    const reads = counted.reads;
    for (let i = 0; i < 20; i++) assert.equal(await watch.current(), first);
    assert.equal(counted.reads, reads, 'twenty uses, no read');

    // A change made elsewhere (autocommit, no transaction of this Database): announced at commit.
    await db.query("UPDATE flows SET title = title || '.' WHERE slug = 'default-authentication-flow'");
    const bumped = await nextValue(watch, first);
    assert.equal(bumped, await readDefinitionVersion(db));
    assert.ok(BigInt(bumped) > BigInt(first));
    assert.equal(counted.reads, reads, 'the new value came with the notification, not from a read');
  } finally {
    await watch.stop();
  }
});

test("this process's own committed transaction is seen by the very next use", async () => {
  const { db } = database;
  const { watch, counted } = countingWatch(db);
  try {
    await untilTrusted(watch, counted);
    const before = await watch.current();
    await db.transaction((tx) => tx.query("UPDATE stages SET name = name WHERE name = 'default-authentication-password'"));
    // No waiting for the notification: the commit itself made the watch read again.
    const seen = await watch.current();
    assert.equal(seen, await readDefinitionVersion(db));
    assert.ok(BigInt(seen) > BigInt(before));
  } finally {
    await watch.stop();
  }
});

test('a rolled-back change is never announced and does not move the version', async () => {
  const { db } = database;
  const { watch, counted } = countingWatch(db);
  try {
    await untilTrusted(watch, counted);
    const before = await watch.current();
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("UPDATE flows SET title = 'x' WHERE slug = 'default-invalidation-flow'");
        throw new Error('rolled back');
      }),
    );
    await sleep(100);
    assert.equal(await watch.current(), before);
  } finally {
    await watch.stop();
  }
});

test('inside a transaction the counter is read every time (its own changes are not announced yet)', async () => {
  const { db } = database;
  const { watch, counted } = countingWatch({ ...db, isInTransaction: true });
  await watch.current();
  await watch.current();
  assert.equal(counted.reads, 2);
  await watch.stop();
});

test('while the listening connection is down every use reads; once it is back, reads stop again', { skip: !hasPostgres && 'PGlite listens in process' }, async () => {
  const { db, settings } = database;
  const { watch, counted } = countingWatch(db);
  const admin = new pg.Client({ ...settings, database: settings?.database ?? '' });
  await admin.connect();
  try {
    await untilTrusted(watch, counted);
    const before = await watch.current();
    // Cut the LISTEN connection (as a Postgres restart or a network blip would), and change a
    // definition while it is gone: that notification is lost for good.
    const { rowCount } = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    );
    assert.ok((rowCount ?? 0) >= 1, 'the listening backend was found');
    await sleep(100);
    await admin.query("UPDATE flows SET title = title || '!' WHERE slug = 'default-authentication-flow'");
    const reads = counted.reads;
    const seen = await watch.current();
    assert.ok(BigInt(seen) > BigInt(before), 'the missed bump is seen anyway');
    assert.equal(counted.reads, reads + 1, 'by reading the counter');
    // The listener reconnects within about a second; then the watch trusts notifications again.
    await untilTrusted(watch, counted);
    await admin.query("UPDATE flows SET title = title || '!' WHERE slug = 'default-authentication-flow'");
    assert.equal(await nextValue(watch, seen), await readDefinitionVersion(db));
  } finally {
    await admin.end();
    await watch.stop();
  }
});
