import type { Queryable } from './db.ts';
import { limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

export interface EventRow {
  id: string;
  action: string;
  user_id: number | null;
  username: string;
  user_email: string;
  app: string;
  client_ip: string | null;
  context: Record<string, unknown>;
  created: Date;
  expires: Date;
}

export interface NewEvent {
  action: string;
  userId: number | null;
  username: string;
  userEmail: string;
  app: string;
  clientIp: string | null;
  context: Record<string, unknown>;
  retentionDays: number;
}

/**
 * The INSERT of one event, its parameters numbered from `first` (for a statement that writes an
 * event with its change, in one commit), and those parameters.
 */
export const eventInsertSql = (first: number): string => {
  const p = (n: number) => `$${first + n}`;
  return `INSERT INTO events (action, user_id, username, user_email, app, client_ip, context, expires)
     VALUES (${p(0)}, ${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, now() + make_interval(days => ${p(7)}::int))`;
};

export const eventInsertParams = (event: NewEvent): unknown[] => [
  event.action,
  event.userId,
  event.username,
  event.userEmail,
  event.app,
  event.clientIp,
  JSON.stringify(event.context),
  event.retentionDays,
];

export async function insertEvent(db: Queryable, event: NewEvent): Promise<EventRow> {
  const { rows } = await db.query<EventRow>(`${eventInsertSql(1)} RETURNING *`, eventInsertParams(event));
  return rows[0] as EventRow;
}

export interface EventFilter {
  action?: string;
  username?: string;
  clientIp?: string;
  app?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  contextModelName?: string;
  contextModelPk?: string;
  /** Authentik's context_authorized_app: the pk of the application a sign-in was for. */
  contextAuthorizedApp?: string;
  ordering?: string[];
}

const EVENT_ORDERING = { created: 'created', action: 'action', username: 'lower(username)', client_ip: 'client_ip' };

export async function listEvents(db: Queryable, filter: EventFilter, page: PageRequest): Promise<PageOf<EventRow>> {
  const where = new WhereBuilder();
  if (filter.action !== undefined) where.add('action = ?', filter.action);
  if (filter.username !== undefined) where.add('lower(username) = lower(?)', filter.username);
  if (filter.clientIp !== undefined) where.add('client_ip = ?', filter.clientIp);
  if (filter.app !== undefined) where.add('app = ?', filter.app);
  if (filter.createdAfter !== undefined) where.add('created >= ?', filter.createdAfter);
  if (filter.createdBefore !== undefined) where.add('created <= ?', filter.createdBefore);
  if (filter.contextModelName !== undefined) where.add("context->'model'->>'model_name' = ?", filter.contextModelName);
  if (filter.contextModelPk !== undefined) where.add("context->'model'->>'pk' = ?", filter.contextModelPk);
  if (filter.contextAuthorizedApp !== undefined) where.add("context->'authorized_application'->>'pk' = ?", filter.contextAuthorizedApp);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['-created'], EVENT_ORDERING, 'id');
  const [list, count] = await Promise.all([
    db.query<EventRow>(`SELECT * FROM events ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export async function findEventById(db: Queryable, id: string): Promise<EventRow | null> {
  const { rows } = await db.query<EventRow>('SELECT * FROM events WHERE id = $1', [id]);
  return rows[0] ?? null;
}

/** Retention: removes events past their expiry, in batches so a large backlog never locks for long. */
export async function deleteExpiredEvents(db: Queryable, batchSize = 5000): Promise<number> {
  const { rowCount } = await db.query(
    'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE expires <= now() LIMIT $1)',
    [batchSize],
  );
  return rowCount;
}
