import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { ValidateInResponseTo } from '@node-saml/node-saml';
import { createTestApp, type TestApp } from '../../support/app.ts';
import { addUser } from '../harness.ts';
import { logoutRequestXml } from './messages.ts';
import { ACS, addSamlApp, browse, endpoints, newBrowser, pathOf, postForm, SLS, serviceProvider, spKeys } from './spHarness.ts';

const LOGIN = { username: 'sally', password: 'sally-password-1' };
const ATTR = {
  username: 'http://schemas.goauthentik.io/2021/02/saml/username',
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  groups: 'http://schemas.xmlsoap.org/claims/Group',
  uid: 'http://schemas.goauthentik.io/2021/02/saml/uid',
};
let t: TestApp;
let signedRedirect: { provider: { pk: number; signing_certificate: string } };
let postApp: { provider: { pk: number; signing_certificate: string } };

describe('SAML single sign-on with node-saml as the SP', () => {
  before(async () => {
    t = await createTestApp();
    await addUser(t, LOGIN.username, LOGIN.password);
    await addUser(t, 'otto', 'otto-password-1');
    const group = (await t.api('POST', '/api/v3/core/groups/', { name: 'wiki-editors', users: [] })).json();
    await t.api('POST', `/api/v3/core/groups/${group.pk}/add_user/`, { pk: (await t.api('GET', '/api/v3/core/users/?username=sally')).json().results[0].pk });
    // SP-initiated over Redirect, requests signed by the SP, response to the ACS by POST.
    signedRedirect = await addSamlApp(t, 'wiki', {
      sp_binding: 'post',
      verification_certificate: spKeys.certificatePem,
      sls_url: SLS,
      sls_binding: 'redirect',
      default_relay_state: '/welcome',
    });
    // Unsigned requests over POST, whole response signed as well.
    postApp = await addSamlApp(t, 'tickets', { sp_binding: 'post', sign_response: true, sls_url: SLS, sls_binding: 'post' });
    const staffOnly = await addSamlApp(t, 'payroll', { sp_binding: 'post' });
    const staff = (await t.api('POST', '/api/v3/core/groups/', { name: 'staff' })).json();
    await t.api('POST', '/api/v3/policies/bindings/', { target: staffOnly.application.pk, group: staff.pk, order: 0 });
  });
  after(() => t?.close());

  test('SP-initiated over HTTP-Redirect with a signed request: login, then a signed assertion node-saml accepts', async () => {
    const sp = serviceProvider('wiki', signedRedirect.provider.signing_certificate);
    const url = await sp.getAuthorizeUrlAsync('relay-42', undefined, {});
    assert.match(url, /Signature=/);
    const browser = newBrowser(t);
    const page = await browse(browser, await browser.request('GET', pathOf(url) as string), LOGIN);
    assert.ok(!(page instanceof URL));
    assert.equal(page.statusCode, 200, page.body);
    assert.match(String(page.headers['content-security-policy']), /form-action https:\/\/sp\.example/);
    assert.match(page.body, /<noscript><button type="submit">/);
    assert.match(page.body, /src="\/static\/saml-post\.js"/);
    const form = postForm(page.body);
    assert.equal(form.action, ACS);
    assert.equal(form.fields.RelayState, 'relay-42');

    const { profile, loggedOut } = await sp.validatePostResponseAsync(form.fields);
    assert.equal(loggedOut, false);
    assert.ok(profile);
    assert.equal(profile.nameID, 'sally@example.com', 'node-saml asks for emailAddress by default');
    assert.equal(profile[ATTR.username], 'sally');
    assert.equal(profile[ATTR.email], 'sally@example.com');
    assert.equal(profile[ATTR.name], 'Sally Example');
    assert.equal(profile[ATTR.groups], 'wiki-editors');
    assert.match(String(profile[ATTR.uid]), /^[0-9a-f]{64}$/);

    const events = (await t.api('GET', '/api/v3/events/events/?action=authorize_application')).json();
    assert.equal(events.results[0].context.authorized_application.slug, 'wiki');
    assert.equal(events.results[0].user.username, 'sally');

    // The same response again: node-saml has used up its request ID.
    await assert.rejects(sp.validatePostResponseAsync(form.fields));
  });

  test('SP-initiated over HTTP-POST, response and assertion signed; a second login reuses the session', async () => {
    const sp = serviceProvider('tickets', postApp.provider.signing_certificate, {
      entryPoint: endpoints('tickets').ssoPost,
      authnRequestBinding: 'HTTP-POST',
      wantAuthnResponseSigned: true,
      privateKey: undefined,
      idpIssuer: 'https://gatehouse.example/tickets',
    });
    const browser = newBrowser(t);
    for (const round of [1, 2]) {
      const message = (await sp.getAuthorizeMessageAsync(`round-${round}`)) as Record<string, string>;
      const body = new URLSearchParams(message).toString();
      const first = await browser.request('POST', '/application/saml/tickets/sso/binding/post/', body, { origin: 'https://sp.example' });
      assert.equal(first.statusCode, 303, first.body);
      const page = await browse(browser, first, round === 1 ? LOGIN : undefined);
      assert.ok(!(page instanceof URL));
      const form = postForm(page.body);
      assert.equal(form.fields.RelayState, `round-${round}`);
      const { profile } = await sp.validatePostResponseAsync(form.fields);
      assert.equal(profile?.[ATTR.username], 'sally');
    }
  });

  test('sp_binding "redirect" sends the signed Response to the ACS URL in the query, deflated, with RelayState', async () => {
    const { provider } = await addSamlApp(t, 'wiki-redirect', { sp_binding: 'redirect' });
    const sp = serviceProvider('wiki-redirect', provider.signing_certificate, { privateKey: undefined, idpIssuer: 'https://gatehouse.example/wiki-redirect' });
    const browser = newBrowser(t);
    const back = await browse(browser, await browser.request('GET', pathOf(await sp.getAuthorizeUrlAsync('r-7', undefined, {})) as string), LOGIN);
    assert.ok(back instanceof URL);
    assert.equal(back.origin + back.pathname, ACS);
    assert.equal(back.searchParams.get('RelayState'), 'r-7');
    const xml = inflateRawSync(Buffer.from(back.searchParams.get('SAMLResponse') as string, 'base64'));
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: xml.toString('base64') });
    assert.equal(profile?.[ATTR.username], 'sally');
  });

  test('with the SP encryption certificate set, the signed assertion travels encrypted and node-saml decrypts it', async () => {
    const { provider } = await addSamlApp(t, 'vault', { sp_binding: 'post', encryption_certificate: spKeys.certificatePem });
    const sp = serviceProvider('vault', provider.signing_certificate, {
      privateKey: undefined,
      decryptionPvk: spKeys.privateKeyPem,
      idpIssuer: 'https://gatehouse.example/vault',
    });
    const browser = newBrowser(t);
    const page = await browse(browser, await browser.request('GET', pathOf(await sp.getAuthorizeUrlAsync('', undefined, {})) as string), LOGIN);
    assert.ok(!(page instanceof URL));
    const form = postForm(page.body);
    const xml = Buffer.from(form.fields.SAMLResponse as string, 'base64').toString('utf8');
    assert.match(xml, /<saml:EncryptedAssertion>/);
    assert.doesNotMatch(xml, /sally/);
    const { profile } = await sp.validatePostResponseAsync(form.fields);
    assert.equal(profile?.[ATTR.username], 'sally');
  });

  test("the provider's explicit-consent authorization flow runs before the assertion; skipping it is not consent", async () => {
    const explicit = (await t.api('GET', '/api/v3/flows/instances/default-provider-authorization-explicit-consent/')).json().pk;
    const { provider } = await addSamlApp(t, 'asking', { sp_binding: 'post', authorization_flow: explicit });
    const browser = newBrowser(t);
    await browser.login(LOGIN.username, LOGIN.password);
    await browser.request('GET', '/application/saml/asking/sso/binding/init/');
    let res = await browser.request('GET', '/application/saml/asking/sso/binding/resume/');
    const consentPage = new URL(res.headers.location as string, 'http://localhost');
    assert.equal(consentPage.pathname, '/if/flow/default-provider-authorization-explicit-consent/');
    const next = consentPage.searchParams.get('next') ?? '';
    assert.ok(next.startsWith('/application/saml/asking/sso/binding/resume/?flow_done='));
    res = await browser.request('GET', next);
    assert.match(String(res.headers.location), /^\/if\/flow\/default-provider-authorization-explicit-consent\//, 'skipping the flow');

    const challenge = await browser.flow('default-provider-authorization-explicit-consent', undefined, `next=${next}`);
    assert.equal(challenge.component, 'ak-stage-consent');
    const done = await browser.flow('default-provider-authorization-explicit-consent', { component: 'ak-stage-consent', token: challenge.token }, `next=${next}`);
    assert.ok(String(done.to).startsWith('/application/saml/asking/sso/binding/resume/?flow_done='));
    const page = await browser.request('GET', done.to as string);
    assert.equal(page.statusCode, 200, page.body);
    const sp = serviceProvider('asking', provider.signing_certificate, { validateInResponseTo: ValidateInResponseTo.never, idpIssuer: 'https://gatehouse.example/asking' });
    const { profile } = await sp.validatePostResponseAsync(postForm(page.body).fields);
    assert.equal(profile?.[ATTR.username], 'sally');
  });

  test('IdP-initiated: a signed-in user opens the app from Gatehouse and the SP accepts the unsolicited response', async () => {
    const sp = serviceProvider('wiki', signedRedirect.provider.signing_certificate, { validateInResponseTo: ValidateInResponseTo.never });
    const browser = newBrowser(t);
    const page = await browse(browser, await browser.request('GET', '/application/saml/wiki/sso/binding/init/'), LOGIN);
    assert.ok(!(page instanceof URL));
    const form = postForm(page.body);
    assert.equal(form.fields.RelayState, '/welcome', "the provider's default RelayState");
    const { profile } = await sp.validatePostResponseAsync(form.fields);
    assert.equal(profile?.[ATTR.username], 'sally');
    assert.equal(profile?.inResponseTo, undefined);
    const events = (await t.api('GET', '/api/v3/events/events/?action=authorize_application')).json();
    assert.equal(events.results[0].context.idp_initiated, true);
  });

  test('one sign-in is answered once: two tabs resuming it at the same time get one response between them', async () => {
    const browser = newBrowser(t);
    await browser.login(LOGIN.username, LOGIN.password);
    await browser.request('GET', '/application/saml/wiki/sso/binding/init/');
    const pages = await Promise.all([1, 2, 3].map(() => browser.request('GET', '/application/saml/wiki/sso/binding/resume/')));
    const answered = pages.filter((page) => page.statusCode === 200 && page.body.includes('SAMLResponse'));
    assert.equal(answered.length, 1, pages.map((page) => page.statusCode).join(','));
    assert.deepEqual(pages.map((page) => page.statusCode).sort(), [200, 400, 400]);
  });

  test('a user outside the bound group gets the 403 page, an access_denied event and no assertion', async () => {
    const browser = newBrowser(t);
    const page = await browse(browser, await browser.request('GET', '/application/saml/payroll/sso/binding/init/'), {
      username: 'otto',
      password: 'otto-password-1',
    });
    assert.ok(!(page instanceof URL));
    assert.equal(page.statusCode, 403);
    assert.match(page.body, /Permission denied/);
    assert.doesNotMatch(page.body, /SAMLResponse/);
    const events = (await t.api('GET', '/api/v3/events/events/?action=access_denied')).json();
    assert.equal(events.results[0].context.application.slug, 'payroll');
    assert.equal(events.results[0].user.username, 'otto');
  });

  test('single logout over HTTP-Redirect ends the Gatehouse session and answers the SP with a signed LogoutResponse', async () => {
    const sp = serviceProvider('wiki', signedRedirect.provider.signing_certificate);
    const browser = newBrowser(t);
    const page = await browse(browser, await browser.request('GET', pathOf(await sp.getAuthorizeUrlAsync('', undefined, {})) as string), LOGIN);
    assert.ok(!(page instanceof URL));
    const { profile } = await sp.validatePostResponseAsync(postForm(page.body).fields);
    assert.ok(profile?.sessionIndex);
    const sessionBefore = browser.sessionId as string;
    assert.ok(sessionBefore);

    const logoutUrl = await sp.getLogoutUrlAsync(profile, 'bye', {});
    const res = await browser.request('GET', pathOf(logoutUrl) as string);
    assert.equal(res.statusCode, 302, res.body);
    const back = new URL(res.headers.location as string);
    assert.equal(back.origin + back.pathname, SLS);
    const query = Object.fromEntries(back.searchParams);
    const result = await sp.validateRedirectAsync(query, back.search.slice(1));
    assert.equal(result.loggedOut, true);
    assert.equal(query.RelayState, 'bye');

    // Signed out: the app's init asks for a login again.
    // Ended on the server, not only forgotten by the browser: the old cookie is dead too.
    browser.cookies.set('authentik_session', sessionBefore);
    await browser.request('GET', '/application/saml/wiki/sso/binding/init/');
    const again = await browser.request('GET', '/application/saml/wiki/sso/binding/resume/');
    assert.match(String(again.headers.location ?? ''), /default-authentication-flow/);
    const events = (await t.api('GET', '/api/v3/events/events/?action=logout')).json();
    assert.equal(events.results[0].user.username, 'sally');
  });

  test('single logout over HTTP-POST, sent cross-site without cookies, ends the session its SessionIndex names', async () => {
    const sp = serviceProvider('tickets', postApp.provider.signing_certificate, {
      entryPoint: endpoints('tickets').ssoPost,
      authnRequestBinding: 'HTTP-POST',
      wantAuthnResponseSigned: true,
      privateKey: undefined,
      idpIssuer: 'https://gatehouse.example/tickets',
    });
    const browser = newBrowser(t);
    const message = (await sp.getAuthorizeMessageAsync('')) as Record<string, string>;
    const first = await browser.request('POST', '/application/saml/tickets/sso/binding/post/', new URLSearchParams(message).toString());
    const page = await browse(browser, first, LOGIN);
    assert.ok(!(page instanceof URL));
    const { profile } = await sp.validatePostResponseAsync(postForm(page.body).fields);
    assert.ok(profile?.sessionIndex);

    const xml = logoutRequestXml({ destination: endpoints('tickets').sloPost, nameId: profile.nameID, sessionIndex: profile.sessionIndex });
    const res = await t.app.inject({
      method: 'POST',
      url: '/application/saml/tickets/slo/binding/post/',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://sp.example' },
      payload: new URLSearchParams({ SAMLRequest: Buffer.from(xml).toString('base64'), RelayState: 'r1' }).toString(),
    });
    assert.equal(res.statusCode, 200, res.body);
    const form = postForm(res.body);
    assert.equal(form.action, SLS);
    assert.equal(form.fields.RelayState, 'r1');
    // node-saml matches InResponseTo only on a <Response>; the signature it checks all the same.
    const logoutSp = serviceProvider('tickets', postApp.provider.signing_certificate, {
      validateInResponseTo: ValidateInResponseTo.never,
      wantAuthnResponseSigned: true,
      idpIssuer: 'https://gatehouse.example/tickets',
    });
    const result = await logoutSp.validatePostResponseAsync(form.fields);
    assert.equal(result.loggedOut, true);
    const forged = Buffer.from(Buffer.from(form.fields.SAMLResponse as string, 'base64').toString().replace('Success', 'Requester'));
    await assert.rejects(logoutSp.validatePostResponseAsync({ SAMLResponse: forged.toString('base64') }), 'the signature covers the status');

    const again = await browser.request('GET', '/application/saml/tickets/sso/binding/init/');
    const resume = await browser.request('GET', again.headers.location as string);
    assert.match(String(resume.headers.location ?? ''), /default-authentication-flow/, 'the browser session was ended');
  });

  test("a LogoutRequest with another user's NameID for a SessionIndex ends nothing", async () => {
    const sp = serviceProvider('tickets', postApp.provider.signing_certificate, {
      entryPoint: endpoints('tickets').ssoPost,
      authnRequestBinding: 'HTTP-POST',
      wantAuthnResponseSigned: true,
      privateKey: undefined,
      idpIssuer: 'https://gatehouse.example/tickets',
    });
    const browser = newBrowser(t);
    const message = (await sp.getAuthorizeMessageAsync('')) as Record<string, string>;
    const page = await browse(browser, await browser.request('POST', '/application/saml/tickets/sso/binding/post/', new URLSearchParams(message).toString()), LOGIN);
    assert.ok(!(page instanceof URL));
    const { profile } = await sp.validatePostResponseAsync(postForm(page.body).fields);
    const xml = logoutRequestXml({ destination: endpoints('tickets').sloPost, nameId: 'otto@example.com', sessionIndex: profile?.sessionIndex as string });
    const res = await t.app.inject({
      method: 'POST',
      url: '/application/saml/tickets/slo/binding/post/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ SAMLRequest: Buffer.from(xml).toString('base64') }).toString(),
    });
    assert.equal(res.statusCode, 200);
    const init = await browser.request('GET', '/application/saml/tickets/sso/binding/init/');
    const resume = await browser.request('GET', init.headers.location as string);
    assert.equal(resume.statusCode, 200, 'still signed in: straight to the POST form');
    assert.match(resume.body, /SAMLResponse/);

    // The real owner's logout still works afterwards.
    const own = logoutRequestXml({ destination: endpoints('tickets').sloPost, nameId: profile?.nameID as string, sessionIndex: profile?.sessionIndex as string });
    await t.app.inject({
      method: 'POST',
      url: '/application/saml/tickets/slo/binding/post/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ SAMLRequest: Buffer.from(own).toString('base64') }).toString(),
    });
    const initAgain = await browser.request('GET', '/application/saml/tickets/sso/binding/init/');
    const ended = await browser.request('GET', initAgain.headers.location as string);
    assert.match(String(ended.headers.location ?? ''), /default-authentication-flow/);
  });
});
