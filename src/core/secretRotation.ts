import { lockSealedValues, replaceSealedValue, SEALED_COLUMNS } from '../store/sealedSecrets.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';

export interface RotationReport {
  dryRun: boolean;
  /** Per table.column: values already under the current key, and values re-sealed (or to re-seal). */
  columns: Array<{ column: string; current: number; resealed: number }>;
  resealed: number;
}

export class UnreadableSecrets extends Error {
  override name = 'UnreadableSecrets';
}

/**
 * Re-seals every stored secret under the current secret key, reading older ones with the
 * fallback keys. One transaction: a value no key can open aborts it all, so a half-rotated
 * database never exists. Plaintexts are unchanged, so running processes keep working.
 */
export async function rotateSealedSecrets(deps: CoreDeps, ctx: RequestContext, options: { dryRun: boolean }): Promise<RotationReport> {
  const report: RotationReport = { dryRun: options.dryRun, columns: [], resealed: 0 };
  await deps.db.transaction(async (tx) => {
    const unreadable: string[] = [];
    for (const c of SEALED_COLUMNS) {
      const box = deps[c.box];
      let current = 0;
      const replacements: Array<{ key: string; sealed: string }> = [];
      for (const row of await lockSealedValues(tx, c)) {
        let resealed: string | null;
        try {
          resealed = box.reseal(row.sealed);
        } catch {
          unreadable.push(`${c.table} ${row.key}`);
          continue;
        }
        if (resealed === null) current += 1;
        else replacements.push({ key: row.key, sealed: resealed });
      }
      if (!options.dryRun) for (const r of replacements) await replaceSealedValue(tx, c, r.key, r.sealed);
      report.columns.push({ column: `${c.table}.${c.column}`, current, resealed: replacements.length });
      report.resealed += replacements.length;
    }
    if (unreadable.length > 0) {
      throw new UnreadableSecrets(
        `${unreadable.length} stored secret(s) open under neither GATEHOUSE_SECRET_KEY nor GATEHOUSE_SECRET_KEY_FALLBACKS (${unreadable.slice(0, 10).join(', ')}${unreadable.length > 10 ? ', …' : ''}): nothing was changed`,
      );
    }
    if (!options.dryRun) {
      await recordEvent(tx, deps, ctx, 'secret_rotate', {
        context: { resealed: report.resealed, columns: Object.fromEntries(report.columns.map((c) => [c.column, c.resealed])) },
      });
    }
  });
  return report;
}
