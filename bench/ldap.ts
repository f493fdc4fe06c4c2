// LDAP benchmark: the outpost (`gatehouse ldap`, built JS, against `gatehouse server` on Postgres
// + Redis) and Debian's OpenLDAP slapd (mdb), loaded with the same 1,000 users in 20 groups, in
// the same run, 32 concurrent ldapts clients each on its own connection.
// Run: npm run build && node_modules/.bin/node bench/ldap.ts — JSON on stdout, progress on stderr.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import { hashPassword } from '../src/core/passwords.ts';
import { measureArgon2Bound } from './argon2Bound.ts';
import {
  adminApi,
  attributeCpu,
  CHILD_NODE_FLAGS,
  CLI,
  type Cleanup,
  cpuSnapshot,
  createBenchStorage,
  freePort,
  HOST,
  log,
  metricsAddress,
  randomText,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  stopChild,
  threadCpuBetween,
  threadCpuMs,
  waitUntilReady,
  withPostgres,
} from './harness.ts';

const USERS = 1000;
const GROUPS = 20;
const CLIENTS = 32;
const SECONDS = 3;
// Direct binds are ~50/s: a longer window for a steadier figure.
const DIRECT_BIND_SECONDS = 8;
const PASSWORD = 'Bench-Password-1';
const BASE = 'dc=bench,dc=example';
const userDn = (i: number) => `cn=bench${i},ou=users,${BASE}`;

type Work = (client: Client) => Promise<unknown>;
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** Operations per second with CLIENTS connections for SECONDS (after a 1 s warm-up). */
type CpuGroups = Record<string, (pid: number, comm: string) => boolean>;

async function measure(
  url: string,
  bindAs: { dn: string; password: string } | null,
  work: Work,
  options: { seconds?: number; cpu?: CpuGroups; threadsOf?: number } = {},
) {
  const seconds = options.seconds ?? SECONDS;
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const client = new Client({ url, timeout: 30_000 });
      if (bindAs) await client.bind(bindAs.dn, bindAs.password);
      return client;
    }),
  );
  let count = 0;
  let errors = 0;
  let counting = false;
  let running = true;
  const loops = clients.map(async (client) => {
    while (running) {
      try {
        await work(client);
        if (counting) count++;
      } catch {
        errors++;
      }
    }
  });
  await sleep(1000);
  counting = true;
  const started = performance.now();
  const startedUs = monotonicUs();
  const cpuBefore = options.cpu ? cpuSnapshot() : null;
  const threadsBefore = options.threadsOf ? threadCpuMs(options.threadsOf) : null;
  await sleep(seconds * 1000);
  counting = false;
  const cpuAfter = options.cpu ? cpuSnapshot() : null;
  const threadsAfter = options.threadsOf ? threadCpuMs(options.threadsOf) : null;
  const measured = count;
  // To cut a --cpu-prof profile to this window (bench/profile.ts).
  const window_monotonic_us = [startedUs, monotonicUs()];
  const elapsed = (performance.now() - started) / 1000;
  running = false;
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
  if (!options.cpu || !cpuBefore || !cpuAfter) return { per_s: round(measured / elapsed, 0), errors };
  // CPU per operation by party (ms): where a bind's cost goes besides its argon2 verify.
  const spent = attributeCpu(cpuBefore, cpuAfter, options.cpu) as unknown as Record<string, number>;
  const perOperation = Object.fromEntries(
    [...Object.keys(options.cpu), 'foreign_ms'].map((name) => [name.replace(/_ms$/, ''), round((spent[name] ?? 0) / Math.max(1, measured), 2)]),
  );
  if (!threadsBefore || !threadsAfter) return { per_s: round(measured / elapsed, 0), errors, cpu_ms_per_operation: perOperation, window_monotonic_us };
  // The server by thread: argon2 runs on libuv's workers; the rest of a bind's cost over argon2's
  // own is what a change to the bind path moves, whatever the host's speed that day.
  const threads = threadCpuBetween(threadsBefore, threadsAfter) as Record<string, number>;
  const perOp = (ms: number) => round(ms / Math.max(1, measured), 2);
  const argon2 = perOp(threads['libuv-worker'] ?? 0);
  const others = Object.entries(perOperation).reduce((sum, [name, ms]) => (name === 'foreign' || name === 'server' ? sum : sum + ms), 0);
  return {
    per_s: round(measured / elapsed, 0),
    errors,
    cpu_ms_per_operation: perOperation,
    server_threads_ms_per_operation: { main_thread: perOp(threads.MainThread ?? 0), argon2, other: perOp((spent.server ?? 0) - (threads.MainThread ?? 0) - (threads['libuv-worker'] ?? 0)) },
    overhead_per_argon2: round((perOp(threads.MainThread ?? 0) + others) / Math.max(0.01, argon2), 3),
    window_monotonic_us,
  };
}

