import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { buildApp } from '../../src/web/app.ts';
import { createTestCore, type TestCore } from '../support/backends.ts';

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
