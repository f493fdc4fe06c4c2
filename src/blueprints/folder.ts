import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { processEnvironment } from '../config/environment.ts';
import type { Config } from '../config/schema.ts';
import { type CoreDeps, SYSTEM_CONTEXT } from '../core/context.ts';
import { withAdvisoryLock } from '../store/locks.ts';

// The engine and the YAML parser load when there is a blueprint to read, not with every server.
const documentModule = () => import('./document.ts');
const engineModule = () => import('./engine.ts');

// The blueprints folder: every *.yaml under it is applied at start and again when its content
// changes (a poll, so it works on bind mounts and network filesystems where inotify does not).
// A blueprint labelled blueprints.goauthentik.io/instantiate: "false" is an example: it is
// applied only on request (CLI or API), as in Authentik.

const INSTANTIATE_LABEL = 'blueprints.goauthentik.io/instantiate';
const MAX_FILES = 1000;
/** Several servers share one database: one at a time applies the folder (the others then find nothing to do). */
const BLUEPRINT_LOCK = 0x6761_7470;

export function listBlueprintFiles(dir: string): string[] {
  const root = resolve(dir);
  const found: string[] = [];
  const walk = (path: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(path).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.') || found.length >= MAX_FILES) continue;
      const full = join(path, name);
      const stat = statSync(full, { throwIfNoEntry: false });
      if (stat?.isDirectory() && depth < 5) walk(full, depth + 1);
      else if (stat?.isFile() && /\.ya?ml$/.test(name)) found.push(full);
    }
  };
  walk(root, 0);
  return found.map((f) => relative(root, f));
}

export const isExampleBlueprint = async (text: string): Promise<boolean> => {
  const { parseBlueprint } = await documentModule();
  try {
    return String(parseBlueprint(text).labels[INSTANTIATE_LABEL]) === 'false';
  } catch {
    return false;
  }
};

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

export function watchBlueprintFolder(deps: CoreDeps, options: BlueprintFolderOptions): BlueprintWatcher {
  const { dir, env, logger } = options;
  const applied = new Map<string, string>();
  let running: Promise<void> = Promise.resolve();
  let isStopped = false;

  async function applyFile(path: string): Promise<void> {
    const text = readFileSync(join(resolve(dir), path), 'utf8');
    const hash = createHash('sha256').update(text).digest('hex');
    if (applied.get(path) === hash) return;
    if (await isExampleBlueprint(text)) {
      applied.set(path, hash);
      return;
    }
    const { applyBlueprint } = await engineModule();
    const { BlueprintError } = await documentModule();
    try {
      const outcome = await applyBlueprint(deps, SYSTEM_CONTEXT, text, { env, fallbackName: path });
      const counts = Object.fromEntries(['create', 'update', 'delete'].map((a) => [a, outcome.changes.filter((c) => c.action === a).length]));
      logger.info({ blueprint: path, ...counts, warnings: outcome.warnings.map((w) => `line ${w.line}: ${w.message}`) }, 'blueprint_applied');
      applied.set(path, hash);
    } catch (error) {
      // A blueprint that is wrong stays wrong until edited: remember it and say so once.
      if (error instanceof BlueprintError) {
        applied.set(path, hash);
        logger.error({ blueprint: path, problems: error.problems.map((p) => `line ${p.line ?? '?'}: ${p.message}`) }, 'blueprint_invalid');
      } else {
        logger.error({ blueprint: path, err: error }, 'blueprint_apply_failed');
      }
    }
  }

  const runOnce = () => {
    running = running
      .then(async () => {
      if (isStopped) return;
      const paths = listBlueprintFiles(dir);
      if (paths.length === 0) return;
      await withAdvisoryLock(deps.db, BLUEPRINT_LOCK, async () => {
        for (const path of paths) await applyFile(path);
      });
      })
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