const workloads = (dnOf: (i: number) => string) => ({
  search_by_uid: (c: Client) => c.search(BASE, { scope: 'sub', filter: `(uid=bench${randomInt(USERS)})`, attributes: ['cn', 'mail', 'uidNumber'] }),
  groups_of_user: (c: Client) =>
    c.search(BASE, { scope: 'sub', filter: `(&(objectClass=groupOfNames)(member=${dnOf(randomInt(USERS))}))`, attributes: ['cn'] }),
  all_users: (c: Client) => c.search(BASE, { scope: 'sub', filter: '(objectClass=inetOrgPerson)', attributes: ['cn'] }),
});

/** Users, groups and memberships straight into the bench database: user i is in group i % 20. */
async function loadGatehouse(database: string, hash: string): Promise<void> {
  await withPostgres(database, async (db) => {
    await db.query(
      `INSERT INTO users (username, name, email, password_hash) SELECT 'bench' || i, 'Bench ' || i, 'bench' || i || '@example.com', $1
       FROM generate_series(0, $2 - 1) i`,
      [hash, USERS],
    );
    await db.query(`INSERT INTO groups (name) SELECT 'group' || g FROM generate_series(0, $1 - 1) g`, [GROUPS]);
    await db.query(
      `INSERT INTO group_memberships (group_id, user_id) SELECT g.id, u.id FROM users u
       JOIN groups g ON g.name = 'group' || (substring(u.username from 6)::int % $1) WHERE u.username LIKE 'bench%'`,
      [GROUPS],
    );
  });
}

const api = (baseUrl: string, token: string, method: string, path: string, body?: unknown) => adminApi(baseUrl, token, method, `/api/v3${path}`, body);

function ssha(password: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
}

/** A private slapd (mdb) on a free port, loaded with slapadd; stopped at cleanup. */
async function startSlapd(workDir: string, cleanup: Cleanup): Promise<string> {
  const dir = join(workDir, 'slapd');
  mkdirSync(join(dir, 'db'), { recursive: true });
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `pidfile ${dir}/slapd.pid`,
      'database mdb',
      'maxsize 268435456',
      `suffix "${BASE}"`,
      `rootdn "cn=admin,${BASE}"`,
      'rootpw secret',
      `directory ${dir}/db`,
      'index objectClass,uid,cn,member eq',
    ].join('\n'),
  );
  const entries = [
    `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: bench\no: Bench`,
    `dn: ou=users,${BASE}\nobjectClass: organizationalUnit\nou: users`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups`,
  ];
  const password = ssha(PASSWORD);
  for (let i = 0; i < USERS; i++) {
    entries.push(
      `dn: ${userDn(i)}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\ncn: bench${i}\nuid: bench${i}\nsn: Bench ${i}\n` +
        `mail: bench${i}@example.com\nuidNumber: ${2000 + i}\ngidNumber: ${2000 + i}\nhomeDirectory: /home/bench${i}\nuserPassword: ${password}`,
    );
  }
  for (let g = 0; g < GROUPS; g++) {
    const members = Array.from({ length: USERS / GROUPS }, (_, k) => `member: ${userDn(k * GROUPS + g)}`).join('\n');
    entries.push(`dn: cn=group${g},ou=groups,${BASE}\nobjectClass: groupOfNames\ncn: group${g}\n${members}`);
  }
  writeFileSync(join(dir, 'data.ldif'), `${entries.join('\n\n')}\n`);
  execFileSync('slapadd', ['-f', conf, '-l', join(dir, 'data.ldif')], { stdio: 'ignore' });
  const port = await freePort();
  const slapd = spawn('slapd', ['-f', conf, '-h', `ldap://${HOST}:${port}/`, '-d', '0'], { stdio: 'ignore' });
  cleanup.add(`stop slapd (pid ${slapd.pid})`, () => stopChild(slapd));
  await waitForLdap(`ldap://${HOST}:${port}`, { dn: `cn=admin,${BASE}`, password: 'secret' });
  return `ldap://${HOST}:${port}`;
}

const BIND_FLOOR = new URL('./bindFloor.ts', import.meta.url).pathname;

