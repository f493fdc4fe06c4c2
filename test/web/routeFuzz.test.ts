import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createSession, SESSION_COOKIE } from '../../src/core/sessions.ts';
import { ADMIN_PASSWORD, ADMIN_TOKEN, createTestApp, type TestApp } from '../support/app.ts';
import { TEST_SECRET_KEY } from '../support/backends.ts';
import { type Route, routesOf } from '../support/routes.ts';

// Every HTTP route, enumerated from the app itself, gets generated hostile requests — JSON, form
// and raw bodies, query strings, odd headers and cookies — anonymously, with the admin's token and
// with the admin's browser session. None may answer 5xx, hang, leak a secret or a stack trace, or
// change the main tables when it refuses. Deterministic: a fixed seed (FUZZ_SEED overrides it).

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const REQUEST_TIMEOUT_MS = 10_000;
const HOST = 'gatehouse.localhost';
const TABLES = ['users', 'groups', 'tokens', 'applications', 'providers', 'flows', 'stages', 'policy_bindings'];

let t: TestApp;
let routes: Route[] = [];
let sessionId = '';
let protectedIds = new Set<string>();
const idPool: string[] = [];

/** Objects the fuzzer may change or delete freely; the admin, its group and token are kept out. */
async function makeFodder() {
  const flows = (await t.api('GET', '/api/v3/flows/instances/?page_size=100')).json().results as Array<{ pk: string; slug: string }>;
  const flow = (slug: string) => flows.find((f) => f.slug === slug)?.pk;
  const authz = flow('default-provider-authorization-implicit-consent');
  const created = [
    await t.api('POST', '/api/v3/core/users/', { username: 'fodder', name: 'Fodder' }),
    await t.api('POST', '/api/v3/core/groups/', { name: 'fodder-group' }),
    await t.api('POST', '/api/v3/core/tokens/', { identifier: 'fodder-token' }),
  ];
  const providers = [
    ['oauth2', { name: 'fz-oidc', authorization_flow: authz, redirect_uris: [{ matching_mode: 'strict', url: 'https://rp.example/cb' }] }],
    ['proxy', { name: 'fz-proxy', authorization_flow: authz, external_host: 'https://app.example.com/' }],
    ['saml', { name: 'fz-saml', authorization_flow: authz, acs_url: 'https://sp.example/acs', audience: 'sp', issuer: 'https://gh/fz' }],
    ['ldap', { name: 'fz-ldap', authorization_flow: flow('default-authentication-flow') }],
  ] as const;
  for (const [kind, body] of providers) {
    const provider = await t.api('POST', `/api/v3/providers/${kind}/`, body);
    created.push(provider, await t.api('POST', '/api/v3/core/applications/', { name: `fz ${kind}`, slug: `fz-${kind}`, provider: provider.json().pk }));
  }
  for (const res of created) assert.ok(res.statusCode < 300, res.body);
}

/** Every pk/slug/uuid/identifier the lists show, minus the admin's own user, groups and token. */
async function collectIds() {
  const admin = (await t.api('GET', '/api/v3/core/users/me/')).json().user;
  const protectedIds = new Set<string>([String(admin.pk), ...admin.groups.map(String), 'akadmin', admin.uuid]);
  const tokens = (await t.api('GET', '/api/v3/core/tokens/')).json().results as Array<{ identifier: string; user: number }>;
  for (const token of tokens) if (token.user === admin.pk && token.identifier !== 'fodder-token') protectedIds.add(token.identifier);
  const lists = routes.filter((r) => r.path.startsWith('/api/v3/') && !r.path.includes(':') && r.methods.includes('GET'));
  for (const list of lists) {
    const res = await t.api('GET', `${list.path}/`);
    if (res.statusCode !== 200 || !res.headers['content-type']?.includes('json')) continue;
    for (const item of (res.json().results ?? []) as Array<Record<string, unknown>>) {
      for (const key of ['pk', 'slug', 'uuid', 'id', 'identifier', 'name']) {
        const value = item[key];
        if ((typeof value === 'string' || typeof value === 'number') && !protectedIds.has(String(value))) idPool.push(String(value));
      }
    }
  }
  return protectedIds;
}

before(async () => {
  // Configured as deployed (single-mode forward auth needs the external URL: without it /start
  // answers a deliberate 500 page naming the missing setting).
  t = await createTestApp({ GATEHOUSE_EXTERNAL_URL: `http://${HOST}` });
  routes = routesOf(t.app);
  await makeFodder();
  protectedIds = await collectIds();
  const admin = (await t.api('GET', '/api/v3/core/users/me/')).json().user;
  sessionId = await createSession(t.deps, { userId: admin.pk, clientIp: '127.0.0.1', userAgent: 'fuzz', method: 'password' });
});
after(() => t.close());

