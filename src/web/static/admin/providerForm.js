import { api } from './api.js';
import { field, h, input, select } from './dom.js';
import { PROVIDER_PATHS } from './integration.js';
import { notify, onSubmit } from './ui.js';

// The provider's own settings on the application page: the few each protocol needs most.

const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);

function fieldsOf(type, p, extras) {
  if (type === 'oauth2') {
    return [
      field('Client type', select('client_type', [['confidential', 'Confidential'], ['public', 'Public (PKCE)']], p.client_type)),
      field('Redirect URIs', h('textarea', { name: 'redirect_uris', rows: 3 }, p.redirect_uris.map((r) => r.url).join('\n')), 'One per line (strict match).'),
      field('Access token validity', input('access_token_validity', { value: p.access_token_validity }), 'e.g. minutes=10, hours=1'),
    ];
  }
  if (type === 'proxy') {
    return [
      field('Mode', select('mode', [['forward_single', 'Single application'], ['forward_domain', 'Domain']], p.mode)),
      field('External host', input('external_host', { value: p.external_host, type: 'url' })),
      field('Cookie domain', input('cookie_domain', { value: p.cookie_domain })),
      field('Internal host', input('internal_host', { value: p.internal_host })),
      field('Paths that skip the login', h('textarea', { name: 'skip_path_regex', rows: 2 }, p.skip_path_regex), 'One regular expression per line.'),
    ];
  }
  if (type === 'ldap') {
    return [
      field('Base DN', input('base_dn', { value: p.base_dn })),
      field('Search group', select('search_group', [['', 'None'], ...(extras?.groups ?? []).map((g) => [g.pk, g.name])], p.search_group ?? ''), 'Its members may search the whole directory.'),
      h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'mfa_support', checked: p.mfa_support }), 'Accept an MFA code after the password (password;123456)'),
      field('Bind mode', select('bind_mode', [['cached', 'Cached (a successful bind is remembered briefly)'], ['direct', 'Direct (the flow every time)']], p.bind_mode)),
      field('Search mode', select('search_mode', [['cached', 'Cached (the outpost’s copy)'], ['direct', 'Direct (checked with the core)']], p.search_mode)),
    ];
  }
  return [
    field('ACS URL', input('acs_url', { value: p.acs_url, type: 'url' })),
    field('SP entity ID (audience)', input('audience', { value: p.audience })),
    field('Response binding', select('sp_binding', [['post', 'HTTP-POST'], ['redirect', 'HTTP-Redirect']], p.sp_binding)),
    field('IdP entity ID (issuer)', input('issuer', { value: p.issuer })),
  ];
}

function bodyOf(type, v) {
  if (type === 'oauth2') return { ...v, redirect_uris: lines(v.redirect_uris).map((url) => ({ matching_mode: 'strict', url })) };
  if (type === 'proxy') return { ...v, external_host: v.external_host.replace(/\/+$/, '') };
  if (type === 'ldap') return { ...v, search_group: v.search_group || null };
  return v;
}

export function providerSettings(type, provider, ctx, extras) {
  if (!provider || !PROVIDER_PATHS[type]) return null;
  const form = h('form', { class: 'narrow', 'aria-label': 'Provider settings' }, fieldsOf(type, provider, extras), h('button', { type: 'submit' }, 'Save provider'));
  onSubmit(form, async (v) => {
    await api('PATCH', `/providers/${PROVIDER_PATHS[type]}/${provider.pk}/`, bodyOf(type, v));
    await ctx.refresh();
    notify('Provider saved.');
  });
  return h('section', {}, h('h2', {}, 'Provider settings'), form);
}
