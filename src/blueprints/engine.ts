import { isDeepStrictEqual } from 'node:util';
import type { CoreDeps, RequestContext } from '../core/context.ts';
import { ValidationError } from '../errors.ts';
import type { Database, Queryable } from '../store/db.ts';
import { type Blueprint, type BlueprintEntry, BlueprintError, Context, Env, Find, Format, KeyOf, type Problem, parseBlueprint } from './document.ts';
import { type BlueprintModel, type ExistingObject, matching, normalised, type Pk } from './model.ts';
import { applyEntryPermissions } from './permissions.ts';
import { blueprintModels } from './registry.ts';

// Applies a blueprint: each entry found by its identifiers, then created, updated or deleted
// through the same core admin functions the API calls (so validation and audit events are
// shared). The whole file is one transaction: one bad entry and nothing of it is applied.

export type ChangeAction = 'create' | 'update' | 'delete' | 'unchanged' | 'skipped';

export interface BlueprintChange {
  model: string;
  line: number;
  action: ChangeAction;
  identifiers: Record<string, unknown>;
  pk: Pk | null;
  /** For an update: each changed field, before and after (secrets masked). */
  fields?: Record<string, { from: unknown; to: unknown }>;
}

export interface ApplyOutcome {
  name: string;
  /** The blueprint's metadata labels. */
  labels: Record<string, unknown>;
  isDryRun: boolean;
  changes: BlueprintChange[];
  warnings: Problem[];
}

export interface ApplyOptions {
  isDryRun?: boolean;
  /** What `!Env` reads (the process environment, passed in from the config layer). */
  env?: Record<string, string | undefined>;
  /** Overrides the blueprint's own `context`. */
  context?: Record<string, unknown>;
  fallbackName?: string;
  /** Runs inside the blueprint's transaction once every entry is applied (not on a dry run): what records the apply commits with it. */
  onApplied?: (tx: Queryable, outcome: ApplyOutcome) => Promise<void>;
}

const SECRET_FIELDS = new Set(['client_secret', 'password']);
const shown = (field: string, value: unknown) => (SECRET_FIELDS.has(field) && value ? '********' : value);

/** A rollback that is not a failure: a dry run undoes what it did. */
class DryRunRollback extends Error {
  readonly outcome: ApplyOutcome;
  constructor(outcome: ApplyOutcome) {
    super('dry run');
    this.outcome = outcome;
  }
}

/** The core's admin functions each open a transaction; inside a blueprint they join the file's one. */
function databaseOf(tx: Queryable, outer: Database): Database {
  return {
    kind: outer.kind,
    query: (sql, params) => tx.query(sql, params),
    exec: (sql) => tx.exec(sql),
    transaction: (fn) => fn(tx),
    withSession: (fn) => fn(tx),
    listen: (channel, onMessage, events) => outer.listen(channel, onMessage, events),
    isInTransaction: true,
    close: async () => {},
  };
}

/** Unknown models and fields, found before anything is written; Authentik-only fields are dropped with a warning. */
function checkShape(blueprint: Blueprint, models: Map<string, BlueprintModel>, warnings: Problem[]): void {
  const problems: Problem[] = [];
  for (const entry of blueprint.entries) {
    const model = models.get(entry.model);
    if (!model) {
      problems.push({ line: entry.line, message: `Unknown model "${entry.model}".` });
      continue;
    }
    if (Object.keys(entry.identifiers).length === 0) problems.push({ line: entry.line, message: `${entry.model}: an entry needs identifiers.` });
    for (const part of [entry.identifiers, entry.attrs]) {
      for (const field of Object.keys(part)) {
        if (model.fields.has(field) || (field === 'pk' && part === entry.identifiers)) continue;
        if (model.ignored?.has(field)) {
          warnings.push({ line: entry.fieldLines[field] ?? entry.line, message: `${entry.model}: "${field}" is not used by Gatehouse and was ignored.` });
          delete part[field];
          continue;
        }
        problems.push({ line: entry.fieldLines[field] ?? entry.line, message: `${entry.model}: unknown field "${field}".` });
      }
    }
  }
  if (problems.length) throw new BlueprintError(problems);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** Arrays of plain values (scopes, group members) compare as sets. */
function isSame(current: unknown, desired: unknown): boolean {
  const sorted = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null) ? [...v].map(String).sort() : normalised(v);
  return isDeepStrictEqual(sorted(current), sorted(desired));
}

interface Run {
  tx: Queryable;
  deps: CoreDeps;
  ctx: RequestContext;
  models: Map<string, BlueprintModel>;
  keys: Map<string, Pk>;
  env: Record<string, string | undefined>;
  context: Record<string, unknown>;
}

/** Python's `format % args` for %s, %d and %%. */
function formatted(format: string, args: unknown[]): string {
  let next = 0;
  const text = format.replace(/%([sd%])/g, (_all, kind: string) => {
    if (kind === '%') return '%';
    if (next >= args.length) throw new Error('!Format: not enough values for the format.');
    const value = args[next++];
    return kind === 'd' ? String(Math.trunc(Number(value))) : String(value);
  });
  if (next < args.length) throw new Error('!Format: more values than the format uses.');
  return text;
}