/** A bench/bindFloor.ts process in one mode; resolves to its port once it listens. */
async function startBindFloor(args: string[], passwordHash: string, cleanup: Cleanup): Promise<{ port: number; pid: number }> {
  const child = spawn(process.execPath, [BIND_FLOOR, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BIND_FLOOR_HASH: passwordHash } });
  cleanup.add(`stop bind floor ${args[0]}`, () => stopChild(child));
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
  return { port: (JSON.parse(line) as { port: number }).port, pid: child.pid as number };
}

/**
 * The direct binds' floors (bench/bindFloor.ts): `ldap`, one process that verifies; `relay`, an
 * LDAP process that asks a core process over HTTP for every bind, as Gatehouse's outpost does.
 */
async function measureBindFloors(passwordHash: string, bindWork: Work, cleanup: Cleanup) {
  const cpuOf = (pids: number[]) => ({ bench_client: (pid: number) => pid === process.pid, floor: (pid: number) => pids.includes(pid) });
  const ldap = await startBindFloor(['ldap'], passwordHash, cleanup);
  log('bind floor: ldap');
  const alone = await measure(`ldap://${HOST}:${ldap.port}`, null, bindWork, { seconds: DIRECT_BIND_SECONDS, cpu: cpuOf([ldap.pid]) });
  const core = await startBindFloor(['core'], passwordHash, cleanup);
  const relay = await startBindFloor(['relay', `http://${HOST}:${core.port}`], passwordHash, cleanup);
  log('bind floor: relay');
  const relayed = await measure(`ldap://${HOST}:${relay.port}`, null, bindWork, { seconds: DIRECT_BIND_SECONDS, cpu: cpuOf([core.pid, relay.pid]) });
  return { ldap: alone, relay: relayed };
}

