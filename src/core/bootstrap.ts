import { findGroupByName } from '../store/groups.ts';
import * as tokenStore from '../store/tokens.ts';
import { findUserByUsername } from '../store/users.ts';
import { type CoreDeps, SYSTEM_CONTEXT } from './context.ts';
import { changeMembership, createGroup } from './groups.ts';
import { createToken } from './tokens.ts';
import { createUser, setUserPassword } from './users.ts';

export const ADMIN_USERNAME = 'akadmin';
export const ADMIN_GROUP = 'admins';
export const BOOTSTRAP_TOKEN_IDENTIFIER = 'authentik-bootstrap-token';

export interface BootstrapSettings {
  password?: string;
  email?: string;
  token?: string;
}

/**
 * Unattended first start, as Authentik does it: GATEHOUSE_BOOTSTRAP_* create the superuser
 * akadmin (in group admins) and an API token. Only when akadmin does not exist yet, so a later
 * restart with the same variables changes nothing (an admin's new password stays).
 */
export async function bootstrapAdmin(deps: CoreDeps, settings: BootstrapSettings): Promise<'created' | 'skipped'> {
  if (!settings.password && !settings.token) return 'skipped';
  if (await findUserByUsername(deps.db, ADMIN_USERNAME)) return 'skipped';
  const admins =
    (await findGroupByName(deps.db, ADMIN_GROUP)) ??
    (await createGroup(deps, SYSTEM_CONTEXT, { name: ADMIN_GROUP, isSuperuser: true, parentId: null, attributes: {} }));
  const admin = await createUser(deps, SYSTEM_CONTEXT, {
    username: ADMIN_USERNAME,
    name: 'Gatehouse Admin',
    email: settings.email ?? '',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  await changeMembership(deps, SYSTEM_CONTEXT, admins.id, admin.id, 'add');
  if (settings.password) await setUserPassword(deps, SYSTEM_CONTEXT, admin.id, settings.password);
  if (settings.token && !(await tokenStore.findTokenByIdentifier(deps.db, BOOTSTRAP_TOKEN_IDENTIFIER))) {
    await createToken(deps, SYSTEM_CONTEXT, {
      identifier: BOOTSTRAP_TOKEN_IDENTIFIER,
      intent: 'api',
      userId: admin.id,
      description: 'Created from GATEHOUSE_BOOTSTRAP_TOKEN',
      expiring: false,
      expires: null,
      managed: 'goauthentik.io/core/bootstrap-token',
      key: settings.token,
    });
  }
  return 'created';
}
