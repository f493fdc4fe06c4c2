// The admin UI's LDAP, outpost, backup and recovery-mail parts in Chromium, as an admin uses
// them: the wizard makes an LDAP application restricted to a group and shows what to paste; the
// outposts page makes an outpost and shows its token once with the commands to run it; an
// outpost started here with that token answers ldapwhoami for the group's member and refuses
// anyone else; health, the last backup (a real one, checked by a restore) and a failed check show
// on the dashboard and the System page; a user is mailed a recovery link. Screenshots go under
// test-output/admin-ui/; the whole walk must cause no CSP violation and no script error.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { CoreClient } from '../../src/outposts/ldap/coreClient.ts';
import { LdapOutpost } from '../../src/outposts/ldap/outpost.ts';
import { type RunningLdapServer, startLdapServer } from '../../src/outposts/ldap/server.ts';
import { createBackup, reportBackup } from '../../src/worker/backup/run.ts';
import { buildWorkerServices } from '../../src/worker/services.ts';
import { ADMIN_PASSWORD } from '../support/app.ts';
import { TEST_SECRET_KEY } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { addUser, eventually, ldapTool, makeTestCa } from '../support/ldap.ts';
import { secretOf, totpCode } from '../support/oathtool.ts';
import { linkIn } from '../support/smtpSink.ts';
import { createWorkerTestApp, type WorkerTestApp } from '../worker/harness.ts';

const OUT = 'test-output/admin-ui';
const BASE_DN = 'dc=nas,dc=example';
const PASS = { alice: 'alice-Password-1', bob: 'bob-Password-1' };
const skip = !hasChromium && 'needs /usr/bin/chromium';

