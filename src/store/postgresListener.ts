import pg from 'pg';
import type { ListenEvents, PostgresOptions } from './db.ts';

/**
 * LISTEN needs one connection of its own that outlives any query. When it drops, it reconnects
 * every second and listens again, so pub/sub survives a database restart.
 */
export class PostgresListener {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly watchers = new Set<ListenEvents>();
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly options: PostgresOptions;

  constructor(options: PostgresOptions) {
    this.options = options;
  }

  async listen(channel: string, onMessage: (payload: string) => void, events?: ListenEvents): Promise<() => Promise<void>> {
    const isNew = !this.handlers.has(channel);
    const set = this.handlers.get(channel) ?? new Set<(payload: string) => void>();
    this.handlers.set(channel, set);
    set.add(onMessage);
    const client = await this.connect();
    if (isNew) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    if (events) {
      this.watchers.add(events);
      events.onListening?.();
    }
    return async () => {
      if (events) this.watchers.delete(events);
      set.delete(onMessage);
      if (set.size === 0) {
        this.handlers.delete(channel);
        await this.client?.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
      }
    };
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const { host, port, user, password, database, ssl } = this.options;
      const client = new pg.Client({ host, port, user, password, database, ssl, connectionTimeoutMillis: 3000 });
      client.on('notification', (n) => {
        for (const handler of this.handlers.get(n.channel) ?? []) handler(n.payload ?? '');
      });
      const lost = (error?: Error) => {
        if (this.client !== client) return;
        this.client = null;
        for (const watcher of this.watchers) watcher.onInterrupted?.();
        if (error) this.options.onError?.(error);
        this.scheduleReconnect();
      };
      client.on('error', lost);
      client.on('end', () => lost());
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (error) {
        client.end().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = null;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  afterLocalCommit() {
    for (const watcher of this.watchers) watcher.onLocalCommit?.();
  }

  private scheduleReconnect() {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect().then(
        () => {
          for (const watcher of this.watchers) watcher.onListening?.();
        },
        () => this.scheduleReconnect(),
      );
    }, 1000);
    this.retry.unref();
  }

  async close() {
    this.closed = true;
    for (const watcher of this.watchers) watcher.onInterrupted?.();
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
