import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { generateSigningCertificate } from '../../../src/core/certificates.ts';
import { createTestApp, type TestApp } from '../../support/app.ts';
import { authnRequestXml, logoutRequestXml } from './messages.ts';
import { ACS, addSamlApp, endpoints, newBrowser, pathOf, serviceProvider, spKeys } from './spHarness.ts';

// Every request here is refused: a 400 page, an audit event naming why, and nothing pending
// (so no assertion can follow).

const DS = 'http://www.w3.org/2000/09/xmldsig#';
let t: TestApp;
let guardedCert: string;

const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
const serialize = (doc: Document) => new XMLSerializer().serializeToString(doc as never);
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

async function expectRefused(
  send: (browser: ReturnType<typeof newBrowser>) => Promise<{ statusCode: number; body: string }>,
  action: 'suspicious_request' | 'configuration_error',
  kind: string,
) {
  const count = async () => (await t.api('GET', `/api/v3/events/events/?action=${action}`)).json().pagination.count as number;
  const before = await count();
  const browser = newBrowser(t);
  const res = await send(browser);
  assert.equal(res.statusCode, 400, res.body);
  assert.match(res.body, /SAML request refused/);
  assert.doesNotMatch(res.body, /SAMLResponse/);
  assert.equal(await count(), before + 1, `one ${action} event`);
  const latest = (await t.api('GET', `/api/v3/events/events/?action=${action}`)).json().results[0];
  assert.equal(latest.context.saml_error, kind);
  // Nothing is waiting to be answered for this browser.
  for (const slug of ['guarded', 'open']) {
    const resume = await browser.request('GET', `/application/saml/${slug}/sso/binding/resume/`);
    assert.equal(resume.statusCode, 400);
  }
}

const redirectGet = (slug: string, xml: string, extra = '') => (browser: ReturnType<typeof newBrowser>) =>
  browser.request('GET', `/application/saml/${slug}/sso/binding/redirect/?SAMLRequest=${encodeURIComponent(deflateRawSync(xml).toString('base64'))}${extra}`);
const postForm = (slug: string, xml: string) => (browser: ReturnType<typeof newBrowser>) =>
  browser.request('POST', `/application/saml/${slug}/sso/binding/post/`, new URLSearchParams({ SAMLRequest: b64(xml) }).toString());

/** An AuthnRequest signed by the SP over the POST binding (node-saml signs it). */
async function signedPostRequest(): Promise<string> {
  const sp = serviceProvider('guarded', guardedCert, { entryPoint: endpoints('guarded').ssoPost, authnRequestBinding: 'HTTP-POST', skipRequestCompression: true });
  const message = (await sp.getAuthorizeMessageAsync('')) as Record<string, string>;
  return Buffer.from(message.SAMLRequest as string, 'base64').toString('utf8');
}

