// Counting proxies for the round-trip census of bench/logins.ts: a Gatehouse process pointed at
// these instead of Postgres and Redis talks through them unchanged, and every SQL statement (one
// per Sync or simple Query of the Postgres wire protocol) and every Redis command it sends is
// recorded. Only the client-to-server direction is read; replies pass through untouched.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { HOST } from './harness.ts';

export interface WireEvent {
  kind: 'sql' | 'redis';
  /** The statement, whitespace collapsed; for Redis the command and its key (prefix removed, hashes shortened). */
  text: string;
  /** SQL only: from its Sync (or Query) leaving Gatehouse to Postgres's ReadyForQuery passing back. */
  ms?: number;
}

export interface CountingProxy {
  port: number;
  close(): Promise<void>;
}

/** Collects what the proxies see; take() hands over everything since the previous take(). */
export class WireRecorder {
  private events: WireEvent[] = [];

  record(event: WireEvent): void {
    this.events.push(event);
  }

  take(): WireEvent[] {
    const taken = this.events;
    this.events = [];
    return taken;
  }
}

type Parser = (chunk: Buffer) => void;
/** Readers of one connection's two directions. */
interface Parsers {
  fromClient: Parser;
  fromServer?: Parser;
}

async function startProxy(upstreamPort: number, newParsers: () => Parsers): Promise<CountingProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, HOST);
    sockets.add(client);
    sockets.add(upstream);
    const parsers = newParsers();
    client.on('data', (chunk: Buffer) => parsers.fromClient(chunk));
    if (parsers.fromServer) upstream.on('data', parsers.fromServer);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

const collapse = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/**
 * Splits a Postgres protocol stream into messages: type byte + int32 length (which counts
 * itself). The frontend's first message (startup, or an SSLRequest/GSSENCRequest before it) has
 * no type byte; `untypedFirst` handles that. SSL is not supported (the bench runs without it).
 */
function postgresMessages(onMessage: (type: string, body: Buffer) => void, untypedFirst: boolean): Parser {
  let buffer: Buffer = Buffer.alloc(0);
  let isStarted = !untypedFirst;
  return (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (;;) {
      if (!isStarted) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        isStarted = code !== 80877103 && code !== 80877104; // SSLRequest, GSSENCRequest come before startup
        buffer = buffer.subarray(length);
        continue;
      }
      if (buffer.length < 5) return;
      const total = 1 + buffer.readInt32BE(1);
      if (buffer.length < total) return;
      const type = String.fromCharCode(buffer[0] as number);
      const body = buffer.subarray(5, total);
      buffer = buffer.subarray(total);
      onMessage(type, body);
    }
  };
}

/**
 * One statement is one Sync (extended protocol: Parse, Bind, Describe, Execute, Sync in one
 * write, as node-postgres sends a parameterized query) or one simple Query; it is done at the
 * ReadyForQuery that answers it (answers come in order).
 */
function postgresParsers(onStatement: (sql: string, ms: number) => void): Parsers {
  // Named prepared statements are parsed once per connection and then only bound by name.
  const named = new Map<string, string>();
  let bound = '(a prepared statement)';
  const pending: Array<{ sql: string; at: number }> = [];
  const cString = (body: Buffer, from = 0) => body.subarray(from, body.indexOf(0, from)).toString('utf8');
  return {
    fromClient: postgresMessages((type, body) => {
      if (type === 'P') {
        const name = cString(body);
        bound = collapse(cString(body, body.indexOf(0) + 1));
        if (name) named.set(name, bound);
      } else if (type === 'B') {
        const statement = cString(body, body.indexOf(0) + 1); // after the portal's name
        if (statement) bound = named.get(statement) ?? `(prepared statement ${statement})`;
      } else if (type === 'S') pending.push({ sql: bound, at: performance.now() });
      else if (type === 'Q') pending.push({ sql: collapse(cString(body)), at: performance.now() });
    }, true),
    fromServer: postgresMessages((type) => {
      if (type !== 'Z') return;
      const done = pending.shift(); // none for the ReadyForQuery that ends the startup
      if (done) onStatement(done.sql, performance.now() - done.at);
    }, false),
  };
}

/** Redis commands as RESP arrays of bulk strings (what ioredis sends), or inline commands. */
function redisParser(onCommand: (args: string[]) => void): Parser {
  let buffer: Buffer = Buffer.alloc(0);
  const readLine = (from: number): { line: string; next: number } | null => {
    const end = buffer.indexOf('\r\n', from);
    return end < 0 ? null : { line: buffer.subarray(from, end).toString('utf8'), next: end + 2 };
  };
  /** One whole command at the start of the buffer, or null while incomplete. */
  const parseOne = (): { args: string[]; next: number } | null => {
    const head = readLine(0);
    if (!head) return null;
    if (!head.line.startsWith('*')) return { args: head.line.split(' ').filter(Boolean), next: head.next };
    const count = Number(head.line.slice(1));
    const args: string[] = [];
    let at = head.next;
    for (let i = 0; i < count; i++) {
      const size = readLine(at);
      if (!size) return null;
      const length = Number(size.line.slice(1));
      if (buffer.length < size.next + length + 2) return null;
      args.push(buffer.subarray(size.next, size.next + length).toString('utf8'));
      at = size.next + length + 2;
    }
    return { args, next: at };
  };
  return (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (let command = parseOne(); command; command = parseOne()) {
      buffer = buffer.subarray(command.next);
      onCommand(command.args);
    }
  };
}

/** Proxies for Postgres and Redis whose traffic lands in recorder; Redis keys lose keyPrefix. */
export async function startCountingProxies(
  upstream: { postgresPort: number; redisPort: number },
  keyPrefix: string,
  recorder: WireRecorder,
): Promise<{ postgres: CountingProxy; redis: CountingProxy }> {
  const postgres = await startProxy(upstream.postgresPort, () =>
    postgresParsers((sql, ms) => recorder.record({ kind: 'sql', text: sql, ms })),
  );
  const redisKey = (key: string | undefined) =>
    key === undefined ? '' : ` ${key.startsWith(keyPrefix) ? key.slice(keyPrefix.length) : key}`.replace(/[0-9a-f]{64}/g, '<sha256>');
  const redis = await startProxy(upstream.redisPort, () => ({
    fromClient: redisParser(([name = '', key]) => recorder.record({ kind: 'redis', text: `${name.toUpperCase()}${redisKey(key)}` })),
  }));
  return { postgres, redis };
}
