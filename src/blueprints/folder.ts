import type { Logger } from 'pino';
import { processEnvironment } from '../config/environment.ts';
import type { Config } from '../config/schema.ts';
import type { CoreDeps } from '../core/context.ts';
import { findFingerprintsByPaths, type InstanceFingerprint, syncOrphanedInstances } from '../store/blueprintInstances.ts';
import { withAdvisoryLock } from '../store/locks.ts';
import { type BlueprintFile, readBlueprintFolder, readDefaultBlueprints } from './files.ts';

// The blueprints folder: every *.yaml under it gets a blueprint instance and is applied at start
// and again when its content changes (a poll, so it works on bind mounts and network filesystems
// where inotify does not). What decides is the instance's last_applied_hash in the database, so
// a restart, or a second server, does not apply an unchanged file again — and does not even load
// the YAML parser. A blueprint labelled blueprints.goauthentik.io/instantiate: "false" is an
// example: its instance is made disabled, so it is applied only on request (CLI, API, or once
// the admin enables the instance).

export { listBlueprintFiles } from './files.ts';

/** Several servers share one database: one at a time applies the folder (the others then find nothing to do). */
const BLUEPRINT_LOCK = 0x6761_7470;

export interface BlueprintFolderOptions {
  dir: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  intervalMs?: number;
}

export interface BlueprintWatcher {
  /** Applies what changed since the last run; resolves when done. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether a file must be applied: it has no instance yet, or its enabled instance applied another text (or its file had gone). */
const needsApply = (file: BlueprintFile, instance: InstanceFingerprint | undefined): boolean =>
  !instance || (instance.enabled && (instance.last_applied_hash !== file.hash || instance.status === 'orphaned'));

export function watchBlueprintFolder(deps: CoreDeps, options: BlueprintFolderOptions): BlueprintWatcher {
  const { dir, env, logger } = options;
  /** path → hash of the text this process last settled (applied, found applied, or found broken). */
  const settled = new Map<string, string>();
  let settledPaths: string | null = null;
  let running: Promise<void> = Promise.resolve();
  let isStopped = false;

  async function applyFile(file: BlueprintFile): Promise<boolean> {
    const { applyBlueprintFile } = await import('./instances.ts');
    try {
      const result = await applyBlueprintFile(deps, file, { env });
      if (result === 'example' || result === 'adopted') return true;
      const counts = Object.fromEntries(['create', 'update', 'delete'].map((a) => [a, result.outcome?.changes.filter((c) => c.action === a).length ?? 0]));
      if (result.status === 'error') {
        // A blueprint that is wrong stays wrong until edited: its instance says so, and the log once.
        logger.error({ blueprint: file.path, problems: result.problems.map((p) => `line ${p.line ?? '?'}: ${p.message}`) }, 'blueprint_invalid');
      } else {
        const warnings = result.outcome?.warnings.map((w) => `line ${w.line}: ${w.message}`) ?? [];
        logger.info({ blueprint: file.path, status: result.status, ...counts, warnings }, 'blueprint_applied');
      }
      return true;
    } catch (error) {
      logger.error({ blueprint: file.path, err: error }, 'blueprint_apply_failed');
      return false; // not the file's fault (the database is away): try again at the next poll
    }
  }

  async function applyChanged(): Promise<void> {
    const files = readBlueprintFolder(dir);
    const paths = files.map((f) => f.path).join('\n');
    // A file that went away and comes back is looked at again (its instance was orphaned meanwhile).
    for (const path of settled.keys()) if (!files.some((f) => f.path === path)) settled.delete(path);
    const changed = files.filter((f) => settled.get(f.path) !== f.hash);
    if (changed.length === 0 && paths === settledPaths) return;
    await withAdvisoryLock(deps.db, BLUEPRINT_LOCK, async () => {
      if (paths !== settledPaths) {
        // The shipped defaults are applied from the package, not from this folder: never orphans.
        const present = [...files.map((f) => f.path), ...readDefaultBlueprints().map((f) => f.path)];
        const orphaned = await syncOrphanedInstances(deps.db, present);
        if (orphaned.length) logger.warn({ blueprints: orphaned }, 'blueprint_orphaned');
      }
      const instances = await findFingerprintsByPaths(deps.db, changed.map((f) => f.path));
      for (const file of changed) {
        if (isStopped) return;
        if (!needsApply(file, instances.get(file.path)) || (await applyFile(file))) settled.set(file.path, file.hash);
      }
      settledPaths = paths;
    });
  }

  const runOnce = () => {
    running = running
      .then(() => (isStopped ? undefined : applyChanged()))
      .catch((error) => logger.error({ err: error, dir }, 'blueprint_folder_failed'));
    return running;
  };
  const timer = setInterval(() => void runOnce(), options.intervalMs ?? 5000);
  timer.unref();
  return {
    runOnce,
    async stop() {
      isStopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** Applies GATEHOUSE_BLUEPRINTS_DIR once (before serving), then watches it. */
export async function startBlueprintFolder(config: Config, logger: Logger, deps: CoreDeps): Promise<BlueprintWatcher> {
  const watcher = watchBlueprintFolder(deps, { dir: config.blueprints_dir, env: processEnvironment(), logger });
  await watcher.runOnce();
  return watcher;
}
