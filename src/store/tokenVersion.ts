import { sharedCounter } from './counterWatch.ts';
import type { Queryable } from './db.ts';

/*
 * token_version (migration 0015): moves when an API token is deleted or its key, intent, holder
 * or expiry changes, and is announced (NOTIFY gatehouse_tokens), so what a token's lookup found
 * can be kept without a read per call while LISTEN is up.
 */
export const TOKEN_CHANNEL = 'gatehouse_tokens';

export async function readTokenVersion(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ version: string }>('SELECT version::text AS version FROM token_version');
  return rows[0]?.version ?? '0';
}

export const watchedTokenVersion = sharedCounter(TOKEN_CHANNEL, readTokenVersion);
