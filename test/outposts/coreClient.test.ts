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
/** Which bind routes the stand-in core has: the batch and the one-answer route, only the latter, or neither. */
let routes: 'both' | 'single' | 'none' = 'both';
const VERDICT = { access: { passing: true, messages: [] }, has_search_permission: false, user: { pk: 1, username: 'alice' } };
const server = createServer(async (request: IncomingMessage, response) => {
  let text = '';
  for await (const chunk of request) text += chunk;
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  seen.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
  const send = (status: number, value: unknown, cookie?: string) => {
    response.writeHead(status, { 'content-type': 'application/json', ...(cookie ? { 'set-cookie': `authentik_session=${cookie}; Path=/; HttpOnly` } : {}) });
    response.end(JSON.stringify(value));
  };
  const path = request.url?.split('?')[0];
  const isBatch = path === '/api/v3/outposts/ldap/7/bind_flow/bind-flow/answers/';
  const isBindRoute = isBatch || path === '/api/v3/outposts/ldap/7/bind_flow/bind-flow/';
  if ((isBatch && routes !== 'both') || (isBindRoute && routes === 'none')) return send(404, { detail: 'Not found.' });
  // Identification, then password, as the executor would walk them (a batch: in turn).
  let waiting = request.headers.cookie?.includes('authentik_session=anonymous') ? 'password' : 'identification';
  for (const answer of (isBatch ? body.answers : [body]) as Array<Record<string, string>>) {
    if (waiting === 'identification') {
      if (answer.uid_field !== 'alice') return send(200, { component: 'ak-stage-access-denied' });
      waiting = 'password';
      continue;
    }
    if (answer.password !== 'right') {
      return send(200, { component: 'ak-stage-password', response_errors: { password: [{ string: 'Invalid.' }] } }, 'anonymous');
    }
    return isBindRoute ? send(200, { component: 'xak-flow-redirect', ldap_bind: VERDICT }) : send(200, { component: 'xak-flow-redirect' }, 'signed-in');
  }
  return send(200, { component: 'ak-stage-password' }, 'anonymous');
});
let client: CoreClient;
before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = new CoreClient({ host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'outpost-token' });
});
after(() => server.close());

const login = (password: string) => ({ username: 'alice', password, code: null, clientIp: '192.0.2.1' });
const urlsSeen = () => seen.map((r) => [r.url.split('?')[0], r.authorization]);

test('one exchange at the batch route with the token: identification and password at once, the verdict in the answer', async () => {
  routes = 'both';
  seen.length = 0;
  const verdict = await client.walkBindFlow('bind-flow', login('right'), 7);
  assert.ok(verdict.isSignedIn && 'verdict' in verdict);
  assert.deepEqual(verdict.verdict.user, { pk: 1, username: 'alice' });
  assert.deepEqual(urlsSeen(), [['/api/v3/outposts/ldap/7/bind_flow/bind-flow/answers/', 'Bearer outpost-token']]);
  assert.deepEqual(await client.walkBindFlow('bind-flow', login('wrong'), 7), { isSignedIn: false, reason: 'invalid_credentials' });
});

test('a core with only the one-answer bind route: identification at the executor, the rest at that route', async () => {
  routes = 'single';
  seen.length = 0;
  const verdict = await client.walkBindFlow('bind-flow', login('right'), 7);
  assert.ok(verdict.isSignedIn && 'verdict' in verdict);
  assert.deepEqual(urlsSeen(), [
    ['/api/v3/outposts/ldap/7/bind_flow/bind-flow/answers/', 'Bearer outpost-token'],
    ['/api/v3/flows/executor/bind-flow/', undefined],
    ['/api/v3/outposts/ldap/7/bind_flow/bind-flow/', 'Bearer outpost-token'],
  ]);
});

test('a core without either bind route (404): the walk goes on at the executor and returns the session', async () => {
  routes = 'none';
  seen.length = 0;
  assert.deepEqual(await client.walkBindFlow('bind-flow', login('right'), 7), { isSignedIn: true, session: 'signed-in' });
  assert.deepEqual(
    seen.map((r) => r.url.split('?')[0]),
    [
      '/api/v3/outposts/ldap/7/bind_flow/bind-flow/answers/',
      '/api/v3/flows/executor/bind-flow/',
      '/api/v3/outposts/ldap/7/bind_flow/bind-flow/',
      '/api/v3/flows/executor/bind-flow/',
    ],
  );
  routes = 'both';
});
