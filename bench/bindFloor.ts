// The floors of bench/ldap.ts's direct binds: simple binds answered with the same argon2 verify,
// behind the same concurrency cap as Gatehouse's password stage, and nothing else — no flow
// engine, no policies, no throttling, no events, no database. Not a product and not a design: it
// tells how near to the argon2 bound any LDAP server gets on this machine, and one shaped like
// Gatehouse's (an outpost process that asks a core process over HTTP, as the issue prescribes).
//
// Modes (argv[2]):
//   ldap           an LDAP listener that verifies the password itself (the outpost's BER codec);
//   core           a node:http server: POST {"dn","password"} → {"ok":bool} after the verify;
//   relay <url>    an LDAP listener that asks such a core for every bind (kept-alive node:http,
//                  the outpost's own coreExchange).
// The one hash every bench user has comes in BIND_FLOOR_HASH. Prints {"port": n} on stdout once listening.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import argon2 from 'argon2';
import { runLimited } from '../src/flows/hashingQueue.ts';
import { elementSize } from '../src/outposts/ldap/ber.ts';
import { coreExchange } from '../src/outposts/ldap/coreHttp.ts';
import { bindResponse, decodeMessage, ResultCode } from '../src/outposts/ldap/protocol.ts';

const [mode, coreUrl] = process.argv.slice(2);
const hash = process.env.BIND_FLOOR_HASH ?? '';
if (!hash || (mode !== 'ldap' && mode !== 'core' && !(mode === 'relay' && coreUrl))) {
  process.stderr.write('usage: BIND_FLOOR_HASH=<argon2 hash> node bench/bindFloor.ts ldap|core|relay <core url>\n');
  process.exit(2);
}

// The bench's users: cn=bench<n>,ou=users,<base>.
const isKnownDn = (dn: string) => /^cn=bench\d+,ou=users,/i.test(dn);
const verify = (dn: string, password: string) => (isKnownDn(dn) ? runLimited(() => argon2.verify(hash, password)) : Promise.resolve(false));

async function askCore(dn: string, password: string): Promise<boolean> {
  const answer = await coreExchange(`${coreUrl}/bind`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ dn, password }),
    signal: AbortSignal.timeout(30_000),
  });
  return answer.status === 200 && (JSON.parse(answer.text) as { ok: boolean }).ok;
}

/** One LDAP connection: frames messages, answers binds in order, ends at unbind. */
function serveLdap(socket: Socket, check: (dn: string, password: string) => Promise<boolean>): void {
  let buffered: Buffer = Buffer.alloc(0);
  let chain = Promise.resolve();
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      const size = elementSize(buffered, 64 * 1024);
      if (size < 0 || buffered.length < size) break;
      const message = decodeMessage(buffered.subarray(0, size));
      buffered = buffered.subarray(size);
      chain = chain.then(async () => {
        const { request } = message;
        if (request.op === 'unbind') return void socket.end();
        if (request.op !== 'bind') return void socket.write(bindResponse(message.id, ResultCode.unwillingToPerform));
        const isValid = await check(request.name, request.password?.toString('utf8') ?? '');
        socket.write(bindResponse(message.id, isValid ? ResultCode.success : ResultCode.invalidCredentials));
      });
    }
  });
}

function announce(server: { address(): unknown }) {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}

if (mode === 'core') {
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const { dn, password } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { dn: string; password: string };
      const body = JSON.stringify({ ok: await verify(dn, password) });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => announce(server));
} else {
  const check = mode === 'ldap' ? verify : askCore;
  const server = createServer((socket) => serveLdap(socket, check));
  server.listen(0, '127.0.0.1', () => announce(server));
}
