import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canAccessApplication, recordAccessDenied } from '../../src/core/applicationAccess.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createSession, SESSION_COOKIE } from '../../src/core/sessions.ts';
import { findApplicationBySlug } from '../../src/store/applications.ts';
import { findUserById } from '../../src/store/users.ts';
import { createTestApp, rejectionCheck, type TestApp } from '../support/app.ts';

let t: TestApp;
let explicitFlow: string;
let implicitFlow: string;
const MISSING = '00000000-0000-4000-8000-000000000000';

before(async () => {
  t = await createTestApp();
  assertRejected = rejectionCheck(t, ['/api/v3/events/events/', '/api/v3/providers/all/', '/api/v3/core/applications/?superuser_full_list=true']);
  const flow = async (slug: string) => (await t.api('GET', `/api/v3/flows/instances/${slug}/`)).json().pk as string;
  explicitFlow = await flow('default-provider-authorization-explicit-consent');
  implicitFlow = await flow('default-provider-authorization-implicit-consent');
});
after(() => t.close());

async function makeUserWithToken(username: string): Promise<{ pk: number; key: string }> {
  const user = (await t.api('POST', '/api/v3/core/users/', { username, name: username })).json();
  await t.api('POST', '/api/v3/core/tokens/', { identifier: `${username}-token`, user: user.pk, expiring: false });
  return { pk: user.pk, key: (await t.api('GET', `/api/v3/core/tokens/${username}-token/view_key/`)).json().key };
}

// What a rejected request must not have written.
let assertRejected: ReturnType<typeof rejectionCheck>;