const FIELDS = [
  'username', 'name', 'password', 'new_password', 'uid_field', 'component', 'slug', 'pk', 'is_active', 'groups', 'users', 'parent',
  'attributes', 'path', 'email', 'identifier', 'intent', 'expires', 'expiring', 'user', 'key', 'provider', 'client_id',
  'client_secret', 'redirect_uris', 'grant_type', 'code', 'refresh_token', 'token', 'authorization_flow', 'invalidation_flow',
  'order', 'target', 'policy', 'group', 'enabled', 'negate', 'timeout', 'stage', 'flow', 'designation', 'title', 'external_host',
  'mode', 'acs_url', 'issuer', 'audience', 'signing_kp', 'base_dn', 'search_group', 'providers', 'config', 'response', 'uuid',
  'SAMLRequest', 'RelayState', 'Signature', 'SigAlg', 'rd', 'next', 'state', 'scope', 'code_verifier', 'metadata', 'device',
  'selected_challenge', 'webauthn', 'recovery', '__proto__', 'constructor', 'is_superuser', 'sub_mode', 'policy_engine_mode',
  'meta_launch_url', 'open_in_new_tab', 'type', 'ip', 'cidr', 'score', 'check_ip', 'check_username', 'length_min', 'stages',
];

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '', ' ', '\u0000', '%00', '../../etc/passwd', "' OR 1=1 --", '<script>alert(1)</script>', 'javascript:alert(1)',
    '//evil.example/', 'http://[::1', 'https://evil.example@gatehouse.localhost/', '\\\\evil', '\x24{jndi:ldap://x}',
    '00000000-0000-4000-8000-000000000000', 'NaN', '-1', '0', '1e309', '9'.repeat(400), 'ä'.repeat(300), '\ud800',
    ADMIN_PASSWORD, 'akadmin', 'cn=admin,dc=ldap', '*)(uid=*', 'true', 'null', '[]', '{}',
  ),
  fc.constantFrom('1', '2', 'default-authentication-flow', 'fz-oidc', 'fz-proxy', 'fz-saml', 'fz-ldap', 'fodder', 'fodder-token'),
);

// The id pool is filled in before(); the arbitrary reads it when it is sampled.
const idValue = fc.oneof(
  fc.nat({ max: 10_000 }).map((i) => idPool[i % Math.max(1, idPool.length)] ?? '1'),
  hostileString,
);

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  idValue,
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(2 ** 53, -(2 ** 31) - 1, 1e300),
);
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 6 }),
})).value;
const fieldObject = fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 6 });

const body = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fieldObject.map((o) => ({ type: 'application/json', payload: JSON.stringify(o) })), weight: 4 },
  { arbitrary: jsonValue.map((v) => ({ type: 'application/json', payload: JSON.stringify(v) ?? 'null' })), weight: 1 },
  {
    arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(hostileString, idValue), { maxKeys: 6 }).map((o) => ({
      type: 'application/x-www-form-urlencoded',
      payload: new URLSearchParams(o as Record<string, string>).toString(),
    })),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      type: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', ''),
      payload: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{', '{"a":', '[]', `a=%ZZ&b=${'%'.repeat(50)}`, '\u0000\uffff', 'x'.repeat(70_000))),
    }),
    weight: 2,
  },
);

const query = fc.dictionary(
  fc.oneof(fc.constantFrom(...FIELDS, 'page', 'page_size', 'ordering', 'search', 'response_type', 'redirect_uri', 'prompt', 'max_age'), fc.string({ maxLength: 6 })),
  fc.oneof(hostileString, idValue, fc.constantFrom('-1', '0', '99999999', 'username', '-pk', 'code', 'https://rp.example/cb')),
  { maxKeys: 5 },
);

const headerValue = fc.oneof(hostileString.map((s) => s.replace(/[^\x20-\x7e]/g, '')), fc.constant('x'.repeat(8000)));
const headers = fc.record(
  {
    host: fc.constantFrom(HOST, 'evil.example', 'app.example.com', '[::1]:99999', 'a'.repeat(300), '127.0.0.1:1'),
    'x-forwarded-for': fc.constantFrom('203.0.113.7', 'not-an-ip', '1.1.1.1, 2.2.2.2', '::ffff:10.0.0.1', ''),
    'x-forwarded-proto': fc.constantFrom('https', 'http', 'gopher', ''),
    'x-forwarded-host': fc.constantFrom('app.example.com', 'evil.example', ''),
    'x-original-url': fc.constantFrom('https://app.example.com/x', 'not a url', 'http://[::1', '', 'javascript:alert(1)'),
    'x-original-uri': headerValue,
    origin: fc.constantFrom(`http://${HOST}`, 'https://evil.example', 'null', ''),
    referer: headerValue,
    accept: fc.constantFrom('text/html', 'application/json', '*/*', 'image/*'),
    'x-authentik-csrf': headerValue,
    authorization: fc.oneof(fc.constantFrom('Basic Zm9vOmJhcg==', 'Basic ???', 'Bearer', 'Bearer  ', 'Token x'), headerValue),
  },
  { requiredKeys: [] },
);

