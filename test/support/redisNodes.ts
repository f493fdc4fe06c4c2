// Throw-away Redis nodes and Sentinels as child processes (Debian's redis-server and
// redis-sentinel), each on its own loopback port and directory: a test can kill one without
// touching the shared Redis on 6379.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const hasRedisSentinel = existsSync('/usr/bin/redis-server') && existsSync('/usr/bin/redis-sentinel');

export interface RedisNode {
  port: number;
  process: ChildProcess;
  output(): string;
  /** Runs one command on the node with a short-lived connection. */
  command(...args: string[]): Promise<unknown>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** One command on 127.0.0.1:port; rejects when the node does not answer within 2 s. */
export async function redisCommand(port: number, args: string[], password?: string): Promise<unknown> {
  const connection = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  connection.on('error', () => undefined);
  try {
    await connection.connect();
    return await connection.call(args[0] as string, ...args.slice(1));
  } finally {
    connection.disconnect();
  }
}

function supervise(child: ChildProcess, port: number, what: string, password?: string): RedisNode {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    process: child,
    output: () => `${what} on ${port}:\n${output}`,
    command: (...args) => redisCommand(port, args, password),
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `ready` every 100 ms until it holds; throws with `why()` after `ms`. */
export async function until(ready: () => Promise<boolean>, ms: number, why: () => string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await ready().catch(() => false)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not within ${ms} ms: ${why()}`);
}

/**
 * A redis-server without persistence in dir/<port>; a replica of `replicaOf` when given. With a
 * password, it requires it from clients and uses it towards its primary (requirepass, masterauth).
 */
export async function startRedisNode(dir: string, port: number, options: { replicaOf?: number; password?: string } = {}): Promise<RedisNode> {
  const { replicaOf, password } = options;
  const home = join(dir, `redis-${port}`);
  mkdirSync(home, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', home];
  if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
  if (password !== undefined) args.push('--requirepass', password, '--masterauth', password);
  const node = supervise(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }), port, 'redis-server', password);
  await until(async () => (await node.command('PING')) === 'PONG', 10_000, node.output);
  if (replicaOf !== undefined) {
    await until(async () => String(await node.command('INFO', 'replication')).includes('master_link_status:up'), 10_000, node.output);
  }
  return node;
}

/**
 * A redis-sentinel monitoring `masterName` at 127.0.0.1:primaryPort with quorum 1, declaring it down
 * after `downAfterMs`; resolves once the Sentinel has discovered `replicas` replicas. `nodePassword`
 * is what the data nodes require; `password`, what this Sentinel requires from its own clients.
 */
export async function startSentinel(
  dir: string,
  port: number,
  monitored: { masterName: string; primaryPort: number; replicas: number; downAfterMs: number; failoverTimeoutMs: number; nodePassword?: string; password?: string },
): Promise<RedisNode> {
  const home = join(dir, `sentinel-${port}`);
  mkdirSync(home, { recursive: true });
  const conf = join(home, 'sentinel.conf'); // Sentinel rewrites its file: it must be its own.
  const name = monitored.masterName;
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${home}`,
      `sentinel monitor ${name} 127.0.0.1 ${monitored.primaryPort} 1`,
      `sentinel down-after-milliseconds ${name} ${monitored.downAfterMs}`,
      `sentinel failover-timeout ${name} ${monitored.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
      ...(monitored.nodePassword === undefined ? [] : [`sentinel auth-pass ${name} ${monitored.nodePassword}`]),
      ...(monitored.password === undefined ? [] : [`requirepass ${monitored.password}`]),
      '',
    ].join('\n'),
  );
  const sentinel = supervise(spawn('redis-sentinel', [conf], { stdio: ['ignore', 'pipe', 'pipe'] }), port, 'redis-sentinel', monitored.password);
  await until(
    async () => {
      const replicas = (await sentinel.command('SENTINEL', 'REPLICAS', name)) as string[][];
      return replicas.filter((fields) => fields[fields.indexOf('flags') + 1] === 'slave').length >= monitored.replicas;
    },
    20_000,
    sentinel.output,
  );
  return sentinel;
}

/** The port of the primary the Sentinel names now. */
export async function primaryPortNamedBy(sentinel: RedisNode, masterName: string): Promise<number> {
  const [, port] = (await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string];
  return Number(port);
}

/** Waits until the replica has applied every write the primary had accepted when this was called. */
export async function replicaCaughtUp(primary: RedisNode, replica: RedisNode): Promise<void> {
  const offset = (info: unknown, field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(String(info))?.[1] ?? -1);
  const target = offset(await primary.command('INFO', 'replication'), 'master_repl_offset');
  await until(async () => offset(await replica.command('INFO', 'replication'), 'slave_repl_offset') >= target, 10_000, replica.output);
}
