import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { processEnvironment } from '../config/environment.ts';
import { usesPostgres } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { SYSTEM_CONTEXT } from '../core/context.ts';
import { openRuntime } from '../runtime.ts';
import { BlueprintError } from './document.ts';
import { applyBlueprint, describeChanges } from './engine.ts';
import { exportBlueprint } from './export.ts';

// `gatehouse blueprint apply FILE [--dry-run]` and `gatehouse blueprint export`, and the folder
// the server applies at start.

const USAGE = 'Usage: gatehouse blueprint apply FILE [--dry-run] | gatehouse blueprint export\n';

export { startBlueprintFolder } from './folder.ts';

export async function runBlueprintCommand(config: Config, logger: Logger, args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const isDryRun = rest.includes('--dry-run');
  const file = rest.find((a) => !a.startsWith('--'));
  if (!(action === 'export' && rest.length === 0) && !(action === 'apply' && file)) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  const text = action === 'apply' ? readFileSync(file as string, 'utf8') : '';
  const runtime = await openRuntime(config, logger, { isEmbeddedAllowed: !usesPostgres(config), runMigrations: true, runBootstrap: true });
  try {
    if (action === 'export') {
      process.stdout.write(await exportBlueprint(runtime.deps));
      return;
    }
    const outcome = await applyBlueprint(runtime.deps, SYSTEM_CONTEXT, text, { isDryRun, env: processEnvironment(), fallbackName: file });
    for (const w of outcome.warnings) process.stderr.write(`${file}:${w.line}: warning: ${w.message}\n`);
    process.stdout.write(`${isDryRun ? 'Dry run, nothing applied' : 'Applied'}: ${outcome.name}\n${describeChanges(outcome)}\n`);
  } catch (error) {
    if (!(error instanceof BlueprintError)) throw error;
    for (const p of error.problems) process.stderr.write(`${file}:${p.line ?? '?'}: ${p.message}\n`);
    process.stderr.write('Nothing was applied.\n');
    process.exitCode = 65; // EX_DATAERR
  } finally {
    await runtime.close();
  }
}