let t: WorkerTestApp;
let browser: Browser;
let admin: Page;
let base: string;
let nasUsers = '';
let searchers = '';
let providerPk = 0;
let outpostKey = '';
let outpost: LdapOutpost | null = null;
let server: RunningLdapServer | null = null;
let scratch = '';
const problems: string[] = [];
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const shot = (name: string) => admin.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
const copied = async (label: string) => ((await admin.locator(`[data-copy="${label}"] code, [data-copy="${label}"] pre`).first().textContent()) ?? '').trim();
async function open(hash: string, heading: string | RegExp) {
  const url = `${base}/if/admin/${hash}`;
  // The same address again is no navigation (only the hash would change): load it afresh.
  if (admin.url() === url) await admin.reload();
  else await admin.goto(url);
  await admin.getByRole('heading', { level: 1, name: heading }).waitFor();
}
const whoami = (url: string, user: string, password: string) => ldapTool('ldapwhoami', ['-x', '-H', url, '-D', `cn=${user},ou=users,${BASE_DN}`, '-w', password]);

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), 'gh-adminui-backup-'));
  t = await createWorkerTestApp({ GATEHOUSE_EMAIL__SIGN_IN_NOTICES: 'false' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(t.app.server.address() as { port: number }).port}`;
  nasUsers = (await t.api('POST', '/api/v3/core/groups/', { name: 'nas-users' })).json().pk;
  searchers = (await t.api('POST', '/api/v3/core/groups/', { name: 'ldap-searchers' })).json().pk;
  await addUser(t, 'alice', PASS.alice, [nasUsers]);
  const bob = await addUser(t, 'bob', PASS.bob);
  // bob has no address: no recovery mail can go to him.
  assert.equal((await t.api('PATCH', `/api/v3/core/users/${bob.id}/`, { email: '' })).statusCode, 200);
  browser = await launchChromium();
  admin = await (await browser.newContext()).newPage();
  admin.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  admin.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
  await admin.goto(`${base}/if/admin/`);
  await admin.getByLabel('Username or email').fill('akadmin');
  await admin.getByRole('button', { name: 'Log in' }).click();
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Continue' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
});
after(async () => {
  outpost?.stop();
  await server?.close();
  await browser?.close();
  await t?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('before anything: the dashboard says there is no outpost and no backup yet', { skip }, async () => {
  await open('#/dashboard', 'Dashboard');
  assert.match((await admin.locator('#dashboard-outposts').textContent()) ?? '', /None: .*LDAP needs an outpost/);
  assert.match((await admin.locator('#backup-state').textContent()) ?? '', /No backup has run yet/);
});

test('the wizard makes an LDAP application restricted to a group and shows what to paste', { skip }, async () => {
  await open('#/applications/new', 'New application');
  await admin.getByLabel('Name', { exact: true }).fill('Office NAS');
  await admin.getByLabel(/^LDAP/).check();
  assert.equal(await admin.getByLabel('Authorization flow').isVisible(), false, 'LDAP binds use the bind flow instead');
  await admin.getByLabel('Base DN').fill(BASE_DN);
  await admin.getByLabel('Search group').selectOption({ label: 'ldap-searchers' });
  await admin.getByRole('checkbox', { name: 'nas-users' }).check();
  await shot('30-wizard-ldap');
  await admin.getByRole('button', { name: 'Create application' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Office NAS' }).waitFor();
  // The harness sets GATEHOUSE_EXTERNAL_URL=https://auth.example.com: what apps use, not the address this browser used.
  assert.equal(await copied('LDAP URL'), 'ldap://auth.example.com:389');
  assert.equal(await copied('LDAPS URL'), 'ldaps://auth.example.com:636');
  assert.equal(await copied('Base DN'), BASE_DN);
  assert.equal(await copied('Bind DN (pattern)'), `cn=<username>,ou=users,${BASE_DN}`);
  assert.match((await admin.locator('#search-hint').textContent()) ?? '', /Members of ldap-searchers .* may search the whole directory/);
  assert.match((await admin.locator('#mfa-hint').textContent()) ?? '', /password;123456/);
  assert.match((await admin.locator('#no-outpost').textContent()) ?? '', /No outpost serves this provider yet/);
  await shot('31-app-ldap');

  // What the form made, through the API.
  const app = (await t.api('GET', '/api/v3/core/applications/office-nas/')).json();
  providerPk = app.provider;
  const provider = (await t.api('GET', `/api/v3/providers/ldap/${providerPk}/`)).json();
  const bindFlow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json().results[0].pk;
  assert.deepEqual([provider.base_dn, provider.search_group, provider.mfa_support, provider.authorization_flow], [BASE_DN, searchers, true, bindFlow]);
  const bindings = (await t.api('GET', `/api/v3/policies/bindings/?target=${app.pk}`)).json().results;
  assert.deepEqual(bindings.map((b: { group: string }) => b.group), [nasUsers]);
});

test('a base DN already in use is shown at its field, and nothing is created', { skip }, async () => {
  const before = (await t.api('GET', '/api/v3/providers/ldap/')).json().pagination.count;
  await open('#/applications/new?type=ldap', 'New application');
  await admin.getByLabel('Name', { exact: true }).fill('Second NAS');
  await admin.getByLabel('Base DN').fill(BASE_DN.toUpperCase());
  await admin.getByRole('button', { name: 'Create application' }).click();
  const error = admin.locator('[data-field="base_dn"] .error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /.+/);
  assert.equal(await admin.getByLabel('Base DN').getAttribute('aria-invalid'), 'true');
  assert.equal((await t.api('GET', '/api/v3/providers/ldap/')).json().pagination.count, before);
  assert.equal((await t.api('GET', '/api/v3/core/applications/second-nas/')).statusCode, 404);
});

test('the outposts page makes an outpost, shows its token once with how to run it, and ldapwhoami binds through it', { skip }, async () => {
  await open('#/applications/office-nas', 'Office NAS');
  await admin.getByRole('link', { name: 'Create an LDAP outpost' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Outposts' }).waitFor();
  assert.equal(await admin.getByRole('checkbox', { name: /Office NAS/ }).isChecked(), true, 'the app’s provider is ticked');
  await admin.getByLabel('Name').fill('office-ldap');
  await admin.getByRole('button', { name: 'Create outpost' }).click();
  await admin.locator('#outpost-token').waitFor();
  const outposts = (await t.api('GET', '/api/v3/outposts/instances/')).json().results;
  assert.equal(outposts.length, 1);
  assert.deepEqual([outposts[0].name, outposts[0].type, outposts[0].providers], ['office-ldap', 'ldap', [providerPk]]);
  outpostKey = await copied(`Token (ak-outpost-${outposts[0].pk}-api)`);
  assert.equal(outpostKey, (await t.api('GET', `/api/v3/core/tokens/ak-outpost-${outposts[0].pk}-api/view_key/`)).json().key);
  const compose = await copied('Run it with Docker Compose');
  assert.match(compose, new RegExp(`^LDAP_OUTPOST_TOKEN=${outpostKey}$`, 'm'));
  assert.match(compose, /^docker compose --profile ldap up -d ldap$/m);
  const standalone = await copied('Or on its own');
  assert.ok(standalone.startsWith(`GATEHOUSE_HOST=https://auth.example.com GATEHOUSE_TOKEN=${outpostKey} `), standalone);
  assert.match(standalone, /gatehouse ldap$/);
  assert.match((await admin.locator('table').textContent()) ?? '', /office-ldap.*never connected/);
  await shot('32-outpost-created');
  await admin.reload();
  await admin.getByRole('heading', { level: 1, name: 'Outposts' }).waitFor();
  assert.equal(await admin.locator('#outpost-token').count(), 0, 'the token is not shown again');

  // `gatehouse ldap` with what the page showed: the outpost asks the core over HTTP with that token.
  outpost = new LdapOutpost(new CoreClient({ host: base.replace('localhost', '127.0.0.1'), token: outpostKey }), logger, 60, { reportEveryMs: 500 });
  await outpost.start();
  const ca = makeTestCa();
  const running = outpost;
  server = await startLdapServer({
    outposts: () => [running],
    logger,
    ldap: { host: '127.0.0.1', port: 0 },
    ldaps: { host: '127.0.0.1', port: 0 },
    tls: { certPath: ca.certFile, keyPath: ca.keyFile },
  });
  const url = `ldap://127.0.0.1:${server.ports.ldap}`;
  const alice = await whoami(url, 'alice', PASS.alice);
  assert.equal(alice.code, 0, alice.stderr);
  assert.equal(alice.stdout.trim(), `dn:cn=alice,ou=users,${BASE_DN}`);
  assert.equal((await whoami(url, 'bob', PASS.bob)).code, 50, 'outside nas-users: insufficientAccessRights');
  assert.equal((await whoami(url, 'alice', 'wrong')).code, 49);

  await eventually(async () => (await t.api('GET', `/api/v3/outposts/instances/${outposts[0].pk}/health/`)).json().length === 1, 15_000);
  await open('#/outposts', 'Outposts');
  assert.match((await admin.locator('table').textContent()) ?? '', /office-ldap.*Office NAS provider.*connected last seen/);
  await shot('33-outposts');
  await open('#/applications/office-nas', 'Office NAS');
  assert.equal(await admin.locator('#no-outpost').count(), 0);
  assert.match((await admin.locator('.integration').textContent()) ?? '', /Served by office-ldap \(connected last seen/);
  await open('#/dashboard', 'Dashboard');
  assert.match((await admin.locator('#dashboard-outposts').textContent()) ?? '', /office-ldap.*Office NAS provider.*connected/);
});

