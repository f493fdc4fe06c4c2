import { Gauge, type Registry } from 'prom-client';
import type { CoreDeps } from '../core/context.ts';
import { pingDatabase, poolOf } from '../store/db.ts';
import { countLiveUserSessions } from '../store/userSessions.ts';
import { answers, withTimeout } from './sampling.ts';

/** Postgres, its pool and Redis as this process sees them; with `sessions`, the signed-in browsers. */
export function registerStorageGauges(registry: Registry, deps: CoreDeps, options: { sessions: boolean }): void {
  const registers = [registry];
  new Gauge({
    name: 'gatehouse_db_up',
    help: 'Whether the database (Postgres, or embedded PGlite) answered a query at scrape time.',
    registers,
    async collect() {
      this.set(await answers(() => pingDatabase(deps.db)));
    },
  });
  const pool = poolOf(deps.db);
  if (pool) {
    new Gauge({
      name: 'gatehouse_db_pool_connections',
      help: 'Postgres pool connections of this process: total open, idle, and requests waiting for one.',
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }
  if (deps.cache.kind === 'redis') {
    new Gauge({
      name: 'gatehouse_redis_up',
      help: 'Whether Redis answered PING at scrape time.',
      registers,
      async collect() {
        this.set(await answers(() => deps.cache.ping()));
      },
    });
  }
  if (options.sessions) {
    new Gauge({
      name: 'gatehouse_sessions_active',
      help: 'Signed-in browser sessions that have not expired (the same number on every replica).',
      registers,
      async collect() {
        // While the database is away the last value stays; gatehouse_db_up says why.
        const count = await withTimeout(countLiveUserSessions(deps.db), 2_000).catch(() => null);
        if (count !== null) this.set(count);
      },
    });
  }
}
