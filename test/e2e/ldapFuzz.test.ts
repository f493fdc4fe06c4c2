import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { boolean, enumerated, integer, octets, sequence, tlv } from '../../src/outposts/ldap/ber.ts';
import { addUser, BASE, createLdapHarness, dnsOf, type LdapHarness, ldapTool, userDn } from '../support/ldap.ts';

// Random and mutated BER at the socket while a real client keeps working: every bad message
// ends its own connection (with a Notice of Disconnection or a plain close), never the server,
// and memory stays bounded.

let h: LdapHarness;
const PASSWORD = 'fuzz-Password-1';

before(async () => {
  h = await createLdapHarness();
  const admins = (await h.t.api('GET', '/api/v3/core/groups/?name=admins')).json().results[0].pk;
  await addUser(h.t, 'fuzzer', PASSWORD, [admins]);
});
after(() => h.close());

const bind = (id: number, dn: string, password: string) => sequence(integer(id), tlv(0x60, Buffer.concat([integer(3), octets(dn), octets(password, 0x80)])));
const equality = (attr: string, value: string) => tlv(0xa3, Buffer.concat([octets(attr), octets(value)]));
const searchRequest = (id: number, filter: Buffer, controls?: Buffer) =>
  sequence(
    integer(id),
    tlv(0x63, Buffer.concat([octets(BASE), enumerated(2), enumerated(0), integer(0), integer(0), boolean(false), filter, sequence(octets('cn'))])),
    ...(controls ? [controls] : []),
  );
// ldapjs #956: a 70-byte PasswordPolicy control with a malformed value killed ldapjs servers.
const passwordPolicyControl = tlv(
  0xa0,
  sequence(octets('1.3.6.1.4.1.42.2.27.8.5.1'), boolean(false), octets(Buffer.from('3082ffff0a01ff80', 'hex'))),
);
function deepNot(depth: number): Buffer {
  let filter = equality('cn', 'x');
  for (let i = 0; i < depth; i++) filter = tlv(0xa2, filter);
  return filter;
}

const SEEDS = [
  bind(1, userDn('fuzzer'), PASSWORD),
  searchRequest(2, equality('cn', 'fuzzer')),
  searchRequest(3, equality('cn', 'fuzzer'), passwordPolicyControl),
  searchRequest(4, tlv(0xa0, Buffer.concat([equality('cn', 'a'), tlv(0x87, Buffer.from('mail'))]))),
  sequence(integer(5), tlv(0x77, octets('1.3.6.1.4.1.4203.1.11.3', 0x80))),
  sequence(integer(6), tlv(0x42, Buffer.alloc(0))),
];

function mutate(seed: Buffer): Buffer {
  const copy = Buffer.from(seed);
  switch (randomInt(5)) {
    case 0: // flip bytes
      for (let i = 0; i < 1 + randomInt(4); i++) copy[randomInt(copy.length)] = randomInt(256);
      return copy;
    case 1: // truncate
      return copy.subarray(0, randomInt(copy.length));
    case 2: // claim a huge length
      return Buffer.concat([Buffer.from([0x30, 0x84, randomInt(256), 0xff, 0xff, 0xff]), copy.subarray(2)]);
    case 3: // splice random bytes in
      return Buffer.concat([copy.subarray(0, randomInt(copy.length)), randomBytes(randomInt(1, 40)), copy.subarray(randomInt(copy.length))]);
    default:
      return randomBytes(randomInt(1, 300));
  }
}

/** Sends bytes on a fresh connection and waits until the server answers, closes, or 100 ms pass. */
function throwAt(port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.on('error', done);
    socket.on('close', done);
    socket.setTimeout(100, done);
    socket.on('connect', () => socket.write(payload));
  });
}

async function clientStillWorks(): Promise<void> {
  const res = await ldapTool('ldapsearch', ['-x', '-LLL', '-H', h.ldapUrl, '-D', userDn('fuzzer'), '-w', PASSWORD, '-b', BASE, '(uid=fuzzer)', '1.1']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(dnsOf(res.stdout), [userDn('fuzzer')]);
}

test('malformed BER, truncated and giant messages, deep filters and ldapjs #956 end one connection, not the server', async () => {
  const port = h.server.ports.ldap;
  await clientStillWorks();
  const targeted = [
    searchRequest(7, deepNot(10_000)),
    Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]),
    Buffer.from([0x30, 0x80, 0x00, 0x00]),
    sequence(integer(8), tlv(0x7f, Buffer.alloc(3))),
    Buffer.concat([bind(9, userDn('fuzzer'), PASSWORD), searchRequest(10, equality('cn', 'fuzzer'), passwordPolicyControl)]),
  ];
  for (const payload of targeted) await throwAt(port, payload);
  await clientStillWorks();

  const before = process.memoryUsage().rss;
  const client = (async () => {
    for (let i = 0; i < 5; i++) await clientStillWorks();
  })();
  const fuzz = (async () => {
    for (let round = 0; round < 25; round++) {
      await Promise.all(Array.from({ length: 32 }, () => throwAt(port, mutate(SEEDS[randomInt(SEEDS.length)] as Buffer))));
    }
  })();
  await Promise.all([client, fuzz]);
  await clientStillWorks();
  const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grownMiB < 150, `RSS grew ${grownMiB.toFixed(0)} MiB`);
});

test('a message over the size bound gets a Notice of Disconnection (protocolError)', async () => {
  const answer = await new Promise<Buffer>((resolve) => {
    const socket = connect(h.server.ports.ldap, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', () => resolve(Buffer.concat(chunks)));
    socket.on('connect', () => socket.write(sequence(integer(1), tlv(0x63, Buffer.alloc(1024 * 1024)))));
  });
  // ExtendedResponse, messageID 0, resultCode protocolError (2), responseName 1.3.6.1.4.1.1466.20036.
  assert.equal(answer[0], 0x30);
  assert.ok(answer.includes(Buffer.from('1.3.6.1.4.1.1466.20036')), answer.toString('hex'));
  assert.ok(answer.includes(Buffer.from([0x0a, 0x01, 0x02])), 'protocolError');
});

test('a client that sends half a message and goes quiet holds nothing but its socket', async () => {
  const sockets = await Promise.all(
    Array.from({ length: 50 }, () => new Promise<Socket>((resolve) => {
      const s = connect(h.server.ports.ldap, '127.0.0.1', () => {
        s.write(Buffer.from([0x30, 0x82, 0x10]));
        resolve(s);
      });
      s.on('error', () => undefined);
    })),
  );
  await clientStillWorks();
  for (const s of sockets) s.destroy();
});
