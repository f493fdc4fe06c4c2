import type { Database } from './db.ts';

/**
 * A counter table that triggers move (definition_version) and announce with NOTIFY, known
 * without a read per use. The value is trusted only while it is provably current:
 * - LISTEN is in place and the counter was read after it was (a notification then carries every
 *   later bump, in commit order);
 * - no transaction of this process committed since the last read (its notification may still
 *   be on its way: the next use reads, so this process sees its own change at once).
 * Otherwise — before the first LISTEN, while its connection is down, inside a transaction —
 * current() reads the table, as every use did before.
 */
export interface CounterWatch {
  current(): Promise<string>;
  /** Stops listening (tests, shutdown). */
  stop(): Promise<void>;
}

export function watchCounter(db: Database, channel: string, read: (db: Database) => Promise<string>): CounterWatch {
  let known: bigint | null = null;
  let isListening = false;
  let isTrusted = false;
  // Moves with every event that ends trust: a read started before one must not restore trust.
  let epoch = 0;
  let notifications = 0;
  let listening: Promise<(() => Promise<void>) | null> | null = null;

  const distrust = () => {
    epoch += 1;
    isTrusted = false;
  };
  const onNotification = (payload: string) => {
    notifications += 1;
    // Anything but a counter value: someone else speaks on the channel; read instead.
    if (!/^\d{1,19}$/.test(payload)) return distrust();
    const value = BigInt(payload);
    if (known === null || value > known) known = value;
  };
  const readAndTrust = async (): Promise<string> => {
    const startedIn = epoch;
    const notifiedBefore = notifications;
    const value = await read(db);
    // The read is the truth (also when the counter went back: a restored backup) unless a bump
    // was announced while it ran, which may be newer than what it saw.
    const parsed = BigInt(value);
    known = notifications === notifiedBefore || known === null || parsed > known ? parsed : known;
    if (epoch === startedIn && isListening) isTrusted = true;
    return value;
  };
  const startListening = () => {
    listening ??= db
      .listen(channel, onNotification, {
        onListening: () => {
          distrust();
          isListening = true;
          readAndTrust().catch(() => undefined);
        },
        onInterrupted: () => {
          distrust();
          isListening = false;
        },
        onLocalCommit: distrust,
      })
      .catch(() => {
        // No LISTEN now (the database is away): every use reads, and the next one tries again.
        listening = null;
        return null;
      });
  };

  return {
    async current() {
      if (db.isInTransaction) return read(db);
      if (listening === null) startListening();
      if (isTrusted && known !== null) return known.toString();
      return readAndTrust();
    },
    async stop() {
      distrust();
      isListening = false;
      const stopListening = await listening;
      listening = null;
      await stopListening?.();
    },
  };
}

/**
 * A counter known through one CounterWatch per database, made at first use: what each process
 * keeps for the counters it reads on hot paths (definitions, the directory).
 */
export function sharedCounter(channel: string, read: (db: Database) => Promise<string>): (db: Database) => Promise<string> {
  const watches = new WeakMap<Database, CounterWatch>();
  return (db) => {
    let watch = watches.get(db);
    if (!watch) {
      watch = watchCounter(db, channel, read);
      watches.set(db, watch);
    }
    return watch.current();
  };
}

/** Remembers values read under one version of a counter; see memoUnder. */
export type VersionedMemo = <T>(key: string, load: () => Promise<T>) => Promise<T>;

/**
 * Values that change only when `counter` moves, remembered per database under its version: all
 * dropped when it moves (or when more than `maxEntries` are held). Call the returned function
 * before reading: the version is taken first, so a change committed during a read leaves that
 * value under the older version. A failed read is not kept.
 */
export function memoUnder(counter: (db: Database) => Promise<string>, maxEntries: number): (db: Database) => Promise<VersionedMemo> {
  const snapshots = new WeakMap<Database, { version: string; entries: Map<string, Promise<unknown>> }>();
  return async (db) => {
    const version = await counter(db);
    let snapshot = snapshots.get(db);
    if (!snapshot || snapshot.version !== version || snapshot.entries.size > maxEntries) {
      snapshot = { version, entries: new Map() };
      snapshots.set(db, snapshot);
    }
    const { entries } = snapshot;
    return <T>(key: string, load: () => Promise<T>): Promise<T> => {
      const known = entries.get(key);
      if (known) return known as Promise<T>;
      const loaded = load();
      entries.set(key, loaded);
      loaded.catch(() => entries.delete(key));
      return loaded;
    };
  };
}
