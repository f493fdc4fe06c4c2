import type { CoreDeps } from '../core/context.ts';
import { readDefaultBlueprints } from '../blueprints/files.ts';
import { findFingerprintsByPaths } from '../store/blueprintInstances.ts';

// Authentik's default flows and stages ship as blueprints in blueprints/default/*.yaml (with
// Authentik's slugs and `managed` keys). This applies those whose text this database has not
// applied yet: at first start all of them, after an upgrade the ones that changed, otherwise
// none — and then the blueprint engine and the YAML parser are not even loaded. Their entries
// are `state: created`, so an admin's edits to a default flow are never overwritten.

export const INITIAL_SETUP_MANAGED = 'goauthentik.io/flows/initial-setup';

/** Applies the default blueprints that are new or changed; returns how many were applied. Run it under the bootstrap lock. */
export async function ensureDefaultFlows(deps: CoreDeps): Promise<number> {
  const files = readDefaultBlueprints();
  const applied = await findFingerprintsByPaths(deps.db, files.map((f) => f.path));
  const pending = files.filter((f) => {
    const instance = applied.get(f.path);
    // A default blueprint the admin disabled stays as it is.
    return !instance || (instance.enabled && (instance.last_applied_hash !== f.hash || instance.status === 'error'));
  });
  if (pending.length === 0) return 0;
  const { applyBlueprintFile } = await import('../blueprints/instances.ts');
  for (const file of pending) {
    const result = await applyBlueprintFile(deps, file, { env: {}, adoptExistingDefaults: true });
    // A default that does not apply is a bug in Gatehouse, not the admin's: stop the start loudly.
    if (typeof result === 'object' && result.status === 'error') {
      throw new Error(`${file.path}: ${result.problems.map((p) => `line ${p.line ?? '?'}: ${p.message}`).join('; ')}`);
    }
  }
  return pending.length;
}
