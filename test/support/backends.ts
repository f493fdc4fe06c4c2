import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Cache } from '../../src/cache/cache.ts';
import { openPostgresCache } from '../../src/cache/postgres.ts';
import { openRedisCache } from '../../src/cache/redis.ts';
import type { CoreDeps } from '../../src/core/context.ts';
import { SecretBox } from '../../src/core/crypto.ts';
import { type Database, openPglite, openPostgres } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { ensureDefaultFlows } from '../../src/flows/defaults.ts';

/** Set by test/run.ts: empty when the service did not answer (then the embedded fallbacks serve). */
export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? '';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? '';
export const hasPostgres = PG_ADMIN_URL !== '';
export const hasRedis = REDIS_URL !== '';

export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

export interface TestDatabase {
  db: Database;
  /** Connection settings of the fresh database (Postgres only). */
  settings: { host: string; port: number; user: string; database: string } | null;
  drop(): Promise<void>;
}

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database on real Postgres (or in-memory PGlite without it). */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  if (!hasPostgres) {
    const db = await openPglite(null);
    return { db, settings: null, drop: () => db.close() };
  }
  const name = uniqueName('gh_test');
  await adminQuery(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(PG_ADMIN_URL);
  const settings = { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username || 'postgres'), database: name };
  const db = openPostgres({ ...settings, password: decodeURIComponent(url.password), ssl: false, poolSize: 10 });
  return {
    db,
    settings,
    async drop() {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}

export async function createMigratedDatabase(): Promise<TestDatabase> {
  const database = await createEmptyDatabase();
  await migrate(database.db);
  return database;
}

/** A cache on a namespace of its own; pass the same namespace to open a second client on it. */
export function openTestCache(db: Database, namespace = `${uniqueName('gh_test')}:`): Cache {
  if (!hasRedis) return openPostgresCache(db, namespace);
  const url = new URL(REDIS_URL);
  return openRedisCache({
    target: { host: url.hostname, port: Number(url.port || 6379) },
    db: 0,
    tls: false,
    keyPrefix: namespace,
  });
}

export const TEST_SECRET_KEY = 'test-secret-key-of-at-least-thirty-two-characters';

export interface TestCore {
  deps: CoreDeps;
  database: TestDatabase;
  close(): Promise<void>;
}

/** The identity core on a fresh migrated database and a namespaced cache, with a settable clock. */
export async function createTestCore(overrides: Partial<CoreDeps> = {}): Promise<TestCore> {
  const database = await createMigratedDatabase();
  await ensureDefaultFlows(database);
  const cache = openTestCache(database.db);
  const deps: CoreDeps = {
    db: database.db,
    cache,
    tokenBox: new SecretBox(TEST_SECRET_KEY, 'token-keys'),
    totpBox: new SecretBox(TEST_SECRET_KEY, 'totp-seeds'),
    clientSecretBox: new SecretBox(TEST_SECRET_KEY, 'oauth2-client-secrets'),
    signingKeyBox: new SecretBox(TEST_SECRET_KEY, 'signing-keys'),
    eventRetentionDays: 365,
    sessionMaxAgeSeconds: 3600,
    now: () => new Date(),
    ...overrides,
  };
  return {
    deps,
    database,
    async close() {
      await cache.close();
      await database.drop();
    },
  };
}
