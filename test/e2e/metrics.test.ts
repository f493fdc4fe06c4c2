// Prometheus metrics of real processes: `gatehouse server`, `worker` and `ldap` on Postgres and
// Redis, each with its own metrics listener. Every counter asserted is moved by requests this
// test makes, and compared with what those requests answered.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Jar } from '../providers/harness.ts';
import { createEmptyDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { eventually, ldapTool } from '../support/ldap.ts';
import { freePort, ROOT, type RunningGatehouse, runGatehouse, startGatehouse, waitFor } from '../support/processes.ts';
import { type Sample, scrape, sumOf } from '../support/prometheus.ts';

const skip = (!hasPostgres || !hasRedis) && 'needs Postgres and Redis';
const TOKEN = 'metrics-bootstrap-token-0123456789abcdef';
const PASSWORD = 'Metrics-Admin-Pass-1!';
const CLIENT_SECRET = 'metrics-secret-0123456789abcdef0123456789';
const FLOW = 'default-authentication-flow';
let database: TestDatabase;
let env: Record<string, string>;
let dir: string;
let server: RunningGatehouse;
let worker: RunningGatehouse;
let outpost: RunningGatehouse | undefined;
const ports = { http: 0, serverMetrics: 0, workerMetrics: 0, ldapMetrics: 0, ldap: 0 };
/** Every scrape made, so the dashboard test can check its expressions against all of them. */
const scraped: Sample[] = [];

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.status === 204 ? null : res.json();
};

async function samplesOf(port: number): Promise<Sample[]> {
  const { samples } = await scrape(port);
  scraped.push(...samples);
  return samples;
}

