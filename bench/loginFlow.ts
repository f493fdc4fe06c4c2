// A full password login as a browser does it, the bench users it logs in as, and the load loop
// that keeps N such browsers logging in back to back: shared by bench/logins.ts (one server) and
// bench/scaleOut.ts (1–3 servers behind Nginx).
import { Browser, type Reply, send } from './httpClient.ts';
import { percentile, randomText, round } from './harness.ts';

const SETUP_CONCURRENCY = 8;

const FLOW_PATH = '/api/v3/flows/executor/default-authentication-flow/';
const ME_PATH = '/api/v3/core/users/me/';
export const STEPS = ['get_flow', 'post_identification', 'post_password', 'get_me'] as const;
export type Step = (typeof STEPS)[number];

export interface TimedLogin {
  ok: boolean;
  totalMs: number;
  stepMs: Partial<Record<Step, number>>;
  error?: string;
}

function expect(reply: Reply, step: Step, check: (body: Record<string, unknown>) => boolean): void {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(reply.body) as Record<string, unknown>;
  } catch {
    // not JSON: reported below
  }
  if (reply.status !== 200 || !check(body)) throw new Error(`${step}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
}

/**
 * GET the flow, POST the username, POST the password (must end in a redirect), then GET
 * /core/users/me/ with the new session cookie (must be this user). A fresh browser each time.
 * `between` runs after every step (the census uses it to attribute traffic to steps).
 */
export async function login(
  baseUrl: string,
  user: BenchUser,
  between: (step: Step) => Promise<void> = async () => {},
): Promise<TimedLogin> {
  const browser = new Browser(baseUrl);
  const stepMs: TimedLogin['stepMs'] = {};
  const started = performance.now();
  const timed = async (step: Step, work: () => Promise<void>) => {
    const at = performance.now();
    await work();
    stepMs[step] = performance.now() - at;
    await between(step);
  };
  try {
    await timed('get_flow', async () =>
      expect(await browser.request('GET', FLOW_PATH), 'get_flow', (b) => b.component === 'ak-stage-identification'),
    );
    await timed('post_identification', async () =>
      expect(await browser.request('POST', FLOW_PATH, { uid_field: user.username }), 'post_identification', (b) => b.component === 'ak-stage-password'),
    );
    await timed('post_password', async () =>
      expect(await browser.request('POST', FLOW_PATH, { password: user.password }), 'post_password', (b) => b.component === 'xak-flow-redirect'),
    );
    await timed('get_me', async () =>
      expect(await browser.request('GET', ME_PATH), 'get_me', (b) => (b.user as { username?: string } | undefined)?.username === user.username),
    );
    return { ok: true, totalMs: performance.now() - started, stepMs };
  } catch (error) {
    return { ok: false, totalMs: performance.now() - started, stepMs, error: (error as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Users: created through the API with the bootstrap token, each with its own password.

export interface BenchUser {
  id: number;
  username: string;
  password: string;
}

async function api(baseUrl: string, token: string, path: string, json: Record<string, unknown>): Promise<Reply> {
  const body = JSON.stringify(json);
  return send(baseUrl, 'POST', path, { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body);
}

export async function createUsers(baseUrl: string, token: string, count: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const username = `login-${String(i).padStart(3, '0')}`;
      const created = await api(baseUrl, token, '/api/v3/core/users/', { username, name: `Login User ${i}`, email: `${username}@bench.invalid` });
      if (created.status !== 201) throw new Error(`create ${username}: HTTP ${created.status} ${created.body.slice(0, 200)}`);
      const { pk } = JSON.parse(created.body) as { pk: number };
      const password = `pw-${i}-${randomText(12)}`;
      const set = await api(baseUrl, token, `/api/v3/core/users/${pk}/set_password/`, { password });
      if (set.status !== 204) throw new Error(`set_password ${username}: HTTP ${set.status} ${set.body.slice(0, 200)}`);
      users.push({ id: pk, username, password });
    }
  };
  await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, worker));
  return users;
}


export function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)) };
}

export interface LoginLoad {
  clients: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface LoginRun<T> {
  /** Logins that ended inside the window, and failures that ended after it. */
  measured: TimedLogin[];
  warmup: { logins: number; failed: number };
  errors: Record<string, number>;
  /** What `readAtEdge` returned when the window opened and when it closed. */
  atStart: T;
  atEnd: T;
}

/**
 * `load.clients` browsers log in back to back (users in turn) through `baseUrl` for the warm-up
 * and then the window. `readAtEdge` runs exactly at the window's edges (timers), so work in flight
 * at both ends evens out — e.g. a CPU reading.
 */
export async function driveLogins<T>(baseUrl: string, users: BenchUser[], load: LoginLoad, readAtEdge: () => Promise<T>): Promise<LoginRun<T>> {
  const warmEnd = performance.now() + load.warmupSeconds * 1000;
  const end = warmEnd + load.durationSeconds * 1000;
  const measured: TimedLogin[] = [];
  const warmup = { logins: 0, failed: 0 };
  const errors: Record<string, number> = {};
  const atEdge = (at: number) => new Promise<T>((resolve, reject) => setTimeout(() => readAtEdge().then(resolve, reject), at - performance.now()));
  const started = atEdge(warmEnd);
  const ended = atEdge(end);
  let turn = 0;
  const client = async () => {
    while (performance.now() < end) {
      const user = users[turn++ % users.length] as BenchUser;
      const result = await login(baseUrl, user);
      const finishedAt = performance.now();
      if (!result.ok) errors[result.error ?? '?'] = (errors[result.error ?? '?'] ?? 0) + 1;
      // Throughput counts the logins that end inside the window; a failure counts wherever it ends.
      if (finishedAt >= warmEnd && finishedAt < end) measured.push(result);
      else if (finishedAt < warmEnd) {
        warmup.logins += 1;
        if (!result.ok) warmup.failed += 1;
      } else if (!result.ok) measured.push(result);
    }
  };
  const [atStart, atEnd] = await Promise.all([started, ended, ...Array.from({ length: load.clients }, client)]);
  return { measured, warmup, errors, atStart, atEnd };
}

/** Logins per second of a run, latency percentiles of the successful ones, failures (warm-up included). */
export function loginFigures(run: LoginRun<unknown>, load: LoginLoad) {
  const ok = run.measured.filter((r) => r.ok);
  const totals = summarize(ok.map((r) => r.totalMs));
  return {
    logins_per_s: round(ok.length / load.durationSeconds),
    p50_ms: totals.p50_ms,
    p99_ms: totals.p99_ms,
    failed: run.measured.length - ok.length + run.warmup.failed,
    logins: ok.length,
    warmup_logins: run.warmup.logins,
    errors: run.errors,
  };
}
