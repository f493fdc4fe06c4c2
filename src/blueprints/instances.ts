import { type CoreDeps, type RequestContext, SYSTEM_CONTEXT } from '../core/context.ts';
import { recordEvent } from '../core/events.ts';
import type { Queryable } from '../store/db.ts';
import {
  type BlueprintInstanceRow,
  type BlueprintInstanceStatus,
  findInstanceByPath,
  insertInstance,
  isInstanceNameTaken,
  recordInstanceApply,
} from '../store/blueprintInstances.ts';
import { findFlowByManaged } from '../store/flows.ts';
import { type BlueprintFile, hashOfBlueprint } from './files.ts';
import { type Blueprint, BlueprintError, type Problem, parseBlueprint } from './document.ts';
import { type ApplyOutcome, applyBlueprint } from './engine.ts';

// Applying a blueprint instance (Authentik's BlueprintInstance): the engine's apply, and in the
// same transaction the instance's status, the hash of the text applied, the models it manages
// and one audit event. A blueprint that cannot be applied leaves its objects as they were and
// its instance in status "error" (with a configuration_error event), so it is not retried
// until its text changes. This module is loaded only when something must be applied.

const INSTANTIATE_LABEL = 'blueprints.goauthentik.io/instantiate';

export interface InstanceApplyResult {
  status: BlueprintInstanceStatus;
  outcome: ApplyOutcome | null;
  problems: Problem[];
}

export interface InstanceApplyOptions {
  /** What `!Env` reads: the process environment for files the operator put on disk, nothing for content sent over the API. */
  env: Record<string, string | undefined>;
  isDryRun?: boolean;
}

const lineText = (p: Problem) => (p.line ? `line ${p.line}: ${p.message}` : p.message);
const countOf = (outcome: ApplyOutcome, action: string) => outcome.changes.filter((c) => c.action === action).length;

async function recordApplied(tx: Queryable, deps: CoreDeps, ctx: RequestContext, instance: BlueprintInstanceRow, hash: string, outcome: ApplyOutcome) {
  const status: BlueprintInstanceStatus = outcome.warnings.length ? 'warning' : 'successful';
  const managedModels = [...new Set(outcome.changes.map((c) => c.model))].sort();
  await recordInstanceApply(tx, instance.id, { status, hash, managedModels, metadata: { name: outcome.name, labels: outcome.labels } });
  await recordEvent(tx, deps, ctx, 'system_task_execution', {
    context: {
      task: 'blueprint_apply',
      blueprint: outcome.name,
      instance: instance.id,
      path: instance.path,
      status,
      create: countOf(outcome, 'create'),
      update: countOf(outcome, 'update'),
      delete: countOf(outcome, 'delete'),
      warnings: outcome.warnings.map(lineText),
    },
  });
}

/** Applies `text` as this instance's blueprint (with its context) and records how it went; throws only what is not the blueprint's fault (a database outage). */
export async function applyInstanceText(
  deps: CoreDeps,
  ctx: RequestContext,
  instance: BlueprintInstanceRow,
  text: string,
  options: InstanceApplyOptions,
): Promise<InstanceApplyResult> {
  const hash = hashOfBlueprint(text);
  const isDryRun = options.isDryRun ?? false;
  try {
    const outcome = await applyBlueprint(deps, ctx, text, {
      env: options.env,
      context: instance.context,
      isDryRun,
      fallbackName: instance.name,
      onApplied: (tx, applied) => recordApplied(tx, deps, ctx, instance, hash, applied),
    });
    return { status: outcome.warnings.length ? 'warning' : 'successful', outcome, problems: [] };
  } catch (error) {
    if (!(error instanceof BlueprintError)) throw error;
    if (!isDryRun) {
      await deps.db.transaction(async (tx) => {
        await recordInstanceApply(tx, instance.id, { status: 'error', hash, managedModels: instance.managed_models });
        await recordEvent(tx, deps, ctx, 'configuration_error', {
          context: { task: 'blueprint_apply', blueprint: instance.name, instance: instance.id, path: instance.path, problems: error.problems.map(lineText) },
        });
      });
    }
    return { status: 'error', outcome: null, problems: error.problems };
  }
}

const parsedOrNull = (text: string, path: string): Blueprint | null => {
  try {
    return parseBlueprint(text, path);
  } catch {
    return null;
  }
};

/** A new instance for a file, named after its blueprint (its path when that name is taken). */
async function newInstanceOfFile(deps: CoreDeps, file: BlueprintFile, blueprint: Blueprint | null, isEnabled: boolean): Promise<BlueprintInstanceRow> {
  const wanted = blueprint?.name ?? file.path;
  const name = (await isInstanceNameTaken(deps.db, wanted, null)) ? file.path : wanted;
  const metadata = blueprint ? { name: blueprint.name, labels: blueprint.labels } : {};
  return insertInstance(deps.db, { name: name.slice(0, 200), path: file.path, content: '', metadata, context: {}, enabled: isEnabled });
}

export type FileApplyResult = InstanceApplyResult | 'example' | 'adopted';

/**
 * A file of the blueprints folder (or a shipped default) that is new or changed since its
 * instance last applied it. A new file labelled instantiate: "false" is an example: it gets a
 * disabled instance and nothing is applied (enabling the instance has it applied) — recorded, so
 * that the next start finds it by its path without parsing it again.
 */
export async function applyBlueprintFile(
  deps: CoreDeps,
  file: BlueprintFile,
  options: InstanceApplyOptions & { adoptExistingDefaults?: boolean },
): Promise<FileApplyResult> {
  const blueprint = parsedOrNull(file.text, file.path);
  const known = await findInstanceByPath(deps.db, file.path);
  if (!known && blueprint && String(blueprint.labels[INSTANTIATE_LABEL]) === 'false') {
    await newInstanceOfFile(deps, file, blueprint, false);
    return 'example';
  }
  const instance = known ?? (await newInstanceOfFile(deps, file, blueprint, true));
  if (!known && options.adoptExistingDefaults && blueprint && (await areDefaultFlowsPresent(deps, blueprint))) {
    // A database from before instances existed: its default flows are there and may be the
    // admin's edits. Record the file as applied instead of re-adding what the admin removed.
    const managedModels = [...new Set(blueprint.entries.map((e) => e.model))].sort();
    await recordInstanceApply(deps.db, instance.id, { status: 'successful', hash: file.hash, managedModels });
    return 'adopted';
  }
  return applyInstanceText(deps, SYSTEM_CONTEXT, instance, file.text, options);
}

/** True when the blueprint defines flows by managed key and every one of them exists. */
async function areDefaultFlowsPresent(deps: CoreDeps, blueprint: Blueprint): Promise<boolean> {
  const keys = blueprint.entries
    .filter((e) => e.model === 'authentik_flows.flow' && typeof e.identifiers.managed === 'string')
    .map((e) => e.identifiers.managed as string);
  if (keys.length === 0) return false;
  for (const key of keys) if (!(await findFlowByManaged(deps.db, key))) return false;
  return true;
}
