import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { addMember, insertGroup } from '../../src/store/groups.ts';
import { hasPostgres } from '../support/backends.ts';
import { addApp, addUser, type Harness, insecure, Jar, SECRET, startHarness } from './harness.ts';

// RFC 8628 end to end: the client asks /application/o/device/, a signed-in browser enters the
// user code on the app's verification page and passes our interaction, the client's poll gets
// tokens.

const REDIRECT = 'http://127.0.0.1:1/cb';

interface Form {
  action: string;
  fields: Record<string, string>;
}

/** The forms of a page: action and every input with a name and a value. */
function parseForms(page: string): Form[] {
  const forms: Form[] = [];
  for (const match of page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const action = /\baction="([^"]*)"/i.exec(match[1] ?? '')?.[1] ?? '';
    const fields: Record<string, string> = {};
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const name = /\bname="([^"]*)"/i.exec(input[1] ?? '')?.[1];
      if (name) fields[name] = /\bvalue="([^"]*)"/i.exec(input[1] ?? '')?.[1] ?? '';
    }
    forms.push({ action, fields });
  }
  return forms;
}

describe('OAuth 2.0 device authorization grant', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
    await addUser(h.t, 'dora', 'dora-password-1');
    await addUser(h.t, 'otto', 'otto-password-1');
    await addApp(h.t, 'tv-app', 'tv-client', 'public', [REDIRECT]);
    await addApp(h.t, 'box-app', 'box-client', 'confidential', [REDIRECT]);
    const { applicationId } = await addApp(h.t, 'members-app', 'members-client', 'public', [REDIRECT]);
    const group = await insertGroup(h.t.deps.db, { name: 'tv-watchers', parentId: null, isSuperuser: false, attributes: {} });
    const { rows } = await h.t.deps.db.query<{ id: number }>("SELECT id FROM users WHERE username = 'dora'");
    await addMember(h.t.deps.db, group.id, rows[0]?.id as number);
    await h.t.deps.db.query('INSERT INTO policy_bindings (target_application_id, group_id, "order") VALUES ($1, $2, 0)', [applicationId, group.id]);
  });
  after(() => h?.t.close());

  async function signedIn(username: string, password: string): Promise<Jar> {
    const jar = new Jar(h.base);
    await jar.signIn(username, password, '/if/user/');
    return jar;
  }

  const post = (jar: Jar, action: string, fields: Record<string, string>) =>
    jar.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.base },
      body: new URLSearchParams(fields).toString(),
    });

  /**
   * The browser's part: opens verification_uri, submits `userCode` in the page's form, confirms
   * when asked, then follows redirects through our interaction. Returns the last response.
   */
  async function enterCode(jar: Jar, verificationUri: string, userCode: string): Promise<Response> {
    let res = await jar.fetch(verificationUri);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-security-policy')), /script-src 'self'; style-src 'self'/, 'our page headers, no inline style');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const [input] = parseForms(await res.text());
    assert.ok(input && 'xsrf' in input.fields && 'user_code' in input.fields, 'the user code form');
    assert.equal(new URL(input.action, h.base).href, verificationUri);
    res = await post(jar, input.action, { ...input.fields, user_code: userCode });
    if (res.status === 200) {
      const body = await res.text();
      const confirm = parseForms(body).find((form) => form.fields.confirm !== undefined);
      if (!confirm) return new Response(body, { status: res.status, headers: res.headers });
      res = await post(jar, confirm.action, confirm.fields);
    }
    for (let hops = 0; hops < 10; hops += 1) {
      const location = res.headers.get('location');
      if (!location) return res;
      res = await jar.fetch(location);
    }
    throw new Error('too many redirects');
  }

  for (const [slug, clientId, type] of [
    ['tv-app', 'tv-client', 'public'],
    ['box-app', 'box-client', 'confidential'],
  ] as const) {
    test(`a ${type} client gets tokens once the signed-in user enters the code`, async () => {
      const issuer = new URL(`${h.base}/application/o/${slug}/`);
      const config =
        type === 'public'
          ? await client.discovery(issuer, clientId, undefined, client.None(), insecure)
          : await client.discovery(issuer, clientId, SECRET, undefined, insecure);
      const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile email' });
      assert.equal(device.verification_uri, `${h.base}/application/o/${slug}/device/`);
      assert.ok(device.user_code);

      const jar = await signedIn('dora', 'dora-password-1');
      const done = await enterCode(jar, device.verification_uri, device.user_code);
      assert.equal(done.status, 200);
      const success = await done.text();
      assert.match(success, /Device connected/);
      assert.match(success, /gatehouse\.css/, 'in Gatehouse\'s own look');

      const tokens = await client.pollDeviceAuthorizationGrant(config, { ...device, interval: 0 });
      assert.ok(tokens.access_token);
      const claims = tokens.claims();
      assert.ok(claims);
      assert.equal(claims.iss, issuer.href);
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(info.preferred_username, 'dora');
      assert.equal(info.email, 'dora@example.com');

      const events = (await h.t.api('GET', '/api/v3/events/events/?action=authorize_application')).json();
      assert.equal(events.results[0].context.authorized_application.slug, slug);

      // The code is spent: entering it again grants nothing more.
      const again = await enterCode(jar, device.verification_uri, device.user_code);
      assert.match(await again.text(), /not right|could not be completed/i);
    });
  }

  test('a wrong user code shows an error and grants nothing', async () => {
    const config = await client.discovery(new URL(`${h.base}/application/o/tv-app/`), 'tv-client', undefined, client.None(), insecure);
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const jar = await signedIn('dora', 'dora-password-1');
    const res = await enterCode(jar, device.verification_uri, 'WXYZ-BCDF');
    assert.equal(res.status, 400, 'the form again, with the error');
    const body = await res.text();
    assert.match(body, /That code is not right/);
    assert.doesNotMatch(body, /onfocus=/, 'no inline handler for the CSP to refuse');
    // The page offers the form again.
    assert.ok(parseForms(body).some((form) => 'user_code' in form.fields));

    const poll = await fetch(`${h.base}/application/o/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'tv-client', device_code: device.device_code }),
    });
    assert.equal(poll.status, 400);
    assert.equal(((await poll.json()) as { error: string }).error, 'authorization_pending');
  });

  test('a user the group binding denies gets no token: the poll ends in access_denied', async () => {
    const config = await client.discovery(new URL(`${h.base}/application/o/members-app/`), 'members-client', undefined, client.None(), insecure);
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const jar = await signedIn('otto', 'otto-password-1');
    const res = await enterCode(jar, device.verification_uri, device.user_code);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Permission denied/);

    await assert.rejects(
      // Bounded: a code left pending would keep the client polling until it expires.
      client.pollDeviceAuthorizationGrant(config, { ...device, interval: 0 }, undefined, { signal: AbortSignal.timeout(5000) }),
      (error: Error & { error?: string }) => error.error === 'access_denied',
    );
    const events = (await h.t.api('GET', '/api/v3/events/events/?action=access_denied')).json();
    assert.equal(events.results[0].context.application.slug, 'members-app');

    // A member passes the same application.
    const member = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const ok = await enterCode(await signedIn('dora', 'dora-password-1'), member.verification_uri, member.user_code);
    assert.match(await ok.text(), /Device connected/);
    assert.ok((await client.pollDeviceAuthorizationGrant(config, { ...member, interval: 0 })).access_token);
  });
});
