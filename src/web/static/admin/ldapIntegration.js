import { getAll } from './api.js';
import { copyable, h } from './dom.js';
import { outpostState, outpostsWithHealth } from './status.js';
import { publicOrigin } from './ui.js';

// What to paste into an app that signs users in over LDAP (docs/integrations/ldap.md): the
// outpost's address as the app reaches it, the tree's DNs, and how MFA codes are given.

export async function ldapExtras(provider) {
  const [outposts, groups] = await Promise.all([outpostsWithHealth(provider.pk), getAll('/core/groups/?include_users=false')]);
  return { outposts, groups, searchGroup: groups.find((g) => g.pk === provider.search_group) ?? null };
}

export function ldapPanel(p, extras) {
  const host = new URL(publicOrigin()).hostname;
  const base = p.base_dn;
  const outposts = extras?.outposts ?? [];
  return [
    outposts.length
      ? h('p', {}, 'Served by ', outposts.map((o, i) => [i ? ', ' : '', h('a', { href: '#/outposts' }, o.name), ' (', outpostState(o), ')']), '.')
      : h('p', { class: 'notice error', id: 'no-outpost' }, 'No outpost serves this provider yet, so nothing answers LDAP for it. ',
        h('a', { href: `#/outposts?provider=${p.pk}` }, 'Create an LDAP outpost'), ' and run it.'),
    h('p', {}, `The outpost’s address as the app reaches it. With Docker Compose the outpost publishes 389 and 636 on Gatehouse’s host (${host}); `,
      'run elsewhere, use that machine’s name. ', h('code', {}, 'gatehouse all'), ' alone listens on 127.0.0.1:3389 and 6636 (GATEHOUSE_LISTEN__LDAP, GATEHOUSE_LISTEN__LDAPS).'),
    copyable('LDAP URL', `ldap://${host}:389`),
    copyable('LDAPS URL', `ldaps://${host}:636`),
    copyable('Base DN', base),
    copyable('Bind DN (pattern)', `cn=<username>,ou=users,${base}`),
    copyable('Users and groups', `Users:  ou=users,${base}   filter (objectClass=user), login attribute cn\nGroups: ou=groups,${base}  filter (objectClass=group), member attribute member`, { multiline: true }),
    h('p', { id: 'search-hint' }, extras?.searchGroup
      ? `Members of ${extras.searchGroup.name} (and administrators) may search the whole directory: apps that look users up need a service account in that group, e.g. cn=ldap-search,ou=users,${base}. Everyone else sees only their own entry (their primary group under ou=virtual-groups, and their groups with only them as member).`
      : 'No search group: each user sees only their own entry (their primary group, and their groups with only them as member). Apps that look users up before binding (most NAS boxes) need a search group — set one in the provider settings below and put their service account in it.'),
    p.mfa_support
      ? h('p', { id: 'mfa-hint' }, 'Users with MFA add their current code to the password after a semicolon: ', h('code', {}, 'password;123456'), ' (a TOTP or recovery code).')
      : h('p', { id: 'mfa-hint', class: 'muted' }, 'MFA codes are not accepted on binds (mfa_support is off): users with MFA cannot bind.'),
    h('p', { class: 'muted' }, 'Test it: ', h('code', {}, `ldapwhoami -x -H ldap://${host}:389 -D cn=<username>,ou=users,${base} -W`), '. See docs/integrations/ldap.md for the tree and its attributes.'),
  ];
}
