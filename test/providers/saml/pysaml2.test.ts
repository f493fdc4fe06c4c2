import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../../support/app.ts';
import { addUser } from '../harness.ts';
import { ACS, addSamlApp, browse, newBrowser, pathOf, postForm, SP_ENTITY } from './spHarness.ts';

// pysaml2 (Debian's python3-pysaml2, signatures checked by xmlsec1) as a second SP written
// independently of both Gatehouse and node-saml.

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('./pysaml2_sp.py', import.meta.url).pathname;
const hasPysaml2 = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import saml2']).status === 0;

function pysaml2(job: Record<string, unknown>): Record<string, unknown> {
  const run = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(job), encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `pysaml2: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

let t: TestApp;

describe('SAML with pysaml2 as the SP', { skip: !hasPysaml2 && 'needs python3-pysaml2 (apt-get install python3-pysaml2)' }, () => {
  before(async () => {
    t = await createTestApp();
    await addUser(t, 'pia', 'pia-password-1');
    await addSamlApp(t, 'pyapp', { sp_binding: 'post', issuer: 'https://gatehouse.example/pyapp' });
  });
  after(() => t?.close());

  test('SP-initiated login: pysaml2 verifies our signed assertion with xmlsec1 and reads the attributes', async () => {
    const idpMetadata = (await t.app.inject({ method: 'GET', url: '/application/saml/pyapp/metadata/' })).body;
    const common = { entity_id: SP_ENTITY, acs: ACS, idp_metadata: idpMetadata, idp_entity_id: 'https://gatehouse.example/pyapp' };
    const request = pysaml2({ ...common, mode: 'request' }) as { id: string; url: string };
    const browser = newBrowser(t);
    const page = await browse(browser, await browser.request('GET', pathOf(request.url) as string), { username: 'pia', password: 'pia-password-1' });
    assert.ok(!(page instanceof URL));
    const form = postForm(page.body);
    assert.equal(form.fields.RelayState, 'py-relay');
    const answer = pysaml2({ ...common, mode: 'response', outstanding: request.id, response: form.fields.SAMLResponse }) as {
      name_id: string;
      attributes: Record<string, string[]>;
      in_response_to: string;
    };
    assert.equal(answer.in_response_to, request.id);
    assert.match(answer.name_id, /^[0-9a-f]{64}$/, 'the hashed user id by default');
    assert.deepEqual(answer.attributes['http://schemas.goauthentik.io/2021/02/saml/username'], ['pia']);
    assert.deepEqual(answer.attributes['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'], ['pia@example.com']);

    // A byte changed inside the signed assertion: xmlsec1 refuses it.
    const xml = Buffer.from(form.fields.SAMLResponse as string, 'base64').toString('utf8').replace('>pia<', '>eve<');
    const run = spawnSync(PYTHON, [SCRIPT], {
      input: JSON.stringify({ ...common, mode: 'response', outstanding: request.id, response: Buffer.from(xml).toString('base64') }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /signature/i);
  });
});
