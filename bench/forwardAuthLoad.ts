// Forward auth under load, as bench/forwardAuth.ts (one server) and bench/scaleOut.ts (1–3 servers)
// measure it: the app cookie a signed-in browser holds, the seed guide's Nginx block for an app
// behind `auth_request`, and the client (wrk when installed) hammering that app.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import autocannon, { type AutocannonResult } from 'autocannon';
import { HOST, round } from './harness.ts';
import { send } from './httpClient.ts';

export interface ForwardAuthLoad {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface Figures {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
}

/** Logs akadmin in through the executor, then /start on the auth host: the app cookie a browser would hold. */
export async function appCookie(baseUrl: string, authHost: string, appUrl: string, password: string): Promise<string> {
  const executor = '/api/v3/flows/executor/default-authentication-flow/';
  let session = '';
  const step = async (method: 'GET' | 'POST', body?: object) => {
    const headers: Record<string, string> = { ...(session ? { cookie: `authentik_session=${session}` } : {}), origin: baseUrl, ...(body ? { 'content-type': 'application/json' } : {}) };
    const reply = await send(baseUrl, method, executor, headers, body ? JSON.stringify(body) : undefined);
    const set = ((reply.headers['set-cookie'] as string[] | undefined) ?? []).find((c) => c.startsWith('authentik_session='));
    if (set) session = set.split(';')[0]?.split('=')[1] ?? '';
    return JSON.parse(reply.body);
  };
  await step('GET');
  await step('POST', { uid_field: 'akadmin' });
  const done = await step('POST', { password });
  if (done.component !== 'xak-flow-redirect') throw new Error(`login failed: ${JSON.stringify(done)}`);
  const start = await send(baseUrl, 'GET', `/outpost.goauthentik.io/start?rd=${encodeURIComponent(appUrl)}`, { host: authHost, cookie: `authentik_session=${session}` });
  const cookie = ((start.headers['set-cookie'] as string[] | undefined) ?? []).find((c) => c.startsWith('authentik_proxy_'));
  if (start.status !== 302 || !cookie) throw new Error(`/start gave ${start.status} without the app cookie`);
  return cookie.split(';')[0] as string;
}

/**
 * The seed guide's app block (its `location /outpost.goauthentik.io` and `location /`) for the app
 * `name` on `nginxPort`, asking `authUpstream` (a URL or an upstream's name) and proxying to the
 * app on `backendPort`. With `keepalive`, the auth subrequests reuse the upstream's pooled
 * connections (the upstream needs a `keepalive` directive).
 */
export function protectedAppServer(options: { name: string; nginxPort: number; authUpstream: string; backendPort: number; keepalive?: boolean }): string {
  const { name, nginxPort, authUpstream, backendPort } = options;
  const keepalive = options.keepalive ? '\nproxy_http_version 1.1;\nproxy_set_header Connection "";' : '';
  return `
server {
listen ${HOST}:${nginxPort};
server_name ${name};
location /outpost.goauthentik.io {
internal;
proxy_pass ${authUpstream}/outpost.goauthentik.io;${keepalive}
proxy_set_header Host $host;
proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
}
location / {
auth_request /outpost.goauthentik.io;
auth_request_set $authentik_username $upstream_http_x_authentik_username;
auth_request_set $authentik_groups $upstream_http_x_authentik_groups;
auth_request_set $authentik_email $upstream_http_x_authentik_email;
proxy_set_header X-authentik-username $authentik_username;
proxy_set_header X-authentik-groups $authentik_groups;
proxy_set_header X-authentik-email $authentik_email;
error_page 401 = @authentik_proxy_signin;
proxy_pass http://${HOST}:${backendPort};
proxy_set_header Host $host;
}
location @authentik_proxy_signin {
internal;
return 302 http://auth.bench.test:${nginxPort}/outpost.goauthentik.io/start?rd=$scheme://$http_host$request_uri;
}
}`;
}

/** The app behind the protected blocks: Nginx itself answering 200. */
export const backendServer = (port: number) => `server { listen ${HOST}:${port}; location / { return 200 "ok\\n"; } }`;

const execute = promisify(execFile);
// wrk (Debian's `wrk`) when present: a C client costs the shared CPUs far less than autocannon,
// so the figures are Nginx's and Gatehouse's rather than the client's.
const WRK = existsSync('/usr/bin/wrk') ? '/usr/bin/wrk' : null;
export const CLIENT_NAME = WRK ? 'wrk (1 thread)' : 'autocannon';

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const toMs = (value: string, unit: string) => Number(value) * (UNIT_MS[unit] ?? Number.NaN);

async function loadWithWrk(url: string, headers: string[], load: ForwardAuthLoad): Promise<Figures> {
  const args = (seconds: number) => ['-t1', `-c${load.connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  await execute(WRK as string, args(load.warmupSeconds));
  const { stdout } = await execute(WRK as string, args(load.durationSeconds));
  const percentile = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout);
    return m ? round(toMs(m[1] as string, m[2] as string), 2) : Number.NaN;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requests_per_s: round(Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0)),
    p50_ms: percentile('50'),
    p99_ms: percentile('99'),
    non_2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
    errors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

function figuresOf(result: AutocannonResult): Figures {
  return { requests_per_s: round(result.requests.average), p50_ms: result.latency.p50, p99_ms: result.latency.p99, non_2xx: result.non2xx, errors: result.errors };
}

/** GET /dashboard on the app `host` through Nginx on `port` with the app cookie: a warm-up, then the measured run. */
export async function loadProtectedApp(port: number, host: string, cookie: string, load: ForwardAuthLoad): Promise<Figures> {
  const url = `http://${HOST}:${port}/dashboard`;
  if (WRK) return loadWithWrk(url, [`Host: ${host}`, `Cookie: ${cookie}`], load);
  const result = await autocannon({
    url,
    connections: load.connections,
    duration: load.durationSeconds,
    warmup: { connections: load.connections, duration: load.warmupSeconds },
    headers: { host, cookie },
  });
  return figuresOf(result);
}
