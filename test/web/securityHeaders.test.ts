import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createSession, SESSION_COOKIE } from '../../src/core/sessions.ts';
import { addSamlApp } from '../providers/saml/spHarness.ts';
import { addApp } from '../providers/harness.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { type Route, routesOf } from '../support/routes.ts';

// Every GET route, walked with real and made-up parameters, anonymously and signed in, as a
// browser behind a trusted https proxy: each HTML answer — pages, flow pages, errors, SAML/OIDC
// and forward-auth pages — carries the CSP (no inline script, no framing), nosniff, a
// Referrer-Policy and HSTS.

const HOST = 'gatehouse.localhost';
let t: TestApp;
let routes: Route[] = [];
let session = '';
const values = ['nope', '1', 'default-authentication-flow', 'default-provider-authorization-implicit-consent', 'hdr-oidc', 'hdr-saml', 'x%00'];

before(async () => {
  t = await createTestApp({ GATEHOUSE_EXTERNAL_URL: `https://${HOST}` });
  routes = routesOf(t.app);
  await addApp(t, 'hdr-oidc', 'hdr-client', 'confidential', ['https://rp.example/cb']);
  await addSamlApp(t, 'hdr-saml');
  const flows = (await t.api('GET', '/api/v3/flows/instances/?page_size=100')).json().results as Array<{ pk: string; slug: string }>;
  values.push(...flows.map((f) => f.slug));
  const authz = flows.find((f) => f.slug === 'default-provider-authorization-implicit-consent')?.pk;
  const proxy = (await t.api('POST', '/api/v3/providers/proxy/', { name: 'hdr-proxy', authorization_flow: authz, external_host: 'https://app.example.com/' })).json();
  await t.api('POST', '/api/v3/core/applications/', { name: 'hdr proxy', slug: 'hdr-proxy', provider: proxy.pk });
  const admin = (await t.api('GET', '/api/v3/core/users/me/')).json().user;
  session = await createSession(t.deps, { userId: admin.pk, clientIp: '127.0.0.1', userAgent: 'headers', method: 'password' });
});
after(() => t.close());

/** The URLs to try for a route: each parameter replaced by each candidate value. */
function urlsOf(route: Route): string[] {
  if (!/[:*]/.test(route.path)) return [`${route.path}/`.replace(/\/\/$/, '/')];
  return values.map((value) => `${route.path.replace(/:[a-z]+|\*/gi, value)}/`);
}

const EXTRA = [
  '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F',
  '/application/o/authorize/?client_id=hdr-client&response_type=code&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid',
  '/application/o/authorize/?client_id=hdr-client&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2F&scope=openid',
  '/application/saml/hdr-saml/sso/binding/init/',
  '/application/saml/hdr-saml/sso/binding/redirect/?SAMLRequest=not-deflated',
  '/outpost.goauthentik.io/start/?rd=https%3A%2F%2Fapp.example.com%2Fx',
  '/outpost.goauthentik.io/handoff/?state=forged',
  '/outpost.goauthentik.io/callback/?code=forged',
  '/recovery/use-token/forged/',
  '/application/o/hdr-oidc/end-session/',
  '/application/o/hdr-oidc/end-session/?id_token_hint=forged&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F',
  '/application/o/hdr-oidc/.well-known/openid-configuration',
  '/no/such/page/',
];

function headerProblems(res: LightMyRequestResponse, expectHsts: boolean): string[] {
  const problems: string[] = [];
  const csp = String(res.headers['content-security-policy'] ?? '');
  const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? /(?:^|;)\s*default-src ([^;]*)/.exec(csp)?.[1];
  if (!csp) problems.push('no CSP');
  else {
    if (scriptSrc === undefined || /'unsafe-inline'|'unsafe-eval'|\*/.test(scriptSrc)) problems.push(`script-src allows inline: ${csp}`);
    if (!/frame-ancestors 'none'/.test(csp)) problems.push('no frame-ancestors none');
  }
  if (res.headers['x-content-type-options'] !== 'nosniff') problems.push('no nosniff');
  if (!res.headers['referrer-policy']) problems.push('no Referrer-Policy');
  if (expectHsts && !/max-age=\d{7,}/.test(String(res.headers['strict-transport-security'] ?? ''))) problems.push('no HSTS');
  return problems;
}

test('every HTML answer of every GET route carries CSP without inline script, frame-ancestors none, nosniff, Referrer-Policy and HSTS', async () => {
  const urls = [...new Set([...routes.filter((r) => r.methods.includes('GET')).flatMap(urlsOf), ...EXTRA])];
  const failures: string[] = [];
  let pages = 0;
  for (const url of urls) {
    for (const cookie of [undefined, `${SESSION_COOKIE}=${session}`]) {
      for (const host of [HOST, 'app.example.com']) {
        const res = await t.app.inject({
          method: 'GET',
          url,
          headers: { host, accept: 'text/html,application/xhtml+xml', 'x-forwarded-proto': 'https', ...(cookie ? { cookie } : {}) },
        });
        if (!String(res.headers['content-type'] ?? '').startsWith('text/html')) continue;
        pages += 1;
        const problems = headerProblems(res, true);
        if (problems.length) failures.push(`${url} (${host}, ${cookie ? 'signed in' : 'anonymous'}) ${res.statusCode}: ${problems.join(', ')}`);
      }
    }
  }
  assert.ok(pages >= 40, `HTML answers seen: ${pages}`);
  assert.deepEqual([...new Set(failures)], []);
});

test('HSTS only when https comes from a trusted proxy, not from any client claiming it', async () => {
  const login = '/if/flow/default-authentication-flow/';
  const trusted = await t.app.inject({ method: 'GET', url: login, headers: { host: HOST, 'x-forwarded-proto': 'https' } });
  assert.match(String(trusted.headers['strict-transport-security']), /max-age=/);
  const untrusted = await t.app.inject({ method: 'GET', url: login, remoteAddress: '203.0.113.5', headers: { host: HOST, 'x-forwarded-proto': 'https' } });
  assert.equal(untrusted.headers['strict-transport-security'], undefined);
  assert.deepEqual(headerProblems(untrusted, false), []);
});