describe('SAML requests that must be refused', () => {
  before(async () => {
    t = await createTestApp();
    guardedCert = (await addSamlApp(t, 'guarded', { sp_binding: 'post', verification_certificate: spKeys.certificatePem })).provider.signing_certificate;
    await addSamlApp(t, 'open', { sp_binding: 'post' });
  });
  after(() => t?.close());

  test('a correctly signed POST request is accepted (the baseline the attacks below start from)', async () => {
    const res = await postForm('guarded', await signedPostRequest())(newBrowser(t));
    assert.equal(res.statusCode, 303, res.body);
  });

  test('an unsigned request where the provider has the SP certificate', async () => {
    await expectRefused(redirectGet('guarded', authnRequestXml({ destination: endpoints('guarded').ssoRedirect })), 'suspicious_request', 'unsigned');
    await expectRefused(postForm('guarded', authnRequestXml({ destination: endpoints('guarded').ssoPost })), 'suspicious_request', 'unsigned');
  });

  test('a Redirect request signed with another key, or changed after signing', async () => {
    const other = await generateSigningCertificate('intruder', new Date());
    const forger = serviceProvider('guarded', guardedCert, { privateKey: other.privateKeyPem });
    await expectRefused((b) => forger.getAuthorizeUrlAsync('', undefined, {}).then((url) => b.request('GET', pathOf(url) as string)), 'suspicious_request', 'bad_signature');

    const honest = serviceProvider('guarded', guardedCert);
    const url = new URL(await honest.getAuthorizeUrlAsync('relay', undefined, {}));
    url.searchParams.set('RelayState', 'changed');
    await expectRefused((b) => b.request('GET', pathOf(url.href) as string), 'suspicious_request', 'bad_signature');
  });

  test('signature stripping: the signed POST request with its Signature removed', async () => {
    const doc = parse(await signedPostRequest());
    const signature = doc.getElementsByTagNameNS(DS, 'Signature')[0] as Element;
    signature.parentNode?.removeChild(signature);
    await expectRefused(postForm('guarded', serialize(doc)), 'suspicious_request', 'unsigned');
  });

  test('a signed POST request whose ACS URL was changed after signing', async () => {
    const xml = (await signedPostRequest()).replace(ACS, 'https://evil.example/acs');
    await expectRefused(postForm('guarded', xml), 'suspicious_request', 'bad_signature');
  });

  test('XSW: an evil request wrapping the signed one, the signature moved to the evil root', async () => {
    const signed = parse(await signedPostRequest());
    const original = signed.documentElement;
    const signature = original.getElementsByTagNameNS(DS, 'Signature')[0] as Element;
    const evil = parse(authnRequestXml({ destination: endpoints('guarded').ssoPost, acs: 'https://evil.example/acs' }));
    const root = evil.documentElement;
    original.removeChild(signature);
    const extensions = evil.createElementNS('urn:oasis:names:tc:SAML:2.0:protocol', 'samlp:Extensions');
    extensions.appendChild(evil.importNode(original, true));
    root.insertBefore(evil.importNode(signature, true), (root.firstChild as Node).nextSibling);
    root.appendChild(extensions);
    await expectRefused(postForm('guarded', serialize(evil)), 'suspicious_request', 'bad_signature');
  });

  test('XSW: an evil root with the same ID as the signed request it wraps', async () => {
    const signed = parse(await signedPostRequest());
    const original = signed.documentElement;
    const evil = parse(authnRequestXml({ destination: endpoints('guarded').ssoPost, acs: 'https://evil.example/acs', id: original.getAttribute('ID') as string }));
    const root = evil.documentElement;
    const signature = original.getElementsByTagNameNS(DS, 'Signature')[0] as Element;
    root.insertBefore(evil.importNode(signature, true), (root.firstChild as Node).nextSibling);
    const extensions = evil.createElementNS('urn:oasis:names:tc:SAML:2.0:protocol', 'samlp:Extensions');
    extensions.appendChild(evil.importNode(original, true));
    root.appendChild(extensions);
    await expectRefused(postForm('guarded', serialize(evil)), 'suspicious_request', 'bad_signature');
  });

  test('XSW: the signed request kept whole, a second unsigned request appended after it', async () => {
    const xml = await signedPostRequest();
    const evil = authnRequestXml({ destination: endpoints('guarded').ssoPost, acs: 'https://evil.example/acs' }).replace(/^<\?xml[^>]*\?>/, '');
    await expectRefused(postForm('guarded', `${xml}${evil}`), 'suspicious_request', 'malformed');
  });

  test('bad base64, bad deflate, a DOCTYPE, or not an AuthnRequest', async () => {
    await expectRefused((b) => b.request('GET', '/application/saml/open/sso/binding/redirect/?SAMLRequest=%%%'), 'suspicious_request', 'malformed');
    await expectRefused((b) => b.request('GET', `/application/saml/open/sso/binding/redirect/?SAMLRequest=${encodeURIComponent(b64('not deflated'))}`), 'suspicious_request', 'malformed');
    const bomb = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>${authnRequestXml({}).replace(/^<\?xml[^>]*\?>/, '')}`;
    await expectRefused(postForm('open', bomb), 'suspicious_request', 'malformed');
    await expectRefused(postForm('open', logoutRequestXml({ destination: endpoints('open').ssoPost, nameId: 'x', sessionIndex: 'y' })), 'suspicious_request', 'malformed');
  });

  test('a RelayState longer than 2 KiB', async () => {
    const xml = authnRequestXml({ destination: endpoints('open').ssoPost });
    await expectRefused(
      (b) => b.request('POST', '/application/saml/open/sso/binding/post/', new URLSearchParams({ SAMLRequest: b64(xml), RelayState: 'r'.repeat(3000) }).toString()),
      'suspicious_request',
      'malformed',
    );
  });

  test('an unknown SP, a foreign ACS URL, another Destination', async () => {
    await expectRefused(postForm('open', authnRequestXml({ issuer: 'https://other-sp.example/' })), 'configuration_error', 'unknown_sp');
    await expectRefused(postForm('open', authnRequestXml({ acs: 'https://evil.example/acs' })), 'configuration_error', 'bad_acs');
    await expectRefused(postForm('open', authnRequestXml({ destination: endpoints('guarded').ssoPost })), 'configuration_error', 'bad_destination');
  });

  test('a request too old, and a request ID seen before', async () => {
    const old = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    await expectRefused(postForm('open', authnRequestXml({ issueInstant: old })), 'configuration_error', 'expired');
    const xml = authnRequestXml({ destination: endpoints('open').ssoPost });
    assert.equal((await postForm('open', xml)(newBrowser(t))).statusCode, 303);
    await expectRefused(postForm('open', xml), 'suspicious_request', 'replay');
  });

  test('a comment inside a LogoutRequest NameID is refused, not truncated', async () => {
    const xml = logoutRequestXml({ destination: endpoints('open').sloPost, nameId: 'sally@example.com', sessionIndex: '_abc', commentInNameId: true });
    await expectRefused(
      (b) => b.request('POST', '/application/saml/open/slo/binding/post/', new URLSearchParams({ SAMLRequest: b64(xml) }).toString()),
      'suspicious_request',
      'malformed',
    );
  });
});
