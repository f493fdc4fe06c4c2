import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import { bootstrapAdmin } from '../../src/core/bootstrap.ts';
import { createRecoveryLink } from '../../src/core/recovery.ts';
import { createLogger, redactUrl } from '../../src/log.ts';
import { buildApp } from '../../src/web/app.ts';
import { createTestCore, type TestCore } from '../support/backends.ts';

const TOKEN = 'logging-admin-token-SECRET-0001';
const lines: string[] = [];
let core: TestCore;
let app: FastifyInstance;

before(async () => {
  core = await createTestCore();
  await bootstrapAdmin(core.deps, { token: TOKEN, password: 'Bootstrap-SECRET-pw' });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  app = await buildApp({ config: loadConfig({}, null), deps: core.deps, logger: createLogger('debug', sink) });
  await app.ready();
});
after(async () => {
  await app.close();
  await core.close();
});

test('Authorization headers, cookies, passwords, token keys and recovery links never reach a log line', async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  await app.inject({ method: 'GET', url: '/api/v3/core/users/', headers: { ...auth, cookie: 'authentik_session=COOKIE-SECRET-123' } });
  const user = (await app.inject({ method: 'POST', url: '/api/v3/core/users/', headers: auth, payload: { username: 'logme', name: 'L' } })).json();
  await app.inject({ method: 'POST', url: `/api/v3/core/users/${user.pk}/set_password/`, headers: auth, payload: { password: 'PASSWORD-SECRET-456' } });
  await app.inject({ method: 'POST', url: `/api/v3/core/users/${user.pk}/set_password/`, headers: auth, payload: { password: `${'x'.repeat(2000)}LONG-SECRET` } });
  await app.inject({ method: 'POST', url: '/api/v3/core/tokens/', headers: auth, payload: { identifier: 'logged' } });
  const { key } = (await app.inject({ method: 'GET', url: '/api/v3/core/tokens/logged/view_key/', headers: auth })).json();
  await app.inject({ method: 'GET', url: '/api/v3/core/users/me/', headers: { authorization: `Bearer ${key}` } });
  await app.inject({ method: 'GET', url: '/api/v3/core/users/me/', headers: { authorization: 'Bearer WRONG-SECRET-TOKEN-789' } });
  const { path } = await createRecoveryLink(core.deps, 'logme', 5);
  const recoveryKey = path.split('/').at(-2) as string;
  await app.inject({ method: 'GET', url: path });
  await app.inject({ method: 'GET', url: `/api/v3/core/users/?token=QUERY-SECRET-1&search=x` , headers: auth });

  const output = lines.join('\n');
  assert.ok(lines.length > 8, 'requests were logged');
  for (const secret of [TOKEN, 'COOKIE-SECRET', 'PASSWORD-SECRET', 'LONG-SECRET', key, 'WRONG-SECRET', recoveryKey, 'QUERY-SECRET', 'Bootstrap-SECRET']) {
    assert.ok(!output.includes(secret), `log contains ${secret.slice(0, 12)}…`);
  }
  assert.match(output, /\/recovery\/use-token\/\[Redacted\]/);
});

test('every request line carries the request id the client sees', async () => {
  lines.length = 0;
  const res = await app.inject({ method: 'GET', url: '/-/health/live/' });
  const requestId = res.headers['x-request-id'];
  assert.match(String(requestId), /^[0-9a-f-]{36}$/);
  const line = JSON.parse(lines.find((l) => l.includes('"msg":"request"')) as string);
  assert.equal(line.reqId, requestId);
  assert.equal(line.url, '/-/health/live/');
  assert.equal(line.status, 204);
});

test('redactUrl hides credentials in paths and query strings only', () => {
  assert.equal(redactUrl('/recovery/use-token/abc123/'), '/recovery/use-token/[Redacted]/');
  assert.equal(redactUrl('/x?code=1&state=ok&client_secret=s'), '/x?code=[Redacted]&state=ok&client_secret=[Redacted]');
  assert.equal(redactUrl('/api/v3/core/users/?search=bob'), '/api/v3/core/users/?search=bob');
});