test('adding a provider to the running outpost from its row makes it answer for that provider too', { skip }, async () => {
  const flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json().results[0].pk;
  const printers = await t.api('POST', '/api/v3/providers/ldap/', { name: 'Printers provider', authorization_flow: flow, base_dn: 'dc=printers,dc=example' });
  assert.equal(printers.statusCode, 201, printers.body);
  assert.equal((await t.api('POST', '/api/v3/core/applications/', { name: 'Printers', slug: 'printers', provider: printers.json().pk })).statusCode, 201);
  const url = `ldap://127.0.0.1:${server?.ports.ldap}`;
  const bindPrinters = () => ldapTool('ldapwhoami', ['-x', '-H', url, '-D', 'cn=alice,ou=users,dc=printers,dc=example', '-w', PASS.alice]);
  assert.notEqual((await bindPrinters()).code, 0, 'not served yet');
  await open('#/outposts', 'Outposts');
  await admin.locator('summary', { hasText: 'Office NAS provider' }).click();
  await admin.getByRole('form', { name: 'Providers of office-ldap' }).getByRole('checkbox', { name: /Printers provider/ }).check();
  await admin.getByRole('button', { name: 'Save providers' }).click();
  await admin.getByText(/office-ldap now serves 2 provider/).waitFor();
  const outposts = (await t.api('GET', '/api/v3/outposts/instances/')).json().results;
  assert.deepEqual([...outposts[0].providers].sort(), [providerPk, printers.json().pk].sort());
  await eventually(async () => (await bindPrinters()).code === 0, 10_000);
});

test('the MFA hint holds: a user with TOTP binds with password;code and not with the password alone', { skip }, async () => {
  await addUser(t, 'carol', 'carol-Password-1', [nasUsers]);
  const browser = new TestBrowser(t.app);
  assert.equal((await browser.login('carol', 'carol-Password-1')).component, 'xak-flow-redirect');
  const setup = await browser.flow('default-authenticator-totp-setup');
  const secret = secretOf(String(setup.config_url));
  assert.equal((await browser.flow('default-authenticator-totp-setup', { code: await totpCode(secret) })).component, 'xak-flow-redirect');
  const url = `ldap://127.0.0.1:${server?.ports.ldap}`;
  assert.notEqual((await whoami(url, 'carol', 'carol-Password-1')).code, 0, 'the password alone is not enough');
  const res = await whoami(url, 'carol', `carol-Password-1;${await totpCode(secret, 1)}`);
  assert.equal(res.code, 0, res.stderr);
});