async function resolveValue(run: Run, value: unknown): Promise<unknown> {
  if (value instanceof KeyOf) {
    if (!run.keys.has(value.id)) throw new Error(`!KeyOf ${value.id}: no earlier entry has this id.`);
    return run.keys.get(value.id);
  }
  if (value instanceof Find) {
    const model = run.models.get(value.model);
    if (!model) throw new Error(`!Find: unknown model "${value.model}".`);
    const query: Record<string, unknown> = {};
    for (const [field, v] of value.query) query[field] = await resolveValue(run, v);
    return matching(await model.list(run.tx, run.deps), query)[0]?.pk ?? null;
  }
  if (value instanceof Env) return run.env[value.name] ?? value.fallback;
  if (value instanceof Format) return formatted(value.format, (await resolveValue(run, value.args)) as unknown[]);
  if (value instanceof Context) return value.key in run.context ? run.context[value.key] : value.fallback;
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveValue(run, v)));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveValue(run, v);
    return out;
  }
  return value;
}

async function resolveFields(run: Run, entry: BlueprintEntry, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    try {
      out[field] = await resolveValue(run, value);
    } catch (error) {
      throw new BlueprintError([{ line: entry.fieldLines[field] ?? entry.line, message: `${entry.model}: ${field}: ${(error as Error).message}` }]);
    }
  }
  return out;
}

/** A core ValidationError, reported at the line of the field it names. */
function reported(entry: BlueprintEntry, error: unknown): unknown {
  if (!(error instanceof ValidationError)) return error;
  return new BlueprintError(
    Object.entries(error.fieldErrors).map(([field, messages]) => ({
      line: entry.fieldLines[field] ?? entry.line,
      message: `${entry.model}: ${field}: ${messages.join(' ')}`,
    })),
  );
}

async function applyEntry(run: Run, entry: BlueprintEntry): Promise<BlueprintChange> {
  const model = run.models.get(entry.model) as BlueprintModel;
  const identifiers = await resolveFields(run, entry, entry.identifiers);
  const change: BlueprintChange = { model: entry.model, line: entry.line, action: 'unchanged', identifiers, pk: null };
  const conditions = await Promise.all(entry.conditions.map((c) => resolveValue(run, c)));
  if (conditions.some((c) => !c)) return { ...change, action: 'skipped' };
  const attrs = await resolveFields(run, entry, entry.attrs);
  const found = matching(await model.list(run.tx, run.deps), identifiers);
  if (found.length > 1) throw new BlueprintError([{ line: entry.line, message: `${entry.model}: the identifiers match ${found.length} objects.` }]);
  const existing: ExistingObject | undefined = found[0];
  if (existing) change.pk = existing.pk;
  if (entry.state === 'absent') {
    if (existing) await model.remove(run.deps, run.ctx, existing.pk);
    return { ...change, action: existing ? 'delete' : 'unchanged' };
  }
  if (existing && entry.state === 'created') return change;
  const { pk: _pk, ...identifierFields } = identifiers;
  const desired = Object.fromEntries(Object.entries(model.parse({ ...identifierFields, ...attrs })).filter(([, v]) => v !== undefined));
  if (!existing) return { ...change, action: 'create', pk: await model.create(run.deps, run.ctx, desired) };
  const comparable = model.isComparable ?? (() => true);
  const changed = Object.keys(desired).filter((field) => comparable(field) && !isSame(existing.values[field], desired[field]));
  if (changed.length === 0) return change;
  await model.update(run.deps, run.ctx, existing.pk, Object.fromEntries(changed.map((f) => [f, desired[f]])));
  const fields = Object.fromEntries(changed.map((f) => [f, { from: shown(f, existing.values[f]), to: shown(f, desired[f]) }]));
  return { ...change, action: 'update', fields };
}

/** Parses and applies one blueprint; throws a BlueprintError (nothing applied) when any entry fails. */
export async function applyBlueprint(deps: CoreDeps, ctx: RequestContext, text: string, options: ApplyOptions = {}): Promise<ApplyOutcome> {
  const blueprint = parseBlueprint(text, options.fallbackName);
  const models = blueprintModels();
  const warnings: Problem[] = [];
  checkShape(blueprint, models, warnings);
  const isDryRun = options.isDryRun ?? false;
  try {
    return await deps.db.transaction(async (tx) => {
      const run: Run = {
        tx,
        deps: { ...deps, db: databaseOf(tx, deps.db) },
        ctx,
        models,
        keys: new Map(),
        env: options.env ?? {},
        context: { ...blueprint.context, ...options.context },
      };
      const changes: BlueprintChange[] = [];
      for (const entry of blueprint.entries) {
        let change: BlueprintChange;
        try {
          change = await applyEntry(run, entry);
          const isPresent = change.action === 'create' || change.action === 'update' || change.action === 'unchanged';
          if (entry.permissions.length && isPresent && change.pk !== null) {
            await applyEntryPermissions(run.deps, run.ctx, entry, change.pk, (value) => resolveValue(run, value));
          }
        } catch (error) {
          throw reported(entry, error);
        }
        if (entry.id !== null && change.pk !== null) run.keys.set(entry.id, change.pk);
        changes.push(change);
      }
      const outcome = { name: blueprint.name, labels: blueprint.labels, isDryRun, changes, warnings };
      if (isDryRun) throw new DryRunRollback(outcome);
      await options.onApplied?.(tx, outcome);
      return outcome;
    });
  } catch (error) {
    if (error instanceof DryRunRollback) return error.outcome;
    throw error;
  }
}

/** One line per change, for the CLI and logs: "+ authentik_core.application {slug: grafana}". */
export function describeChanges(outcome: ApplyOutcome): string {
  const sign: Record<ChangeAction, string> = { create: '+', update: '~', delete: '-', unchanged: '=', skipped: '?' };
  return outcome.changes
    .map((c) => {
      const fields = c.fields ? ` ${Object.keys(c.fields).join(', ')}` : '';
      return `${sign[c.action]} ${c.model} ${JSON.stringify(c.identifiers)}${fields}`;
    })
    .join('\n');
}
