// `gatehouse all` serving an LDAP outpost created after start, and `gatehouse ldap` as its own
// process with nothing but GATEHOUSE_HOST and GATEHOUSE_TOKEN: both answer ldapwhoami.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { eventually, ldapTool } from '../support/ldap.ts';
import { freePort, type RunningGatehouse, startGatehouse, waitFor } from '../support/processes.ts';

const TOKEN = 'ldap-processes-bootstrap-token-0123456789';
const PASSWORD = 'Ldap-Admin-Pass-1!';
const BASE = 'dc=proc,dc=example';
const ADMIN_DN = `cn=akadmin,ou=users,${BASE}`;
const dataDir = mkdtempSync(join(tmpdir(), 'gh-ldap-proc-'));
let port: number;
let ldapPort: number;
let core: RunningGatehouse;
let outpostToken = '';

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
};

before(async () => {
  port = await freePort();
  ldapPort = await freePort();
  core = startGatehouse(
    ['all'],
    {
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}`,
      GATEHOUSE_LISTEN__LDAP: `127.0.0.1:${ldapPort}`,
      GATEHOUSE_LISTEN__LDAPS: `127.0.0.1:${await freePort()}`,
      GATEHOUSE_BOOTSTRAP_PASSWORD: PASSWORD,
      GATEHOUSE_BOOTSTRAP_EMAIL: 'admin@example.com',
      GATEHOUSE_BOOTSTRAP_TOKEN: TOKEN,
    },
    port,
  );
  await waitFor(core, '/-/health/ready/');
});
after(async () => {
  await core?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('`gatehouse all` starts serving an LDAP outpost created after it started', async () => {
  const flow = (await api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json.results[0].pk;
  const provider = await api('POST', '/api/v3/providers/ldap/', { name: 'proc-ldap', authorization_flow: flow, base_dn: BASE });
  assert.equal(provider.status, 201);
  await api('POST', '/api/v3/core/applications/', { name: 'Proc', slug: 'proc', provider: provider.json.pk });
  const outpost = await api('POST', '/api/v3/outposts/instances/', { name: 'proc-outpost', type: 'ldap', providers: [provider.json.pk] });
  assert.equal(outpost.status, 201);
  outpostToken = (await api('GET', `/api/v3/core/tokens/${outpost.json.token_identifier}/view_key/`)).json.key;
  let last = '';
  const whoami = async () => {
    const result = await ldapTool('ldapwhoami', ['-x', '-H', `ldap://127.0.0.1:${ldapPort}`, '-D', ADMIN_DN, '-w', PASSWORD]);
    last = `ldapwhoami ${result.code}: ${result.stderr.trim()}`;
    return result.code === 0;
  };
  // Picked up within a second or two; the margin is for a busy CI machine, and a miss says why.
  await eventually(whoami, 20_000, () => `${last}\n${core.output().slice(-4000)}`);
});

test('`gatehouse ldap` binds and searches with only GATEHOUSE_HOST and GATEHOUSE_TOKEN', async () => {
  const standalonePort = await freePort();
  const ldapsPort = await freePort();
  const outpost = startGatehouse(['ldap'], {
    GATEHOUSE_HOST: `http://127.0.0.1:${port}`,
    GATEHOUSE_TOKEN: outpostToken,
    GATEHOUSE_LISTEN__LDAP: `127.0.0.1:${standalonePort}`,
    GATEHOUSE_LISTEN__LDAPS: `127.0.0.1:${ldapsPort}`,
  });
  try {
    const url = `ldap://127.0.0.1:${standalonePort}`;
    await eventually(async () => (await ldapTool('ldapwhoami', ['-x', '-H', url, '-D', ADMIN_DN, '-w', PASSWORD])).code === 0, 10_000);
    const res = await ldapTool('ldapsearch', ['-x', '-LLL', '-H', url, '-D', ADMIN_DN, '-w', PASSWORD, '-b', BASE, '(cn=akadmin)', 'memberOf']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`memberOf: cn=admins,ou=groups,${BASE}`));
    assert.equal((await ldapTool('ldapwhoami', ['-x', '-H', url, '-D', ADMIN_DN, '-w', 'wrong'])).code, 49);

    // No certificate configured: a self-signed one, valid for 127.0.0.1, signed by its own key.
    const cert = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: ldapsPort, rejectUnauthorized: false }, () => {
        resolve(new X509Certificate(socket.getPeerCertificate().raw));
        socket.destroy();
      });
      socket.on('error', reject);
    });
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.ok(cert.checkIP('127.0.0.1'), cert.subjectAltName);
    const ldaps = await ldapTool('ldapwhoami', ['-x', '-H', `ldaps://127.0.0.1:${ldapsPort}`, '-D', ADMIN_DN, '-w', PASSWORD], {
      LDAPTLS_REQCERT: 'never',
    });
    assert.equal(ldaps.stdout.trim(), `dn:${ADMIN_DN}`, ldaps.stderr);
  } finally {
    await outpost.stop();
  }
  assert.doesNotMatch(outpost.output(), /POSTGRES|password/i, 'no database settings needed or logged');
});

test('`gatehouse ldap` without its token stops with one line naming the setting', async () => {
  const outpost = startGatehouse(['ldap'], { GATEHOUSE_HOST: `http://127.0.0.1:${port}` });
  assert.equal(await outpost.exited, 78);
  assert.match(outpost.output(), /GATEHOUSE_TOKEN/);
});
