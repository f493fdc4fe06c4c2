import { spawn } from 'node:child_process';
import { childEnvironment } from '../../config/childEnv.ts';
import { type CountedTable, countRows, listAppliedMigrations, withExportedSnapshot } from '../../store/backups.ts';
import type { Database } from '../../store/db.ts';
import { dumpPglite } from '../../store/pgliteDump.ts';
import type { PostgresTarget } from './settings.ts';

export interface DatabaseDump {
  kind: 'postgres' | 'pglite';
  data: Buffer;
  counts: Record<CountedTable, number>;
  migrations: string[];
}

const toolEnv = (target: PostgresTarget) =>
  childEnvironment({
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGPASSWORD: target.password,
    PGDATABASE: target.database,
    PGSSLMODE: target.sslmode,
    PGCONNECT_TIMEOUT: '10',
  });

/** Runs pg_dump / pg_restore; stdout collected, stderr kept for the error. Credentials go by environment, never argv. */
export function runPgTool(tool: 'pg_dump' | 'pg_restore', args: string[], target: PostgresTarget, input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env: toolEnv(target), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (error) =>
      reject(new Error(`${tool} could not run (${(error as NodeJS.ErrnoException).code}): install Debian's postgresql-client matching the server`)),
    );
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${tool} failed (${code}): ${err.trim().slice(0, 1000)}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * Postgres: pg_dump (custom format) of the very snapshot the row counts were taken in. PGlite:
 * its data directory dump; nothing else runs SQL between the counts and the dump on its one
 * connection, except requests served in between (so events may differ by a few).
 */
export async function dumpDatabase(db: Database, target: PostgresTarget | null): Promise<DatabaseDump> {
  if (db.kind === 'pglite') {
    const counts = await countRows(db);
    const migrations = await listAppliedMigrations(db);
    return { kind: 'pglite', data: await dumpPglite(db), counts, migrations };
  }
  if (!target) throw new Error('Postgres connection settings are needed for pg_dump');
  return withExportedSnapshot(db, async (tx, snapshot) => {
    const counts = await countRows(tx);
    const migrations = await listAppliedMigrations(tx);
    const data = await runPgTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`], target);
    return { kind: 'postgres', data, counts, migrations };
  });
}

export async function restorePostgres(target: PostgresTarget, data: Buffer): Promise<void> {
  await runPgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${target.database}`], target, data);
}
