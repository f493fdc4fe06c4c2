// What every benchmark here shares: Gatehouse child processes of the built server, a throw-away
// Postgres database and Redis key prefix, cleanup that runs also on failure or Ctrl-C, and a
// watchdog so that a run always ends by itself. Used by bench/core.ts and bench/logins.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';

// What the container image runs: the JavaScript `npm run build` makes (`npm run bench` builds it).
// BENCH_CLI runs another build (e.g. an older commit's src/cli.ts, for a before/after) instead of dist/.
export const CLI = process.env.BENCH_CLI ?? new URL('../dist/src/cli.js', import.meta.url).pathname;
export const HOST = '127.0.0.1';
export const POSTGRES = { host: HOST, port: 5432, user: 'postgres' };
export const REDIS = { host: HOST, port: 6379 };

const READY_POLL_MS = 50;
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;
/** Extra node flags for the Gatehouse children only, e.g. BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
export const CHILD_NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

export const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
export const randomText = (bytes: number) => randomBytes(bytes).toString('base64url');
export const round = (value: number, digits = 1) => Number(value.toFixed(digits));

// ---------------------------------------------------------------------------------------------
// Cleanup: undo steps registered as resources are made, run last-in first-out, also on failure.

export class Cleanup {
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];

  add(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  async runAll(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        log(`cleanup: ${step.what} failed: ${(error as Error).message}`);
      }
    }
  }
}

/**
 * The common main: refuses to start without dist/, runs `run` with a Cleanup and a temp dir (both
 * undone at the end, on failure, on SIGINT/SIGTERM and when the watchdog fires), and prints its
 * report as one JSON object on stdout.
 */
