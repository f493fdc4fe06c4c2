// The forward-auth guides in docs/integrations/: each app's blueprint loaded into a fresh
// Gatehouse, then the requests its reverse proxy and a browser make, replayed: the Traefik
// question for the app's host (X-Forwarded-*), the single-application login (start on the app's
// host, handoff on Gatehouse's, callback on the app's), then the question again, answered 200
// with the X-authentik-* headers the app trusts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addUser } from '../providers/harness.ts';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { example, joinGroup, loadThroughApi } from './support.ts';

const CORE = 'auth.yourdomain.com';
let t: TestApp;

const traefik = (host: string, uri: string, browser?: TestBrowser) =>
  (browser ?? new TestBrowser(t.app)).request('GET', '/outpost.goauthentik.io/auth/traefik', undefined, {
    host: 'gatehouse:9000',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': host,
    'x-forwarded-uri': uri,
  });

/** A browser signed in to Gatehouse that then opens `url` behind forward auth; returns it with the app's cookie. */
async function signInThroughProxy(username: string, password: string, url: string): Promise<{ browser: TestBrowser; finalLocation: string | undefined; status: number }> {
  const browser = new TestBrowser(t.app);
  browser.origin = `https://${CORE}`;
  await browser.login(username, password);
  const first = await traefik(new URL(url).host, new URL(url).pathname, browser);
  assert.equal(first.statusCode, 302, 'an anonymous question is sent to sign in');
  let location = first.headers.location as string | undefined;
  let status = first.statusCode;
  for (let hops = 0; location && hops < 6; hops++) {
    const next = new URL(location);
    if (!next.pathname.startsWith('/outpost.goauthentik.io/')) break;
    const res = await browser.request('GET', `${next.pathname}${next.search}`, undefined, { host: next.host, 'x-forwarded-proto': 'https' });
    status = res.statusCode;
    location = res.headers.location as string | undefined;
    if (status !== 302) break;
  }
  return { browser, finalLocation: location, status };
}

describe('forward-auth app guides replayed against their blueprints', () => {
  const users: Record<string, number> = {};
  before(async () => {
    t = await createTestApp({ GATEHOUSE_EXTERNAL_URL: `https://${CORE}` });
    for (const name of ['fam', 'outsider']) users[name] = await addUser(t, name, `${name}-password-1`);
  });
  after(() => t?.close());

  test('Paperless-ngx: after a login the proxy question is answered 200 with X-authentik-username; family only', async () => {
    assert.deepEqual((await loadThroughApi(t, example('paperless-ngx'))).map((c) => c.action), ['create', 'create', 'create', 'create']);
    await joinGroup(t, 'family', users.fam as number);
    const url = 'https://paperless.yourdomain.com/documents/';
    const { browser, finalLocation } = await signInThroughProxy('fam', 'fam-password-1', url);
    assert.equal(finalLocation, url, 'back at Paperless');
    const allowed = await traefik('paperless.yourdomain.com', '/documents/', browser);
    assert.equal(allowed.statusCode, 200, allowed.body);
    // PAPERLESS_ENABLE_HTTP_REMOTE_USER with PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME=HTTP_X_AUTHENTIK_USERNAME
    assert.equal(allowed.headers['x-authentik-username'], 'fam');
    assert.equal(allowed.headers['x-authentik-email'], 'fam@example.com');

    const refused = await signInThroughProxy('outsider', 'outsider-password-1', url);
    assert.notEqual(refused.finalLocation, url, 'no way in for someone outside family');
    const asked = await traefik('paperless.yourdomain.com', '/documents/', refused.browser);
    assert.notEqual(asked.statusCode, 200);
  });

  test('Uptime Kuma: the dashboard needs a login, the public status page and badges do not', async () => {
    await loadThroughApi(t, example('uptime-kuma'));
    const dashboard = await traefik('status.yourdomain.com', '/dashboard');
    assert.equal(dashboard.statusCode, 302);
    for (const open of ['/status/home', '/api/status-page/home', '/api/badge/1/status']) {
      const res = await traefik('status.yourdomain.com', open);
      assert.equal(res.statusCode, 200, open);
      assert.equal(res.headers['x-authentik-username'], undefined);
    }
    const { browser, finalLocation } = await signInThroughProxy('akadmin', ADMIN_PASSWORD, 'https://status.yourdomain.com/dashboard');
    assert.equal(finalLocation, 'https://status.yourdomain.com/dashboard');
    const allowed = await traefik('status.yourdomain.com', '/dashboard', browser);
    assert.equal(allowed.statusCode, 200);
    assert.equal(allowed.headers['x-authentik-username'], 'akadmin');
  });

  test('Portainer CE: forward auth for admins only', async () => {
    await loadThroughApi(t, example('portainer-forward-auth'));
    const url = 'https://portainer-ce.yourdomain.com/';
    const admin = await signInThroughProxy('akadmin', ADMIN_PASSWORD, url);
    assert.equal(admin.finalLocation, url);
    const allowed = await traefik('portainer-ce.yourdomain.com', '/', admin.browser);
    assert.equal(allowed.statusCode, 200);
    assert.equal(allowed.headers['x-authentik-username'], 'akadmin');
    const other = await signInThroughProxy('fam', 'fam-password-1', url);
    assert.notEqual(other.finalLocation, url);
  });

  test('the examples applied again change nothing', async () => {
    for (const name of ['paperless-ngx', 'uptime-kuma', 'portainer-forward-auth']) {
      const changes = await loadThroughApi(t, example(name));
      assert.ok(changes.every((c) => c.action === 'unchanged'), `${name}: ${JSON.stringify(changes)}`);
    }
  });
});
