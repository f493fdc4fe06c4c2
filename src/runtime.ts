import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import type { Logger } from 'pino';
import type { Cache } from './cache/cache.ts';
import { openPostgresCache } from './cache/postgres.ts';
import { openRedisCache } from './cache/redis.ts';
import { ConfigError, usesPostgres, usesRedis } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { bootstrapAdmin } from './core/bootstrap.ts';
import { ensureDefaultFlows } from './flows/defaults.ts';
import type { CoreDeps } from './core/context.ts';
import { SecretBox } from './core/crypto.ts';
import { type Database, openPglite, openPostgres } from './store/db.ts';
import { LOCK_KEYS, withAdvisoryLock } from './store/locks.ts';
import { migrate } from './store/migrate.ts';
import { openJobQueue } from './worker/start.ts';

export interface Runtime {
  deps: CoreDeps;
  /** For what derives its own keys later (the backup key). */
  secretKey: string;
  close(): Promise<void>;
}

/**
 * The secret key: from GATEHOUSE_SECRET_KEY, or, for `gatehouse all` only, generated once into
 * the data directory (mode 0600) so a newcomer needs to set nothing.
 */
export function resolveSecretKey(config: Config, mayGenerate: boolean): string {
  if (config.secret_key) return config.secret_key;
  if (!mayGenerate) throw new ConfigError('GATEHOUSE_SECRET_KEY: required (openssl rand -base64 36)');
  const file = join(resolve(config.data_dir), 'secret_key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(resolve(config.data_dir), { recursive: true, mode: 0o700 });
  const key = randomBytes(36).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}

export function openConfiguredPostgres(config: Config, logger: Logger): Database {
  const pg = config.postgresql;
  if (!pg.host) throw new ConfigError('GATEHOUSE_POSTGRESQL__HOST: required for this command (only `gatehouse all` runs on embedded storage)');
  return openPostgres({
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database: pg.name,
    ssl: pg.sslmode === 'disable' ? false : { rejectUnauthorized: pg.sslmode === 'verify-full' },
    poolSize: pg.pool_size,
    onError: (error) => logger.warn({ err: error }, 'postgres_connection_error'),
  });
}

/** PGlite in <data_dir>/pglite, guarded by a lock file: a second process on the same dir refuses to start. */
async function openEmbedded(config: Config, logger: Logger): Promise<{ db: Database; release: () => Promise<void> }> {
  const dataDir = resolve(config.data_dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, {
      lockfilePath: join(dataDir, 'gatehouse.lock'),
      stale: 15_000,
      update: 5_000,
      onCompromised: (error) => logger.error({ err: error }, 'data_dir_lock_lost'),
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new ConfigError(
        `GATEHOUSE_DATA_DIR: ${dataDir} is in use by another Gatehouse process; embedded storage serves one process only (configure GATEHOUSE_POSTGRESQL__HOST to run several)`,
      );
    }
    throw error;
  }
  const db = await openPglite(join(dataDir, 'pglite'));
  return { db, release };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Migrations wait for the database at start instead of exiting, so a container can start first. */
async function migrateWhenReachable(db: Database, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const report = await migrate(db);
      logger.info({ applied: report.applied, already_applied: report.alreadyApplied }, 'migrations_done');
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const isConnection = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '57P03' || /connect|terminated|timeout/i.test(String((error as Error).message));
      if (!isConnection) throw error;
      logger.warn({ attempt, err: error }, 'waiting_for_postgres');
      await sleep(Math.min(attempt * 500, 5000));
    }
  }
}

export interface RuntimeOptions {
  /** Only `gatehouse all` may run on PGlite and generate its own secret key. */
  isEmbeddedAllowed: boolean;
  runMigrations: boolean;
  runBootstrap: boolean;
}

export async function openRuntime(config: Config, logger: Logger, options: RuntimeOptions): Promise<Runtime> {
  const secretKey = resolveSecretKey(config, options.isEmbeddedAllowed);
  let db: Database;
  let releaseDataDir = async () => {};
  if (usesPostgres(config)) db = openConfiguredPostgres(config, logger);
  else if (options.isEmbeddedAllowed) ({ db, release: releaseDataDir } = await openEmbedded(config, logger));
  else throw new ConfigError('GATEHOUSE_POSTGRESQL__HOST: required for this command (only `gatehouse all` runs on embedded storage)');

  if (options.runMigrations) await migrateWhenReachable(db, logger);
  const cache: Cache = usesRedis(config)
    ? openRedisCache({
        target: config.redis.sentinels
          ? {
              sentinels: config.redis.sentinels,
              masterName: config.redis.sentinel_master,
              sentinelUsername: config.redis.sentinel_username,
              sentinelPassword: config.redis.sentinel_password,
            }
          : { host: config.redis.host as string, port: config.redis.port },
        db: config.redis.db,
        username: config.redis.username,
        password: config.redis.password,
        tls: config.redis.tls,
        keyPrefix: config.redis.key_prefix,
        onError: (error) => logger.warn({ err: error }, 'redis_connection_error'),
      })
    : openPostgresCache(db);
  const deps: CoreDeps = {
    db,
    cache,
    tokenBox: new SecretBox(secretKey, 'token-keys', config.secret_key_fallbacks),
    totpBox: new SecretBox(secretKey, 'totp-seeds', config.secret_key_fallbacks),
    clientSecretBox: new SecretBox(secretKey, 'oauth2-client-secrets', config.secret_key_fallbacks),
    signingKeyBox: new SecretBox(secretKey, 'signing-keys', config.secret_key_fallbacks),
    eventRetentionDays: config.events.retention_days,
    sessionMaxAgeSeconds: config.sessions.max_age_hours * 3600,
    rateLimits: config.rate_limits,
    now: () => new Date(),
    jobs: await openJobQueue(config, db, logger, { install: options.runMigrations }),
  };
  if (options.runMigrations) {
    await withAdvisoryLock(db, LOCK_KEYS.bootstrap, () => ensureDefaultFlows(deps));
  }
  if (options.runBootstrap) {
    // Replicas starting together: one creates akadmin, the others then find it and skip.
    const outcome = await withAdvisoryLock(db, LOCK_KEYS.bootstrap, () => bootstrapAdmin(deps, {
        password: config.bootstrap_password,
        email: config.bootstrap_email,
        token: config.bootstrap_token,
      }),
    );
    if (outcome === 'created') logger.info({ username: 'akadmin' }, 'bootstrap_admin_created');
  }
  return {
    deps,
    secretKey,
    async close() {
      await cache.close();
      await db.close();
      await releaseDataDir();
    },
  };
}
