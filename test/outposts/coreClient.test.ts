import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CoreClient } from '../../src/outposts/ldap/coreClient.ts';

// The outpost's bind walk against a stand-in core that speaks the executor protocol: with the
// outposts' bind route (verdict in the final answer), and without it (a core older than the
// outpost: the walk goes on the browser's way and returns the session for check_access).

const seen: Array<{ method: string; url: string; authorization: string | undefined }> = [];
let hasBindRoute = true;
const server = createServer(async (request: IncomingMessage, response) => {
  let text = '';
  for await (const chunk of request) text += chunk;
  const body = text ? (JSON.parse(text) as Record<string, string>) : {};
  seen.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
  const send = (status: number, value: unknown, cookie?: string) => {
    response.writeHead(status, { 'content-type': 'application/json', ...(cookie ? { 'set-cookie': `authentik_session=${cookie}; Path=/; HttpOnly` } : {}) });
    response.end(JSON.stringify(value));
  };
  const isBindRoute = request.url?.startsWith('/api/v3/outposts/ldap/7/bind_flow/bind-flow/') === true;
  if (isBindRoute && !hasBindRoute) return send(404, { detail: 'Not found.' });
  if (body.uid_field === 'alice') return send(200, { component: 'ak-stage-password' }, 'anonymous');
  if (body.password !== 'right') return send(200, { component: 'ak-stage-password', response_errors: { password: [{ string: 'Invalid.' }] } });
  const verdict = { access: { passing: true, messages: [] }, has_search_permission: false, user: { pk: 1, username: 'alice' } };
  return isBindRoute ? send(200, { component: 'xak-flow-redirect', ldap_bind: verdict }) : send(200, { component: 'xak-flow-redirect' }, 'signed-in');
});
let client: CoreClient;
before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = new CoreClient({ host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'outpost-token' });
});
after(() => server.close());

const login = (password: string) => ({ username: 'alice', password, code: null, clientIp: '192.0.2.1' });

test('identification at the executor, the rest at the bind route with the token; the verdict comes with the answer', async () => {
  seen.length = 0;
  const verdict = await client.walkBindFlow('bind-flow', login('right'), 7);
  assert.ok(verdict.isSignedIn && 'verdict' in verdict);
  assert.deepEqual(verdict.verdict.user, { pk: 1, username: 'alice' });
  assert.deepEqual(
    seen.map((r) => [r.url.split('?')[0], r.authorization]),
    [
      ['/api/v3/flows/executor/bind-flow/', undefined],
      ['/api/v3/outposts/ldap/7/bind_flow/bind-flow/', 'Bearer outpost-token'],
    ],
  );
  assert.deepEqual(await client.walkBindFlow('bind-flow', login('wrong'), 7), { isSignedIn: false, reason: 'invalid_credentials' });
});

test('a core without the bind route (404): the walk goes on at the executor and returns the session', async () => {
  hasBindRoute = false;
  seen.length = 0;
  assert.deepEqual(await client.walkBindFlow('bind-flow', login('right'), 7), { isSignedIn: true, session: 'signed-in' });
  assert.deepEqual(
    seen.map((r) => r.url.split('?')[0]),
    ['/api/v3/flows/executor/bind-flow/', '/api/v3/outposts/ldap/7/bind_flow/bind-flow/', '/api/v3/flows/executor/bind-flow/'],
  );
  hasBindRoute = true;
});