const cookieName = fc.oneof(fc.constantFrom(SESSION_COOKIE, 'authentik_proxy_abc', 'authentik_proxy_fz', 'gatehouse_csrf', '_oidc', 'authentik_saml'), fc.string({ maxLength: 8 }));
const cookies = fc.array(fc.tuple(cookieName, headerValue), { maxLength: 3 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('; '));

const request = fc.record({
  route: fc.nat(),
  method: fc.oneof({ arbitrary: fc.constant(''), weight: 9 }, { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'), weight: 1 }),
  params: fc.array(idValue, { minLength: 3, maxLength: 3 }),
  tail: fc.constantFrom('', 'x', '.well-known/openid-configuration', 'a/b/../../c', '%2e%2e/%00', 'jwks'),
  trailingSlash: fc.boolean(),
  query,
  headers,
  cookies,
  auth: fc.constantFrom('anonymous', 'token', 'session', 'bearer-garbage'),
  body,
});
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** The admin's user, groups and token are never the target of a change: the run needs them. */
function isMutating(method: string) {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

function toInject(r: FuzzRequest): InjectOptions {
  const route = routes[r.route % routes.length] as Route;
  const method = (r.method || route.methods[r.route % route.methods.length] || 'GET') as InjectOptions['method'];
  let params = 0;
  let url = route.path.replace(/:[a-z]+|\*/gi, (m) => encodeURIComponent((m === '*' ? r.tail : (r.params[params++ % 3] ?? '')).toWellFormed()) || 'x');
  if (r.trailingSlash && !url.endsWith('/')) url += '/';
  const qs = new URLSearchParams(r.query as Record<string, string>).toString();
  if (qs) url += `?${qs}`;
  const headers: Record<string, string> = { ...(r.headers as Record<string, string>) };
  if (r.cookies) headers.cookie = r.cookies;
  if (r.auth === 'token') headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  if (r.auth === 'bearer-garbage') headers.authorization = `Bearer ${'A'.repeat(60)}`;
  if (r.auth === 'session') {
    headers.cookie = `${SESSION_COOKIE}=${sessionId}${r.cookies ? `; ${r.cookies}` : ''}`;
    headers.host = HOST;
    headers.origin = `http://${HOST}`;
  }
  if (r.body) headers['content-type'] = r.body.type;
  if (r.body && !headers['content-type']) delete headers['content-type'];
  return { method, url, headers, payload: r.body?.payload };
}

/** A request whose target is the admin's own user, groups or token may change them: skipped. */
function touchesAdmin(options: InjectOptions, protectedIds: Set<string>): boolean {
  if (!isMutating(String(options.method))) return false;
  const path = String(options.url).split('?')[0] ?? '';
  return path.split('/').some((part) => protectedIds.has(decodeURIComponent(part)));
}

async function counts(): Promise<string> {
  const { rows } = await t.deps.db.query<Record<string, number>>(
    `SELECT ${TABLES.map((table) => `(SELECT count(*)::int FROM ${table}) AS ${table}`).join(', ')}`,
  );
  return JSON.stringify(rows[0]);
}

const STACK_FRAME = /\bat (?:async )?(?:[\w.<>]+ )?\(?(?:file:\/\/)?\/[^\s)]+:\d+:\d+/;

function leaks(options: InjectOptions, res: LightMyRequestResponse): string | null {
  const text = `${JSON.stringify(res.headers)}\n${res.body}`;
  const isViewKey = String(options.url).includes('/view_key');
  if (!isViewKey && text.includes(ADMIN_TOKEN)) return 'the admin token';
  if (text.includes(TEST_SECRET_KEY)) return 'the secret key';
  if (text.includes('$argon2')) return 'a password hash';
  if (STACK_FRAME.test(text)) return 'a stack frame';
  if (text.includes(process.cwd())) return 'a file path';
  if (/node_modules\//.test(text)) return 'a module path';
  return null;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

test(`every route, ${RUNS} generated hostile requests: no 5xx, no hang, no leak, no write when refused`, { timeout: 240_000 }, async () => {
  assert.ok(routes.length > 100, `routes found: ${routes.length}`);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const options = toInject(r);
      if (touchesAdmin(options, protectedIds)) return;
      const before = await counts();
      const res = await withTimeout(t.app.inject(options), REQUEST_TIMEOUT_MS);
      const described = `${options.method} ${options.url} ${JSON.stringify(options.headers).replace(/(.)\1{20,}/g, '$1…')} ${String(options.payload ?? '').slice(0, 800)}`;
      if (res === 'timeout') {
        failures.push(`hung > ${REQUEST_TIMEOUT_MS} ms: ${described}`);
        return;
      }
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500) failures.push(`${res.statusCode}: ${described} → ${res.body.slice(0, 300)}`);
      const leak = leaks(options, res);
      if (leak) failures.push(`leaks ${leak}: ${described} → ${res.body.slice(0, 300)}`);
      if (res.statusCode >= 400 && res.statusCode < 500) {
        const afterCounts = await counts();
        if (afterCounts !== before) failures.push(`refused (${res.statusCode}) yet wrote ${before} → ${afterCounts}: ${described}`);
      }
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const summary = `seed ${SEED}, ${RUNS} requests over ${routes.length} routes in ${seconds} s, statuses ${JSON.stringify(Object.fromEntries(statuses))}`;
  if (process.env.FUZZ_VERBOSE) console.log(summary);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures (${summary}; rerun with FUZZ_SEED=${SEED})`);
});
