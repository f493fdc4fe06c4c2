import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenAddress } from '../../config/schema.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { serveConnection } from './connection.ts';
import type { LdapOutpost } from './outpost.ts';
import { loadSecureContext, type TlsFiles } from './tls.ts';

// The listeners: plain LDAP (with StartTLS) and LDAPS. Errors on a socket or a handshake stay
// with that client; the servers themselves log and keep going.

export interface LdapServerOptions {
  outposts: () => LdapOutpost[];
  logger: Logger;
  ldap: ListenAddress;
  ldaps: ListenAddress;
  tls: TlsFiles;
  maxMessageBytes?: number;
  idleTimeoutMs?: number;
  maxConnectionsPerAddress?: number;
  metrics?: Pick<Metrics, 'ldapRequest'>;
}

export interface RunningLdapServer {
  close(): Promise<void>;
  ports: { ldap: number; ldaps: number };
}

const listen = (server: Server | TlsServer, address: ListenAddress) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });

export async function startLdapServer(options: LdapServerOptions): Promise<RunningLdapServer> {
  const { logger } = options;
  const { context, cert, key, isSelfSigned } = loadSecureContext(options.tls, [options.ldap.host, options.ldaps.host].filter((h) => h !== '0.0.0.0' && h !== '::'));
  if (isSelfSigned) logger.warn('ldap_tls_self_signed: set GATEHOUSE_LDAP__TLS_CERT and GATEHOUSE_LDAP__TLS_KEY for a trusted certificate');
  const connection = {
    outposts: options.outposts,
    logger,
    secureContext: context,
    // Our largest request is a search with a big filter: 64 KiB is far beyond any real client, and
    // bounds what a connection that trickles a message in can make us hold (4,096 × 64 KiB).
    maxMessageBytes: options.maxMessageBytes ?? 64 * 1024,
    idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60_000,
    metrics: options.metrics,
  };
  // One address cannot take every connection slot: past its share, new connections are dropped.
  const perAddress = new Map<string, number>();
  const admit = (socket: Socket): void => {
    const address = socket.remoteAddress ?? '';
    const count = perAddress.get(address) ?? 0;
    if (count >= (options.maxConnectionsPerAddress ?? 256)) {
      socket.destroy();
      return;
    }
    perAddress.set(address, count + 1);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  };
  const plain = createServer({ noDelay: true }, (socket) => serveConnection(socket, connection, false));
  const secure = createTlsServer({ cert, key, minVersion: 'TLSv1.2' }, (socket) => serveConnection(socket, connection, true));
  secure.on('tlsClientError', (error, socket) => {
    logger.debug({ err: error.message }, 'ldaps_handshake_failed');
    socket.destroy();
  });
  // Open sockets, so close() can end idle clients instead of waiting for them.
  const sockets = new Set<Socket>();
  for (const server of [plain, secure]) {
    server.maxConnections = 4096;
    server.on('connection', (socket) => {
      admit(socket);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('error', (error) => logger.error({ err: error }, 'ldap_server_error'));
  }
  try {
    await listen(plain, options.ldap);
    await listen(secure, options.ldaps);
  } catch (error) {
    // One port taken: release the other too, so a retry starts clean.
    for (const server of [plain, secure]) if (server.listening) server.close();
    throw error;
  }
  const portOf = (s: Server | TlsServer) => (s.address() as { port: number }).port;
  logger.info({ ldap: `${options.ldap.host}:${portOf(plain)}`, ldaps: `${options.ldaps.host}:${portOf(secure)}` }, 'ldap_listening');
  return {
    ports: { ldap: portOf(plain), ldaps: portOf(secure) },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([plain, secure].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
