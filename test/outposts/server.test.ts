import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { startLdapServer } from '../../src/outposts/ldap/server.ts';

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
