// The floor of bench/loginFloor.ts: the four requests of a bench login (bench/loginFlow.ts)
// answered by bare node:http — no framework, no flow engine, no policies, no throttling, no
// CSRF — with the same argon2 verify, behind the same concurrency cap as Gatehouse's password
// stage. Not a product and not a design: it tells how much of the machine a login leaves over
// for everything an identity provider does besides hashing.
//
// Modes (argv[2]):
//   bare    flow state, users and sessions in this process's memory: HTTP + argon2 only;
//   stores  what any IdP that survives a restart must do: the user row from Postgres, flow state
//           and the session in Redis, one audit row per login — 2 SQL statements and 5 Redis
//           commands a login (Gatehouse: ~10 and ~14, bench/logins.ts's census).
// Prints {"port": n} on stdout once listening; users come as {"username","hash"} lines on stdin
// (bare) or are read from the floor_users table (stores).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import argon2 from 'argon2';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runLimited } from '../src/flows/hashingQueue.ts';

const mode = process.argv[2];
if (mode !== 'bare' && mode !== 'stores') {
  process.stderr.write('usage: node bench/floorServer.ts bare|stores [database redisPrefix]\n');
  process.exit(2);
}
const [database = '', redisPrefix = 'floor:'] = process.argv.slice(3);

const FLOW = '/api/v3/flows/executor/default-authentication-flow/';
const ME = '/api/v3/core/users/me/';
const COOKIE = 'authentik_session';

interface FlowState {
  username: string | null;
}
interface Stores {
  flowState(session: string): Promise<FlowState | null>;
  keepFlowState(session: string, state: FlowState): Promise<void>;
  user(username: string): Promise<{ id: number; hash: string } | null>;
  signIn(previous: string, session: string, user: { id: number; username: string }, clientIp: string): Promise<void>;
  signedIn(session: string): Promise<string | null>;
}

function memoryStores(users: Map<string, string>): Stores {
  const flows = new Map<string, FlowState>();
  const sessions = new Map<string, string>();
  return {
    flowState: async (session) => flows.get(session) ?? null,
    keepFlowState: async (session, state) => void flows.set(session, state),
    user: async (username) => {
      const hash = users.get(username);
      return hash ? { id: 0, hash } : null;
    },
    signIn: async (previous, session, user) => {
      flows.delete(previous);
      sessions.set(session, user.username);
    },
    signedIn: async (session) => sessions.get(session) ?? null,
  };
}

function externalStores(): Stores {
  const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database, max: 10 });
  const redis = new Redis({ host: '127.0.0.1', port: 6379, keyPrefix: redisPrefix, enableAutoPipelining: true });
  return {
    async flowState(session) {
      const raw = await redis.get(`flow:${session}`);
      return raw ? (JSON.parse(raw) as FlowState) : null;
    },
    async keepFlowState(session, state) {
      await redis.set(`flow:${session}`, JSON.stringify(state), 'EX', 1800);
    },
    async user(username) {
      const { rows } = await pool.query<{ id: number; hash: string }>('SELECT id, hash FROM floor_users WHERE username = $1', [username]);
      return rows[0] ?? null;
    },
    async signIn(previous, session, user, clientIp) {
      await Promise.all([
        pool.query('INSERT INTO floor_events (user_id, action, client_ip) VALUES ($1, $2, $3)', [user.id, 'login', clientIp]),
        redis.set(`session:${session}`, user.username, 'EX', 86_400),
        redis.del(`flow:${previous}`),
      ]);
    },
    signedIn: (session) => redis.get(`session:${session}`),
  };
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
}

function sessionOf(request: IncomingMessage): string | null {
  const match = new RegExp(`(?:^|; )${COOKIE}=([^;]+)`).exec(request.headers.cookie ?? '');
  return match?.[1] ?? null;
}

function answer(response: ServerResponse, body: unknown, session?: string): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' };
  if (session) headers['set-cookie'] = `${COOKIE}=${session}; Path=/; HttpOnly; SameSite=Lax`;
  response.writeHead(200, headers).end(text);
}

async function handle(stores: Stores, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = request.url?.split('?')[0];
  const session = sessionOf(request);
  if (path === ME && request.method === 'GET') {
    const username = session ? await stores.signedIn(session) : null;
    if (!username) return void response.writeHead(403).end();
    return answer(response, { user: { username } });
  }
  if (path !== FLOW) return void response.writeHead(404).end();
  if (request.method === 'GET') {
    const fresh = randomBytes(32).toString('base64url');
    await stores.keepFlowState(fresh, { username: null });
    return answer(response, { component: 'ak-stage-identification' }, fresh);
  }
  const body = await readBody(request);
  const state = session ? await stores.flowState(session) : null;
  if (!session || !state) return answer(response, { component: 'ak-stage-access-denied' });
  if (typeof body.uid_field === 'string') {
    await stores.keepFlowState(session, { username: body.uid_field });
    return answer(response, { component: 'ak-stage-password', pending_user: body.uid_field });
  }
  const user = state.username ? await stores.user(state.username) : null;
  const password = typeof body.password === 'string' ? body.password : '';
  const isValid = user ? await runLimited(() => argon2.verify(user.hash, password)) : false;
  if (!user || !isValid || !state.username) return answer(response, { component: 'ak-stage-password', response_errors: { password: [{ string: 'Invalid.' }] } });
  const signedIn = randomBytes(32).toString('base64url');
  await stores.signIn(session, signedIn, { id: user.id, username: state.username }, request.socket.remoteAddress ?? '');
  return answer(response, { component: 'xak-flow-redirect', to: '/' }, signedIn);
}

async function start(): Promise<void> {
  let stores: Stores;
  if (mode === 'bare') {
    const users = new Map<string, string>();
    for await (const line of createInterface({ input: process.stdin })) {
      if (!line.trim()) break;
      const { username, hash } = JSON.parse(line) as { username: string; hash: string };
      users.set(username, hash);
    }
    stores = memoryStores(users);
  } else {
    stores = externalStores();
  }
  const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    handle(stores, request, response).catch((error: Error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  process.once('SIGTERM', () => process.exit(0));
}

await start();
