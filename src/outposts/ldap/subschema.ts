import { type Filter, matches } from './filters.ts';

// RFC 4512 §4.2: the subschema entry, `cn=subschema`, as Authentik's outpost serves one: a fixed
// list of the attribute types and object classes of our entries (see directory.ts), plus the common
// ones Authentik also lists (givenName, telephoneNumber, …) so a client that checks the names it
// asks for against the schema accepts what it asked Authentik for. Synology DSM's join wizard reads
// it ("check server schema"). Custom attributes are not listed: their names would tell any bound
// user what attributes other users carry, and Authentik does not list them either.
//
// Where the pointer is shown matters as much as the entry. Authentik names it
// (`subschemaSubentry`) only in the root DSE a client reads before binding; the one read after a
// bind has none. python-ldap3 reads the root DSE right after binding and, when it finds a schema,
// refuses every attribute name the schema lacks; so, as with Authentik, a bound client finds no
// pointer and ldap3 apps behave as they did there.

export const SUBSCHEMA_DN = 'cn=subschema';

const SYNTAX = {
  string: '1.3.6.1.4.1.1466.115.121.1.15',
  ia5: '1.3.6.1.4.1.1466.115.121.1.26',
  integer: '1.3.6.1.4.1.1466.115.121.1.27',
  dn: '1.3.6.1.4.1.1466.115.121.1.12',
  oid: '1.3.6.1.4.1.1466.115.121.1.38',
  boolean: '1.3.6.1.4.1.1466.115.121.1.7',
  time: '1.3.6.1.4.1.1466.115.121.1.24',
  uuid: '1.3.6.1.1.16.1',
} as const;

type Syntax = keyof typeof SYNTAX;
/** [OID, names, syntax, single-valued, operational]. */
type AttributeRow = [string, string[], Syntax, boolean?, boolean?];

const ATTRIBUTES: AttributeRow[] = [
  ['2.5.4.0', ['objectClass'], 'oid'],
  ['2.5.4.3', ['cn', 'commonName'], 'string'],
  ['2.5.4.4', ['sn', 'surname'], 'string'],
  ['2.5.4.6', ['c'], 'string', true],
  ['2.5.4.7', ['l'], 'string'],
  ['2.5.4.10', ['o'], 'string'],
  ['2.5.4.11', ['ou'], 'string'],
  ['2.5.4.12', ['title'], 'string'],
  ['2.5.4.13', ['description'], 'string'],
  ['2.5.4.20', ['telephoneNumber'], 'string'],
  ['2.5.4.31', ['member'], 'dn'],
  ['2.5.4.41', ['name'], 'string'],
  ['2.5.4.42', ['givenName'], 'string'],
  ['0.9.2342.19200300.100.1.1', ['uid', 'userid'], 'string'],
  ['0.9.2342.19200300.100.1.3', ['mail'], 'ia5'],
  ['0.9.2342.19200300.100.1.25', ['dc'], 'ia5', true],
  ['0.9.2342.19200300.100.1.41', ['mobile'], 'string'],
  ['0.9.2342.19200300.100.1.43', ['co'], 'string', true],
  ['2.16.840.1.113730.3.1.241', ['displayName'], 'string', true],
  ['1.2.840.113556.1.2.102', ['memberOf'], 'dn'],
  ['1.2.840.113556.1.2.141', ['department'], 'string', true],
  ['1.2.840.113556.1.2.146', ['company'], 'string', true],
  ['1.2.840.113556.1.4.221', ['sAMAccountName'], 'string', true],
  ['1.2.840.113556.1.4.261', ['division'], 'string', true],
  ['1.2.840.113556.1.4.750', ['groupType'], 'integer', true],
  ['1.2.840.113556.1.4.782', ['objectCategory'], 'dn', true],
  ['1.3.6.1.1.1.1.0', ['uidNumber'], 'integer', true],
  ['1.3.6.1.1.1.1.1', ['gidNumber'], 'integer', true],
  ['1.3.6.1.1.1.1.2', ['gecos'], 'ia5', true],
  ['1.3.6.1.1.1.1.3', ['homeDirectory'], 'ia5', true],
  ['1.3.6.1.1.1.1.4', ['loginShell'], 'ia5', true],
  ['1.3.6.1.1.1.1.12', ['memberUid'], 'ia5'],
  // Authentik's own attributes, with the OIDs its outpost gives them.
  ['1.3.6.1.4.1.26027.1.1.2', ['ak-superuser'], 'boolean', true],
  ['1.3.6.1.4.1.26027.1.1.3', ['ak-active'], 'boolean', true],
  ['1.3.6.1.1.16.4', ['entryUUID'], 'uuid', true, true],
  ['2.5.18.1', ['createTimestamp'], 'time', true, true],
  ['2.5.18.2', ['modifyTimestamp'], 'time', true, true],
  ['2.5.18.10', ['subschemaSubentry'], 'dn', true, true],
  ['2.5.21.5', ['attributeTypes'], 'string', false, true],
  ['2.5.21.6', ['objectClasses'], 'string', false, true],
  ['1.3.6.1.4.1.1466.101.120.16', ['ldapSyntaxes'], 'string', false, true],
];

const names = (list: string[]) => (list.length === 1 ? `'${list[0]}'` : `( ${list.map((n) => `'${n}'`).join(' ')} )`);
const oids = (list: string[]) => (list.length === 1 ? list[0] : `( ${list.join(' $ ')} )`);

