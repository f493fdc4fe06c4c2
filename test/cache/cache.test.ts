import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cache } from '../../src/cache/cache.ts';
import { openPostgresCache } from '../../src/cache/postgres.ts';
import { createMigratedDatabase, hasRedis, openTestCache, type TestDatabase, uniqueName } from '../support/backends.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let database: TestDatabase;
before(async () => {
  database = await createMigratedDatabase();
});
after(() => database.drop());

// The same behaviour from both implementations: Redis when it answers, and the Postgres fallback.
const implementations: Array<[string, (namespace: string) => Cache, boolean]> = [
  ['redis', (namespace) => openTestCache(database.db, namespace), !hasRedis],
  ['postgres fallback', (namespace) => openPostgresCache(database.db, namespace), false],
];

for (const [name, open, skip] of implementations) {
  describe(`${name} cache`, { skip: skip && 'Redis did not answer' }, () => {
    let cache: Cache;
    let peer: Cache;
    before(() => {
      const namespace = `${uniqueName('c')}:`;
      cache = open(namespace);
      peer = open(namespace);
    });
    after(async () => {
      await cache.close();
      await peer.close();
    });

    test('stores, reads and deletes values', async () => {
      assert.equal(await cache.get('missing'), null);
      await cache.set('k', 'v1');
      assert.equal(await cache.get('k'), 'v1');
      await cache.set('k', 'v2');
      assert.equal(await cache.get('k'), 'v2');
      await cache.delete('k');
      assert.equal(await cache.get('k'), null);
    });

    test('a value with a time to live vanishes after it', async () => {
      await cache.set('short', 'x', 1);
      assert.equal(await cache.get('short'), 'x');
      await sleep(1200);
      assert.equal(await cache.get('short'), null);
    });

    test('counters count atomically and restart after their window', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => cache.increment('failures', 1)));
      assert.deepEqual([...results].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      await sleep(1200);
      assert.equal(await cache.increment('failures', 1), 1);
    });

    test('a message published on one connection reaches subscribers on another', async () => {
      const received: string[] = [];
      const unsubscribe = await peer.subscribe('invalidate', (m) => received.push(m));
      await cache.publish('invalidate', 'user:42');
      for (let i = 0; i < 50 && received.length === 0; i++) await sleep(20);
      assert.deepEqual(received, ['user:42']);
      await unsubscribe();
      await cache.publish('invalidate', 'user:43');
      await sleep(200);
      assert.deepEqual(received, ['user:42']);
    });

    test('ping answers while the backing service does', async () => {
      await cache.ping();
    });
  });
}
