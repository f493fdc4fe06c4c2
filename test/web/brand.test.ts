import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { buildApp } from '../../src/web/app.ts';
import { createTestCore, type TestCore } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';

let core: TestCore;
let app: FastifyInstance;
before(async () => {
  core = await createTestCore();
  const config = loadConfig({ GATEHOUSE_BRAND__TITLE: 'Home Lab', GATEHOUSE_BRAND__LOGO_URL: 'https://cdn.example.org/logo.svg' }, null);
  app = await buildApp({ config, deps: core.deps, logger: pino({ level: 'silent' }) });
  await app.ready();
});
after(async () => {
  await app.close();
  await core.close();
});

test('pages carry the configured brand name and logo, and the CSP allows exactly that logo origin', async () => {
  const res = await app.inject({ method: 'GET', url: '/if/flow/default-authentication-flow/' });
  assert.match(res.body, /<title>Welcome to Gatehouse! – Home Lab<\/title>/);
  assert.match(res.body, /<img class="logo" src="https:\/\/cdn\.example\.org\/logo\.svg" alt="Home Lab">/);
  assert.match(String(res.headers['content-security-policy']), /img-src 'self' data: https:\/\/cdn\.example\.org;/);
});

test('a logo URL that is neither a local path nor https is refused at start', () => {
  for (const bad of ['http://example.org/logo.png', 'javascript:alert(1)', '//evil.example/x.png']) {
    assert.throws(() => loadConfig({ GATEHOUSE_BRAND__LOGO_URL: bad }, null), /GATEHOUSE_BRAND__LOGO_URL/);
  }
});

test('authenticator apps and passkey prompts name the installation by its brand', async () => {
  const user = await createUser(core.deps, SYSTEM_CONTEXT, { username: 'brandy', name: 'Brandy', email: '', isActive: true, attributes: {}, path: 'users', type: 'internal' });
  await setUserPassword(core.deps, SYSTEM_CONTEXT, user.id, 'brandy-password-1');
  const browser = new TestBrowser(app);
  assert.equal((await browser.login('brandy', 'brandy-password-1')).component, 'xak-flow-redirect');
  const totp = await browser.flow('default-authenticator-totp-setup');
  const url = new URL(String(totp.config_url));
  assert.equal(decodeURIComponent(url.pathname), '/Home Lab:brandy');
  assert.equal(url.searchParams.get('issuer'), 'Home Lab');
  const webauthn = await browser.flow('default-authenticator-webauthn-setup');
  assert.equal((webauthn.registration as { rp: { name: string } }).rp.name, 'Home Lab');
});
