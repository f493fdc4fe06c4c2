import type { Queryable } from './db.ts';

export interface EventVolumeRow {
  action: string;
  time: Date;
  count: number;
}

/** Events per action and hour since `since` (the dashboard's chart), optionally for some actions only. */
export async function countEventsPerHour(db: Queryable, since: Date, actions: string[] | null): Promise<EventVolumeRow[]> {
  const { rows } = await db.query<EventVolumeRow>(
    `SELECT action, date_trunc('hour', created) AS time, count(*)::int AS count
       FROM events
      WHERE created >= $1 AND ($2::text[] IS NULL OR action = ANY($2::text[]))
      GROUP BY action, date_trunc('hour', created)
      ORDER BY time, action`,
    [since, actions],
  );
  return rows;
}
