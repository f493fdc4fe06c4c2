import type { Queryable } from './db.ts';
import { limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

export interface InvitationRow {
  id: string;
  name: string;
  expires: Date | null;
  fixed_data: Record<string, unknown>;
  single_use: boolean;
  flow_slug: string | null;
  group_id: string | null;
  created_by: number | null;
  created_at: Date;
}

const COLUMNS = 'i.id, i.name, i.expires, i.fixed_data, i.single_use, i.flow_slug, i.group_id, i.created_by, i.created_at';

export interface InvitationFields {
  name: string;
  expires: Date | null;
  fixedData: Record<string, unknown>;
  singleUse: boolean;
  flowSlug: string | null;
  groupId: string | null;
}

export async function insertInvitation(db: Queryable, fields: InvitationFields, createdBy: number | null): Promise<InvitationRow> {
  const { rows } = await db.query<InvitationRow>(
    `INSERT INTO invitations AS i (name, expires, fixed_data, single_use, flow_slug, group_id, created_by)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [fields.name, fields.expires, JSON.stringify(fields.fixedData), fields.singleUse, fields.flowSlug, fields.groupId, createdBy],
  );
  return rows[0] as InvitationRow;
}

export async function updateInvitation(db: Queryable, id: string, fields: InvitationFields): Promise<InvitationRow | null> {
  const { rows } = await db.query<InvitationRow>(
    `UPDATE invitations AS i SET name = $2, expires = $3, fixed_data = $4::jsonb, single_use = $5, flow_slug = $6, group_id = $7
     WHERE i.id = $1 RETURNING ${COLUMNS}`,
    [id, fields.name, fields.expires, JSON.stringify(fields.fixedData), fields.singleUse, fields.flowSlug, fields.groupId],
  );
  return rows[0] ?? null;
}

export async function findInvitation(db: Queryable, id: string): Promise<InvitationRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await db.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations i WHERE i.id = $1`, [id]);
  return rows[0] ?? null;
}

/** Unexpired, for this flow (or any flow). */
export async function findUsableInvitation(db: Queryable, id: string, flowSlug: string): Promise<InvitationRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await db.query<InvitationRow>(
    `SELECT ${COLUMNS} FROM invitations i
     WHERE i.id = $1 AND (i.expires IS NULL OR i.expires > now()) AND (i.flow_slug IS NULL OR i.flow_slug = $2)`,
    [id, flowSlug],
  );
  return rows[0] ?? null;
}

/** Spends a single-use invitation: true for the one caller that deleted it. */
export async function consumeInvitation(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM invitations WHERE id = $1 AND (expires IS NULL OR expires > now())', [id]);
  return rowCount > 0;
}

export async function deleteInvitation(db: Queryable, id: string): Promise<InvitationRow | null> {
  const { rows } = await db.query<InvitationRow>(`DELETE FROM invitations i WHERE i.id = $1 RETURNING ${COLUMNS}`, [id]);
  return rows[0] ?? null;
}

export async function listInvitations(db: Queryable, filter: { name?: string; ordering?: string[] }, page: PageRequest): Promise<PageOf<InvitationRow>> {
  const where = new WhereBuilder();
  if (filter.name) where.add('i.name = ?', filter.name);
  const order = orderClause(filter.ordering, { name: 'i.name', expires: 'i.expires', created: 'i.created_at' }, 'i.created_at DESC, i.id');
  const count = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invitations i ${where.sql}`, where.params);
  const { rows } = await db.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations i ${where.sql} ${order} ${limitClause(where, page)}`, where.params);
  return { rows, count: count.rows[0]?.n ?? 0 };
}

export async function deleteExpiredInvitations(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM invitations WHERE expires <= now()');
  return rowCount;
}
