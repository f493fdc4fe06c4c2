import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EventRow } from '../store/events.ts';
import type { GroupRow } from '../store/groups.ts';
import type { RoleRow } from '../store/rbac.ts';
import type { TokenRow } from '../store/tokens.ts';
import type { UserRow } from '../store/users.ts';

// Representations in Authentik's API v3 shape and field names.

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const attributesSchema = z.record(z.string(), z.unknown());

export const groupSchema = z.object({
  pk: z.uuid(),
  num_pk: z.number().int(),
  name: z.string(),
  is_superuser: z.boolean(),
  parent: z.uuid().nullable(),
  parent_name: z.string().nullable(),
  attributes: attributesSchema,
});

export const presentGroup = (group: GroupRow) => ({
  pk: group.id,
  num_pk: group.num_pk,
  name: group.name,
  is_superuser: group.is_superuser,
  parent: group.parent_id,
  parent_name: group.parent_name,
  attributes: group.attributes,
});

export const userSchema = z.object({
  pk: z.number().int(),
  username: z.string(),
  name: z.string(),
  is_active: z.boolean(),
  last_login: z.string().nullable(),
  date_joined: z.string(),
  is_superuser: z.boolean(),
  groups: z.array(z.uuid()),
  groups_obj: z.array(groupSchema).nullable(),
  email: z.string(),
  avatar: z.string(),
  attributes: attributesSchema,
  uid: z.string(),
  path: z.string(),
  type: z.enum(['internal', 'external', 'service_account', 'internal_service_account']),
  uuid: z.uuid(),
  password_change_date: z.string().nullable(),
});

/** A stable, opaque id for apps: sha256 of the pk and this installation's id (as Authentik does). */
export const userUid = (userId: number, installationId: string) =>
  createHash('sha256').update(`${userId}-${installationId}`).digest('hex');

/**
 * Initials on a coloured square, drawn by our own /static/avatar/ route: an avatar service
 * (Gravatar) would tell a third party who logs in, and an inline image per user made lists heavy.
 */
function avatarUrl(user: UserRow): string {
  const initials = (user.name || user.username)
    .split(/\s+/)
    .map((word) => word[0] ?? '')
    .join('')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(0, 2);
  let hue = 0;
  for (const char of user.username) hue = (hue * 31 + (char.codePointAt(0) ?? 0)) % 360;
  return `/static/avatar/${initials || 'U'}.svg?hue=${hue}`;
}

export function presentUser(user: UserRow, groups: GroupRow[] | null, installationId: string) {
  return {
    pk: user.id,
    username: user.username,
    name: user.name,
    is_active: user.is_active,
    last_login: iso(user.last_login),
    date_joined: iso(user.created_at) as string,
    is_superuser: user.is_superuser,
    groups: (groups ?? []).map((g) => g.id),
    groups_obj: groups ? groups.map(presentGroup) : null,
    email: user.email,
    avatar: avatarUrl(user),
    attributes: user.attributes,
    uid: userUid(user.id, installationId),
    path: user.path,
    type: user.type,
    uuid: user.uuid,
    password_change_date: iso(user.password_change_date),
  };
}

const userBriefSchema = z.object({ pk: z.number().int(), username: z.string(), name: z.string(), email: z.string(), is_active: z.boolean() });
export const presentUserBrief = (user: UserRow) => ({
  pk: user.id,
  username: user.username,
  name: user.name,
  email: user.email,
  is_active: user.is_active,
});

export const roleSchema = z.object({ pk: z.uuid(), name: z.string() });
export const presentRole = (role: RoleRow) => ({ pk: role.id, name: role.name });

export const groupWithUsersSchema = groupSchema.extend({
  users: z.array(z.number().int()),
  users_obj: z.array(userBriefSchema).nullable(),
  roles: z.array(z.uuid()),
  roles_obj: z.array(roleSchema),
});

export const tokenSchema = z.object({
  pk: z.uuid(),
  managed: z.string().nullable(),
  identifier: z.string(),
  intent: z.enum(['api', 'app_password', 'recovery', 'verification']),
  user: z.number().int(),
  user_obj: userBriefSchema.nullable(),
  description: z.string(),
  expires: z.string().nullable(),
  expiring: z.boolean(),
  last_used: z.string().nullable(),
});

export const presentToken = (token: TokenRow, owner: UserRow | null) => ({
  pk: token.id,
  managed: token.managed,
  identifier: token.identifier,
  intent: token.intent,
  user: token.user_id,
  user_obj: owner ? presentUserBrief(owner) : null,
  description: token.description,
  expires: iso(token.expires),
  expiring: token.expiring,
  last_used: iso(token.last_used),
});

export const eventSchema = z.object({
  pk: z.uuid(),
  user: z.object({ pk: z.number().int().nullable(), username: z.string(), email: z.string() }),
  action: z.string(),
  app: z.string(),
  context: attributesSchema,
  client_ip: z.string().nullable(),
  created: z.string(),
  expires: z.string(),
});

export const presentEvent = (event: EventRow) => ({
  pk: event.id,
  user: { pk: event.user_id, username: event.username, email: event.user_email },
  action: event.action,
  app: event.app,
  context: event.context,
  client_ip: event.client_ip,
  created: iso(event.created) as string,
  expires: iso(event.expires) as string,
});
