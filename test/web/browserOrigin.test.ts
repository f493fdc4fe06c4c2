import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import cookie from '@fastify/cookie';
import Fastify from 'fastify';
import { browserOrigin, isCsrfSafe, useExternalOrigin } from '../../src/web/csrf.ts';

// Behind the seed guide's Nginx (`proxy_set_header Host $host`) on a non-default port, Host loses
// the port the browser's page is on. WebAuthn compares the browser's signed origin with ours.
const app = Fastify();
await app.register(cookie);
app.post('/probe', async (request) => ({ origin: browserOrigin(request), csrfSafe: isCsrfSafe(request) }));
await app.ready();
after(async () => {
  useExternalOrigin(undefined);
  await app.close();
});

const probe = async (origin: string) =>
  (await app.inject({ method: 'POST', url: '/probe', headers: { host: 'auth.example.com', origin } })).json() as { origin: string; csrfSafe: boolean };

test("the browser's origin is GATEHOUSE_EXTERNAL_URL's when the page is there, and never another site's", async () => {
  useExternalOrigin('https://auth.example.com:8443/');
  assert.deepEqual(await probe('https://auth.example.com:8443'), { origin: 'https://auth.example.com:8443', csrfSafe: true });
  assert.deepEqual(await probe('http://auth.example.com'), { origin: 'http://auth.example.com', csrfSafe: true });
  assert.deepEqual(await probe('https://evil.example'), { origin: 'http://auth.example.com', csrfSafe: false });
  useExternalOrigin(undefined);
  assert.deepEqual(await probe('https://auth.example.com:8443'), { origin: 'http://auth.example.com', csrfSafe: false });
});