function attributeType([oid, nameList, syntax, isSingle, isOperational]: AttributeRow): string {
  const usage = isOperational ? ' NO-USER-MODIFICATION USAGE directoryOperation' : '';
  return `( ${oid} NAME ${names(nameList)} SYNTAX ${SYNTAX[syntax]}${isSingle ? ' SINGLE-VALUE' : ''}${usage} )`;
}

/** [OID, name, superclass, kind, must, may]. Our classes without an assigned OID use RFC 4512's descr form. */
type ClassRow = [string, string, string | null, 'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY', string[], string[]];

// What entries really carry decides MUST and MAY: an empty group has no `member`, and a virtual
// group whose number is a real group's has no `gidNumber` (directory.ts).
const CLASSES: ClassRow[] = [
  ['2.5.6.0', 'top', null, 'ABSTRACT', ['objectClass'], []],
  ['0.9.2342.19200300.100.4.13', 'domain', 'top', 'STRUCTURAL', ['dc'], ['o', 'description']],
  ['2.5.6.5', 'organizationalUnit', 'top', 'STRUCTURAL', ['ou'], ['description']],
  ['2.5.6.6', 'person', 'top', 'STRUCTURAL', ['cn'], ['sn', 'telephoneNumber', 'description']],
  ['2.5.6.7', 'organizationalPerson', 'person', 'STRUCTURAL', [], ['title', 'ou', 'l', 'o']],
  ['2.16.840.1.113730.3.2.2', 'inetOrgPerson', 'organizationalPerson', 'STRUCTURAL', [], ['displayName', 'givenName', 'mail', 'mobile', 'uid']],
  ['1.2.840.113556.1.5.9', 'user', 'organizationalPerson', 'STRUCTURAL', [], ['name', 'sAMAccountName', 'memberOf', 'co', 'company', 'department', 'division']],
  ['1.3.6.1.1.1.2.0', 'posixAccount', 'top', 'AUXILIARY', ['cn', 'uid', 'uidNumber', 'gidNumber', 'homeDirectory'], ['loginShell', 'gecos', 'description']],
  ['1.2.840.113556.1.5.8', 'group', 'top', 'STRUCTURAL', ['cn'], ['name', 'member', 'memberOf', 'groupType']],
  ['2.5.6.9', 'groupOfNames', 'top', 'STRUCTURAL', ['cn'], ['member', 'description', 'o', 'ou']],
  ['2.5.6.17', 'groupOfUniqueNames', 'top', 'STRUCTURAL', ['cn'], ['description', 'o', 'ou']],
  ['1.3.6.1.1.1.2.2', 'posixGroup', 'top', 'AUXILIARY', [], ['gidNumber', 'memberUid', 'description']],
  ['1.3.6.1.4.1.26027.1.1.1', 'goauthentik.io/ldap/user', 'organizationalPerson', 'AUXILIARY', [], ['ak-active', 'ak-superuser', 'entryUUID']],
  ['goauthentik.io/ldap/group-oid', 'goauthentik.io/ldap/group', 'top', 'AUXILIARY', [], ['ak-superuser', 'entryUUID']],
  ['goauthentik.io/ldap/virtual-group-oid', 'goauthentik.io/ldap/virtual-group', 'top', 'AUXILIARY', [], []],
  ['2.5.20.1', 'subschema', null, 'AUXILIARY', [], ['attributeTypes', 'objectClasses', 'ldapSyntaxes']],
];

function objectClass([oid, name, sup, kind, must, may]: ClassRow): string {
  const parts = [`( ${oid} NAME '${name}'`, sup ? `SUP ${sup}` : '', kind, must.length ? `MUST ${oids(must)}` : '', may.length ? `MAY ${oids(may)}` : ''];
  return `${parts.filter(Boolean).join(' ')} )`;
}

const LDAP_SYNTAXES: Array<[Syntax, string]> = [
  ['string', 'Directory String'],
  ['ia5', 'IA5 String'],
  ['integer', 'INTEGER'],
  ['dn', 'DN'],
  ['oid', 'OID'],
  ['boolean', 'Boolean'],
  ['time', 'Generalized Time'],
  ['uuid', 'UUID'],
];

/** The subschema entry's attributes. */
export const subschemaAttributes: Array<[string, string[]]> = [
  ['objectClass', ['top', 'subschema']],
  ['cn', ['subschema']],
  ['ldapSyntaxes', LDAP_SYNTAXES.map(([s, desc]) => `( ${SYNTAX[s]} DESC '${desc}' )`)],
  ['attributeTypes', ATTRIBUTES.map(attributeType)],
  ['objectClasses', CLASSES.map(objectClass)],
];

/** Whether `base` names the subschema entry (any case or spacing). */
export const isSubschemaDn = (base: string): boolean => base.replace(/\s+/g, '').toLowerCase() === SUBSCHEMA_DN;

/** RFC 4512 §4.4: clients ask with `(objectClass=subschema)`; ldapsearch's default `(objectClass=*)` finds it too. */
export function subschemaMatches(filter: Filter): boolean {
  const entry = new Map(subschemaAttributes.map(([n, v]) => [n.toLowerCase(), v]));
  return matches(filter, entry);
}
