import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';
import { USER_COLUMNS, type UserRow } from './users.ts';

export type TokenIntent = 'api' | 'app_password' | 'recovery' | 'verification';

export interface TokenRow {
  id: string;
  identifier: string;
  key_encrypted: string;
  intent: TokenIntent;
  user_id: number;
  description: string;
  expiring: boolean;
  expires: Date | null;
  managed: string | null;
  last_used: Date | null;
}

const TOKEN_COLUMNS =
  't.id, t.identifier, t.key_encrypted, t.intent, t.user_id, t.description, t.expiring, t.expires, t.managed, t.last_used';

export interface NewToken {
  identifier: string;
  keyHash: Buffer;
  keyEncrypted: string;
  intent: TokenIntent;
  userId: number;
  description: string;
  expiring: boolean;
  expires: Date | null;
  managed: string | null;
}

export async function insertToken(db: Queryable, token: NewToken): Promise<TokenRow> {
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO tokens AS t (identifier, key_hash, key_encrypted, intent, user_id, description, expiring, expires, managed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${TOKEN_COLUMNS}`,
    [
      token.identifier,
      token.keyHash,
      token.keyEncrypted,
      token.intent,
      token.userId,
      token.description,
      token.expiring,
      token.expires,
      token.managed,
    ],
  );
  return rows[0] as TokenRow;
}

export async function findTokenByIdentifier(db: Queryable, identifier: string): Promise<TokenRow | null> {
  const { rows } = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens t WHERE t.identifier = $1`, [identifier]);
  return rows[0] ?? null;
}

/** The unexpired token whose key hashes to keyHash, with one of the given intents. */
const TOKEN_FIELDS = ['id', 'identifier', 'key_encrypted', 'intent', 'user_id', 'description', 'expiring', 'expires', 'managed', 'last_used'] as const;
// The token's columns beside the user's, prefixed: one row carries both.
const TOKEN_FIELDS_AS = TOKEN_FIELDS.map((field) => `t.${field} AS token_${field}`).join(', ');

/** A live token of one of `intents` by its key's hash, with its user (one statement). */
export async function findLiveTokenWithUserByHash(
  db: Queryable,
  keyHash: Buffer,
  intents: TokenIntent[],
): Promise<{ token: TokenRow; user: UserRow } | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${USER_COLUMNS}, ${TOKEN_FIELDS_AS} FROM tokens t JOIN users u ON u.id = t.user_id
     WHERE t.key_hash = $1 AND t.intent = ANY($2::text[]) AND (NOT t.expiring OR t.expires > now())`,
    [keyHash, intents],
  );
  const row = rows[0];
  if (!row) return null;
  const token: Record<string, unknown> = {};
  const user: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (column.startsWith('token_')) token[column.slice('token_'.length)] = value;
    else user[column] = value;
  }
  return { token: token as unknown as TokenRow, user: user as unknown as UserRow };
}

/** Deletes and returns a live single-use token (recovery, verification): a second use finds nothing. */
export async function consumeLiveToken(db: Queryable, keyHash: Buffer, intent: TokenIntent): Promise<TokenRow | null> {
  const { rows } = await db.query<TokenRow>(
    `DELETE FROM tokens t WHERE t.key_hash = $1 AND t.intent = $2 AND (NOT t.expiring OR t.expires > now())
     RETURNING ${TOKEN_COLUMNS}`,
    [keyHash, intent],
  );
  return rows[0] ?? null;
}

export interface TokenFilter {
  search?: string;
  identifier?: string;
  intent?: TokenIntent;
  userId?: number;
  username?: string;
  managed?: string;
  ordering?: string[];
}

const TOKEN_ORDERING = { identifier: 't.identifier', expires: 't.expires', intent: 't.intent', user: 't.user_id' };

export async function listTokens(db: Queryable, filter: TokenFilter, page: PageRequest): Promise<PageOf<TokenRow>> {
  const where = new WhereBuilder();
  // Single-use login links never show in listings; they are handed out once, by the CLI.
  where.add("t.intent <> 'recovery'");
  if (filter.search) where.add('(t.identifier ILIKE ? OR t.description ILIKE ?)', likePattern(filter.search), likePattern(filter.search));
  if (filter.identifier !== undefined) where.add('t.identifier = ?', filter.identifier);
  if (filter.intent !== undefined) where.add('t.intent = ?', filter.intent);
  if (filter.userId !== undefined) where.add('t.user_id = ?', filter.userId);
  if (filter.username !== undefined) {
    where.add('t.user_id IN (SELECT id FROM users WHERE lower(username) = lower(?))', filter.username);
  }
  if (filter.managed !== undefined) where.add('t.managed = ?', filter.managed);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['identifier'], TOKEN_ORDERING, 't.id');
  const [list, count] = await Promise.all([
    db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens t ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM tokens t ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export interface TokenChanges {
  description?: string;
  expiring?: boolean;
  expires?: Date | null;
}

export async function updateToken(db: Queryable, id: string, changes: TokenChanges): Promise<TokenRow | null> {
  const { rows } = await db.query<TokenRow>(
    `UPDATE tokens t SET description = COALESCE($2, description), expiring = COALESCE($3, expiring),
       expires = CASE WHEN $4::boolean THEN $5::timestamptz ELSE expires END
     WHERE id = $1 RETURNING ${TOKEN_COLUMNS}`,
    [id, changes.description ?? null, changes.expiring ?? null, changes.expires !== undefined, changes.expires ?? null],
  );
  return rows[0] ?? null;
}

export async function deleteToken(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM tokens WHERE id = $1', [id]);
  return rowCount > 0;
}

export async function touchToken(db: Queryable, id: string): Promise<void> {
  // At most one write a minute per token: last_used is a hint, not an audit record.
  await db.query(
    "UPDATE tokens SET last_used = now() WHERE id = $1 AND (last_used IS NULL OR last_used < now() - interval '1 minute')",
    [id],
  );
}

export async function deleteExpiredTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM tokens WHERE expiring AND expires <= now()');
  return rowCount;
}
