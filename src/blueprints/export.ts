import type { CoreDeps } from '../core/context.ts';
import { MODEL_CHOICES } from '../core/permissions.ts';
import { listAssignmentsOnModel } from '../store/rbac.ts';
import { KeyOf, stringifyBlueprint } from './document.ts';
import type { BlueprintModel, ExistingObject, Pk } from './model.ts';
import { blueprintModels } from './registry.ts';

// `gatehouse blueprint export`: the current groups, flows (with stages and bindings), policies,
// providers, applications and outposts as one blueprint that `blueprint apply` turns back into the same
// objects. References between exported objects are written as !KeyOf; users are not exported.

const SKIPPED_MODELS = new Set(['authentik_core.user']);
/** Fields that name another object by its pk. */
const REFERENCE_FIELDS = new Set(['parent', 'authorization_flow', 'invalidation_flow', 'target', 'stage', 'provider', 'group', 'policy', 'configuration_stages', 'password_stage', 'validation_policies', 'search_group', 'providers', 'roles']);
/** A group's members: users, who are not exported. (A user-write stage's `groups` are group names and stay.) */
const USER_FIELDS = new Set(['users']);

const IDENTIFIERS: Record<string, string[]> = {
  'authentik_flows.flow': ['slug'],
  'authentik_flows.flowstagebinding': ['target', 'stage', 'order'],
  'authentik_core.application': ['slug'],
  'authentik_policies.policybinding': ['target', 'policy', 'group', 'user', 'order'],
};

const slugOf = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** A readable, stable id: the slug or name, else the identifiers (references by their ids). */
function entryId(model: BlueprintModel, identifiers: Record<string, unknown>, taken: Set<string>): string {
  const kind = model.name.split('.')[1] as string;
  const parts = Object.values(identifiers)
    .filter((v) => v !== null)
    .map((v) => (v instanceof KeyOf ? v.id.replace(/^[a-z0-9]+-/, '') : String(v)));
  const base = `${kind}-${slugOf(parts.join('-'))}`;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

function referenced(value: unknown, ids: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => referenced(v, ids));
  const id = value === null || value === undefined ? undefined : ids.get(String(value));
  return id ? new KeyOf(id) : value;
}

/** Groups: a parent before its children, so each !KeyOf names an earlier entry. */
function parentsFirst(objects: ExistingObject[]): ExistingObject[] {
  const byPk = new Map(objects.map((o) => [String(o.pk), o]));
  const depth = (o: ExistingObject, seen = 0): number => {
    const parent = o.values.parent ? byPk.get(String(o.values.parent)) : undefined;
    return parent && seen < 100 ? 1 + depth(parent, seen + 1) : 0;
  };
  return objects.map((o) => ({ o, d: depth(o) })).sort((a, b) => a.d - b.d).map(({ o }) => o);
}

/** Permissions roles hold on this object, as the entry's `permissions:` (users' are not exported, as users are not). */
async function rolePermissionsOn(deps: CoreDeps, modelName: string, pk: Pk, ids: Map<string, string>): Promise<unknown[]> {
  if (!MODEL_CHOICES.includes(modelName)) return [];
  const [appLabel, model] = modelName.split('.') as [string, string];
  const held = await listAssignmentsOnModel(deps.db, 'role', { appLabel, model, objectPk: String(pk) });
  return held
    .filter((a) => a.object_pk !== null && a.role_id !== null && ids.has(a.role_id))
    .map((a) => ({ permission: a.codename, role: new KeyOf(ids.get(a.role_id as string) as string) }));
}

export async function exportBlueprint(deps: CoreDeps, name = 'gatehouse-export'): Promise<string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  const entries: unknown[] = [];
  for (const model of blueprintModels().values()) {
    if (SKIPPED_MODELS.has(model.name)) continue;
    const identifierFields = IDENTIFIERS[model.name] ?? ['name'];
    const ofModel: Array<{ id: string; entry: unknown }> = [];
    for (const object of parentsFirst(await model.list(deps.db, deps))) {
      if (model.name === 'authentik_policies.policybinding' && object.values.user !== null) continue;
      const values: Record<string, unknown> = {};
      for (const [field, value] of Object.entries(object.values)) {
        if (USER_FIELDS.has(field) || field === 'user') continue;
        // Only the defaults carry a managed key; the admin's own objects are written without one.
        if (field === 'managed' && value === null) continue;
        values[field] = REFERENCE_FIELDS.has(field) ? referenced(value, ids) : value;
      }
      const identifiers = Object.fromEntries(identifierFields.filter((f) => f !== 'user').map((f) => [f, values[f] ?? null]));
      const attrs = Object.fromEntries(Object.entries(values).filter(([f]) => !identifierFields.includes(f)));
      const id = entryId(model, identifiers, taken);
      ids.set(String(object.pk as Pk), id);
      const permissions = await rolePermissionsOn(deps, model.name, object.pk, ids);
      ofModel.push({ id, entry: { model: model.name, id, identifiers, attrs, ...(permissions.length ? { permissions } : {}) } });
    }
    // Groups stay parents-first; everything else in id order, so two exports of equal data match.
    if (model.name !== 'authentik_core.group') ofModel.sort((a, b) => a.id.localeCompare(b.id));
    entries.push(...ofModel.map((e) => e.entry));
  }
  return stringifyBlueprint({ version: 1, metadata: { name }, entries });
}
