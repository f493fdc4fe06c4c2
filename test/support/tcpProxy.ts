import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP proxy in front of a real Postgres or Redis, to take it "down" and bring it back without
 * touching the shared service: cut() closes every connection and refuses new ones; stall() keeps
 * them open but passes nothing on (a hung service), until unstall().
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  private readonly target: { host: string; port: number };

  constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => (this.server as Server).listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stall(): void {
    for (const s of this.sockets) s.pause();
  }

  unstall(): void {
    for (const s of this.sockets) s.resume();
  }

  /** Listens again on the same port, as a restarted service would. */
  restore(): Promise<number> {
    return this.start(this.port);
  }
}