test('the dashboard and the System page show the last backup and whether its restore check passed', { skip }, async () => {
  const services = buildWorkerServices(t.config, t.deps, logger, TEST_SECRET_KEY);
  services.backup.dir = join(scratch, 'backups');
  services.backup.mediaDir = join(scratch, 'media');
  const s = t.database.settings;
  if (s) services.backup.postgres = { ...s, password: '', sslmode: 'disable' };
  const outcome = await createBackup(services);
  assert.equal(outcome.isVerified, true, outcome.problems.join('; '));
  const fileName = outcome.file.slice(outcome.file.lastIndexOf('/') + 1);
  await open('#/dashboard', 'Dashboard');
  const ok = (await admin.locator('#backup-state').textContent()) ?? '';
  assert.match(ok, /restore check passed/);
  assert.ok(ok.includes(fileName), ok);
  assert.equal(await admin.locator('#backup-state.success').count(), 1);
  await shot('34-dashboard-outposts-backup');
  await open('#/system', 'System');
  assert.match((await admin.locator('#backup-state').textContent()) ?? '', /restore check passed/);
  assert.match((await admin.locator('table').last().textContent()) ?? '', /GATEHOUSE_EXTERNAL_URL.*https:\/\/auth\.example\.com/);

  // The same backup three days later, with none since: the schedule stopped, and the page says so.
  await t.database.db.query(`UPDATE backup_runs SET started_at = started_at - interval '3 days', finished_at = finished_at - interval '3 days'`);
  await open('#/dashboard', 'Dashboard');
  assert.match((await admin.locator('#backup-state').textContent()) ?? '', /restore check passed.*It is 3 days old/);
  assert.equal(await admin.locator('#backup-state.error').count(), 1);

  // A check that failed (as the worker reports one): the admin sees it and why.
  const now = new Date();
  await reportBackup(services, { fileName: 'gatehouse-backup-bad.ghb', sizeBytes: 10, kind: 'x', counts: {}, problems: ['users: 3 in the backup, 2 restored'], pruned: [], at: now, startedAt: now });
  await open('#/system', 'System');
  const bad = (await admin.locator('#backup-state').textContent()) ?? '';
  assert.match(bad, /restore check FAILED/);
  assert.match(bad, /users: 3 in the backup, 2 restored/);
  await shot('35-system-backup-failed');
});

test('a user is mailed a recovery link from their page; the handed-over link uses the external URL', { skip }, async () => {
  const alicePk = (await t.api('GET', '/api/v3/core/users/?username=alice')).json().results[0].pk;
  await open(`#/users/${alicePk}`, 'alice');
  await admin.getByRole('button', { name: 'Send recovery email' }).click();
  await admin.getByText('A recovery link is on its way to alice@example.com.').waitFor();
  const mail = await t.sink.waitFor((m) => m.to.includes('alice@example.com'));
  assert.ok(linkIn(mail).startsWith('https://auth.example.com/if/flow/default-recovery-flow/?flow_token='), linkIn(mail));
  await admin.getByRole('button', { name: 'Create a recovery link' }).click();
  const link = await copied('One-time login link (valid for an hour)');
  assert.ok(link.startsWith('https://auth.example.com/recovery/use-token/'), `GATEHOUSE_EXTERNAL_URL, not ${base}: ${link}`);
  await shot('36-user-recovery-email');
  const bobPk = (await t.api('GET', '/api/v3/core/users/?username=bob')).json().results[0].pk;
  await open(`#/users/${bobPk}`, 'bob');
  assert.equal(await admin.getByRole('button', { name: 'Send recovery email' }).count(), 0);
  assert.match((await admin.locator('#no-recovery-email').textContent()) ?? '', /does not have an email address/);
});

test('deleting the outpost from its page removes it and its token', { skip }, async () => {
  await open('#/outposts', 'Outposts');
  const pk = (await t.api('GET', '/api/v3/outposts/instances/')).json().results[0].pk;
  admin.once('dialog', (dialog) => dialog.accept());
  await admin.getByRole('button', { name: 'Delete' }).click();
  await admin.getByText('Outpost deleted.').waitFor();
  assert.equal((await t.api('GET', '/api/v3/outposts/instances/')).json().pagination.count, 0);
  assert.equal((await t.api('GET', `/api/v3/core/tokens/ak-outpost-${pk}-api/view_key/`)).statusCode, 404);
  assert.equal(await admin.locator('.empty-state').count(), 1);
});

test('no Content-Security-Policy violation and no script error on any of these pages', { skip }, () => {
  assert.deepEqual(problems, []);
});
