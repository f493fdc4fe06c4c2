import type { CoreDeps } from '../core/context.ts';
import { type KeyRotationReport, rotateSigningKeys } from '../providers/oauth2/keyRotation.ts';
import { deleteExpiredEntries } from '../store/cacheEntries.ts';
import { deleteExpiredEvents } from '../store/events.ts';
import { deleteExpiredFlowTokens } from '../store/flowTokens.ts';
import { deleteExpiredInvitations } from '../store/invitations.ts';
import { LOCK_KEYS, tryWithAdvisoryLock } from '../store/locks.ts';
import { deleteExpiredPayloads } from '../store/oidcPayloads.ts';
import { deleteAccessHoursBefore } from '../store/proxyProviders.ts';
import { deleteExpiredTokens } from '../store/tokens.ts';
import { deleteExpiredUserSessions } from '../store/userSessions.ts';
import type { TaskHandler } from './services.ts';

export interface MaintenanceReport {
  events: number;
  tokens: number;
  cacheEntries: number;
  sessions: number;
  oidcPayloads: number;
  flowTokens: number;
  invitations: number;
  accessHours: number;
  signingKeys: KeyRotationReport;
}

/**
 * One sweep: events past the retention setting, expired tokens, cache rows, session index rows,
 * OIDC artifacts, emailed flow tokens, expired invitations, forward-auth access counts past the
 * event retention, and signing-key rotation (keyRotation.ts). Outposts have
 * no table yet, so there is no last-seen to update. Only one
 * process sweeps at a time (the others skip and return null).
 */
export function sweepExpired(deps: CoreDeps): Promise<MaintenanceReport | null> {
  return tryWithAdvisoryLock(deps.db, LOCK_KEYS.cleanup, async () => {
    let events = 0;
    for (let batch = await deleteExpiredEvents(deps.db); batch > 0; batch = await deleteExpiredEvents(deps.db)) {
      events += batch;
    }
    return {
      events,
      tokens: await deleteExpiredTokens(deps.db),
      cacheEntries: await deleteExpiredEntries(deps.db),
      sessions: await deleteExpiredUserSessions(deps.db),
      oidcPayloads: await deleteExpiredPayloads(deps.db),
      flowTokens: await deleteExpiredFlowTokens(deps.db),
      invitations: await deleteExpiredInvitations(deps.db),
      // Who reached which forward-auth app, per hour: kept as long as the events are.
      accessHours: await deleteAccessHoursBefore(deps.db, new Date(deps.now().getTime() - deps.eventRetentionDays * 86_400_000)),
      // The next signing key ahead of time, retired keys out of signing, expired ones deleted.
      signingKeys: await rotateSigningKeys(deps),
    };
  });
}

/** The `sweep` job (every 10 minutes, from the crontab in schedule.ts). */
export const sweepTask: TaskHandler = async (_payload, services) => {
  const report = await sweepExpired(services.deps);
  if (report) services.logger.info(report, 'expired_records_deleted');
};