async function waitForLdap(url: string, bindAs: { dn: string; password: string }, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const client = new Client({ url, timeout: 2000 });
    try {
      await client.bind(bindAs.dn, bindAs.password);
      await client.unbind();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} not answering binds: ${(error as Error).message}`);
      await sleep(200);
    }
  }
}

await runBench({
  watchdogMs: 5 * 60_000,
  async run(cleanup, workDir) {
    const storage = await createBenchStorage(cleanup);
    const apiToken = randomText(32);
    const server = await startGatehouse('server', 'server', serverSettings({ ...storage, apiToken }), workDir, cleanup);
    await waitUntilReady(server);
    log('loading 1,000 users in 20 groups');
    const passwordHash = await hashPassword(PASSWORD);
    await loadGatehouse(storage.database, passwordHash);
    const call = (method: string, path: string, body?: unknown) => api(server.baseUrl, apiToken, method, path, body);
    const flow = (await call('GET', '/flows/instances/?slug=default-authentication-flow')).results[0].pk;
    const searchGroup = (await call('GET', '/core/groups/?name=group0')).results[0].pk;
    const provider = await call('POST', '/providers/ldap/', { name: 'bench', authorization_flow: flow, base_dn: BASE, search_group: searchGroup });
    await call('POST', '/core/applications/', { name: 'Bench', slug: 'bench', provider: provider.pk });
    const outpost = await call('POST', '/outposts/instances/', { name: 'bench', type: 'ldap', providers: [provider.pk] });
    const token = (await call('GET', `/core/tokens/${outpost.token_identifier}/view_key/`)).key;
    const ldapPort = await freePort();
    const outpostProcess: ChildProcess = spawn(process.execPath, [...CHILD_NODE_FLAGS, CLI, 'ldap'], {
      cwd: workDir,
      env: {
        PATH: process.env.PATH ?? '',
        GATEHOUSE_HOST: server.baseUrl,
        GATEHOUSE_TOKEN: token,
        GATEHOUSE_LOG_LEVEL: 'warn',
        GATEHOUSE_LISTEN__LDAP: `${HOST}:${ldapPort}`,
        GATEHOUSE_LISTEN__LDAPS: `${HOST}:${await freePort()}`,
        GATEHOUSE_LISTEN__METRICS: await metricsAddress(),
      },
      stdio: 'ignore',
    });
    cleanup.add('stop gatehouse ldap', () => stopChild(outpostProcess));
    const gatehouseUrl = `ldap://${HOST}:${ldapPort}`;
    // bench0 is in group0, the search group: it sees the whole directory.
    const reader = { dn: userDn(0), password: PASSWORD };
    await waitForLdap(gatehouseUrl, reader);
    const slapdUrl = await startSlapd(workDir, cleanup);
    const slapdReader = { dn: `cn=admin,${BASE}`, password: 'secret' };

    type Rate = Awaited<ReturnType<typeof measure>>;
    const gatehouse: Record<string, Rate> = {};
    const slapd: Record<string, Rate> = {};
    for (const [name, work] of Object.entries(workloads(userDn))) {
      log(name);
      slapd[name] = await measure(slapdUrl, slapdReader, work);
      gatehouse[name] = await measure(gatehouseUrl, reader, work);
    }
    // Binds of 100 users again and again: after its first bind, each one is answered from the cache.
    const bindWork = (c: Client) => c.bind(userDn(randomInt(100)), PASSWORD);
    log('binds');
    slapd.binds = await measure(slapdUrl, null, bindWork);
    const warm = new Client({ url: gatehouseUrl, timeout: 30_000 });
    for (let i = 0; i < 100; i++) await warm.bind(userDn(i), PASSWORD);
    await warm.unbind();
    gatehouse.cached_binds = await measure(gatehouseUrl, null, bindWork);
    await call('PATCH', `/providers/ldap/${provider.pk}/`, { bind_mode: 'direct' });
    await sleep(2000);
    const outpostPid = outpostProcess.pid as number;
    gatehouse.direct_binds = await measure(gatehouseUrl, null, bindWork, {
      seconds: DIRECT_BIND_SECONDS,
      threadsOf: server.pid,
      cpu: {
        bench_client: (pid) => pid === process.pid,
        server: (pid) => pid === server.pid,
        outpost: (pid) => pid === outpostPid,
        postgres: (_pid, comm) => comm === 'postgres',
        redis: (_pid, comm) => comm.startsWith('redis-server'),
      },
    });
    const floors = await measureBindFloors(passwordHash, bindWork, cleanup);
    // As bench/logins.ts: the bound is taken once the machine is quiet (the binds' tail, the
    // outpost's reports), or it measures argon2 competing with them.
    const argon2Bound = await measureArgon2Bound({ quietWaitMs: 20_000 });
    const quietBeforeArgon2 = argon2Bound.quiet_before;
    const verifies = round(argon2Bound.verifies_per_s, 0);
    const directCpu = (gatehouse.direct_binds as { cpu_ms_per_operation?: Record<string, number> }).cpu_ms_per_operation ?? {};
    const cpuPerBind = Object.entries(directCpu).reduce((sum, [name, ms]) => (name === 'foreign' ? sum : sum + ms), 0);
    const argon2PerBind =
      (gatehouse.direct_binds as { server_threads_ms_per_operation?: Record<string, number> }).server_threads_ms_per_operation?.argon2 ?? 0;
    const ratio = (name: string) => round((gatehouse[name]?.per_s ?? 0) / Math.max(1, slapd[name]?.per_s ?? 0), 2);
    return {
      users: USERS,
      groups: GROUPS,
      clients: CLIENTS,
      seconds: SECONDS,
      gatehouse,
      slapd,
      argon2_verifies_per_s: verifies,
      argon2_cpu_ms_per_verify: argon2Bound.cpu_ms_per_verify,
      argon2_quiet_before: quietBeforeArgon2,
      /** The direct-bind ratio as CPU accounting predicts it if nothing else ran: argon2 CPU / all CPU a bind costs. */
      direct_binds_to_argon2_from_cpu: round(argon2Bound.cpu_ms_per_verify / Math.max(0.01, cpuPerBind), 2),
      /**
       * What a direct bind costs besides its verify (ms of CPU: server, outpost, Postgres, Redis,
       * bench client). The figure to compare two builds by: the rate moves with the host's other
       * tenants about as much as with a change (bench/README.md, 2026-11-28).
       */
      direct_bind_cpu_besides_argon2_ms: round(cpuPerBind - argon2PerBind, 2),
      ratios_to_slapd: { search_by_uid: ratio('search_by_uid'), groups_of_user: ratio('groups_of_user'), all_users: ratio('all_users') },
      direct_binds_to_argon2: round((gatehouse.direct_binds?.per_s ?? 0) / Math.max(1, verifies), 2),
      /** The same binds against bench/bindFloor.ts's servers that do nothing but the verify: how near the bound this machine lets any LDAP server get. */
      direct_bind_floors: Object.fromEntries(
        Object.entries(floors).map(([name, rate]) => [name, { ...rate, to_argon2: round(rate.per_s / Math.max(1, verifies), 2) }]),
      ),
      direct_binds_to_floor: Object.fromEntries(
        Object.entries(floors).map(([name, rate]) => [name, round((gatehouse.direct_binds?.per_s ?? 0) / Math.max(1, rate.per_s), 2)]),
      ),
      goals: { searches_at_least_half_of_slapd: ratio('search_by_uid') >= 0.5 },
    };
  },
});
