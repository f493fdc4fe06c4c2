import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

export const SECRET = 'conf-secret-0123456789abcdef0123456789';
export const insecure = { execute: [client.allowInsecureRequests] };

export interface Harness {
  t: TestApp;
  base: string;
}

/** The app listening on a real port (openid-client and the apps replayed speak HTTP). */
export async function startHarness(): Promise<Harness> {
  const t = await createTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { t, base: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}` };
}

export async function addApp(
  t: TestApp,
  slug: string,
  clientId: string,
  clientType: 'confidential' | 'public',
  redirectUris: string[],
  flowSlug = 'default-provider-authorization-implicit-consent',
): Promise<{ applicationId: string }> {
  const { rows: flows } = await t.deps.db.query<{ id: string }>('SELECT id FROM flows WHERE slug = $1', [flowSlug]);
  const { rows } = await t.deps.db.query<{ id: number }>(
    "INSERT INTO providers (name, type, authorization_flow_id) VALUES ($1, 'oauth2', $2) RETURNING id",
    [`${slug}-provider`, flows[0]?.id],
  );
  await t.deps.db.query(
    'INSERT INTO oauth2_providers (provider_id, client_type, client_id, client_secret_encrypted, redirect_uris) VALUES ($1, $2, $3, $4, $5)',
    [
      rows[0]?.id,
      clientType,
      clientId,
      clientType === 'confidential' ? t.deps.clientSecretBox.seal(SECRET) : '',
      JSON.stringify(redirectUris.map((url) => ({ matching_mode: 'strict', url }))),
    ],
  );
  const app = await t.deps.db.query<{ id: string }>('INSERT INTO applications (slug, name, provider_id) VALUES ($1, $2, $3) RETURNING id', [
    slug,
    `App ${slug}`,
    rows[0]?.id,
  ]);
  return { applicationId: String(app.rows[0]?.id) };
}

export async function addUser(t: TestApp, username: string, password: string): Promise<number> {
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username,
    name: `${username[0]?.toUpperCase()}${username.slice(1)} Example`,
    email: `${username}@example.com`,
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, password);
  return user.id;
}

/** fetch with a cookie jar (by name; paths ignored) and no automatic redirects. */
export class Jar {
  readonly cookies = new Map<string, string>();
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(new URL(url, this.base), { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Walks the default login flow as `username`, ending at `next`. */
  async signIn(username: string, password: string, next: string): Promise<string> {
    const executor = `/api/v3/flows/executor/default-authentication-flow/?query=${encodeURIComponent(`next=${next}`)}`;
    const post = (body: unknown) =>
      this.fetch(executor, { method: 'POST', headers: { 'content-type': 'application/json', origin: this.base }, body: JSON.stringify(body) });
    await this.fetch(executor);
    await post({ component: 'ak-stage-identification', uid_field: username });
    const done = (await (await post({ component: 'ak-stage-password', password })).json()) as { to?: string };
    return done.to ?? '';
  }

  /**
   * Follows the browser's redirects from an authorization URL, signing in when the login flow
   * asks, until the app's redirect URI (returned) or a page (its Response).
   */
  async authorize(url: string, login?: { username: string; password: string }): Promise<URL | Response> {
    let res = await this.fetch(url);
    for (let hops = 0; hops < 10; hops += 1) {
      const location = res.headers.get('location');
      if (!location) return res;
      const target = new URL(location, this.base);
      if (target.origin !== this.base) return target;
      if (target.pathname === '/if/flow/default-authentication-flow/' && login) {
        res = await this.fetch(await this.signIn(login.username, login.password, target.searchParams.get('next') ?? ''));
      } else {
        res = await this.fetch(target.href);
      }
    }
    throw new Error('too many redirects');
  }
}
