import { z } from 'zod';
import type { CoreDeps, RequestContext } from '../core/context.ts';
import { assignPermissions, type HolderRef } from '../core/rbac.ts';
import { NotFound } from '../errors.ts';
import { type BlueprintEntry, BlueprintError } from './document.ts';
import type { Pk } from './model.ts';

// An entry's `permissions:` (Authentik's BlueprintEntryPermission): each grants a permission on
// the entry's object to a role or a user, through the same core call as the API's assign — so
// unknown permissions and models are refused the same way and each new grant is audited. As in
// Authentik, this only adds: permissions the blueprint does not name are left as they are.

const roleId = z.uuid();
const userId = z.coerce.number().int().positive().max(2 ** 31 - 1);

function holderOf(entry: BlueprintEntry, line: number, role: unknown, user: unknown): HolderRef {
  const fail = (message: string) => new BlueprintError([{ line, message: `${entry.model}: permissions: ${message}` }]);
  if (role !== null && role !== undefined) {
    const parsed = roleId.safeParse(role);
    if (!parsed.success) throw fail(`role must be a role's uuid (e.g. !Find [authentik_rbac.role, [name, …]]), not ${JSON.stringify(role)}.`);
    return { kind: 'role', id: parsed.data };
  }
  const parsed = userId.safeParse(user);
  if (!parsed.success) throw fail(`user must be a user's pk (e.g. !Find [authentik_core.user, [username, …]]), not ${JSON.stringify(user)}.`);
  return { kind: 'user', id: parsed.data };
}

export async function applyEntryPermissions(
  deps: CoreDeps,
  ctx: RequestContext,
  entry: BlueprintEntry,
  pk: Pk,
  resolve: (value: unknown) => Promise<unknown>,
): Promise<void> {
  for (const grant of entry.permissions) {
    const permission = await resolve(grant.permission);
    if (typeof permission !== 'string' || permission === '') {
      throw new BlueprintError([{ line: grant.line, message: `${entry.model}: permissions: permission must be a codename.` }]);
    }
    const holder = holderOf(entry, grant.line, await resolve(grant.role), await resolve(grant.user));
    try {
      await assignPermissions(deps, ctx, holder, { permissions: [permission], model: entry.model, object_pk: String(pk) });
    } catch (error) {
      if (!(error instanceof NotFound)) throw error;
      throw new BlueprintError([{ line: grant.line, message: `${entry.model}: permissions: no ${holder.kind} ${holder.id}.` }]);
    }
  }
}
