import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { CoreClient } from '../../src/outposts/ldap/coreClient.ts';
import { LdapOutpost } from '../../src/outposts/ldap/outpost.ts';
import { type RunningLdapServer, startLdapServer } from '../../src/outposts/ldap/server.ts';
import { createTestApp, type TestApp } from './app.ts';
import { freePort } from './processes.ts';
import { TcpProxy } from './tcpProxy.ts';

// A real core on a real port, an LDAP provider, application and outpost made through the API,
// and the outpost in this process talking to the core over HTTP (through a proxy a test can
// cut) — what `gatehouse ldap` does, with ports chosen by the OS.

export const BASE = 'dc=test,dc=example';
export const userDn = (name: string) => `cn=${name},ou=users,${BASE}`;
/** A user's primary group, as Authentik serves it. */
export const virtualGroupDn = (name: string) => `cn=${name},ou=virtual-groups,${BASE}`;

export interface LdapHarness {
  t: TestApp;
  providerPk: number;
  applicationSlug: string;
  outpostPk: string;
  token: string;
  proxy: TcpProxy;
  outpost: LdapOutpost;
  server: RunningLdapServer;
  ldapUrl: string;
  ldapsUrl: string;
  caFile: string;
  close(): Promise<void>;
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl CLI. */
export function makeTestCa(): { dir: string; caFile: string; certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gh-ldap-ca-'));
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=Gatehouse Test CA'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync(
    'openssl',
    ['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('server.crt'), '-days', '2', '-extfile', at('ext.cnf')],
    { stdio: 'ignore' },
  );
  return { dir, caFile: at('ca.crt'), certFile: at('server.crt'), keyFile: at('server.key') };
}

export async function addUser(t: TestApp, username: string, password: string, groups: string[] = []) {
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username,
    name: `${username[0]?.toUpperCase()}${username.slice(1)} Example`,
    email: `${username}@example.com`,
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
    groups,
  });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, password);
  return user;
}

/** `env`: GATEHOUSE_* settings of the core (e.g. its rate limits). */
export async function createLdapHarness(providerFields: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<LdapHarness> {
  const t = await createTestApp(env);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const corePort = (t.app.server.address() as { port: number }).port;
  const flows = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json();
  const provider = await t.api('POST', '/api/v3/providers/ldap/', {
    name: 'test-ldap',
    authorization_flow: flows.results[0].pk,
    base_dn: BASE,
    ...providerFields,
  });
  assert.equal(provider.statusCode, 201, provider.body);
  const providerPk = provider.json().pk as number;
  const app = await t.api('POST', '/api/v3/core/applications/', { name: 'Test LDAP', slug: 'test-ldap', provider: providerPk });
  assert.equal(app.statusCode, 201, app.body);
  const outpost = await t.api('POST', '/api/v3/outposts/instances/', { name: 'test-outpost', type: 'ldap', providers: [providerPk] });
  assert.equal(outpost.statusCode, 201, outpost.body);
  const { pk: outpostPk, token_identifier } = outpost.json();
  const view = await t.api('GET', `/api/v3/core/tokens/${token_identifier}/view_key/`);
  assert.equal(view.statusCode, 200, view.body);
  const token = view.json().key as string;

  const proxy = new TcpProxy({ host: '127.0.0.1', port: corePort });
  await proxy.start();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const ldapOutpost = new LdapOutpost(new CoreClient({ host: `http://127.0.0.1:${proxy.port}`, token }), logger, 60, { reportEveryMs: 500 });
  await ldapOutpost.start();
  const ca = makeTestCa();
  const server = await startLdapServer({
    outposts: () => [ldapOutpost],
    logger,
    ldap: { host: '127.0.0.1', port: 0 },
    ldaps: { host: '127.0.0.1', port: 0 },
    tls: { certPath: ca.certFile, keyPath: ca.keyFile },
  });
  return {
    t,
    providerPk,
    applicationSlug: 'test-ldap',
    outpostPk,
    token,
    proxy,
    outpost: ldapOutpost,
    server,
    ldapUrl: `ldap://127.0.0.1:${server.ports.ldap}`,
    ldapsUrl: `ldaps://127.0.0.1:${server.ports.ldaps}`,
    caFile: ca.caFile,
    async close() {
      ldapOutpost.stop();
      await server.close();
      await proxy.cut();
      await t.close();
    },
  };
}

/**
 * A test app listening on a free port, with free LDAP and LDAPS ports in its settings (`env`), as
 * `gatehouse all` runs: what startEmbeddedLdap needs. `ldapUrl` is where its listener will be.
 */
export async function createAppForEmbeddedLdap(): Promise<{ t: TestApp; env: Record<string, string>; ldapUrl: string }> {
  const [http, ldapPort, ldapsPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${http}`,
    GATEHOUSE_LISTEN__LDAP: `127.0.0.1:${ldapPort}`,
    GATEHOUSE_LISTEN__LDAPS: `127.0.0.1:${ldapsPort}`,
  };
  const t = await createTestApp(env);
  await t.app.listen({ host: '127.0.0.1', port: http });
  return { t, env, ldapUrl: `ldap://127.0.0.1:${ldapPort}` };
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an OpenLDAP client (ldapsearch, ldapwhoami, ldapmodify) without the machine's ldap.conf or ~/.ldaprc. */
export function ldapTool(tool: string, args: string[], env: Record<string, string> = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(tool, args, { env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), LDAPCONF: '/dev/null', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The DNs in ldapsearch -LLL output. */
export const dnsOf = (ldif: string): string[] =>
  ldif
    .replace(/\n /g, '')
    .split('\n')
    .filter((l) => l.startsWith('dn: '))
    .map((l) => l.slice(4));

/** The values of one attribute (any case) in ldapsearch -LLL -o ldif-wrap=no output, for every entry. */
export const valuesOf = (ldif: string, name: string): string[] =>
  ldif
    .split('\n')
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}: `))
    .map((l) => l.slice(name.length + 2));

/** ldapsearch bound as `bindDn`, unwrapped LDIF without comments (what the app-guide replays read). */
export const ldapsearchAs = (h: LdapHarness, bindDn: string, password: string, base: string, args: string[]): Promise<ToolResult> =>
  ldapTool('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', h.ldapUrl, '-D', bindDn, '-w', password, '-b', base, ...args]);

/** Creates a group (under `parent`, a group pk) through the API; its pk. */
export async function addGroup(t: TestApp, name: string, parent?: string): Promise<string> {
  const res = await t.api('POST', '/api/v3/core/groups/', { name, ...(parent ? { parent } : {}) });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().pk as string;
}

/** Waits until `check` holds, up to `ms`; `explain` says what was seen when it never did. */
export async function eventually(check: () => Promise<boolean>, ms = 3000, explain?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`condition not met within ${ms} ms${explain ? `: ${explain()}` : ''}`);
}
