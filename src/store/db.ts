import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { PostgresListener } from './postgresListener.ts';
import { statementName } from './preparedStatements.ts';

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/** Something SQL can run on: the database itself, or one transaction of it. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** A Database that is one open transaction (a blueprint's): what it wrote is not notified yet. */
  readonly isInTransaction?: boolean;
  /** Runs fn in one transaction: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs fn on one dedicated connection (session-level advisory locks need that). */
  withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves once listening, to a function that stops it. */
  listen(channel: string, onMessage: (payload: string) => void, events?: ListenEvents): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * What a listener that keeps state from notifications (a cached counter) must hear besides them:
 * when it may have missed some, and when this process committed something whose notification
 * may still be on its way.
 */
export interface ListenEvents {
  /** LISTEN is in place (at first, and again after a lost connection came back). */
  onListening?: () => void;
  /** The listening connection dropped: notifications sent meanwhile are lost. */
  onInterrupted?: () => void;
  /** A transaction of this process committed; its notifications reach the listener a moment later. */
  onLocalCommit?: () => void;
}

// pg hands back int8/numeric as strings; counts are cast to int in SQL instead.
function wrapPgClient(client: pg.PoolClient | pg.Pool): Queryable {
  return {
    async query<Row>(sql: string, params?: unknown[]) {
      const name = statementName(sql, params);
      const result = await client.query(name ? { name, text: sql, values: params } : { text: sql, values: params });
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

export interface PostgresOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: false | { rejectUnauthorized: boolean };
  poolSize: number;
  onError?: (error: Error) => void;
}

/**
 * A client taken from the pool for several statements. The pool listens for errors only on idle
 * clients: a checked-out one whose server goes away between statements (a Postgres restart
 * during a transaction) would emit 'error' with no listener and end the process. Here the error
 * is kept, and the broken client is destroyed on release instead of going back to the pool.
 */
async function checkOut(pool: pg.Pool) {
  const client = await pool.connect();
  let broken: Error | undefined;
  const lost = (error: Error) => {
    broken ??= error;
  };
  client.on('error', lost);
  return {
    client,
    lost,
    release() {
      client.off('error', lost);
      client.release(broken);
    },
  };
}

export function openPostgres(options: PostgresOptions): Database & { pool: pg.Pool } {
  const pool = new pg.Pool({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    ssl: options.ssl,
    max: options.poolSize,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A statement that runs for longer than this is a fault, not work: fail it and answer 503.
    statement_timeout: 15_000,
    application_name: 'gatehouse',
  });
  // An idle client that loses its server emits here; without a listener the process would exit.
  pool.on('error', (error) => options.onError?.(error));
  // A checked-out client that loses its server emits on itself (graphile-worker holds some long).
  pool.on('connect', (client) => client.on('error', (error) => options.onError?.(error)));
  const direct = wrapPgClient(pool);
  const listener = new PostgresListener(options);
  return {
    kind: 'postgres',
    pool,
    ...direct,
    async transaction(fn) {
      const { client, lost, release } = await checkOut(pool);
      try {
        await client.query('BEGIN');
        const result = await fn(wrapPgClient(client));
        await client.query('COMMIT');
        listener.afterLocalCommit();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => lost(rollbackError));
        throw error;
      } finally {
        release();
      }
    },
    async withSession(fn) {
      const { client, release } = await checkOut(pool);
      try {
        return await fn(wrapPgClient(client));
      } finally {
        release();
      }
    },
    listen: (channel, onMessage, events) => listener.listen(channel, onMessage, events),
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

function wrapPglite(db: Pick<PGlite, 'query' | 'exec'>): Queryable {
  return {
    async query<Row>(sql: string, params?: unknown[]) {
      const result = await db.query<Row>(sql, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

const PGLITE_SHARED_BUFFERS = '16MB';

/** The embedded default: PGlite, one connection in this process (STACK.md). */
export async function openPglite(dataDir: string | null, loadDataDir?: Blob): Promise<Database & { pglite: PGlite }> {
  const { PGlite } = await import('@electric-sql/pglite');
  // loadDataDir: a dump from dumpDataDir (a backup being checked or restored).
  const db = await PGlite.create({
    ...(dataDir === null ? {} : { dataDir }),
    ...(loadDataDir ? { loadDataDir } : {}),
    // initdb's 128 MB of shared buffers live in this process's memory for good (WASM memory never
    // shrinks); a small install's tables fit in 16 MB, and the files below are in the OS page cache.
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
  });
  // In this process, on the one connection: LISTEN is never interrupted.
  const watchers = new Set<ListenEvents>();
  return {
    kind: 'pglite',
    pglite: db,
    ...wrapPglite(db),
    async transaction(fn) {
      const result = await db.transaction((tx) => fn(wrapPglite(tx)));
      for (const watcher of watchers) watcher.onLocalCommit?.();
      return result;
    },
    // PGlite has one connection: every caller already shares the one session.
    withSession: (fn) => fn(wrapPglite(db)),
    async listen(channel, onMessage, events) {
      const stop = await db.listen(channel, onMessage);
      if (!events) return stop;
      watchers.add(events);
      events.onListening?.();
      return async () => {
        watchers.delete(events);
        await stop();
      };
    },
    close: () => db.close(),
  };
}

/** The pg pool behind a Postgres Database (graphile-worker runs on it), or null for PGlite. */
export function poolOf(db: Database): pg.Pool | null {
  return db.kind === 'postgres' ? ((db as Database & { pool?: pg.Pool }).pool ?? null) : null;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement_timeout)
  '53300', // too_many_connections
  '08000',
  '08003',
  '08006',
]);

/** True when an error means the database cannot answer now (as opposed to a bad query). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  const message = String((error as { message?: unknown }).message ?? '');
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
    message,
  );
}

/**
 * SQLSTATE class 22 (data exception): a value Postgres cannot take — a NUL byte in text, a number
 * out of range, a malformed uuid — that got past validation. The client's input, not an outage.
 */
export const isRejectedValue = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && /^22[0-9A-Z]{3}$/.test(String((error as { code?: unknown }).code));

export const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';

/** Readiness: throws unless the database answers a trivial query. */
export async function pingDatabase(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
