import { ValidationError, NotFound } from '../errors.ts';
import { isUniqueViolation, type Queryable } from '../store/db.ts';
import * as groupStore from '../store/groups.ts';
import * as userStore from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { checkPassword, hashPassword } from './passwords.ts';
import { endSessionsOfUser } from './sessions.ts';

export interface UserInput extends userStore.NewUser {
  /** Group uuids; replaces direct memberships when given. */
  groups?: string[];
}

const modelRef = (user: userStore.UserRow) => ({ model_name: 'user' as const, pk: user.id, name: user.username });

async function assertUsernameFree(tx: Queryable, username: string, exceptId?: number) {
  const existing = await userStore.findUserByUsername(tx, username);
  if (existing && existing.id !== exceptId) throw ValidationError.field('username', 'This field must be unique.');
}

async function assertGroupsExist(tx: Queryable, groupIds: string[]) {
  const found = await groupStore.findExistingGroupIds(tx, groupIds);
  const missing = groupIds.filter((id) => !found.has(id));
  if (missing.length) throw ValidationError.field('groups', `Unknown group(s): ${missing.join(', ')}`);
}

/** Turns the unique-index race (two creates at once) into the same 400 the pre-check gives. */
async function translatingDuplicates<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw ValidationError.field('username', 'This field must be unique.');
    throw error;
  }
}

export function createUser(deps: CoreDeps, ctx: RequestContext, input: UserInput): Promise<userStore.UserRow> {
  return translatingDuplicates(() =>
    deps.db.transaction(async (tx) => {
      await assertUsernameFree(tx, input.username);
      if (input.groups) await assertGroupsExist(tx, input.groups);
      let user = await userStore.insertUser(tx, input);
      if (input.groups?.length) {
        await groupStore.setGroupsOfUser(tx, user.id, input.groups);
        user = (await userStore.findUserById(tx, user.id)) as userStore.UserRow;
      }
      await recordEvent(tx, deps, ctx, 'model_created', { model: modelRef(user) });
      return user;
    }),
  );
}

export async function updateUser(
  deps: CoreDeps,
  ctx: RequestContext,
  id: number,
  changes: Partial<UserInput>,
): Promise<userStore.UserRow> {
  const user = await writeUserChanges(deps, ctx, id, changes);
  // A deactivated account's sessions end now, not merely go unanswered while it is inactive:
  // otherwise reactivating it (say, after its password was reset) would bring back every
  // browser that was signed in, an attacker's too. Ended after the commit, as offboarding does.
  if (changes.isActive === false) {
    const ended = await endSessionsOfUser(deps, id, null);
    if (ended > 0) {
      await recordEvent(deps.db, deps, ctx, 'logout', {
        subject: { id: user.id, username: user.username, email: user.email },
        context: { reason: 'deactivated', sessions_ended: ended, ended_by: ctx.actor?.username ?? 'system' },
      });
    }
  }
  return user;
}

function writeUserChanges(deps: CoreDeps, ctx: RequestContext, id: number, changes: Partial<UserInput>): Promise<userStore.UserRow> {
  return translatingDuplicates(() =>
    deps.db.transaction(async (tx) => {
      if (changes.username !== undefined) await assertUsernameFree(tx, changes.username, id);
      if (changes.groups) await assertGroupsExist(tx, changes.groups);
      const updated = await userStore.updateUser(tx, id, changes);
      if (!updated) throw new NotFound();
      if (changes.groups) await groupStore.setGroupsOfUser(tx, id, changes.groups);
      const user = (await userStore.findUserById(tx, id)) as userStore.UserRow;
      await recordEvent(tx, deps, ctx, 'model_updated', {
        model: modelRef(user),
        context: { changed: Object.keys(changes) },
      });
      return user;
    }),
  );
}

export function deleteUser(deps: CoreDeps, ctx: RequestContext, id: number): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const user = await userStore.findUserById(tx, id);
    if (!user) throw new NotFound();
    if (ctx.actor?.id === id) throw ValidationError.field('non_field_errors', 'You cannot delete yourself.');
    await userStore.deleteUser(tx, id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: modelRef(user) });
  });
}

export async function setUserPassword(deps: CoreDeps, ctx: RequestContext, id: number, password: string): Promise<void> {
  // Hash before the transaction: argon2 takes ~20 ms and must not hold a connection meanwhile.
  const passwordHash = await hashPassword(password);
  await deps.db.transaction(async (tx) => {
    const user = await userStore.findUserById(tx, id);
    if (!user) throw new NotFound();
    await userStore.setPasswordHash(tx, id, passwordHash);
    await recordEvent(tx, deps, ctx, 'password_set', {
      subject: { id: user.id, username: user.username, email: user.email },
      context: { set_by: ctx.actor?.username ?? 'system' },
    });
  });
}

/**
 * Checks a username (or email) and password. Unknown users, inactive users and users without a
 * password cost one argon2 verify like everyone else. A hash made with older parameters is
 * replaced on success (rehash on login).
 */
export async function checkCredentials(
  deps: CoreDeps,
  uid: string,
  password: string,
): Promise<userStore.UserRow | null> {
  const user = await userStore.findUserByUsername(deps.db, uid);
  const { isValid, rehashed } = await checkPassword(user?.is_active ? user.password_hash : null, password);
  if (!user || !isValid) return null;
  await userStore.recordLogin(deps.db, user.id, rehashed);
  return user;
}
