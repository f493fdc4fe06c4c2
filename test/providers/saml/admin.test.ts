import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import { certificateBody } from '../../../src/core/certificates.ts';
import { createTestApp, rejectionCheck, type TestApp } from '../../support/app.ts';
import { ACS, addSamlApp, endpoints, implicitFlowPk, SLS, SP_ENTITY, spKeys } from './spHarness.ts';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
let t: TestApp;
let flow: string;
let assertRejected: ReturnType<typeof rejectionCheck>;

before(async () => {
  t = await createTestApp();
  flow = await implicitFlowPk(t);
  assertRejected = rejectionCheck(t, ['/api/v3/events/events/', '/api/v3/providers/all/']);
});
after(() => t.close());

test('a SAML provider gets its own key pair and certificate, Authentik defaults, and CRUD with events', async () => {
  const created = await addSamlApp(t, 'crm', {});
  const application = created.application;
  const provider = (await t.api('GET', `/api/v3/providers/saml/${created.provider.pk}/`)).json();
  assert.equal(provider.component, 'ak-provider-saml-form');
  assert.equal(provider.assigned_application_slug, 'crm');
  assert.equal(provider.sp_binding, 'redirect');
  assert.equal(provider.sign_assertion, true);
  assert.equal(provider.sign_response, false);
  assert.equal(provider.digest_algorithm, 'http://www.w3.org/2001/04/xmlenc#sha256');
  assert.equal(provider.signature_algorithm, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  assert.equal(provider.assertion_valid_not_before, 'minutes=-5');
  assert.equal(provider.url_sso_redirect, 'http://localhost:80/application/saml/crm/sso/binding/redirect/');
  assert.equal(provider.url_download_metadata, 'http://localhost:80/application/saml/crm/metadata/?download');
  const certificate = new X509Certificate(provider.signing_certificate);
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(application.provider_obj.meta_model_name, 'authentik_providers_saml.samlprovider');
  // The private key is stored sealed, never in clear.
  const { rows } = await t.deps.db.query<{ signing_key_encrypted: string }>('SELECT signing_key_encrypted FROM saml_providers WHERE provider_id = $1', [provider.pk]);
  assert.match(rows[0]?.signing_key_encrypted ?? '', /^v1\./);
  assert.doesNotMatch(JSON.stringify(provider), /PRIVATE KEY/);

  const patched = await t.api('PATCH', `/api/v3/providers/saml/${provider.pk}/`, { sp_binding: 'post', name_id_mapping: 'username', verification_certificate: spKeys.certificatePem });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().sp_binding, 'post');
  assert.equal(patched.json().signing_certificate, provider.signing_certificate, 'the key pair stays');
  assert.equal((await t.api('GET', '/api/v3/providers/saml/?name=crm-provider')).json().pagination.count, 1);
  const events = (await t.api('GET', '/api/v3/events/events/?action=model_updated')).json();
  assert.equal(events.results[0].context.model.model_name, 'saml_provider');

  assert.equal((await t.api('DELETE', `/api/v3/providers/saml/${provider.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', `/api/v3/providers/saml/${provider.pk}/`)).statusCode, 404);
  assert.equal((await t.api('GET', '/api/v3/core/applications/crm/')).json().provider, null);
});

test('bad fields answer 400 on the field and write nothing', async () => {
  const base = { name: 'bad', authorization_flow: flow, acs_url: ACS };
  await assertRejected('POST', '/api/v3/providers/saml/', { ...base, acs_url: 'javascript:alert(1)' }, 'acs_url');
  await assertRejected('POST', '/api/v3/providers/saml/', { ...base, sp_binding: 'artifact' }, 'sp_binding');
  await assertRejected('POST', '/api/v3/providers/saml/', { ...base, assertion_valid_not_on_or_after: 'soon' }, 'assertion_valid_not_on_or_after');
  await assertRejected('POST', '/api/v3/providers/saml/', { ...base, signature_algorithm: 'http://www.w3.org/2000/09/xmldsig#dsa-sha1' }, 'signature_algorithm');
  await assertRejected('POST', '/api/v3/providers/saml/', { ...base, verification_certificate: 'not a certificate' }, 'verification_certificate');
  await assertRejected('POST', '/api/v3/providers/saml/', { ...base, authorization_flow: '00000000-0000-4000-8000-000000000000' }, 'authorization_flow');
  await assertRejected('POST', '/api/v3/providers/saml/', { ...base, verification_kp: '3f5cbd43-0000-4000-8000-000000000000' }, 'verification_kp');
  // Authentik's signing_kp reference is accepted and ignored: the provider makes its own key.
  const withKp = await t.api('POST', '/api/v3/providers/saml/', { ...base, name: 'with-kp', signing_kp: '3f5cbd43-0000-4000-8000-000000000000', verification_kp: null });
  assert.equal(withKp.statusCode, 201, withKp.body);
  assert.match(withKp.json().signing_kp, /^[0-9a-f]{64}$/);
  await assertRejected('POST', '/api/v3/providers/saml/import_metadata/', { name: 'imp', authorization_flow: flow, file: '<!DOCTYPE x><x/>' }, 'file');
  assert.equal((await t.api('GET', '/api/v3/providers/saml/', undefined, null)).statusCode, 401);
  const paths = Object.keys((await t.api('GET', '/api/v3/schema/')).json().paths);
  for (const path of ['/providers/saml/', '/providers/saml/{pk}/', '/providers/saml/import_metadata/']) assert.ok(paths.includes(path), path);
});

test('metadata lists the certificate and both bindings for SSO and SLO; ?download is an attachment', async () => {
  const { provider } = await addSamlApp(t, 'docs', {});
  const res = await t.app.inject({ method: 'GET', url: '/application/saml/docs/metadata/' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /application\/xml/);
  const doc = new DOMParser().parseFromString(res.body, 'text/xml');
  const root = doc.documentElement as unknown as Element;
  assert.equal(root.getAttribute('entityID'), 'https://gatehouse.example/docs');
  const descriptor = doc.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  assert.equal(descriptor?.getAttribute('WantAuthnRequestsSigned'), 'false');
  const text = (name: string) => Array.from(doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', name)).map((e) => e.textContent);
  assert.deepEqual(text('X509Certificate'), [certificateBody(provider.signing_certificate)]);
  const services = (name: string) =>
    Array.from(doc.getElementsByTagNameNS(MD, name)).map((e) => `${e.getAttribute('Binding')?.split(':').pop()} ${e.getAttribute('Location')}`);
  assert.deepEqual(services('SingleSignOnService'), [`HTTP-Redirect ${endpoints('docs').ssoRedirect}`, `HTTP-POST ${endpoints('docs').ssoPost}`]);
  assert.deepEqual(services('SingleLogoutService'), [`HTTP-Redirect ${endpoints('docs').sloRedirect}`, `HTTP-POST ${endpoints('docs').sloPost}`]);
  const viaApi = await t.api('GET', `/api/v3/providers/saml/${provider.pk}/metadata/`);
  assert.equal(viaApi.json().metadata, res.body);
  const apiDownload = await t.api('GET', `/api/v3/providers/saml/${provider.pk}/metadata/?download`);
  assert.equal(apiDownload.body, res.body);
  assert.match(String(apiDownload.headers['content-disposition']), /attachment/);
  const download = await t.app.inject({ method: 'GET', url: '/application/saml/docs/metadata/?download' });
  assert.match(String(download.headers['content-disposition']), /^attachment; filename="docs-metadata.xml"$/);
  assert.equal((await t.app.inject({ method: 'GET', url: '/application/saml/nope/metadata/' })).statusCode, 404);
});

test("importing node-saml's SP metadata makes a provider with its entity ID, ACS, SLS and signing certificate", async () => {
  const xml = generateServiceProviderMetadata({
    issuer: SP_ENTITY,
    callbackUrl: ACS,
    logoutCallbackUrl: SLS,
    publicCerts: spKeys.certificatePem,
    privateKey: spKeys.privateKeyPem,
    decryptionCert: null,
    wantAssertionsSigned: true,
  } as Parameters<typeof generateServiceProviderMetadata>[0]);
  const res = await t.api('POST', '/api/v3/providers/saml/import_metadata/', { name: 'imported', authorization_flow: flow, file: xml });
  assert.equal(res.statusCode, 204, res.body);
  const provider = (await t.api('GET', '/api/v3/providers/saml/?name=imported')).json().results[0];
  assert.equal(provider.audience, SP_ENTITY);
  assert.equal(provider.acs_url, ACS);
  assert.equal(provider.sp_binding, 'post');
  assert.equal(provider.sls_url, SLS);
  assert.equal(certificateBody(provider.verification_certificate), certificateBody(spKeys.certificatePem));
  const events = (await t.api('GET', '/api/v3/events/events/?action=model_created')).json();
  assert.equal(events.results[0].context.model.name, 'imported');
});
