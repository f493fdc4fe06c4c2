import { NotFound, ValidationError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import * as store from '../store/blueprintInstances.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, translatingConflicts } from './modelWrites.ts';

// Admin writes of blueprint instances (Authentik's /managed/blueprints/): each change and its
// audit event in one transaction. An instance names a file of the blueprints folder (or a
// shipped default) by its path, or holds its blueprint as content. Writing one applies nothing:
// POST …/<pk>/apply/ does.

export interface InstanceWrite {
  name: string;
  path: string;
  content: string;
  context: Record<string, unknown>;
  enabled: boolean;
}

const instanceRef = (row: store.BlueprintInstanceRow) => ({ model_name: 'blueprint_instance' as const, pk: row.id, name: row.name });
const duplicateName = () => ValidationError.field('name', 'blueprint instance with this name already exists.');

/** The instance as it would be stored is checked whole: a path that is a blueprint file, or content, never both. */
async function assertValid(tx: Queryable, instance: InstanceWrite, id: string | null, availablePaths: ReadonlySet<string>): Promise<void> {
  if (instance.path !== '' && !availablePaths.has(instance.path)) throw ValidationError.field('path', 'Not a blueprint file of the blueprints folder (see …/available/).');
  if ((instance.path === '') === (instance.content === '')) throw ValidationError.field('non_field_errors', 'Either path or content must be set (not both).');
  if (await store.isInstanceNameTaken(tx, instance.name, id)) throw duplicateName();
  if (instance.path !== '') {
    const holder = await store.findInstanceByPath(tx, instance.path);
    if (holder && holder.id !== id) throw ValidationError.field('path', 'Another blueprint instance already applies this file.');
  }
}

export function createBlueprintInstance(
  deps: CoreDeps,
  ctx: RequestContext,
  input: InstanceWrite,
  availablePaths: ReadonlySet<string>,
): Promise<store.BlueprintInstanceRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        await assertValid(tx, input, null, availablePaths);
        const row = await store.insertInstance(tx, { ...input, metadata: {} });
        await recordEvent(tx, deps, ctx, 'model_created', { model: instanceRef(row), context: { path: row.path } });
        return row;
      }),
    duplicateName,
  );
}

export function updateBlueprintInstance(
  deps: CoreDeps,
  ctx: RequestContext,
  id: string,
  changes: Partial<InstanceWrite>,
  availablePaths: ReadonlySet<string>,
): Promise<store.BlueprintInstanceRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const current = await store.findInstanceById(tx, id);
        if (!current) throw new NotFound();
        const merged: InstanceWrite = {
          name: changes.name ?? current.name,
          path: changes.path ?? current.path,
          content: changes.content ?? current.content,
          context: changes.context ?? current.context,
          enabled: changes.enabled ?? current.enabled,
        };
        // An unchanged path may be one whose file is gone (an orphan): renaming it stays possible.
        const available = merged.path === current.path ? new Set([...availablePaths, current.path]) : availablePaths;
        await assertValid(tx, merged, id, available);
        const row = (await store.updateInstance(tx, id, changes)) as store.BlueprintInstanceRow;
        // content is left out of the event: a blueprint's text may hold a client secret.
        await recordEvent(tx, deps, ctx, 'model_updated', { model: instanceRef(row), context: { changed: changedFields({ ...changes }) } });
        return row;
      }),
    duplicateName,
  );
}

/** Deleting an instance leaves the objects its blueprint made, as in Authentik. */
export function deleteBlueprintInstance(deps: CoreDeps, ctx: RequestContext, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const current = await store.findInstanceById(tx, id);
    if (!current) throw new NotFound();
    await store.deleteInstance(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: instanceRef(current), context: { path: current.path } });
  });
}
