import { ServiceUnavailable } from '../../errors.ts';
import { isDatabaseUnavailable } from '../../store/db.ts';

// oidc-provider answers `err.statusCode || 500`: an error of ours that means Postgres or Redis is
// away must carry 503, so a client retries (and nothing reads as a server bug).

function markOutage(error: unknown): never {
  if ((error instanceof ServiceUnavailable || isDatabaseUnavailable(error)) && typeof error === 'object' && error !== null) {
    (error as { statusCode?: number }).statusCode = 503;
  }
  throw error;
}

/** A callback whose failures during an outage reach oidc-provider as 503. */
export function withOutageStatus<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args: A) => fn(...args).catch(markOutage);
}

/** The same for every method of an adapter. */
export function adapterWithOutageStatus<T extends object>(adapter: T): T {
  return new Proxy(adapter, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        return result instanceof Promise ? result.catch(markOutage) : result;
      };
    },
  });
}