const newProvider = async (body: Record<string, unknown>) => {
  const res = await t.api('POST', '/api/v3/providers/oauth2/', { authorization_flow: explicitFlow, ...body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
};

test('an OAuth2 provider gets a generated client id and secret, Authentik defaults, and CRUD', async () => {
  const provider = await newProvider({
    name: 'Grafana',
    redirect_uris: [
      { matching_mode: 'strict', url: 'https://grafana.example.com/login/generic_oauth' },
      { matching_mode: 'regex', url: '^https://.*\\.example\\.com/cb$' },
    ],
    access_token_validity: 'hours=1;minutes=5',
  });
  assert.match(provider.client_id, /^[A-Za-z0-9]{40}$/);
  assert.match(provider.client_secret, /^[A-Za-z0-9]{128}$/);
  assert.equal(provider.client_type, 'confidential');
  assert.equal(provider.access_code_validity, 'minutes=1');
  assert.equal(provider.access_token_validity, 'hours=1;minutes=5');
  assert.equal(provider.refresh_token_validity, 'days=30');
  assert.equal(provider.sub_mode, 'hashed_user_id');
  assert.equal(provider.signing_algorithm, 'RS256');
  assert.deepEqual(provider.scopes, ['openid', 'profile', 'email', 'offline_access']);
  assert.equal(provider.invalidation_flow, null);
  assert.equal(provider.assigned_application_slug, null);
  assert.equal(provider.meta_model_name, 'authentik_providers_oauth2.oauth2provider');

  const got = (await t.api('GET', `/api/v3/providers/oauth2/${provider.pk}/`)).json();
  assert.equal(got.client_secret, provider.client_secret, 'the admin sees the same secret again');
  const patched = await t.api('PATCH', `/api/v3/providers/oauth2/${provider.pk}/`, { signing_algorithm: 'ES256', sub_mode: 'user_email' });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.deepEqual([patched.json().signing_algorithm, patched.json().sub_mode, patched.json().client_id], ['ES256', 'user_email', provider.client_id]);
  const put = await t.api('PUT', `/api/v3/providers/oauth2/${provider.pk}/`, { name: 'Grafana', authorization_flow: implicitFlow });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(put.json().authorization_flow, implicitFlow);
  assert.equal(put.json().client_secret, provider.client_secret, 'fields not sent keep their value');

  const all = (await t.api('GET', '/api/v3/providers/all/')).json();
  assert.ok(all.results.some((p: { pk: number; component: string }) => p.pk === provider.pk && p.component === 'ak-provider-oauth2-form'));
  assert.equal((await t.api('GET', `/api/v3/providers/oauth2/?client_id=${provider.client_id}`)).json().pagination.count, 1);

  const events = (await t.api('GET', `/api/v3/events/events/?context_model_pk=${provider.pk}&context_model_name=oauth2_provider`)).json();
  assert.deepEqual(events.results.map((e: { action: string }) => e.action).sort(), ['model_created', 'model_updated', 'model_updated']);
  assert.ok(!JSON.stringify(events.results).includes(provider.client_secret), 'events never hold the secret');
});

test('the client secret is encrypted at rest', async () => {
  const provider = await newProvider({ name: 'Secretive', client_id: 'secretive-client', client_secret: 'my-own-secret-value-123' });
  assert.equal(provider.client_id, 'secretive-client');
  assert.equal(provider.client_secret, 'my-own-secret-value-123');
  const { rows } = await t.deps.db.query('SELECT * FROM oauth2_providers WHERE provider_id = $1', [provider.pk]);
  assert.ok(!JSON.stringify(rows).includes('my-own-secret-value-123'));
  assert.equal(t.deps.clientSecretBox.open((rows[0] as { client_secret_encrypted: string }).client_secret_encrypted), 'my-own-secret-value-123');
  const pub = await newProvider({ name: 'SPA', client_type: 'public' });
  assert.equal(pub.client_secret, '', 'a public client gets no generated secret');
  const confidential = (await t.api('PATCH', `/api/v3/providers/oauth2/${pub.pk}/`, { client_type: 'confidential' })).json();
  assert.match(confidential.client_secret, /^[A-Za-z0-9]{128}$/, 'turning confidential generates one');
});

test('bad provider input is a 400 that writes nothing', async () => {
  const url = '/api/v3/providers/oauth2/';
  const base = { name: 'Bad', authorization_flow: explicitFlow };
  await assertRejected('POST', url, { ...base, redirect_uris: [{ matching_mode: 'strict', url: 'not a url' }] }, 'redirect_uris');
  await assertRejected('POST', url, { ...base, redirect_uris: [{ matching_mode: 'strict', url: 'javascript:alert(1)' }] }, 'redirect_uris');
  await assertRejected('POST', url, { ...base, redirect_uris: [{ matching_mode: 'strict', url: 'https://a.example/cb#x' }] }, 'redirect_uris');
  await assertRejected('POST', url, { ...base, redirect_uris: [{ matching_mode: 'regex', url: 'https://(unclosed' }] }, 'redirect_uris');
  await assertRejected('POST', url, { ...base, redirect_uris: [{ matching_mode: 'fuzzy', url: 'https://a.example/' }] }, 'redirect_uris');
  await assertRejected('POST', url, { ...base, access_code_validity: 'minutes=ten' }, 'access_code_validity');
  await assertRejected('POST', url, { ...base, refresh_token_validity: 'fortnights=2' }, 'refresh_token_validity');
  await assertRejected('POST', url, { ...base, authorization_flow: MISSING }, 'authorization_flow');
  await assertRejected('POST', url, { ...base, invalidation_flow: MISSING }, 'invalidation_flow');
  await assertRejected('POST', url, { ...base, name: 'Grafana' }, 'name');
  await assertRejected('POST', url, { ...base, client_id: 'secretive-client' }, 'client_id');
  await assertRejected('POST', url, { ...base, signing_algorithm: 'HS256' }, 'signing_algorithm');
  await assertRejected('POST', url, { ...base, scopes: ['openid', 'openid'] }, 'scopes');
  await assertRejected('POST', url, { ...base, signing_key: 'x' }, 'signing_key');
  await assertRejected('POST', url, { name: 'Bad' }, 'authorization_flow');
  const grafana = (await t.api('GET', '/api/v3/providers/oauth2/?name=Grafana')).json().results[0];
  await assertRejected('PATCH', `${url}${grafana.pk}/`, { name: 'Secretive' }, 'name');
  await assertRejected('PATCH', `${url}${grafana.pk}/`, { access_token_validity: 'hours=-1' }, 'access_token_validity');
  assert.equal((await t.api('GET', `${url}999999/`)).statusCode, 404);
});

test('applications: CRUD by slug, one application per provider, provider_obj and assigned_application_*', async () => {
  const provider = await newProvider({ name: 'Wiki' });
  const created = await t.api('POST', '/api/v3/core/applications/', {
    name: 'Wiki',
    slug: 'wiki',
    provider: provider.pk,
    meta_launch_url: 'https://wiki.example.com/',
    meta_icon: 'https://wiki.example.com/icon.png',
    meta_description: 'Our notes',
    group: 'Work',
  });
  assert.equal(created.statusCode, 201, created.body);
  const app = created.json();
  assert.equal(app.provider_obj.name, 'Wiki');
  assert.equal(app.provider_obj.assigned_application_slug, 'wiki');
  assert.equal(app.launch_url, 'https://wiki.example.com/');
  assert.equal(app.policy_engine_mode, 'any');
  const viaProvider = (await t.api('GET', `/api/v3/providers/oauth2/${provider.pk}/`)).json();
  assert.deepEqual([viaProvider.assigned_application_slug, viaProvider.assigned_application_name], ['wiki', 'Wiki']);

  const patched = (await t.api('PATCH', '/api/v3/core/applications/wiki/', { slug: 'notes', launch_url: '' })).json();
  assert.deepEqual([patched.slug, patched.launch_url, patched.meta_launch_url, patched.provider], ['notes', null, '', provider.pk]);
  assert.equal((await t.api('GET', '/api/v3/core/applications/wiki/')).statusCode, 404);
  assert.equal((await t.api('GET', '/api/v3/core/applications/notes/')).json().meta_description, 'Our notes');

  const base = { name: 'Other' };
  await assertRejected('POST', '/api/v3/core/applications/', { ...base, slug: 'other', provider: provider.pk }, 'provider');
  await assertRejected('POST', '/api/v3/core/applications/', { ...base, slug: 'notes' }, 'slug');
  await assertRejected('POST', '/api/v3/core/applications/', { ...base, slug: 'Not A Slug' }, 'slug');
  await assertRejected('POST', '/api/v3/core/applications/', { ...base, slug: 'other', provider: 999999 }, 'provider');
  await assertRejected('POST', '/api/v3/core/applications/', { ...base, slug: 'other', meta_launch_url: 'javascript:alert(1)' }, 'meta_launch_url');
  await assertRejected('POST', '/api/v3/core/applications/', { ...base, slug: 'other', meta_icon: '//evil.example/x.png' }, 'meta_icon');
  await assertRejected('POST', '/api/v3/core/applications/', { ...base, slug: 'other', is_admin: true }, 'is_admin');

  assert.equal((await t.api('DELETE', `/api/v3/providers/oauth2/${provider.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', '/api/v3/core/applications/notes/')).json().provider, null, 'the application stays without its provider');
  assert.equal((await t.api('DELETE', '/api/v3/core/applications/notes/')).statusCode, 204);
  const events = (await t.api('GET', `/api/v3/events/events/?context_model_pk=${app.pk}&context_model_name=application`)).json();
  assert.deepEqual(events.results.map((e: { action: string }) => e.action).sort(), ['model_created', 'model_deleted', 'model_updated']);
});

test('admin endpoints are for superusers: a plain token gets 403, no token 401', async () => {
  const { key } = await makeUserWithToken('plain');
  const requests: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown?]> = [
    ['GET', '/api/v3/providers/oauth2/'],
    ['GET', '/api/v3/providers/all/'],
    ['POST', '/api/v3/providers/oauth2/', { name: 'x', authorization_flow: explicitFlow }],
    ['POST', '/api/v3/core/applications/', { name: 'x', slug: 'x' }],
    ['PATCH', '/api/v3/core/applications/x/', { name: 'y' }],
    ['DELETE', '/api/v3/core/applications/x/'],
  ];
  for (const [method, url, body] of requests) {
    assert.equal((await t.api(method, url, body, key)).statusCode, 403, `${method} ${url}`);
    assert.equal((await t.api(method, url, body, null)).statusCode, 401, `${method} ${url} without a token`);
  }
  assert.equal((await t.api('GET', '/api/v3/core/applications/', undefined, null)).statusCode, 401);
});

test('an application bound to group "family" is for its members only: API list, app library and canAccessApplication', async () => {
  const alice = await makeUserWithToken('alice');
  const bob = await makeUserWithToken('bob');
  const family = (await t.api('POST', '/api/v3/core/groups/', { name: 'family', users: [alice.pk] })).json();
  const provider = await newProvider({ name: 'Photos' });
  const photos = (await t.api('POST', '/api/v3/core/applications/', { name: 'Photos', slug: 'photos', provider: provider.pk })).json();
  await t.api('POST', '/api/v3/core/applications/', { name: 'Public Wiki', slug: 'public-wiki', meta_launch_url: 'https://pw.example/' });

  const slugsFor = async (key: string) =>
    (await t.api('GET', '/api/v3/core/applications/', undefined, key)).json().results.map((a: { slug: string }) => a.slug);
  assert.deepEqual(await slugsFor(bob.key), ['photos', 'public-wiki'], 'without bindings everyone may open it');

  const binding = await t.api('POST', '/api/v3/policies/bindings/', { target: photos.pk, group: family.pk, order: 0 });
  assert.equal(binding.statusCode, 201, binding.body);
  assert.equal(binding.json().target, photos.pk);
  assert.equal((await t.api('GET', `/api/v3/policies/bindings/?target=${photos.pk}`)).json().pagination.count, 1);

  assert.deepEqual(await slugsFor(alice.key), ['photos', 'public-wiki']);
  assert.deepEqual(await slugsFor(bob.key), ['public-wiki']);
  const full = (await t.api('GET', '/api/v3/core/applications/?superuser_full_list=true', undefined, bob.key)).json();
  assert.deepEqual(full.results.map((a: { slug: string }) => a.slug), ['public-wiki'], 'the flag is for superusers only');

  const library = async (userId: number) => {
    const session = await createSession(t.deps, { userId, clientIp: '127.0.0.1', userAgent: 'test', method: 'password' });
    const res = await t.app.inject({ method: 'GET', url: '/if/user/', headers: { host: 'gatehouse.localhost', cookie: `${SESSION_COOKIE}=${session}` } });
    assert.equal(res.statusCode, 200);
    return res.body;
  };
  const aliceLibrary = await library(alice.pk);
  assert.match(aliceLibrary, /Photos/);
  assert.match(aliceLibrary, /href="https:\/\/pw\.example\/"/);
  const bobLibrary = await library(bob.pk);
  assert.doesNotMatch(bobLibrary, /Photos/);
  assert.match(bobLibrary, /Public Wiki/);

  const app = await findApplicationBySlug(t.deps.db, 'photos');
  assert.ok(app);
  const [aliceRow, bobRow] = await Promise.all([findUserById(t.deps.db, alice.pk), findUserById(t.deps.db, bob.pk)]);
  assert.equal(await canAccessApplication(t.deps, aliceRow, app, '127.0.0.1'), true);
  assert.equal(await canAccessApplication(t.deps, bobRow, app, '127.0.0.1'), false);
  assert.equal(await canAccessApplication(t.deps, null, app, '127.0.0.1'), false);

  await recordAccessDenied(t.deps, { ...SYSTEM_CONTEXT, clientIp: '127.0.0.1' }, bobRow as NonNullable<typeof bobRow>, app);
  const denied = (await t.api('GET', '/api/v3/events/events/?action=access_denied&username=bob')).json().results;
  assert.equal(denied.length, 1);
  assert.deepEqual([denied[0].context.authorized, denied[0].context.application.slug], [false, 'photos']);

  // Bindings are read through the definitions snapshot: a change applies to the very next check.
  assert.equal((await t.api('PATCH', `/api/v3/policies/bindings/${binding.json().pk}/`, { negate: true })).statusCode, 200);
  assert.equal(await canAccessApplication(t.deps, bobRow, app, '127.0.0.1'), true, 'negated: everyone but family');
  assert.equal(await canAccessApplication(t.deps, aliceRow, app, '127.0.0.1'), false);
  assert.equal((await t.api('PATCH', `/api/v3/policies/bindings/${binding.json().pk}/`, { negate: false })).statusCode, 200);
  assert.equal(await canAccessApplication(t.deps, bobRow, app, '127.0.0.1'), false);

  assert.equal((await t.api('DELETE', '/api/v3/core/applications/photos/')).statusCode, 204);
  assert.equal((await t.api('GET', `/api/v3/policies/bindings/?group=${family.pk}`)).json().pagination.count, 0, 'its bindings go with it');
});

test('the OpenAPI document describes the new resources', async () => {
  const res = await t.api('GET', '/api/v3/schema/');
  assert.equal(res.statusCode, 200, res.body.slice(0, 500));
  const paths = Object.keys(res.json().paths);
  for (const path of ['/providers/oauth2/', '/providers/oauth2/{pk}/', '/providers/all/', '/core/applications/{slug}/']) {
    assert.ok(paths.includes(path), `${path} in ${paths.filter((p) => p.includes('applications') || p.includes('providers')).join(', ')}`);
  }
});

test('policy_engine_mode "all" needs every binding; a user binding and negate work on applications; inactive users never pass', async () => {
  const carol = await makeUserWithToken('carol');
  const dave = await makeUserWithToken('dave');
  const staff = (await t.api('POST', '/api/v3/core/groups/', { name: 'staff', users: [carol.pk, dave.pk] })).json();
  const app = (await t.api('POST', '/api/v3/core/applications/', { name: 'Payroll', slug: 'payroll', policy_engine_mode: 'all' })).json();
  await t.api('POST', '/api/v3/policies/bindings/', { target: app.pk, group: staff.pk, order: 0 });
  await t.api('POST', '/api/v3/policies/bindings/', { target: app.pk, user: dave.pk, negate: true, order: 1 });
  const row = await findApplicationBySlug(t.deps.db, 'payroll');
  assert.ok(row);
  const carolRow = await findUserById(t.deps.db, carol.pk);
  const daveRow = await findUserById(t.deps.db, dave.pk);
  assert.equal(await canAccessApplication(t.deps, carolRow, row, '127.0.0.1'), true);
  assert.equal(await canAccessApplication(t.deps, daveRow, row, '127.0.0.1'), false, 'staff, but excluded by the negated binding');
  const anyMode = (await t.api('PATCH', '/api/v3/core/applications/payroll/', { policy_engine_mode: 'any' })).json();
  assert.equal(await canAccessApplication(t.deps, daveRow, { id: anyMode.pk, policy_engine_mode: 'any' }, '127.0.0.1'), true);
  await t.api('PATCH', `/api/v3/core/users/${carol.pk}/`, { is_active: false });
  const inactive = await findUserById(t.deps.db, carol.pk);
  assert.equal(await canAccessApplication(t.deps, inactive, { id: anyMode.pk, policy_engine_mode: 'any' }, '127.0.0.1'), false);
});
