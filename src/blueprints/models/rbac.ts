import { z } from 'zod';
import { createRole, deleteRole, renameRole, setGlobalPermissionsOfRole } from '../../core/rbac.ts';
import { listAssignmentsOfHolder, listRoles } from '../../store/rbac.ts';
import { ALL, type BlueprintModel, type ExistingObject, parsedWith, str } from '../model.ts';

// authentik_rbac.role: a role and, as Authentik's blueprints set them, its global permissions
// (`permissions: [authentik_providers_ldap.search_full_directory]`). Permissions on one object
// are granted by that object's entry (`permissions: [{permission, role}]`).

const roleSchema = z.strictObject({
  name: z.string().trim().min(1).max(150).optional(),
  permissions: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
});

export const roleModel: BlueprintModel = {
  name: 'authentik_rbac.role',
  fields: new Set(Object.keys(roleSchema.shape)),
  parse: parsedWith(roleSchema),
  async list(tx) {
    const roles = (await listRoles(tx, {}, ALL)).rows;
    const objects: ExistingObject[] = [];
    // One after another: inside a blueprint's transaction every query shares one connection.
    for (const r of roles) {
      const global = (await listAssignmentsOfHolder(tx, { roleId: r.id })).filter((a) => a.object_pk === null);
      objects.push({ pk: r.id, values: { name: r.name, permissions: global.map((a) => `${a.app_label}.${a.codename}`).sort() } });
    }
    return objects;
  },
  async create(deps, ctx, v) {
    const role = await createRole(deps, ctx, str(v.name));
    if (Array.isArray(v.permissions) && v.permissions.length) await setGlobalPermissionsOfRole(deps, ctx, role.id, v.permissions as string[]);
    return role.id;
  },
  async update(deps, ctx, pk, v) {
    if (typeof v.name === 'string') await renameRole(deps, ctx, str(pk), v.name);
    if (Array.isArray(v.permissions)) await setGlobalPermissionsOfRole(deps, ctx, str(pk), v.permissions as string[]);
  },
  remove: (deps, ctx, pk) => deleteRole(deps, ctx, str(pk)),
};
