import type { CoreDeps } from '../../core/context.ts';
import { withAdvisoryLock } from '../../store/locks.ts';
import { deleteExpiredSigningKeys, retireSupersededSigningKeys } from '../../store/signingKeys.ts';
import { createSigningKey, loadSigningKeys, SIGNING_ALGORITHMS, SIGNING_KEYS_LOCK } from './keys.ts';

const DAY_MS = 86_400_000;

/*
 * Signing-key rotation, run by the maintenance sweep. Per algorithm, a key signs for
 * KEY_LIFETIME_DAYS: a day before that, the NEXT key is created with signs_from one day ahead,
 * so it sits in JWKS a full day before it signs (relying parties that cache JWKS learn it
 * first). Once the next key signs, the old one is retired — it signs no more but stays in JWKS
 * until every token it could have signed has expired (retired_at + the longest token
 * lifetime + a margin), then it is deleted. Issuers pick the change up by themselves
 * (issuers.ts rebuilds a Provider at the next key's signs_from and every few minutes).
 */
export const KEY_LIFETIME_DAYS = 90;
// Refresh tokens live 30 days by default (the longest-lived token); one more day of margin.
export const RETIRED_KEY_PUBLISHED_DAYS = 31;
const NEXT_KEY_LEAD_MS = DAY_MS;

export interface KeyRotationReport {
  created: number;
  retired: number;
  deleted: number;
}

export async function rotateSigningKeys(deps: Pick<CoreDeps, 'db' | 'signingKeyBox' | 'now'>): Promise<KeyRotationReport> {
  return withAdvisoryLock(deps.db, SIGNING_KEYS_LOCK, async () => {
    const now = deps.now();
    const report: KeyRotationReport = { created: 0, retired: 0, deleted: 0 };
    const keys = await loadSigningKeys(deps);
    for (const algorithm of SIGNING_ALGORITHMS) {
      const signer = keys.find((key) => key.algorithm === algorithm && key.isSigner);
      const hasNext = keys.some((key) => key.algorithm === algorithm && key.signsFrom > now);
      const isDue = !signer || now.getTime() - signer.signsFrom.getTime() >= KEY_LIFETIME_DAYS * DAY_MS - NEXT_KEY_LEAD_MS;
      if (isDue && !hasNext) {
        // Without any signer (fresh install), a key that signs at once.
        await createSigningKey(deps, algorithm, signer ? new Date(now.getTime() + NEXT_KEY_LEAD_MS) : now);
        report.created += 1;
      }
      report.retired += await retireSupersededSigningKeys(deps.db, algorithm, now, new Date(now.getTime() + RETIRED_KEY_PUBLISHED_DAYS * DAY_MS));
    }
    report.deleted = await deleteExpiredSigningKeys(deps.db, now);
    return report;
  });
}
