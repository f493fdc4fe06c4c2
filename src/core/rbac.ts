import { NotFound, ValidationError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import * as rbacStore from '../store/rbac.ts';
import { findUserById } from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { type ModelRef, recordEvent } from './events.ts';
import { translatingConflicts } from './modelWrites.ts';
import { describeTarget, type PermissionAssignRequest, resolvePermissionRequest } from './permissions.ts';

// Admin writes of roles and of the permissions roles and users hold, each with its audit event
// in the same transaction. A grant or revocation is recorded as an update of the role or user
// that holds it, naming the permission and the object.

export type RoleRow = rbacStore.RoleRow;

/** Who holds the permissions: a role (by uuid) or a user (by pk), as the two API paths address them. */
export type HolderRef = { kind: 'role'; id: string } | { kind: 'user'; id: number };

const roleRef = (role: RoleRow) => ({ model_name: 'role' as const, pk: role.id, name: role.name, app: 'authentik_rbac' });
const duplicate = () => ValidationError.field('name', 'role with this name already exists.');

async function findRole(tx: Queryable, id: string): Promise<RoleRow> {
  const role = await rbacStore.findRoleById(tx, id);
  if (!role) throw new NotFound();
  return role;
}

export function createRole(deps: CoreDeps, ctx: RequestContext, name: string): Promise<RoleRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        if (await rbacStore.findRoleByName(tx, name)) throw duplicate();
        const role = await rbacStore.insertRole(tx, name);
        await recordEvent(tx, deps, ctx, 'model_created', { model: roleRef(role) });
        return role;
      }),
    duplicate,
  );
}

export function renameRole(deps: CoreDeps, ctx: RequestContext, id: string, name: string): Promise<RoleRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        await findRole(tx, id);
        const other = await rbacStore.findRoleByName(tx, name);
        if (other && other.id !== id) throw duplicate();
        const role = (await rbacStore.renameRole(tx, id, name)) as RoleRow;
        await recordEvent(tx, deps, ctx, 'model_updated', { model: roleRef(role), context: { changed: ['name'] } });
        return role;
      }),
    duplicate,
  );
}

/** Its permissions and its place on groups go with it. */
export function deleteRole(deps: CoreDeps, ctx: RequestContext, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const role = await findRole(tx, id);
    await rbacStore.deleteRole(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: roleRef(role) });
  });
}

async function holderOf(tx: Queryable, ref: HolderRef): Promise<{ holder: rbacStore.PermissionHolder; model: ModelRef }> {
  if (ref.kind === 'role') {
    const role = await findRole(tx, ref.id);
    return { holder: { roleId: role.id }, model: roleRef(role) };
  }
  const user = await findUserById(tx, ref.id);
  if (!user) throw new NotFound();
  // As in Authentik: an outpost's account holds exactly what its token is for.
  if (user.type === 'internal_service_account') {
    throw ValidationError.field('non_field_errors', 'Permissions cannot be assigned to or removed from an internal service account.');
  }
  return { holder: { userId: user.id }, model: { model_name: 'user', pk: user.id, name: user.username } };
}

/**
 * Grants each permission (held ones stay as they are; only new grants are audited); the
 * assignments' ids, as Authentik answers.
 */
export function assignPermissions(deps: CoreDeps, ctx: RequestContext, ref: HolderRef, request: PermissionAssignRequest): Promise<number[]> {
  return deps.db.transaction(async (tx) => {
    const { holder, model } = await holderOf(tx, ref);
    const targets = await resolvePermissionRequest(tx, request);
    const ids: number[] = [];
    const added: rbacStore.PermissionTarget[] = [];
    for (const target of targets) {
      const { id, isNew } = await rbacStore.insertAssignment(tx, holder, target);
      ids.push(id);
      if (isNew) added.push(target);
    }
    if (added.length) await recordEvent(tx, deps, ctx, 'model_updated', { model, context: { permissions_assigned: added.map(describeTarget) } });
    return ids;
  });
}

/**
 * A blueprint's `permissions:` on a role (Authentik's RoleSerializer in a blueprint): exactly
 * these global permissions, named app_label.codename; others the role holds globally are revoked.
 * Permissions the role holds on single objects are left alone.
 */
export function setGlobalPermissionsOfRole(deps: CoreDeps, ctx: RequestContext, roleId: string, permissions: string[]): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const role = await findRole(tx, roleId);
    const wanted = permissions.length ? await resolvePermissionRequest(tx, { permissions }) : [];
    const held = (await rbacStore.listAssignmentsOfHolder(tx, { roleId })).filter((a) => a.object_pk === null);
    const key = (t: { appLabel: string; model: string; codename: string }) => `${t.appLabel}.${t.model}.${t.codename}`;
    const heldTargets = held.map((a) => ({ appLabel: a.app_label, model: a.model, codename: a.codename, objectPk: null }));
    const added = wanted.filter((w) => !heldTargets.some((h) => key(h) === key(w)));
    const removed = heldTargets.filter((h) => !wanted.some((w) => key(h) === key(w)));
    for (const target of added) await rbacStore.insertAssignment(tx, { roleId }, target);
    for (const target of removed) await rbacStore.deleteAssignment(tx, { roleId }, target);
    if (added.length || removed.length) {
      await recordEvent(tx, deps, ctx, 'model_updated', {
        model: roleRef(role),
        context: { permissions_assigned: added.map(describeTarget), permissions_unassigned: removed.map(describeTarget) },
      });
    }
  });
}

/** Revokes each permission; not holding one is no error (as Authentik's unassign). */
export function unassignPermissions(deps: CoreDeps, ctx: RequestContext, ref: HolderRef, request: PermissionAssignRequest): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const { holder, model } = await holderOf(tx, ref);
    const targets = await resolvePermissionRequest(tx, request);
    const removed: rbacStore.PermissionTarget[] = [];
    for (const target of targets) if (await rbacStore.deleteAssignment(tx, holder, target)) removed.push(target);
    if (removed.length) await recordEvent(tx, deps, ctx, 'model_updated', { model, context: { permissions_unassigned: removed.map(describeTarget) } });
  });
}
