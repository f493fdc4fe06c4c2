import { createHash, randomBytes } from 'node:crypto';
import type { CoreDeps } from '../../core/context.ts';
import { listGroupNamesOfUser } from '../../store/groups.ts';
import type { NameIdMapping, SamlProviderRow } from '../../store/samlProviders.ts';
import { findInstallationId, type UserRow } from '../../store/users.ts';
import type { Attribute } from './responses.ts';

// What the SP learns about the user: the NameID and Authentik's default SAML attributes, under
// the names Authentik's property mappings use, so SP configs written for Authentik map unchanged.

export const NAMEID_FORMAT = {
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  x509: 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName',
  windows: 'urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName',
} as const;

export const ATTRIBUTE = {
  username: 'http://schemas.goauthentik.io/2021/02/saml/username',
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  groups: 'http://schemas.xmlsoap.org/claims/Group',
  uid: 'http://schemas.goauthentik.io/2021/02/saml/uid',
  windowsAccountName: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname',
} as const;

/** Authentik's user.uid: the user id hashed with the installation id, stable and opaque. */
async function hashedUserId(deps: CoreDeps, user: UserRow): Promise<string> {
  const installationId = await findInstallationId(deps.db);
  return createHash('sha256').update(`${user.id}-${installationId}`).digest('hex');
}

const MAPPING_FORMAT: Record<NameIdMapping, string> = {
  username: NAMEID_FORMAT.unspecified,
  email: NAMEID_FORMAT.email,
  uid: NAMEID_FORMAT.persistent,
  hashed_user_id: NAMEID_FORMAT.persistent,
};

/**
 * The provider's name_id_mapping when set; otherwise what the request's NameIDPolicy asks for
 * (email, transient, X.509/Windows name → username), and the hashed user id by default.
 */
export async function nameIdFor(
  deps: CoreDeps,
  provider: Pick<SamlProviderRow, 'name_id_mapping'>,
  user: UserRow,
  requestedFormat: string | null,
): Promise<{ value: string; format: string }> {
  const mapping = provider.name_id_mapping;
  if (mapping) {
    const value =
      mapping === 'username' ? user.username : mapping === 'email' ? user.email : mapping === 'uid' ? String(user.uuid) : await hashedUserId(deps, user);
    return { value, format: requestedFormat && requestedFormat !== NAMEID_FORMAT.transient ? requestedFormat : MAPPING_FORMAT[mapping] };
  }
  switch (requestedFormat) {
    case NAMEID_FORMAT.email:
      return { value: user.email, format: requestedFormat };
    case NAMEID_FORMAT.transient:
      return { value: `_${randomBytes(16).toString('hex')}`, format: requestedFormat };
    case NAMEID_FORMAT.x509:
    case NAMEID_FORMAT.windows:
      return { value: user.username, format: requestedFormat };
    case NAMEID_FORMAT.unspecified:
      return { value: await hashedUserId(deps, user), format: requestedFormat };
    default:
      return { value: await hashedUserId(deps, user), format: NAMEID_FORMAT.persistent };
  }
}

export async function attributesFor(deps: CoreDeps, user: UserRow): Promise<Attribute[]> {
  const groups = await listGroupNamesOfUser(deps.db, user.id);
  const attributes: Attribute[] = [
    { name: ATTRIBUTE.name, values: [user.name] },
    { name: ATTRIBUTE.email, values: [user.email] },
    { name: ATTRIBUTE.username, values: [user.username] },
    { name: ATTRIBUTE.uid, values: [await hashedUserId(deps, user)] },
    { name: ATTRIBUTE.windowsAccountName, values: [user.username] },
    { name: ATTRIBUTE.groups, values: groups },
  ];
  return attributes.filter((attribute) => attribute.values.length > 0 && attribute.values.every((v) => v !== ''));
}
