import type { Queryable } from './db.ts';

// What offboarding a user reads and removes: their tokens, and the applications they reached.

export interface RevokedToken {
  identifier: string;
  intent: string;
}

/** Deletes every token the user holds (API tokens, app passwords, pending links); returns them. */
export async function deleteTokensOfUser(db: Queryable, userId: number): Promise<RevokedToken[]> {
  const { rows } = await db.query<RevokedToken>('DELETE FROM tokens WHERE user_id = $1 RETURNING identifier, intent', [userId]);
  return rows;
}

export interface UsedApplicationRow {
  slug: string;
  name: string;
  last_used: Date;
  how: 'authorize_application' | 'forward_auth';
}

/**
 * The applications a user opened: sign-ins recorded as `authorize_application` events (OIDC, SAML,
 * forward-auth logins) and forward-auth requests counted per hour. Newest use first.
 */
export async function listApplicationsUsedBy(db: Queryable, userId: number): Promise<UsedApplicationRow[]> {
  const { rows } = await db.query<UsedApplicationRow>(
    `SELECT slug, name, max(last_used) AS last_used, min(how) AS how FROM (
       SELECT e.context->'authorized_application'->>'slug' AS slug,
              e.context->'authorized_application'->>'name' AS name,
              e.created AS last_used, 'authorize_application' AS how
         FROM events e
        WHERE e.user_id = $1 AND e.action = 'authorize_application'
          AND e.context->'authorized_application'->>'slug' IS NOT NULL
       UNION ALL
       SELECT a.slug, a.name, h.last_seen, 'forward_auth'
         FROM application_access_hours h JOIN applications a ON a.id = h.application_id
        WHERE h.user_id = $1
     ) used GROUP BY slug, name ORDER BY max(last_used) DESC`,
    [userId],
  );
  return rows;
}
