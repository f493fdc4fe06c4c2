// The newcomer's path, on the embedded default (PGlite, no Postgres or Redis): always runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Jar } from '../providers/harness.ts';
import { freePort, type RunningGatehouse, runGatehouse, startGatehouse, waitFor } from '../support/processes.ts';
import { scrape, sumOf } from '../support/prometheus.ts';

const TOKEN = 'embedded-bootstrap-token-0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'gh-embedded-'));
let port: number;
let metricsPort: number;
let env: Record<string, string>;
let server: RunningGatehouse;

const api = (method: string, path: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

before(async () => {
  port = await freePort();
  metricsPort = await freePort();
  env = {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}`,
    GATEHOUSE_LISTEN__METRICS: `127.0.0.1:${metricsPort}`,
    GATEHOUSE_BOOTSTRAP_PASSWORD: 'Embedded-Admin-1!',
    GATEHOUSE_BOOTSTRAP_EMAIL: 'admin@example.com',
    GATEHOUSE_BOOTSTRAP_TOKEN: TOKEN,
  };
  server = startGatehouse(['all'], env, port);
  await waitFor(server, '/-/health/ready/');
});
after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('`gatehouse all` starts on embedded storage and says where to go next', async () => {
  assert.match(server.output(), new RegExp(`Gatehouse is running at http://localhost:${port} \\(embedded storage in .*\\): sign in at`));
  assert.doesNotMatch(server.output(), /embedded_storage_without_liftoff_only/, 'bin/gatehouse gave it its node flag');
  const root = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' });
  assert.equal(root.headers.get('location'), '/if/user/');
  assert.equal(statSync(join(dataDir, 'secret_key')).mode & 0o777, 0o600, 'generated secret key is private');
});

test("the seed guide's curl call works against it", async () => {
  const res = await api('POST', '/api/v3/core/users/', {
    username: 'partner',
    name: 'Partner Name',
    email: 'partner@yourdomain.com',
    is_active: true,
  });
  assert.equal(res.status, 201);
  const list = await (await api('GET', '/api/v3/core/users/?search=partner')).json();
  assert.equal(list.pagination.count, 1);
});

test('one metrics listener serves what the server, the worker and the LDAP outposts of `gatehouse all` do', async () => {
  const before = (await scrape(metricsPort)).samples;
  const jar = new Jar(`http://127.0.0.1:${port}`);
  assert.equal(await jar.signIn('akadmin', 'not-the-password', '/if/user/'), '');
  assert.equal(await jar.signIn('akadmin', 'Embedded-Admin-1!', '/if/user/'), '/if/user/');
  const unknown = await fetch(`http://127.0.0.1:${port}/outpost.goauthentik.io/auth/caddy`, { headers: { 'x-forwarded-host': 'nowhere.example' } });
  assert.equal(unknown.status, 400);
  let after = before;
  const deadline = Date.now() + 10_000;
  // The sweep queued at start may still be running on a slow machine.
  while (Date.now() < deadline) {
    after = (await scrape(metricsPort)).samples;
    if (sumOf(after, 'gatehouse_worker_job_duration_seconds_count', { task: 'sweep', outcome: 'succeeded' }) >= 1) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const delta = (name: string, labels: Record<string, string>) => sumOf(after, name, labels) - sumOf(before, name, labels);
  const flow = 'default-authentication-flow';
  assert.equal(delta('gatehouse_flows_logins_total', { flow, outcome: 'failed', reason: 'invalid_credentials' }), 1);
  assert.equal(delta('gatehouse_flows_logins_total', { flow, outcome: 'succeeded' }), 1);
  assert.equal(delta('gatehouse_outpost_proxy_requests_total', { proxy: 'caddy', outcome: 'unknown_host' }), 1);
  assert.ok(delta('gatehouse_main_request_duration_seconds_count', { route: '/api/v3/flows/executor/:slug/', method: 'POST' }) >= 4);
  assert.ok(sumOf(after, 'gatehouse_worker_job_duration_seconds_count', { task: 'sweep', outcome: 'succeeded' }) >= 1, 'the in-process runner is measured');
  assert.equal(sumOf(after, 'gatehouse_info', { command: 'all' }), 1);
  assert.equal(sumOf(after, 'gatehouse_db_up'), 1, 'PGlite answers');
  assert.equal(sumOf(after, 'gatehouse_sessions_active'), 1);
  assert.equal(sumOf(after, 'gatehouse_backup_last_success_timestamp_seconds'), 0, 'no backup yet');
  const names = new Set(after.map((s) => s.name));
  for (const name of ['gatehouse_worker_jobs', 'gatehouse_outpost_ldap_outposts', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    assert.ok(names.has(name), name);
  }
  assert.ok(!names.has('gatehouse_redis_up') && !names.has('gatehouse_db_pool_connections'), 'no Redis, no Postgres pool');
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404, 'not on the public port');
});

test('a second process on the same data dir refuses to start, naming the reason', async () => {
  const second = await runGatehouse(['all'], { ...env, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${await freePort()}`, GATEHOUSE_LISTEN__METRICS: 'off' });
  assert.equal(second.code, 78);
  assert.match(second.output, /GATEHOUSE_DATA_DIR: .* is in use by another Gatehouse process/);
});

test('a bad setting stops start-up with one line naming the variable', async () => {
  const bad = await runGatehouse(['all'], { ...env, GATEHOUSE_LISTEN__HTTP: 'nowhere' });
  assert.equal(bad.code, 78);
  assert.equal(bad.output.trim(), 'gatehouse: GATEHOUSE_LISTEN__HTTP: expected HOST:PORT, e.g. 127.0.0.1:9000 or :9000');
});

test('data survives a restart, bootstrap runs once, and a recovery link logs in exactly once', async () => {
  assert.equal(await server.stop(), 0, 'SIGTERM stops it cleanly');
  const recovery = await runGatehouse(['create-recovery-key', 'akadmin', '10'], env);
  assert.equal(recovery.code, 0, recovery.output);
  const link = /http:\/\/\S+\/recovery\/use-token\/[\w-]+\//.exec(recovery.output)?.[0];
  assert.ok(link, recovery.output);

  server = startGatehouse(['all'], { ...env, GATEHOUSE_BOOTSTRAP_PASSWORD: 'A-Different-Password-2' }, port);
  await waitFor(server, '/-/health/ready/');
  const list = await (await api('GET', '/api/v3/core/users/?username=partner')).json();
  assert.equal(list.pagination.count, 1, 'the user made before the restart is still there');
  const admins = await (await api('GET', '/api/v3/core/users/?username=akadmin')).json();
  assert.equal(admins.pagination.count, 1);
  const lastLoginBefore = Date.parse(admins.results[0].last_login ?? '1970-01-01T00:00:00Z');

  const path = new URL(link).pathname;
  const first = await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual' });
  assert.equal(first.status, 302);
  assert.equal(first.headers.get('location'), '/if/user/');
  const cookie = first.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^authentik_session=[\w-]{43};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  const session = cookie.split(';')[0] as string;
  const page = await fetch(`http://127.0.0.1:${port}/if/user/`, { headers: { cookie: session } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Signed in as <strong>Gatehouse Admin<\/strong> \(akadmin\)/);
  const me = await fetch(`http://127.0.0.1:${port}/api/v3/core/users/me/`, { headers: { cookie: session } });
  assert.equal((await me.json()).user.username, 'akadmin');
  const { results: adminsAfter } = await (await api('GET', '/api/v3/core/users/?username=akadmin')).json();
  assert.ok(Date.parse(adminsAfter[0].last_login) > lastLoginBefore, 'the recovery sign-in stamps last_login');
  const csrf = await fetch(`http://127.0.0.1:${port}/api/v3/core/groups/`, {
    method: 'POST',
    headers: { cookie: session, 'content-type': 'application/json', origin: 'https://evil.example' },
    body: JSON.stringify({ name: 'csrf' }),
  });
  assert.equal(csrf.status, 403, 'a cross-site POST riding the session cookie is refused');

  const second = await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual' });
  assert.equal(second.status, 404, 'the link works once');
  const logins = await (await api('GET', '/api/v3/events/events/?action=login')).json();
  assert.equal(logins.results[0].context.auth_method, 'recovery_link');
});

test('`gatehouse all` runs PGlite on V8 baseline WebAssembly code: a restart peaks far below the ~750 MB optimizing it took', () => {
  // Runs after the restart above: `server` is a second start on the same data dir, past its first requests.
  const pid = server.process.pid as number;
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline.includes('--liftoff-only'), `bin/gatehouse gives \`all\` its node flag: ${cmdline.join(' ')}`);
  const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  // Measured: ~240 MiB with the flag, ~750 MiB without (V8 compiling PGlite's hottest functions).
  assert.ok(peakKiB > 0 && peakKiB < 450 * 1024, `peak RSS ${Math.round(peakKiB / 1024)} MiB`);
});

test('`all` started without bin/gatehouse says that it lacks its node flag, and runs anyway', async () => {
  const direct = mkdtempSync(join(tmpdir(), 'gh-embedded-direct-'));
  const directPort = await freePort();
  const run = startGatehouse(['src/cli.ts', 'all'], { ...env, GATEHOUSE_DATA_DIR: direct, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${directPort}`, GATEHOUSE_LISTEN__METRICS: 'off' }, directPort, process.execPath);
  try {
    await waitFor(run, '/-/health/ready/');
    const warning = run.output().split('\n').find((line) => line.includes('embedded_storage_without_liftoff_only'));
    assert.ok(warning, run.output());
    assert.equal(JSON.parse(warning).level, 40, 'a warning');
    assert.match(warning, /bin\/gatehouse/);
  } finally {
    await run.stop();
    rmSync(direct, { recursive: true, force: true });
  }
});
