import type { Queryable } from './db.ts';

/** Whether the user signed in before `before` from this address with this browser (last 180 days). */
export async function hasSignedInFromBefore(
  db: Queryable,
  sighting: { username: string; clientIp: string; userAgent: string; before: Date; loginEventId?: string },
): Promise<boolean> {
  // "Before" is the sign-in's own login event's time when it is known (the database's clock,
  // like every event's `created`), else the time the app server put in the job.
  const { rows } = await db.query(
    `WITH this_login AS (
       SELECT coalesce((SELECT created FROM events WHERE id = $5::uuid), $4::timestamptz) AS at
     )
     SELECT 1 FROM events, this_login
     WHERE lower(username) = lower($1) AND action = 'login' AND client_ip = $2
       AND context->'http_request'->>'user_agent' = $3
       AND ($5::uuid IS NULL OR id <> $5::uuid)
       AND created < this_login.at - interval '2 seconds' AND created > this_login.at - interval '180 days'
     LIMIT 1`,
    [sighting.username, sighting.clientIp, sighting.userAgent, sighting.before, sighting.loginEventId ?? null],
  );
  return rows.length > 0;
}

/** Active superusers with an email address: who hears about a failed backup check. */
export async function listAdminEmails(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ email: string }>(
    `WITH RECURSIVE admin_groups(id) AS (
       SELECT id FROM groups WHERE is_superuser
       UNION SELECT g.id FROM groups g JOIN admin_groups a ON g.parent_id = a.id)
     SELECT DISTINCT u.email FROM users u JOIN group_memberships m ON m.user_id = u.id
     WHERE m.group_id IN (SELECT id FROM admin_groups) AND u.is_active AND u.email <> ''`,
  );
  return rows.map((r) => r.email);
}