export async function runBench(options: {
  watchdogMs: number;
  run: (cleanup: Cleanup, workDir: string) => Promise<unknown>;
}): Promise<void> {
  if (!existsSync(CLI)) {
    log(`${CLI} is missing: run \`npm run bench\` (it builds first) or \`npm run build\``);
    process.exit(2);
  }
  const cleanup = new Cleanup();
  const abort = async (reason: string) => {
    log(`${reason}: cleaning up`);
    await cleanup.runAll();
    process.exit(1);
  };
  process.once('SIGINT', () => void abort('interrupted'));
  process.once('SIGTERM', () => void abort('terminated'));
  setTimeout(() => void abort(`still running after ${options.watchdogMs} ms`), options.watchdogMs).unref();

  try {
    const workDir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
    cleanup.add(`remove ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }));
    const report = await options.run(cleanup, workDir);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } catch (error) {
    log(`failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await cleanup.runAll();
  }
}

// ---------------------------------------------------------------------------------------------
// Gatehouse child processes.

export interface GatehouseProcess {
  label: string;
  pid: number;
  baseUrl: string;
  logFile: string;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

// BENCH_PORTS=22500-22999 keeps every port a bench listens on within that range (a machine shared
// with other runs, each given its own range); without it the system picks free ports.
const PORT_RANGE = /^(\d+)-(\d+)$/.exec(process.env.BENCH_PORTS ?? '');
let nextPort = PORT_RANGE ? Number(PORT_RANGE[1]) : 0;

async function listensOn(port: number): Promise<number | null> {
  const server = createServer();
  server.listen(port, HOST);
  const outcome = await Promise.race([once(server, 'listening').then(() => true), once(server, 'error').then(() => false)]);
  if (!outcome) return null;
  const bound = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return bound;
}

export async function freePort(): Promise<number> {
  if (!PORT_RANGE) return (await listensOn(0)) as number;
  for (; nextPort <= Number(PORT_RANGE[2]); ) {
    const port = await listensOn(nextPort++);
    if (port !== null) return port;
  }
  throw new Error(`no free port left in BENCH_PORTS=${process.env.BENCH_PORTS}`);
}

/** The bench's environment without any GATEHOUSE_* of its own, plus the given settings. */
function gatehouseEnvironment(settings: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_'));
  return { ...Object.fromEntries(inherited), ...settings };
}

/** Settings of `gatehouse server` on the bench database and Redis prefix, with a known API token. */
export function serverSettings(options: {
  database: string;
  redisPrefix: string;
  apiToken: string;
  postgresPort?: number;
  redisPort?: number;
}): Record<string, string> {
  return {
    GATEHOUSE_POSTGRESQL__HOST: POSTGRES.host,
    GATEHOUSE_POSTGRESQL__PORT: String(options.postgresPort ?? POSTGRES.port),
    GATEHOUSE_POSTGRESQL__USER: POSTGRES.user,
    GATEHOUSE_POSTGRESQL__NAME: options.database,
    GATEHOUSE_REDIS__HOST: REDIS.host,
    GATEHOUSE_REDIS__PORT: String(options.redisPort ?? REDIS.port),
    GATEHOUSE_REDIS__KEY_PREFIX: options.redisPrefix,
    GATEHOUSE_SECRET_KEY: randomText(36), // 48 characters
    GATEHOUSE_BOOTSTRAP_PASSWORD: randomText(18),
    GATEHOUSE_BOOTSTRAP_TOKEN: options.apiToken,
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  if (hasExited()) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_GRACE_MS).then(() => true)]);
  if (timedOut && !hasExited()) {
    log(`pid ${child.pid} ignored SIGTERM for ${STOP_GRACE_MS} ms: SIGKILL`);
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Metrics on, as deployed (GATEHOUSE_LISTEN__METRICS defaults to :9300), on a port of each
 * process's own; BENCH_METRICS=off measures without them (what the listener costs).
 */
export async function metricsAddress(): Promise<string> {
  return process.env.BENCH_METRICS === 'off' ? 'off' : `${HOST}:${await freePort()}`;
}

/**
 * Spawns `node dist/src/cli.js <command>` directly (no shell or npm wrapper, so the pid is the
 * server's own), with its output going to a log file in workDir and its cwd there too (so no
 * .env of the project is picked up).
 */
export async function startGatehouse(
  label: string,
  command: 'server' | 'all' | 'worker' | 'ldap',
  settings: Record<string, string>,
  workDir: string,
  cleanup: Cleanup,
  nodeFlags: string[] = [],
  cli = CLI,
): Promise<GatehouseProcess> {
  const port = await freePort();
  const logFile = join(workDir, `${label}.log`);
  const output = openSync(logFile, 'a');
  const spawnedAt = performance.now();
  // bin/gatehouse starts `all` with --liftoff-only (PGlite's memory peak, docs/operations.md): measure what it runs.
  const commandFlags = command === 'all' ? ['--liftoff-only'] : [];
  const child = spawn(process.execPath, [...CHILD_NODE_FLAGS, ...commandFlags, ...nodeFlags, cli, command], {
    cwd: workDir,
    env: gatehouseEnvironment({ GATEHOUSE_LISTEN__METRICS: await metricsAddress(), ...settings, GATEHOUSE_LISTEN__HTTP: `${HOST}:${port}` }),
    stdio: ['ignore', output, output],
  });
  closeSync(output);
  if (child.pid === undefined) throw new Error(`${label}: spawn failed`);
  const gatehouse: GatehouseProcess = {
    label,
    pid: child.pid,
    baseUrl: `http://${HOST}:${port}`,
    logFile,
    spawnedAt,
    child,
    stop: () => stopChild(child),
  };
  cleanup.add(`stop ${label} (pid ${child.pid})`, gatehouse.stop);
  return gatehouse;
}

export function logTail(gatehouse: GatehouseProcess, lines = 20): string {
  try {
    return readFileSync(gatehouse.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function isReady(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/-/health/ready/`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 204;
  } catch {
    return false; // not listening yet
  }
}

/** Polls readiness every READY_POLL_MS; returns ms from spawn to the first 204. */
export async function waitUntilReady(gatehouse: GatehouseProcess): Promise<number> {
  const deadline = gatehouse.spawnedAt + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const { exitCode, signalCode } = gatehouse.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(`${gatehouse.label} exited (${exitCode ?? signalCode}) before ready:\n${logTail(gatehouse)}`);
    }
    if (await isReady(gatehouse.baseUrl)) return round(performance.now() - gatehouse.spawnedAt, 0);
    await sleep(READY_POLL_MS);
  }
  throw new Error(`${gatehouse.label} not ready within ${READY_TIMEOUT_MS} ms:\n${logTail(gatehouse)}`);
}

/** Checks that pid is a node process, so /proc figures are not read from a reused pid. */
function assertNode(pid: number): void {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  if (exe !== process.execPath) throw new Error(`pid ${pid} runs ${exe}, not node: would measure the wrong process`);
}

function memoryFieldMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  assertNode(pid);
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return round(Number(match[1]) / 1024);
}

/** Resident memory of the process, from /proc/<pid>/status, in MiB. */
export const residentMemoryMb = (pid: number): number => memoryFieldMb(pid, 'VmRSS');

/** The most resident memory the process has had since it started (VmHWM), in MiB. */
export const peakMemoryMb = (pid: number): number => memoryFieldMb(pid, 'VmHWM');

// ---------------------------------------------------------------------------------------------
// CPU time, from /proc (clock ticks of 1/100 s on Linux).

const TICK_MS = 10;

/** `comm` and user + system CPU time (all threads, reaped children excluded) of a process, from /proc/<pid>/stat. */
function readProcStat(pid: number | string): { comm: string; cpuMs: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone
  }
  // "pid (comm) state …": comm may hold spaces; utime and stime are fields 14 and 15.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
}

/** User + system CPU time of a node process (all its threads) so far, in ms. */
export function processCpuMs(pid: number): number {
  assertNode(pid);
  const stat = readProcStat(pid);
  if (!stat) throw new Error(`pid ${pid} is gone`);
  return stat.cpuMs;
}

/** CPU time of the whole machine so far, in ms summed over all CPUs: busy and total. */
export function machineCpuMs(): { busy: number; total: number; interrupts: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return {
    busy: busy * TICK_MS,
    total: (busy + (idle ?? 0) + (iowait ?? 0)) * TICK_MS,
    // Interrupt handling (network softirqs of the loopback traffic among it): no process is charged.
    interrupts: ((irq ?? 0) + (softirq ?? 0)) * TICK_MS,
  };
}

/** CPU time so far of each thread of a node process, by thread id: its name and ms. */
export function threadCpuMs(pid: number): Map<number, { comm: string; cpuMs: number }> {
  assertNode(pid);
  const threads = new Map<number, { comm: string; cpuMs: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readProcStat(`${pid}/task/${tid}`);
    if (stat) threads.set(Number(tid), stat);
  }
  return threads;
}

/** CPU ms each kind of thread (by name: the main thread, libuv-worker, V8 workers, …) used between two readings. */
export function threadCpuBetween(before: Map<number, { comm: string; cpuMs: number }>, after: Map<number, { comm: string; cpuMs: number }>) {
  const byName = new Map<string, number>();
  for (const [tid, { comm, cpuMs }] of after) {
    const used = cpuMs - (before.get(tid)?.cpuMs ?? 0);
    if (used > 0) byName.set(comm, (byName.get(comm) ?? 0) + used);
  }
  return Object.fromEntries([...byName].sort((a, b) => b[1] - a[1]));
}

/**
 * CPU time in ms (ns precision, unlike the 10 ms ticks of /proc/<pid>/stat) of one task, from
 * /proc/<pid>/schedstat or /proc/<pid>/task/<tid>/schedstat; 0 when it is gone.
 */
export function schedRuntimeMs(task: string): number {
  try {
    return Number(readFileSync(`/proc/${task}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return 0;
  }
}

/** Pids of the processes whose command name is comm (e.g. redis-server). */
export function pidsNamed(comm: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && readProcStat(entry)?.comm === comm)
    .map(Number);
}

/** A snapshot of every process's CPU time and of the machine's, to attribute a phase's CPU. */
export interface CpuSnapshot {
  machine: { busy: number; total: number; interrupts: number };
  processes: Map<number, { comm: string; cpuMs: number }>;
}

export function cpuSnapshot(): CpuSnapshot {
  const processes = new Map<number, { comm: string; cpuMs: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(entry);
    if (stat) processes.set(Number(entry), stat);
  }
  return { machine: machineCpuMs(), processes };
}

/**
 * Where the machine's CPU went between two snapshots, in ms: each named group of pids, the
 * remaining processes by command name (`foreign`: other work on the machine, which skews the
 * figures), and what no live process accounts for (processes that ended meanwhile, the kernel).
 */
export function attributeCpu(before: CpuSnapshot, after: CpuSnapshot, groups: Record<string, (pid: number, comm: string) => boolean>) {
  const byGroup: Record<string, number> = Object.fromEntries(Object.keys(groups).map((name) => [name, 0]));
  const foreign = new Map<string, number>();
  let accounted = 0;
  for (const [pid, { comm, cpuMs }] of after.processes) {
    const previous = before.processes.get(pid);
    const used = previous && previous.comm === comm ? cpuMs - previous.cpuMs : cpuMs;
    if (used <= 0) continue;
    accounted += used;
    const group = Object.entries(groups).find(([, isMember]) => isMember(pid, comm))?.[0];
    if (group) byGroup[group] = (byGroup[group] ?? 0) + used;
    else foreign.set(comm, (foreign.get(comm) ?? 0) + used);
  }
  const busy = after.machine.busy - before.machine.busy;
  const total = after.machine.total - before.machine.total;
  const interrupts = after.machine.interrupts - before.machine.interrupts;
  const top = [...foreign].sort((a, b) => b[1] - a[1]).slice(0, 5);
  return {
    capacity_ms: total,
    busy_ms: busy,
    idle_ms: total - busy,
    ...byGroup,
    foreign_ms: [...foreign.values()].reduce((sum, ms) => sum + ms, 0),
    foreign_top: Object.fromEntries(top),
    /** irq + softirq time, for information: depending on the kernel it is also inside the processes' times. */
    interrupts_ms: interrupts,
    /** Busy time no live process accounts for: mostly processes that ended meanwhile (±a few %: counted differently). */
    unaccounted_ms: busy - accounted,
  };
}

// ---------------------------------------------------------------------------------------------
// Postgres and Redis fixtures.

export async function withPostgres<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...POSTGRES, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database, dropped again (connections and all) at cleanup. */
export async function createBenchDatabase(cleanup: Cleanup): Promise<string> {
  const name = `gh_bench_${randomBytes(6).toString('hex')}`;
  await withPostgres('postgres', (client) => client.query(`CREATE DATABASE ${name}`));
  cleanup.add(`drop database ${name}`, async () => {
    await withPostgres('postgres', (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  return name;
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
      if ((keys as string[]).length) await redis.del(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}

/** A throw-away database and Redis prefix (`<database>:`), both removed at cleanup. */
export async function createBenchStorage(cleanup: Cleanup): Promise<{ database: string; redisPrefix: string }> {
  const database = await createBenchDatabase(cleanup);
  const redisPrefix = `${database}:`;
  cleanup.add(`delete redis keys ${redisPrefix}*`, () => deleteRedisKeys(redisPrefix));
  return { database, redisPrefix };
}

// ---------------------------------------------------------------------------------------------
// Figures.

/** The p-th percentile (0–100) of already sorted values, nearest rank; 0 when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * Waits (up to maxWaitMs) for a second in which the machine is at most `busyShare` busy, so a
 * measurement does not start while other work (another test run, a build) holds the CPUs.
 */
export async function waitForQuiet(maxWaitMs: number, busyShare = 0.15): Promise<{ waited_ms: number; was_quiet: boolean }> {
  const started = performance.now();
  for (;;) {
    const before = machineCpuMs();
    await sleep(1_000);
    const after = machineCpuMs();
    const share = (after.busy - before.busy) / Math.max(1, after.total - before.total);
    const waited = round(performance.now() - started, 0);
    if (share <= busyShare) return { waited_ms: waited, was_quiet: true };
    if (waited >= maxWaitMs) {
      log(`the machine is still ${Math.round(share * 100)}% busy with other work after ${waited} ms: measuring anyway`);
      return { waited_ms: waited, was_quiet: false };
    }
  }
}

/** An admin API call with the bootstrap token: the JSON answer (null for 204); throws on any non-2xx. */
export async function adminApi(baseUrl: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}
