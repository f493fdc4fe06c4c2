import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { BerError } from '../../src/outposts/ldap/ber.ts';
import { serveConnection } from '../../src/outposts/ldap/connection.ts';
import { MessageFramer } from '../../src/outposts/ldap/framer.ts';

/**
 * An unbind request (id `id`) padded with a control list to `size` bytes, or just under it where
 * the length octets' growth skips that size (130 bytes cannot be made): a whole LDAPMessage.
 */
function message(size: number, id = 1): Buffer {
  const header = (length: number) => (length < 0x80 ? [length] : [0x82, length >> 8, length & 255]);
  const inner = (padding: number) => Buffer.concat([Buffer.from([0x02, 1, id, 0x42, 0]), Buffer.from([0xa0, ...header(padding)]), Buffer.alloc(padding)]);
  for (let padding = size; padding >= 0; padding--) {
    const body = inner(padding);
    const whole = Buffer.concat([Buffer.from([0x30, ...header(body.length)]), body]);
    if (whole.length <= size) return whole;
  }
  throw new Error(`no message of ${size} bytes`);
}

test('messages come out whole and in order however the stream is cut', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 10, max: 3000 }), { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 30 }), (sizes, cuts) => {
      const sent = sizes.map((size, i) => message(size, i + 1));
      const stream = Buffer.concat(sent);
      const framer = new MessageFramer(64 * 1024);
      const received: Buffer[] = [];
      let at = 0;
      for (const cut of cuts) {
        received.push(...framer.push(stream.subarray(at, Math.min(stream.length, at + cut))));
        at = Math.min(stream.length, at + cut);
      }
      received.push(...framer.push(stream.subarray(at)));
      assert.deepEqual(received, sent);
      assert.equal(framer.hasPartial, false);
    }),
  );
});

test('a message larger than the limit is refused from its header, before its body arrives', () => {
  const framer = new MessageFramer(1024);
  assert.throws(() => framer.push(Buffer.from([0x30, 0x82, 0x10, 0x00])), BerError);
});

/** Just enough of a net.Socket for serveConnection: what it reads, and nothing written back. */
class FakeSocket extends EventEmitter {
  remoteAddress = '192.0.2.1';
  writable = true;
  writableNeedDrain = false;
  write() {
    return true;
  }
  end() {}
  destroy() {}
  pause() {}
  resume() {}
  setTimeout() {}
}

test('a message trickled in a byte at a time costs the outpost no more than one copy of it (no join per byte)', () => {
  const socket = new FakeSocket();
  serveConnection(socket as unknown as Socket, { outposts: () => [], logger: pino({ level: 'silent' }), secureContext: null, maxMessageBytes: 64 * 1024, idleTimeoutMs: 60_000 }, false);
  const whole = message(64 * 1024 - 100);
  const started = performance.now();
  for (let i = 0; i < whole.length; i++) socket.emit('data', whole.subarray(i, i + 1));
  const elapsed = performance.now() - started;
  // Joining on every byte copied 2 GB here (700 ms and more); one copy takes a few ms.
  assert.ok(elapsed < 300, `${Math.round(elapsed)} ms for ${whole.length} one-byte chunks`);
});