/** Scrapes until check passes: a request's onResponse hook may run just after its answer arrived. */
async function settledScrape(port: number, check: (samples: Sample[]) => void): Promise<Sample[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const samples = await samplesOf(port);
    try {
      check(samples);
      return samples;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

before(async () => {
  if (skip) return;
  database = await createEmptyDatabase();
  dir = mkdtempSync(join(tmpdir(), 'gh-metrics-'));
  const pg = database.settings as NonNullable<TestDatabase['settings']>;
  const redis = new URL(REDIS_URL);
  env = {
    GATEHOUSE_POSTGRESQL__HOST: pg.host,
    GATEHOUSE_POSTGRESQL__PORT: String(pg.port),
    GATEHOUSE_POSTGRESQL__USER: pg.user,
    GATEHOUSE_POSTGRESQL__NAME: pg.database,
    GATEHOUSE_REDIS__HOST: redis.hostname,
    GATEHOUSE_REDIS__PORT: redis.port || '6379',
    GATEHOUSE_REDIS__KEY_PREFIX: `${uniqueName('gh_metrics')}:`,
    GATEHOUSE_SECRET_KEY: 'metrics-secret-key-that-is-long-enough-for-the-schema',
    GATEHOUSE_BOOTSTRAP_TOKEN: TOKEN,
    GATEHOUSE_BOOTSTRAP_PASSWORD: PASSWORD,
    GATEHOUSE_BOOTSTRAP_EMAIL: 'admin@example.com',
    GATEHOUSE_DATA_DIR: join(dir, 'data'),
  };
  for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
  server = startGatehouse(
    ['server'],
    { ...env, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${ports.http}`, GATEHOUSE_LISTEN__METRICS: `127.0.0.1:${ports.serverMetrics}` },
    ports.http,
  );
  await waitFor(server, '/-/health/ready/');
  worker = startGatehouse(['worker'], { ...env, GATEHOUSE_LISTEN__METRICS: `127.0.0.1:${ports.workerMetrics}` });
});

after(async () => {
  await Promise.all([outpost, worker, server].filter(Boolean).map((r) => (r as RunningGatehouse).stop()));
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('logins, forward-auth decisions, token grants and HTTP requests move the server counters by what was done', { skip }, async () => {
  const user = await api('POST', '/api/v3/core/users/', { username: 'metrics-mia', name: 'Mia', email: 'mia@example.com' });
  await api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: 'Mia-Password-1!' });
  const consent = (await api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).results[0].pk;
  const proxy = await api('POST', '/api/v3/providers/proxy/', {
    name: 'metrics-proxy',
    authorization_flow: consent,
    mode: 'forward_domain',
    external_host: 'http://auth.metrics.test',
    cookie_domain: 'metrics.test',
  });
  const app = await api('POST', '/api/v3/core/applications/', { name: 'Metrics App', slug: 'metrics-app', provider: proxy.pk });
  const oauth = await api('POST', '/api/v3/providers/oauth2/', {
    name: 'metrics-oauth',
    authorization_flow: consent,
    client_type: 'confidential',
    client_id: 'metrics-client',
    client_secret: CLIENT_SECRET,
    redirect_uris: [{ matching_mode: 'strict', url: 'http://127.0.0.1:1/cb' }],
  });
  await api('POST', '/api/v3/core/applications/', { name: 'Metrics OAuth', slug: 'metrics-oauth', provider: oauth.pk });

  const before = await samplesOf(ports.serverMetrics);
  const delta = (after: Sample[], name: string, labels: Record<string, string> = {}) => sumOf(after, name, labels) - sumOf(before, name, labels);

  // Logins: one wrong password, then two good sign-ins.
  const jar = new Jar(server.url);
  assert.equal(await jar.signIn('metrics-mia', 'wrong-password', '/if/user/'), '');
  assert.equal(await jar.signIn('metrics-mia', 'Mia-Password-1!', '/if/user/'), '/if/user/');
  assert.equal(await new Jar(server.url).signIn('akadmin', PASSWORD, '/if/user/'), '/if/user/');

  // Forward auth: count what each answer was, then compare with the counter.
  const answered = { allowed: 0, unauthenticated: 0, forbidden: 0, unknown_host: 0 };
  const check = async (host: string, kind: 'nginx' | 'traefik' = 'nginx', from: Jar | null = null) => {
    const init = { headers: { 'x-forwarded-host': host, 'x-original-url': `http://${host}/page` } };
    const res = from ? await from.fetch(`/outpost.goauthentik.io/auth/${kind}`, init) : await fetch(`${server.url}/outpost.goauthentik.io/auth/${kind}`, { ...init, redirect: 'manual' });
    const outcome = ({ 200: 'allowed', 401: 'unauthenticated', 302: 'unauthenticated', 403: 'forbidden', 400: 'unknown_host' } as const)[res.status as 200];
    assert.ok(outcome, `forward auth answered ${res.status}`);
    answered[outcome] += 1;
    return res.status;
  };
  assert.equal(await check('nowhere.example'), 400);
  assert.equal(await check('app.metrics.test'), 401);
  assert.equal(await check('app.metrics.test'), 401);
  assert.equal(await check('app.metrics.test', 'traefik'), 302);
  const start = await jar.fetch('/outpost.goauthentik.io/start?rd=http%3A%2F%2Fapp.metrics.test%2F', { headers: { 'x-forwarded-host': 'auth.metrics.test' } });
  assert.equal(start.headers.get('location'), 'http://app.metrics.test/', await start.text());
  assert.equal(await check('app.metrics.test', 'nginx', jar), 200);
  assert.equal(await check('app.metrics.test', 'nginx', jar), 200);
  // Only a group Mia is not in may use the app now: her next answers turn to 403.
  const staff = await api('POST', '/api/v3/core/groups/', { name: 'metrics-staff' });
  await api('POST', '/api/v3/policies/bindings/', { target: app.pk, group: staff.pk, order: 0 });
  await eventually(async () => (await check('app.metrics.test', 'nginx', jar)) === 403, 5000);

  // OAuth2: two client_credentials grants issued, one refused for a wrong secret.
  const token = (secret: string) =>
    fetch(`${server.url}/application/o/token/`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`metrics-client:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=openid',
    });
  assert.equal((await token(CLIENT_SECRET)).status, 200);
  assert.equal((await token(CLIENT_SECRET)).status, 200);
  assert.equal((await token('wrong')).status, 401);

  // HTTP: the route pattern, never the URL (no ids, names or tokens in labels).
  for (let i = 0; i < 3; i++) await api('GET', `/api/v3/core/users/${user.pk}/`);
  assert.equal((await fetch(`${server.url}/no/such/page-metrics-mia`)).status, 404);

  const after = await settledScrape(ports.serverMetrics, (samples) => {
    assert.equal(delta(samples, 'gatehouse_main_request_duration_seconds_count', { method: 'GET', route: '/api/v3/core/users/:id/', status: '200' }), 3);
  });
  const logins = (labels: Record<string, string>) => delta(after, 'gatehouse_flows_logins_total', { flow: FLOW, ...labels });
  assert.equal(logins({ outcome: 'failed', stage: 'default-authentication-password', reason: 'invalid_credentials' }), 1);
  assert.equal(logins({ outcome: 'succeeded', stage: 'default-authentication-login' }), 2);
  assert.equal(logins({}), 3, 'nothing else was counted as a login');

  for (const [outcome, count] of Object.entries(answered)) {
    assert.equal(delta(after, 'gatehouse_outpost_proxy_requests_total', { outcome }), count, `forward auth ${outcome}`);
  }
  assert.ok(answered.forbidden >= 1);
  assert.equal(delta(after, 'gatehouse_outpost_proxy_requests_total', { proxy: 'traefik', outcome: 'unauthenticated' }), 1);
  // Their latency histogram (typed-array slots, not prom-client's hashed labels) saw each one.
  for (const proxy of ['nginx', 'traefik']) {
    const answers = delta(after, 'gatehouse_outpost_proxy_requests_total', { proxy });
    assert.equal(delta(after, 'gatehouse_outpost_proxy_request_duration_seconds_count', { proxy }), answers, `${proxy} latency count`);
    assert.equal(delta(after, 'gatehouse_outpost_proxy_request_duration_seconds_bucket', { proxy, le: '+Inf' }), answers);
  }
  assert.ok(delta(after, 'gatehouse_outpost_proxy_request_duration_seconds_sum', { proxy: 'nginx' }) > 0);
  // The proxies' questions are the hot path: not in the general HTTP histogram.
  assert.equal(delta(after, 'gatehouse_main_request_duration_seconds_count', { route: '/outpost.goauthentik.io/auth/nginx' }), 0);
  assert.equal(delta(after, 'gatehouse_main_request_duration_seconds_count', { route: '/outpost.goauthentik.io/start', status: '302' }), 1);

  const grants = (outcome: string) => delta(after, 'gatehouse_providers_oauth2_grants_total', { grant_type: 'client_credentials', outcome });
  assert.equal(grants('issued'), 2);
  assert.equal(grants('invalid_client'), 1);
  assert.equal(delta(after, 'gatehouse_main_request_duration_seconds_count', { route: '/application/o/token/', method: 'POST' }), 3);
  assert.equal(delta(after, 'gatehouse_main_request_duration_seconds_count', { route: 'unmatched', status: '404' }), 1);
  // A histogram's +Inf bucket holds every observation.
  assert.equal(
    sumOf(after, 'gatehouse_main_request_duration_seconds_bucket', { route: '/api/v3/core/users/:id/', le: '+Inf' }),
    sumOf(after, 'gatehouse_main_request_duration_seconds_count', { route: '/api/v3/core/users/:id/' }),
  );

  const labelValues = after.flatMap((s) => Object.values(s.labels));
  assert.ok(!after.some((s) => s.labels.route?.includes(`/${user.pk}/`)), 'no route label carries an id');
  for (const secret of ['metrics-mia', 'page-metrics-mia', TOKEN, CLIENT_SECRET, 'nowhere.example', 'app.metrics.test']) {
    assert.ok(!labelValues.some((v) => v.includes(secret)), `no label carries ${secret}`);
  }
  assert.equal(sumOf(after, 'gatehouse_sessions_active'), 2, 'Mia and akadmin are signed in');
  assert.equal(sumOf(after, 'gatehouse_db_up'), 1);
  assert.equal(sumOf(after, 'gatehouse_redis_up'), 1);
  assert.ok(sumOf(after, 'gatehouse_db_pool_connections', { state: 'total' }) >= 1);
  assert.ok(sumOf(after, 'process_resident_memory_bytes') > 0);
  assert.ok(after.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds'));
  assert.equal(sumOf(after, 'gatehouse_info', { command: 'server' }), 1);
});

test('metrics are served only on the metrics listener, never on the public port', { skip }, async () => {
  const publicAnswer = await fetch(`${server.url}/metrics`);
  assert.equal(publicAnswer.status, 404);
  assert.doesNotMatch(await publicAnswer.text(), /gatehouse_|process_/);
  const other = await fetch(`http://127.0.0.1:${ports.serverMetrics}/api/v3/core/users/`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(other.status, 404, 'the metrics listener serves nothing but /metrics');
  assert.doesNotMatch(await other.text(), /metrics-mia|akadmin/);
  assert.equal((await fetch(`http://127.0.0.1:${ports.serverMetrics}/metrics`, { method: 'POST' })).status, 404);
});

test('the worker reports job runs, the queue by task and state, and the last verified backup', { skip }, async () => {
  // A job due in an hour: scheduled, not queued.
  await database.db.query(`SELECT graphile_worker.add_job('sweep', '{}'::json, run_at => now() + interval '1 hour', job_key => 'metrics-later')`);
  const backup = await runGatehouse(['backup'], env);
  assert.equal(backup.code, 0, backup.output);
  const samples = await settledScrape(ports.workerMetrics, (s) => {
    assert.ok(sumOf(s, 'gatehouse_worker_job_duration_seconds_count', { task: 'sweep', outcome: 'succeeded' }) >= 1, 'the sweep queued at start ran');
  });
  assert.equal(sumOf(samples, 'gatehouse_worker_jobs', { task: 'sweep', state: 'scheduled' }), 1);
  assert.equal(sumOf(samples, 'gatehouse_worker_jobs', { task: 'backup', state: 'queued' }), 0, 'every task is reported, at 0 when idle');
  const lastSuccess = sumOf(samples, 'gatehouse_backup_last_success_timestamp_seconds');
  assert.ok(Math.abs(Date.now() / 1000 - lastSuccess) < 300, `last verified backup at ${lastSuccess}`);
  assert.equal(sumOf(samples, 'gatehouse_backup_last_verified'), 1);
  assert.ok(sumOf(samples, 'gatehouse_backup_last_size_bytes') > 0);
  assert.equal(sumOf(samples, 'gatehouse_info', { command: 'worker' }), 1);
  assert.equal(sumOf(samples, 'gatehouse_main_request_duration_seconds_count'), 0, 'the worker serves no HTTP');
});

test('the LDAP outpost counts binds and searches by result, and whether it reaches the core', { skip }, async () => {
  const bindFlow = (await api('GET', `/api/v3/flows/instances/?slug=${FLOW}`)).results[0].pk;
  const provider = await api('POST', '/api/v3/providers/ldap/', { name: 'metrics-ldap', authorization_flow: bindFlow, base_dn: 'dc=metrics,dc=test' });
  await api('POST', '/api/v3/core/applications/', { name: 'Metrics LDAP', slug: 'metrics-ldap', provider: provider.pk });
  const created = await api('POST', '/api/v3/outposts/instances/', { name: 'metrics-outpost', type: 'ldap', providers: [provider.pk] });
  const outpostToken = (await api('GET', `/api/v3/core/tokens/${created.token_identifier}/view_key/`)).key;
  outpost = startGatehouse(['ldap'], {
    GATEHOUSE_HOST: server.url,
    GATEHOUSE_TOKEN: outpostToken,
    GATEHOUSE_LISTEN__LDAP: `127.0.0.1:${ports.ldap}`,
    GATEHOUSE_LISTEN__LDAPS: `127.0.0.1:${await freePort()}`,
    GATEHOUSE_LISTEN__METRICS: `127.0.0.1:${ports.ldapMetrics}`,
  });
  const url = `ldap://127.0.0.1:${ports.ldap}`;
  const dn = 'cn=akadmin,ou=users,dc=metrics,dc=test';
  await eventually(async () => (await ldapTool('ldapwhoami', ['-x', '-H', url, '-D', dn, '-w', PASSWORD])).code === 0, 15_000);
  const before = await samplesOf(ports.ldapMetrics);
  const ops = (s: Sample[], type: string, result: string) => sumOf(s, 'gatehouse_outpost_ldap_request_duration_seconds_count', { type, result });

  assert.equal((await ldapTool('ldapwhoami', ['-x', '-H', url, '-D', dn, '-w', 'not-the-password'])).code, 49);
  const search = await ldapTool('ldapsearch', ['-x', '-H', url, '-D', dn, '-w', PASSWORD, '-b', 'dc=metrics,dc=test', '(cn=akadmin)', 'cn']);
  assert.equal(search.code, 0, search.stderr);

  const after = await settledScrape(ports.ldapMetrics, (s) => assert.equal(ops(s, 'search', 'success') - ops(before, 'search', 'success'), 1));
  assert.equal(ops(after, 'bind', 'invalidCredentials') - ops(before, 'bind', 'invalidCredentials'), 1);
  assert.equal(ops(after, 'bind', 'success') - ops(before, 'bind', 'success'), 1, 'the search bound first');
  assert.equal(sumOf(after, 'gatehouse_outpost_ldap_outposts', { state: 'connected' }), 1);
  assert.equal(sumOf(after, 'gatehouse_info', { command: 'ldap' }), 1);
  assert.ok(!after.some((s) => s.name.startsWith('gatehouse_db_')), 'the outpost has no database');
});

test('every metric the Grafana dashboard queries is in a real scrape', { skip }, async () => {
  // The other tests moved every counter; scrape each process once more.
  for (const port of [ports.serverMetrics, ports.workerMetrics, ports.ldapMetrics]) await samplesOf(port);
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/gatehouse-dashboard.json'), 'utf8'));
  const expressions: string[] = [
    ...dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.templating.list.map((v: { definition?: string }) => v.definition ?? '').filter(Boolean),
  ];
  const names = new Set(expressions.flatMap((e) => e.match(/\b(?:gatehouse|process|nodejs)_[a-z0-9_]+\b/g) ?? []));
  assert.ok(names.size >= 15, `the dashboard queries ${names.size} metrics`);
  const served = new Set(scraped.map((s) => s.name));
  const missing = [...names].filter((n) => !served.has(n));
  assert.deepEqual(missing, [], 'metrics the dashboard queries but no process serves');
});

test('a metrics port already taken stops the process with one line naming the variable', { skip }, async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  try {
    const run = await runGatehouse(['server'], { ...env, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${await freePort()}`, GATEHOUSE_LISTEN__METRICS: `127.0.0.1:${port}` });
    assert.equal(run.code, 78);
    assert.equal(
      run.output.trim(),
      `gatehouse: GATEHOUSE_LISTEN__METRICS: 127.0.0.1:${port} is already in use (another Gatehouse process?); choose another HOST:PORT, or off to serve no metrics`,
    );
  } finally {
    taken.close();
  }
});
