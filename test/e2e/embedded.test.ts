// The newcomer's path, on the embedded default (PGlite, no Postgres or Redis): always runs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, type RunningGatehouse, runGatehouse, startGatehouse, waitFor } from '../support/processes.ts';

const TOKEN = 'embedded-bootstrap-token-0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'gh-embedded-'));
let port: number;
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
  env = {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}`,
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

test('a second process on the same data dir refuses to start, naming the reason', async () => {
  const second = await runGatehouse(['all'], { ...env, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${await freePort()}` });
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
