import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { bootstrapAdmin } from '../../src/core/bootstrap.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { buildApp } from '../../src/web/app.ts';
import { createTestCore, type TestCore } from './backends.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const ADMIN_PASSWORD = 'Admin-Password-1!';

export interface TestApp extends TestCore {
  app: FastifyInstance;
  /** inject() with the admin's Bearer token and JSON body. */
  api(method: InjectOptions['method'], url: string, body?: unknown, token?: string | null): Promise<LightMyRequestResponse>;
}

/** An active internal user `<username>@example.com` (named `name`, default the username), with `password` when given. */
export async function createTestUser(t: TestCore, username: string, options: { name?: string; password?: string } = {}) {
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username,
    name: options.name ?? username,
    email: `${username}@example.com`,
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  if (options.password !== undefined) await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, options.password);
  return user;
}

/** One app per test file: fresh database, bootstrap admin akadmin with ADMIN_TOKEN; `env` as GATEHOUSE_* settings. */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const core = await createTestCore();
  await bootstrapAdmin(core.deps, { password: ADMIN_PASSWORD, token: ADMIN_TOKEN, email: 'admin@example.com' });
  return appOn(core, env);
}

/** A fresh install as a newcomer starts it: no administrator yet, no bootstrap variables (initial setup is open). */
export async function createFreshInstall(): Promise<TestApp> {
  return appOn(await createTestCore(), {});
}

async function appOn(core: TestCore, env: Record<string, string>): Promise<TestApp> {
  const config = loadConfig(env, null);
  core.deps.rateLimits = config.rate_limits;
  const app = await buildApp({ config, deps: core.deps, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  await app.ready();
  return {
    ...core,
    app,
    api(method, url, body, token = ADMIN_TOKEN) {
      return app.inject({
        method,
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async close() {
      await app.close();
      await core.close();
    },
  };
}

/**
 * assertRejected(method, url, body, field): the request answers 400 with an error on `field`,
 * and the counts of the listed collections (each a paginated list URL) are unchanged after it.
 */
export function rejectionCheck(t: TestApp, countedLists: string[]) {
  const footprint = async () =>
    Promise.all(countedLists.map(async (url) => (await t.api('GET', url)).json().pagination.count as number));
  return async function assertRejected(method: 'POST' | 'PUT' | 'PATCH', url: string, body: unknown, field: string) {
    const before = await footprint();
    const res = await t.api(method, url, body);
    assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}: ${res.body}`);
    assert.ok(res.json()[field], `error on ${field}: ${res.body}`);
    assert.deepEqual(await footprint(), before, 'a rejected request writes nothing');
  };
}
