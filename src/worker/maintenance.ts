import type { Logger } from 'pino';
import type { CoreDeps } from '../core/context.ts';
import { deleteExpiredEntries } from '../store/cacheEntries.ts';
import { deleteExpiredEvents } from '../store/events.ts';
import { LOCK_KEYS, tryWithAdvisoryLock } from '../store/locks.ts';
import { deleteExpiredTokens } from '../store/tokens.ts';
import { deleteExpiredUserSessions } from '../store/userSessions.ts';
import { deleteExpiredPayloads } from '../store/oidcPayloads.ts';
import { type KeyRotationReport, rotateSigningKeys } from '../providers/oauth2/keyRotation.ts';

export interface MaintenanceReport {
  events: number;
  tokens: number;
  cacheEntries: number;
  sessions: number;
  oidcPayloads: number;
  signingKeys: KeyRotationReport;
}

/**
 * One sweep: events past the retention setting, expired tokens, cache rows, session index rows,
 * OIDC artifacts, and signing-key rotation (keyRotation.ts). Only one
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
      // The next signing key ahead of time, retired keys out of signing, expired ones deleted.
      signingKeys: await rotateSigningKeys(deps),
    };
  });
}

/** Sweeps now and then every `intervalMs`; failures are logged and retried on the next tick. */
export function startMaintenance(deps: CoreDeps, logger: Logger, intervalMs = 10 * 60_000): () => void {
  let isRunning = false;
  const tick = async () => {
    if (isRunning) return;
    isRunning = true;
    try {
      const report = await sweepExpired(deps);
      if (report) logger.info(report, 'expired_records_deleted');
    } catch (error) {
      logger.warn({ err: error }, 'maintenance_failed');
    } finally {
      isRunning = false;
    }
  };
  void tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
