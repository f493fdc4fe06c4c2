import { inputOf as applicationInputOf, applicationPatchSchema } from '../../api/applications.ts';
import { groupPatchSchema } from '../../api/groups.ts';
import { userPatchSchema } from '../../api/users.ts';
import { type ApplicationInput, createApplication, deleteApplication, updateApplication } from '../../core/applicationAdmin.ts';
import { createGroup, deleteGroup, updateGroup } from '../../core/groups.ts';
import { createUser, deleteUser, setUserPassword, updateUser } from '../../core/users.ts';
import { ValidationError } from '../../errors.ts';
import { findApplicationById, listAllApplications } from '../../store/applications.ts';
import { groupsOfUsers, listGroups, membersOfGroups } from '../../store/groups.ts';
import { rolesOfGroups } from '../../store/rbac.ts';
import { listUsers } from '../../store/users.ts';
import { ALL, type BlueprintModel, fieldsOf, num, parsedWith, str } from '../model.ts';

// authentik_core: users, groups and applications.

const parseUser = parsedWith(userPatchSchema);
const password = (value: unknown): string => {
  if (typeof value !== 'string' || value.length < 1 || value.length > 1024) throw ValidationError.field('password', 'Enter a password of 1 to 1024 characters.');
  return value;
};

export const userModel: BlueprintModel = {
  name: 'authentik_core.user',
  fields: new Set([...fieldsOf(userPatchSchema), 'password']),
  // A password is set when the user is made; comparing would need the clear text stored.
  isComparable: (field) => field !== 'password',
  parse: ({ password: pw, ...rest }) => ({ ...parseUser(rest), ...(pw === undefined ? {} : { password: password(pw) }) }),
  async list(tx) {
    const users = (await listUsers(tx, {}, ALL)).rows;
    const groups = await groupsOfUsers(tx, users.map((u) => u.id));
    return users.map((u) => ({
      pk: u.id,
      values: {
        username: u.username,
        name: u.name,
        email: u.email,
        is_active: u.is_active,
        attributes: u.attributes,
        path: u.path,
        type: u.type,
        groups: (groups.get(u.id) ?? []).map((g) => g.id).sort(),
      },
    }));
  },
  async create(deps, ctx, v) {
    const user = await createUser(deps, ctx, {
      username: str(v.username),
      name: (v.name as string | undefined) ?? '',
      email: (v.email as string | undefined) ?? '',
      isActive: (v.is_active as boolean | undefined) ?? true,
      attributes: (v.attributes as Record<string, unknown> | undefined) ?? {},
      path: (v.path as string | undefined) ?? 'users',
      type: (v.type as 'internal' | undefined) ?? 'internal',
      groups: v.groups as string[] | undefined,
    });
    if (typeof v.password === 'string') await setUserPassword(deps, ctx, user.id, v.password);
    return user.id;
  },
  async update(deps, ctx, pk, v) {
    const { password: _ignored, ...changes } = v;
    if (Object.keys(changes).length === 0) return;
    await updateUser(deps, ctx, num(pk), {
      username: changes.username as string | undefined,
      name: changes.name as string | undefined,
      email: changes.email as string | undefined,
      isActive: changes.is_active as boolean | undefined,
      attributes: changes.attributes as Record<string, unknown> | undefined,
      path: changes.path as string | undefined,
      type: changes.type as 'internal' | undefined,
      groups: changes.groups as string[] | undefined,
    });
  },
  remove: (deps, ctx, pk) => deleteUser(deps, ctx, num(pk)),
};

const groupInput = (v: Record<string, unknown>) => ({
  name: v.name as string | undefined,
  isSuperuser: v.is_superuser as boolean | undefined,
  parentId: v.parent as string | null | undefined,
  attributes: v.attributes as Record<string, unknown> | undefined,
  users: v.users as number[] | undefined,
  roles: v.roles as string[] | undefined,
});

export const groupModel: BlueprintModel = {
  name: 'authentik_core.group',
  fields: fieldsOf(groupPatchSchema),
  parse: parsedWith(groupPatchSchema),
  async list(tx) {
    const groups = (await listGroups(tx, {}, ALL)).rows;
    const members = await membersOfGroups(tx, groups.map((g) => g.id));
    const roles = await rolesOfGroups(tx, groups.map((g) => g.id));
    return groups.map((g) => ({
      pk: g.id,
      values: {
        name: g.name,
        is_superuser: g.is_superuser,
        parent: g.parent_id,
        attributes: g.attributes,
        users: [...(members.get(g.id) ?? [])].sort((a, b) => a - b),
        roles: (roles.get(g.id) ?? []).map((r) => r.id).sort(),
      },
    }));
  },
  async create(deps, ctx, v) {
    const input = groupInput(v);
    const group = await createGroup(deps, ctx, {
      ...input,
      name: str(v.name),
      isSuperuser: input.isSuperuser ?? false,
      parentId: input.parentId ?? null,
      attributes: input.attributes ?? {},
    });
    return group.id;
  },
  async update(deps, ctx, pk, v) {
    const defined = Object.fromEntries(Object.entries(groupInput(v)).filter(([, value]) => value !== undefined));
    await updateGroup(deps, ctx, str(pk), defined);
  },
  remove: (deps, ctx, pk) => deleteGroup(deps, ctx, str(pk)),
};

export const applicationModel: BlueprintModel = {
  name: 'authentik_core.application',
  fields: fieldsOf(applicationPatchSchema),
  // Authentik exports these; Gatehouse has no use for them.
  ignored: new Set(['backchannel_providers', 'meta_icon_url']),
  parse: (values) => applicationInputOf(parsedWith(applicationPatchSchema)(values)),
  async list(tx) {
    return (await listAllApplications(tx)).map((a) => ({
      pk: a.id,
      values: {
        name: a.name,
        slug: a.slug,
        provider: a.provider_id,
        meta_launch_url: a.launch_url,
        open_in_new_tab: a.open_in_new_tab,
        meta_icon: a.icon,
        meta_description: a.description,
        meta_publisher: a.publisher,
        group: a.group,
        policy_engine_mode: a.policy_engine_mode,
      },
    }));
  },
  async create(deps, ctx, v) {
    return (await createApplication(deps, ctx, v as unknown as ApplicationInput)).id;
  },
  async update(deps, ctx, pk, v) {
    const app = await findApplicationById(deps.db, str(pk));
    if (app) await updateApplication(deps, ctx, app.slug, v as Partial<ApplicationInput>);
  },
  async remove(deps, ctx, pk) {
    const app = await findApplicationById(deps.db, str(pk));
    if (app) await deleteApplication(deps, ctx, app.slug);
  },
};
