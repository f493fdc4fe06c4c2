import assert from 'node:assert/strict';
import { SAML, type SamlConfig, ValidateInResponseTo } from '@node-saml/node-saml';
import type { LightMyRequestResponse } from 'fastify';
import { certificateBody, generateSigningCertificate } from '../../../src/core/certificates.ts';
import type { TestApp } from '../../support/app.ts';
import { TestBrowser } from '../../support/browser.ts';

// The service-provider side of the SAML tests: node-saml (an SP library written independently
// of Gatehouse) talking to the app through a cookie-keeping browser over inject().

export const ORIGIN = 'http://localhost:80';
export const SP_ENTITY = 'https://sp.example/saml';
export const ACS = 'https://sp.example/saml/acs';
export const SLS = 'https://sp.example/saml/sls';

export const spKeys = await generateSigningCertificate('test SP', new Date());

export const endpoints = (slug: string) => {
  const base = `${ORIGIN}/application/saml/${slug}`;
  return {
    ssoRedirect: `${base}/sso/binding/redirect/`,
    ssoPost: `${base}/sso/binding/post/`,
    init: `${base}/sso/binding/init/`,
    sloRedirect: `${base}/slo/binding/redirect/`,
    sloPost: `${base}/slo/binding/post/`,
    metadata: `${base}/metadata/`,
  };
};

export async function implicitFlowPk(t: TestApp): Promise<string> {
  return (await t.api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).json().results[0].pk;
}

/** A SAML provider and its application through the admin API, as an admin would make them. */
export async function addSamlApp(t: TestApp, slug: string, fields: Record<string, unknown> = {}) {
  const res = await t.api('POST', '/api/v3/providers/saml/', {
    name: `${slug}-provider`,
    authorization_flow: await implicitFlowPk(t),
    acs_url: ACS,
    audience: SP_ENTITY,
    issuer: `https://gatehouse.example/${slug}`,
    ...fields,
  });
  assert.equal(res.statusCode, 201, res.body);
  const provider = res.json();
  const app = await t.api('POST', '/api/v3/core/applications/', { name: `App ${slug}`, slug, provider: provider.pk });
  assert.equal(app.statusCode, 201, app.body);
  return { provider, application: app.json() };
}

/** node-saml configured against one of our applications. */
export function serviceProvider(slug: string, idpCertificatePem: string, options: Partial<SamlConfig> = {}): SAML {
  return new SAML({
    callbackUrl: ACS,
    entryPoint: endpoints(slug).ssoRedirect,
    logoutUrl: endpoints(slug).sloRedirect,
    issuer: SP_ENTITY,
    audience: SP_ENTITY,
    idpCert: certificateBody(idpCertificatePem),
    idpIssuer: `https://gatehouse.example/${slug}`,
    privateKey: spKeys.privateKeyPem,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    ...options,
  });
}

const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const decodeEntities = (text: string) => text.replace(/&(amp|lt|gt|quot|#39);/g, (m) => entities[m] as string);

/** The action and hidden fields of the POST-binding page. */
export function postForm(page: string): { action: string; fields: Record<string, string> } {
  const action = /<form id="saml-post" method="post" action="([^"]*)"/.exec(page)?.[1];
  assert.ok(action, `a POST-binding form: ${page.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const match of page.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[decodeEntities(match[1] as string)] = decodeEntities(match[2] as string);
  }
  return { action: decodeEntities(action), fields };
}

export const pathOf = (url: string) => {
  const parsed = new URL(url, ORIGIN);
  return parsed.origin === new URL(ORIGIN).origin ? parsed.pathname + parsed.search : null;
};

/**
 * Follows redirects inside Gatehouse, logging in when sent to the login flow, until a page (the
 * Response) or a redirect out of Gatehouse (its URL).
 */
export async function browse(browser: TestBrowser, first: LightMyRequestResponse, login?: { username: string; password: string }) {
  let res = first;
  for (let hops = 0; hops < 12; hops += 1) {
    const location = res.headers.location;
    if (typeof location !== 'string' || res.statusCode < 300 || res.statusCode >= 400) return res;
    const path = pathOf(location);
    if (path === null) return new URL(location);
    const target = new URL(location, ORIGIN);
    if (target.pathname === '/if/flow/default-authentication-flow/') {
      assert.ok(login, 'a login was asked for');
      const next = target.searchParams.get('next') ?? '';
      const done = await browser.login(login.username, login.password, `next=${next}`);
      assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
      res = await browser.request('GET', done.to as string);
    } else {
      res = await browser.request('GET', path);
    }
  }
  throw new Error('too many redirects');
}

export const newBrowser = (t: TestApp) => new TestBrowser(t.app);
