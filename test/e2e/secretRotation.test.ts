// Rotating GATEHOUSE_SECRET_KEY on a real installation: the old key as a fallback keeps every
// secret readable, `gatehouse rotate-secret-key` re-encrypts them, then the old key can go.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SecretBox } from '../../src/core/crypto.ts';
import { SEALED_COLUMNS } from '../../src/store/sealedSecrets.ts';
import { createEmptyDatabase, hasPostgres, type TestDatabase } from '../support/backends.ts';
import { freePort, type RunningGatehouse, runGatehouse, startGatehouse, waitFor } from '../support/processes.ts';

const skip = !hasPostgres && 'needs Postgres';
const TOKEN = 'rotation-bootstrap-token-0123456789';
const OLD_KEY = 'the-old-secret-key-of-this-installation-0123456789';
const NEW_KEY = 'the-new-secret-key-after-the-rotation-0123456789ab';
const BOX_PURPOSES = { tokenBox: 'token-keys', totpBox: 'totp-seeds', clientSecretBox: 'oauth2-client-secrets', signingKeyBox: 'signing-keys' };
let database: TestDatabase;
let base: Record<string, string>;
const running: RunningGatehouse[] = [];

before(async () => {
  if (skip) return;
  database = await createEmptyDatabase();
  const pg = database.settings as NonNullable<TestDatabase['settings']>;
  base = {
    GATEHOUSE_POSTGRESQL__HOST: pg.host,
    GATEHOUSE_POSTGRESQL__PORT: String(pg.port),
    GATEHOUSE_POSTGRESQL__USER: pg.user,
    GATEHOUSE_POSTGRESQL__NAME: pg.database,
    GATEHOUSE_BOOTSTRAP_TOKEN: TOKEN,
    GATEHOUSE_BOOTSTRAP_PASSWORD: 'Rotation-Admin-1!',
  };
});
after(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await database?.drop();
});

