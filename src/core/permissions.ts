import { ValidationError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { findLdapProviderById } from '../store/ldapProviders.ts';
import type { PermissionTarget } from '../store/rbac.ts';

// The permissions Gatehouse knows, named as Authentik names them, and the objects they can be
// held on. Only permissions something enforces are listed: granting one that nothing checks
// would tell an admin a lie, so it is refused.

export interface PermissionDefinition {
  appLabel: string;
  model: string;
  codename: string;
  /** Authentik's human-readable name. */
  name: string;
}

interface ObjectModel {
  appLabel: string;
  model: string;
  verboseName: string;
  appVerboseName: string;
  exists(db: Queryable, objectPk: string): Promise<boolean>;
}

export const SEARCH_FULL_DIRECTORY: PermissionDefinition = {
  appLabel: 'authentik_providers_ldap',
  model: 'ldapprovider',
  codename: 'search_full_directory',
  name: 'Search full LDAP directory',
};

export const PERMISSIONS: readonly PermissionDefinition[] = [SEARCH_FULL_DIRECTORY];

const isPk = (value: string) => /^[1-9][0-9]{0,9}$/.test(value) && Number(value) <= 2 ** 31 - 1;

const OBJECT_MODELS: readonly ObjectModel[] = [
  {
    appLabel: 'authentik_providers_ldap',
    model: 'ldapprovider',
    verboseName: 'LDAP Provider',
    appVerboseName: 'authentik Providers.LDAP',
    exists: async (db, pk) => isPk(pk) && (await findLdapProviderById(db, Number(pk))) !== null,
  },
];

export const modelLabel = (p: { appLabel: string; model: string }) => `${p.appLabel}.${p.model}`;
export const permissionLabel = (p: { appLabel: string; codename: string }) => `${p.appLabel}.${p.codename}`;
export const MODEL_CHOICES: readonly string[] = OBJECT_MODELS.map(modelLabel);

export function verboseNamesOf(p: PermissionDefinition): { app_label_verbose: string; model_verbose: string } {
  const model = OBJECT_MODELS.find((m) => m.appLabel === p.appLabel && m.model === p.model);
  return { app_label_verbose: model?.appVerboseName ?? p.appLabel, model_verbose: model?.verboseName ?? p.model };
}

/** Authentik's PermissionAssign body: permissions, and the object (model + object_pk) or none for every object. */
export interface PermissionAssignRequest {
  permissions: string[];
  model?: string;
  object_pk?: string;
}

function findPermission(name: string, model: ObjectModel | null): PermissionDefinition | null {
  const parts = name.split('.');
  if (parts.length > 2) return null;
  const [appLabel, codename] = parts.length === 2 ? parts : [model?.appLabel, name];
  return (
    PERMISSIONS.find(
      (p) => p.appLabel === appLabel && p.codename === codename && (model === null || (p.model === model.model && p.appLabel === model.appLabel)),
    ) ?? null
  );
}

/**
 * What an assign/unassign request names: each permission on the object (or globally). Unknown
 * permissions, models and objects are the client's mistake (400), checked before anything is written.
 */
export async function resolvePermissionRequest(db: Queryable, request: PermissionAssignRequest): Promise<PermissionTarget[]> {
  if ((request.model === undefined) !== (request.object_pk === undefined)) {
    const missing = request.model === undefined ? 'model' : 'object_pk';
    throw ValidationError.field(missing, 'model and object_pk are required together.');
  }
  let model: ObjectModel | null = null;
  if (request.model !== undefined && request.object_pk !== undefined) {
    model = OBJECT_MODELS.find((m) => modelLabel(m) === request.model) ?? null;
    if (!model) throw ValidationError.field('model', `"${request.model}" is not a valid choice.`);
    if (!(await model.exists(db, request.object_pk))) throw ValidationError.field('object_pk', `Object "${request.object_pk}" does not exist.`);
  }
  const unknown = request.permissions.filter((name) => findPermission(name, model) === null);
  if (unknown.length) {
    const hint = model ? ` for ${modelLabel(model)}` : ' (without a model, name it as app_label.codename)';
    throw ValidationError.field('permissions', `Unknown permission(s)${hint}: ${unknown.join(', ')}`);
  }
  const objectPk = request.object_pk ?? null;
  const targets = request.permissions.map((name) => ({ ...(findPermission(name, model) as PermissionDefinition), objectPk }));
  return targets.filter((t, i) => targets.findIndex((o) => o.codename === t.codename && o.appLabel === t.appLabel) === i);
}

/** The permission's wire form in audit events and lists. */
export const describeTarget = (t: PermissionTarget) => ({
  permission: permissionLabel(t),
  model: modelLabel(t),
  object_pk: t.objectPk,
});
