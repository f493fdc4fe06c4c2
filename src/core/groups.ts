import { NotFound, ValidationError } from '../errors.ts';
import { isUniqueViolation, type Queryable } from '../store/db.ts';
import * as groupStore from '../store/groups.ts';
import { findExistingRoleIds, setRolesOfGroup } from '../store/rbac.ts';
import * as userStore from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';

export interface GroupInput {
  name: string;
  isSuperuser: boolean;
  parentId: string | null;
  attributes: Record<string, unknown>;
  /** User pks; replaces direct members when given. */
  users?: number[];
  /** Role uuids; replaces the group's roles when given (its members then hold what the roles hold). */
  roles?: string[];
}

const modelRef = (group: groupStore.GroupRow) => ({ model_name: 'group' as const, pk: group.id, name: group.name });

async function translatingDuplicates<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw ValidationError.field('name', 'group with this name already exists.');
    throw error;
  }
}

async function assertValidReferences(tx: Queryable, input: Partial<GroupInput>, groupId?: string) {
  if (input.parentId) {
    if (!(await groupStore.findGroupById(tx, input.parentId))) throw ValidationError.field('parent', 'Unknown group.');
    if (groupId && (await groupStore.wouldCreateCycle(tx, groupId, input.parentId))) {
      throw ValidationError.field('parent', 'A group cannot be its own ancestor.');
    }
  }
  if (input.users?.length) {
    const found = await groupStore.findExistingUserIds(tx, input.users);
    const missing = input.users.filter((id) => !found.has(id));
    if (missing.length) throw ValidationError.field('users', `Unknown user(s): ${missing.join(', ')}`);
  }
  if (input.roles?.length) {
    const found = await findExistingRoleIds(tx, input.roles);
    const missing = input.roles.filter((id) => !found.has(id));
    if (missing.length) throw ValidationError.field('roles', `Unknown role(s): ${missing.join(', ')}`);
  }
}

export function createGroup(deps: CoreDeps, ctx: RequestContext, input: GroupInput): Promise<groupStore.GroupRow> {
  return translatingDuplicates(() =>
    deps.db.transaction(async (tx) => {
      if (await groupStore.findGroupByName(tx, input.name)) {
        throw ValidationError.field('name', 'group with this name already exists.');
      }
      await assertValidReferences(tx, input);
      const group = await groupStore.insertGroup(tx, input);
      if (input.users?.length) await groupStore.setMembersOfGroup(tx, group.id, input.users);
      if (input.roles?.length) await setRolesOfGroup(tx, group.id, input.roles);
      await recordEvent(tx, deps, ctx, 'model_created', { model: modelRef(group) });
      return group;
    }),
  );
}

export function updateGroup(
  deps: CoreDeps,
  ctx: RequestContext,
  id: string,
  changes: Partial<GroupInput>,
): Promise<groupStore.GroupRow> {
  return translatingDuplicates(() =>
    deps.db.transaction(async (tx) => {
      if (changes.name !== undefined) {
        const other = await groupStore.findGroupByName(tx, changes.name);
        if (other && other.id !== id) throw ValidationError.field('name', 'group with this name already exists.');
      }
      await assertValidReferences(tx, changes, id);
      const group = await groupStore.updateGroup(tx, id, changes);
      if (!group) throw new NotFound();
      if (changes.users) await groupStore.setMembersOfGroup(tx, id, changes.users);
      if (changes.roles) await setRolesOfGroup(tx, id, changes.roles);
      await recordEvent(tx, deps, ctx, 'model_updated', { model: modelRef(group), context: { changed: Object.keys(changes) } });
      return group;
    }),
  );
}

export function deleteGroup(deps: CoreDeps, ctx: RequestContext, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const group = await groupStore.findGroupById(tx, id);
    if (!group) throw new NotFound();
    await groupStore.deleteGroup(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: modelRef(group) });
  });
}

/** add_user / remove_user: membership changes are audited as an update of the group. */
export function changeMembership(
  deps: CoreDeps,
  ctx: RequestContext,
  groupId: string,
  userId: number,
  change: 'add' | 'remove',
): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const group = await groupStore.findGroupById(tx, groupId);
    if (!group) throw new NotFound();
    const user = await userStore.findUserById(tx, userId);
    if (!user) throw ValidationError.field('pk', 'Unknown user.');
    const isChanged =
      change === 'add' ? await groupStore.addMember(tx, groupId, userId) : await groupStore.removeMember(tx, groupId, userId);
    if (isChanged) {
      await recordEvent(tx, deps, ctx, 'model_updated', {
        model: modelRef(group),
        context: { [change === 'add' ? 'user_added' : 'user_removed']: { pk: user.id, username: user.username } },
      });
    }
  });
}