async function serve(keys: Record<string, string>) {
  const port = await freePort();
  const server = startGatehouse(['server'], { ...base, ...keys, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}` }, port);
  running.push(server);
  await waitFor(server, '/-/health/ready/');
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v3${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json().catch(() => null)) as Record<string, unknown> };
  };
  return { server, call };
}

/** Every sealed value in the database, and whether a box of this key alone opens it. */
async function sealedValues(secretKey: string) {
  const out: Array<{ column: string; opens: boolean; sealed: string }> = [];
  for (const c of SEALED_COLUMNS) {
    const box = new SecretBox(secretKey, BOX_PURPOSES[c.box]);
    const { rows } = await database.db.query<{ sealed: string }>(`SELECT ${c.column} AS sealed FROM ${c.table} WHERE ${c.column} <> ''`);
    for (const { sealed } of rows) {
      let opens = true;
      try {
        box.open(sealed);
      } catch {
        opens = false;
      }
      out.push({ column: `${c.table}.${c.column}`, opens, sealed });
    }
  }
  return out;
}

test('the secret key rotates: fallback first, then re-encryption, then the old key is dropped', { skip }, async () => {
  // An installation on the old key: an API token, an OAuth2 provider (client secret, signing key), a TOTP seed.
  const before = await serve({ GATEHOUSE_SECRET_KEY: OLD_KEY });
  const created = await before.call('POST', '/core/tokens/', { identifier: 'ci-token', intent: 'api', expiring: false });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const tokenKey = (await before.call('GET', '/core/tokens/ci-token/view_key/')).json.key as string;
  const flow = (await before.call('GET', '/flows/instances/default-provider-authorization-explicit-consent/')).json.pk;
  const provider = await before.call('POST', '/providers/oauth2/', { name: 'Grafana', authorization_flow: flow });
  assert.equal(provider.status, 201, JSON.stringify(provider.json));
  const clientSecret = provider.json.client_secret as string;
  const app = await before.call('POST', '/core/applications/', { name: 'Grafana', slug: 'grafana', provider: provider.json.pk });
  assert.equal(app.status, 201, JSON.stringify(app.json));
  assert.equal((await fetch(`${before.server.url}/application/o/grafana/jwks/`)).status, 200, 'a signing key exists');
  const admin = await database.db.query<{ id: number }>("SELECT id FROM users WHERE username = 'akadmin'");
  const totpSeed = 'JBSWY3DPEHPK3PXP';
  await database.db.query('INSERT INTO totp_devices (user_id, name, secret_encrypted, confirmed) VALUES ($1, $2, $3, true)', [
    admin.rows[0]?.id,
    'phone',
    new SecretBox(OLD_KEY, 'totp-seeds').seal(totpSeed),
  ]);
  await before.server.stop();
  const original = await sealedValues(OLD_KEY);
  assert.ok(original.length >= 4 && original.every((v) => v.opens), JSON.stringify(original.map((v) => v.column)));
  const columns = new Set(original.map((v) => v.column));
  for (const column of ['tokens.key_encrypted', 'totp_devices.secret_encrypted', 'oauth2_providers.client_secret_encrypted', 'signing_keys.private_jwk_encrypted']) {
    assert.ok(columns.has(column), `${column} holds a sealed value`);
  }

  // A new key without the old one: the command refuses and changes nothing.
  const refused = await runGatehouse(['rotate-secret-key'], { ...base, GATEHOUSE_SECRET_KEY: NEW_KEY });
  assert.notEqual(refused.code, 0, refused.output);
  assert.match(refused.output, /neither GATEHOUSE_SECRET_KEY nor GATEHOUSE_SECRET_KEY_FALLBACKS.*nothing was changed/s);
  assert.deepEqual(await sealedValues(OLD_KEY), original);

  // Step 1: the new key, with the old one as a fallback — everything still reads.
  const rotating = { GATEHOUSE_SECRET_KEY: NEW_KEY, GATEHOUSE_SECRET_KEY_FALLBACKS: OLD_KEY };
  const during = await serve(rotating);
  assert.equal((await during.call('GET', '/core/tokens/ci-token/view_key/')).json.key, tokenKey);
  assert.equal((await during.call('GET', `/providers/oauth2/${provider.json.pk}/`)).json.client_secret, clientSecret);
  assert.equal((await fetch(`${during.server.url}/application/o/grafana/jwks/`)).status, 200);
  await during.server.stop();

  // Step 2: a dry run counts and writes nothing; the real run re-encrypts and is audited.
  const dry = await runGatehouse(['rotate-secret-key', '--dry-run'], { ...base, ...rotating });
  assert.equal(dry.code, 0, dry.output);
  assert.match(dry.output, new RegExp(`Dry run: ${original.length} secret\\(s\\) would be re-encrypted`));
  assert.deepEqual(await sealedValues(OLD_KEY), original);
  const rotated = await runGatehouse(['rotate-secret-key'], { ...base, ...rotating });
  assert.equal(rotated.code, 0, rotated.output);
  assert.match(rotated.output, new RegExp(`Done: ${original.length} secret\\(s\\) re-encrypted`));
  assert.doesNotMatch(rotated.output, new RegExp(`${tokenKey}|${clientSecret}|${totpSeed}|${OLD_KEY}|${NEW_KEY}`), 'no secret in the output');
  const after = await sealedValues(NEW_KEY);
  assert.equal(after.length, original.length);
  assert.ok(after.every((v) => v.opens), 'every stored secret opens with the new key alone');
  assert.equal(new SecretBox(NEW_KEY, 'totp-seeds').open(after.find((v) => v.column === 'totp_devices.secret_encrypted')?.sealed ?? ''), totpSeed);
  const events = await database.db.query<{ context: { resealed: number } }>("SELECT context FROM events WHERE action = 'secret_rotate'");
  assert.equal(events.rows.length, 1);
  assert.equal(events.rows[0]?.context.resealed, original.length);
  const again = await runGatehouse(['rotate-secret-key'], { ...base, ...rotating });
  assert.match(again.output, /Done: 0 secret\(s\) re-encrypted/, 'a second run has nothing left to do');

  // Step 3: the old key is gone; everything reads under the new one.
  const done = await serve({ GATEHOUSE_SECRET_KEY: NEW_KEY });
  assert.equal((await done.call('GET', '/core/tokens/ci-token/view_key/')).json.key, tokenKey);
  assert.equal((await done.call('GET', `/providers/oauth2/${provider.json.pk}/`)).json.client_secret, clientSecret);
  assert.equal((await fetch(`${done.server.url}/application/o/grafana/jwks/`)).status, 200);
  await done.server.stop();
});
