import { Redis, type RedisOptions } from 'ioredis';
import { ServiceUnavailable } from '../errors.ts';
import type { Cache } from './cache.ts';

/** Any failed Redis command means the cache cannot answer now: callers fail closed with 503. */
async function unavailableOnError<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw new ServiceUnavailable('Redis is unavailable; try again shortly.', { cause: error });
  }
}

/** Where Redis is: one address, or the Sentinels that know which node is the primary now. */
export type RedisTarget =
  | { host: string; port: number }
  | {
      sentinels: { host: string; port: number }[];
      /** The name in `sentinel monitor <name> …`. */
      masterName: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
    };

export interface RedisCacheOptions {
  target: RedisTarget;
  db: number;
  /** ACL user and password of the data nodes (the Sentinels' own are in the target). */
  username?: string;
  password?: string;
  tls: boolean;
  keyPrefix: string;
  onError?: (error: Error) => void;
}

/** Backoff between reconnection attempts, to a node or, with Sentinel, to the list of Sentinels. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 2000);

function connectionOptions(options: RedisCacheOptions): RedisOptions {
  const common: RedisOptions = {
    db: options.db,
    username: options.username,
    password: options.password,
    tls: options.tls ? {} : undefined,
    // CLIENT LIST on a node shows which connections are Gatehouse's.
    connectionName: 'gatehouse',
    connectTimeout: 3000,
    // While Redis is away a command waits at most this long, then fails and the caller answers
    // 503; ioredis keeps reconnecting in the background and the next request succeeds.
    commandTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    // A node that was demoted to replica under us refuses writes with READONLY: reconnect (through
    // the Sentinels or the load balancer, to the new primary) and send the refused command again.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
  const { target } = options;
  if (!('sentinels' in target)) return { ...common, host: target.host, port: target.port };
  return {
    ...common,
    sentinels: target.sentinels,
    name: target.masterName,
    role: 'master',
    sentinelUsername: target.sentinelUsername,
    sentinelPassword: target.sentinelPassword,
    sentinelRetryStrategy: reconnectDelay,
    // GATEHOUSE_REDIS__TLS covers the Sentinels and the data nodes alike.
    enableTLSForSentinelMode: options.tls,
    sentinelTLS: options.tls ? {} : undefined,
    // No `failoverDetector`: a Sentinel that reconfigures a node disconnects its clients (CLIENT
    // KILL), so the connections ask the Sentinels again anyway; and the detector's own Sentinel
    // connections have no error listener, so each unreachable Sentinel would print an unhandled
    // error outside the log.
  };
}

export function openRedisCache(options: RedisCacheOptions): Cache {
  const base = connectionOptions(options);
  // Auto-pipelining: the commands of one event-loop tick (a flow request's session and state
  // reads, many concurrent forward-auth checks) leave in one write and come back in one read,
  // which on loopback costs far less CPU than a syscall pair per command.
  const client = new Redis({ ...base, keyPrefix: options.keyPrefix, lazyConnect: false, enableAutoPipelining: true });
  // The subscriber queues SUBSCRIBE until it connects and re-subscribes after a reconnect.
  const subscriber = new Redis({ ...base, commandTimeout: undefined, maxRetriesPerRequest: null });
  const onError = (error: Error) => options.onError?.(error);
  client.on('error', onError);
  subscriber.on('error', onError);
  const handlers = new Map<string, Set<(message: string) => void>>();
  subscriber.on('message', (channel: string, message: string) => {
    for (const handler of handlers.get(channel) ?? []) handler(message);
  });
  const channelName = (channel: string) => options.keyPrefix + channel;

  return {
    kind: 'redis',
    get: (key) => unavailableOnError(client.get(key)),
    async set(key, value, ttlSeconds) {
      if (ttlSeconds === undefined) await unavailableOnError(client.set(key, value));
      else await unavailableOnError(client.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds))));
    },
    async delete(key) {
      await unavailableOnError(client.del(key));
    },
    async increment(key, ttlSeconds) {
      const replies = await unavailableOnError(
        client.multi().incr(key).expire(key, Math.max(1, Math.ceil(ttlSeconds)), 'NX').exec(),
      );
      const [error, count] = replies?.[0] ?? [new Error('no reply'), 0];
      if (error) throw new ServiceUnavailable('Redis is unavailable; try again shortly.', { cause: error });
      return Number(count);
    },
    async publish(channel, message) {
      await unavailableOnError(client.publish(channelName(channel), message));
    },
    async subscribe(channel, onMessage) {
      const name = channelName(channel);
      const existing = handlers.get(name);
      const set = existing ?? new Set<(message: string) => void>();
      if (!existing) {
        handlers.set(name, set);
        await subscriber.subscribe(name);
      }
      set.add(onMessage);
      return async () => {
        set.delete(onMessage);
        if (set.size === 0) {
          handlers.delete(name);
          await subscriber.unsubscribe(name).catch(() => undefined);
        }
      };
    },
    async ping() {
      await unavailableOnError(client.ping());
    },
    async close() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
