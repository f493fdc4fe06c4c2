import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { CoreClient } from '../../src/outposts/ldap/coreClient.ts';
import { LdapOutpost } from '../../src/outposts/ldap/outpost.ts';
import { startLdapServer } from '../../src/outposts/ldap/server.ts';
import { ldapTool } from '../support/ldap.ts';

test('one address gets at most its share of connections; the rest are dropped at once', async () => {
  const server = await startLdapServer({
    outposts: () => [],
    logger: pino({ level: 'silent' }),
    ldap: { host: '127.0.0.1', port: 0 },
    ldaps: { host: '127.0.0.1', port: 0 },
    tls: {},
    maxConnectionsPerAddress: 3,
  });
  try {
    const open = (): Promise<{ socket: Socket; closed: Promise<void> }> =>
      new Promise((resolve) => {
        const socket = connect(server.ports.ldap, '127.0.0.1', () => resolve({ socket, closed }));
        const closed = new Promise<void>((done) => socket.on('close', () => done()));
        socket.on('error', () => undefined);
      });
    const sockets = [];
    for (let i = 0; i < 5; i++) sockets.push(await open());
    const settled = await Promise.all(
      sockets.map(({ closed }) => Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 300))])),
    );
    assert.deepEqual(settled, ['open', 'open', 'open', 'closed', 'closed']);
    for (const { socket } of sockets) socket.destroy();
    await Promise.all(sockets.slice(0, 3).map(({ closed }) => closed));
    await new Promise((r) => setTimeout(r, 50));
    const again = await open();
    const state = await Promise.race([again.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 300))]);
    assert.equal(state, 'open', 'slots come back when connections close');
    again.socket.destroy();
  } finally {
    await server.close();
  }
});

test('before its first copy of the directory a bind is "unavailable" (52), after it an unknown name is "invalid credentials" (49)', async () => {
  // A stand-in core that holds the directory back until released.
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => (release = r));
  const provider = {
    pk: 1, name: 'p', base_dn: 'dc=load,dc=example', bind_flow_slug: 'f', application_slug: null, search_group: null,
    uid_start_number: 2000, gid_start_number: 4000, search_mode: 'cached', bind_mode: 'direct', mfa_support: false,
  };
  const core = createServer(async (request, response) => {
    const path = request.url?.split('?')[0];
    if (path === '/api/v3/outposts/ldap/directory/version/' || path === '/api/v3/outposts/ldap/directory/') await released;
    const body =
      path === '/api/v3/outposts/ldap/' ? { results: [provider] } : path?.endsWith('/version/') ? { version: 'v1' } : { version: 'v1', users: [], groups: [] };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  core.listen(0, '127.0.0.1');
  await once(core, 'listening');
  const outpost = new LdapOutpost(
    new CoreClient({ host: `http://127.0.0.1:${(core.address() as AddressInfo).port}`, token: 't' }),
    pino({ level: 'silent' }),
    0,
  );
  const loaded = outpost.start();
  const server = await startLdapServer({
    outposts: () => [outpost],
    logger: pino({ level: 'silent' }),
    ldap: { host: '127.0.0.1', port: 0 },
    ldaps: { host: '127.0.0.1', port: 0 },
    tls: {},
  });
  const whoami = () => ldapTool('ldapwhoami', ['-x', '-H', `ldap://127.0.0.1:${server.ports.ldap}`, '-D', 'cn=alice,ou=users,dc=load,dc=example', '-w', 'pw']);
  try {
    assert.equal((await whoami()).code, 52, 'not loaded yet: try again');
    release();
    await loaded;
    assert.ok(outpost.hasDirectory);
    assert.equal((await whoami()).code, 49, 'loaded, and no such user');
  } finally {
    outpost.stop();
    await server.close();
    core.close();
  }
});

/** A root DSE read (base "", scope base, `(objectClass=*)`): answerable before any bind. */
function rootDseRequest(id: number): Buffer {
  const filter = Buffer.concat([Buffer.from([0x87, 11]), Buffer.from('objectClass')]);
  const body = Buffer.concat([Buffer.from([0x04, 0, 0x0a, 1, 0, 0x0a, 1, 0, 0x02, 1, 0, 0x02, 1, 0, 0x01, 1, 0]), filter, Buffer.from([0x30, 0])]);
  const inner = Buffer.concat([Buffer.from([0x02, 4, (id >>> 24) & 0x7f, (id >>> 16) & 255, (id >>> 8) & 255, id & 255, 0x63, body.length]), body]);
  return Buffer.concat([Buffer.from([0x30, inner.length]), inner]);
}

test('a client that sends requests but never reads the answers is not answered ahead: the server stops reading instead of buffering', async () => {
  let answered = 0;
  const server = await startLdapServer({
    outposts: () => [],
    logger: pino({ level: 'silent' }),
    ldap: { host: '127.0.0.1', port: 0 },
    ldaps: { host: '127.0.0.1', port: 0 },
    tls: {},
    metrics: { ldapRequest: () => void answered++ },
  });
  const socket = connect(server.ports.ldap, '127.0.0.1');
  socket.on('error', () => undefined);
  try {
    await once(socket, 'connect');
    socket.pause();
    // 200,000 requests (8 MB) whose answers (60 MB) would all sit in the server's memory.
    const sent = 200_000;
    const chunk = (from: number) => Buffer.concat(Array.from({ length: 1000 }, (_, i) => rootDseRequest(from + i)));
    for (let i = 0; i < sent; i += 1000) socket.write(chunk(i + 1));
    // Answered as far as the socket buffers take, then nothing until the client reads.
    let last = -1;
    for (let waited = 0; waited < 15_000 && answered !== last; waited += 500) {
      last = answered;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(answered < sent / 4, `${answered} of ${sent} answered to a client that read none`);
  } finally {
    socket.destroy();
    await server.close();
  }
});
