import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics/metrics.ts';
import { BerError } from './ber.ts';
import { MessageFramer } from './framer.ts';
import { handleMessage, type SessionState } from './operations.ts';
import type { LdapOutpost } from './outpost.ts';
import { decodeMessage, noticeOfDisconnection, ResultCode } from './protocol.ts';

// One client connection: frames BER messages out of the byte stream (bounded), answers them in
// order, upgrades to TLS on StartTLS, and closes on anything malformed with a Notice of
// Disconnection — the error stays with this connection; the server keeps serving the others.

export interface ConnectionOptions {
  outposts: () => LdapOutpost[];
  logger: Logger;
  secureContext: SecureContext | null;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  metrics?: Pick<Metrics, 'ldapRequest'> | undefined;
}

const MAX_QUEUED = 64;

export function serveConnection(raw: Socket, options: ConnectionOptions, isTls: boolean): void {
  let socket: Socket = raw;
  const framer = new MessageFramer(options.maxMessageBytes);
  const queue: Buffer[] = [];
  let isWorking = false;
  let isClosed = false;
  const state: SessionState = {
    bound: null,
    isTls,
    clientIp: (raw.remoteAddress ?? '').replace(/^::ffff:/, ''),
  };

  const close = (notice?: { code: number; message: string }) => {
    if (isClosed) return;
    isClosed = true;
    queue.length = 0;
    if (notice && socket.writable) socket.end(noticeOfDisconnection(notice.code, notice.message));
    else socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  const write = (data: Buffer) => {
    if (!isClosed && socket.writable) socket.write(data);
  };
  const drained = () =>
    new Promise<void>((resolve) => {
      if (isClosed || !socket.writableNeedDrain) return resolve();
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });

  const startTls = (): boolean => {
    if (!options.secureContext || state.isTls || framer.hasPartial || queue.length > 0) return false;
    return true;
  };

  // RFC 4511 §4.14.2: the TLS handshake starts right after the StartTLS response.
  const upgrade = () => {
    raw.removeListener('data', onData);
    const secure = new TLSSocket(raw, { isServer: true, secureContext: options.secureContext as SecureContext });
    secure.on('error', () => secure.destroy());
    secure.on('data', onData);
    secure.on('close', () => {
      isClosed = true;
    });
    socket = secure;
    state.isTls = true;
  };

  const work = async () => {
    if (isWorking) return;
    isWorking = true;
    try {
      while (queue.length > 0 && !isClosed) {
        // A client that sends requests but never reads the answers must not make us hold them:
        // every answer would sit in the socket's buffer, unbounded (a rootDSE read before any bind
        // is 40 bytes in, 300 out). The next request waits until the client has taken the last
        // answers; meanwhile the queue fills, reading pauses, and TCP pushes back on the client.
        if (socket.writableNeedDrain) await drained();
        if (isClosed) break;
        const frame = queue.shift() as Buffer;
        if (queue.length < MAX_QUEUED / 4) socket.resume();
        let message: ReturnType<typeof decodeMessage>;
        try {
          message = decodeMessage(frame);
        } catch (error) {
          close({ code: ResultCode.protocolError, message: error instanceof BerError ? error.message : 'Malformed message.' });
          return;
        }
        const outcome = await handleMessage(message, state, { outposts: options.outposts(), write, drained, canStartTls: startTls, metrics: options.metrics });
        if (outcome === 'close') close();
        else if (outcome === 'starttls') upgrade();
      }
    } catch (error) {
      if (error instanceof BerError) {
        close({ code: ResultCode.protocolError, message: error.message });
        return;
      }
      options.logger.error({ err: error }, 'ldap_connection_failed');
      close({ code: ResultCode.other, message: 'Internal error.' });
    } finally {
      isWorking = false;
    }
  };

  function onData(chunk: Buffer) {
    if (isClosed) return;
    try {
      queue.push(...framer.push(chunk));
    } catch (error) {
      close({ code: ResultCode.protocolError, message: error instanceof BerError ? error.message : 'Malformed message.' });
      return;
    }
    // Back-pressure: a client that pipelines faster than we answer is paused, not buffered.
    if (queue.length >= MAX_QUEUED) socket.pause();
    void work();
  }

  raw.on('data', onData);
  raw.on('error', () => raw.destroy());
  raw.on('close', () => {
    isClosed = true;
  });
  raw.setTimeout(options.idleTimeoutMs, () => close({ code: ResultCode.unavailable, message: 'Idle timeout.' }));
}
