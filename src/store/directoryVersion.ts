import { memoUnder, sharedCounter } from './counterWatch.ts';
import type { Database } from './db.ts';
import { readDirectoryVersion } from './proxyProviders.ts';

/*
 * directory_version (migrations 0005, 0013), known without a read while LISTEN is up: migration
 * 0014 announces every bump (NOTIFY gatehouse_directory). For what polls it — the LDAP directory's
 * digest, forward auth's periodic check — not for a forward-auth miss, which must see a change
 * committed a moment ago by another process and reads the table.
 */
export const DIRECTORY_CHANNEL = 'gatehouse_directory';
export const watchedDirectoryVersion = sharedCounter(DIRECTORY_CHANNEL, readDirectoryVersion);

// Enough for every user's checks on a large installation; past it the memo starts over.
const memoOf = memoUnder(watchedDirectoryVersion, 10_000);

/**
 * A value that moves only with directory_version — a user's groups (memberships, parents), roles
 * on groups, permission assignments, identity and activity (migrations 0005, 0013) — remembered
 * per database under it. For the checks an LDAP bind makes on every bind. The version is read
 * before the value, so a change committed in between leaves the value under the older version. A
 * change this process commits outside db.transaction() is seen when its notification arrives
 * (about a millisecond): not for checks that follow such a write in the same request.
 */
export async function rememberUnderDirectoryVersion<T>(db: Database, key: string, load: () => Promise<T>): Promise<T> {
  return (await memoOf(db))(key, load);
}
