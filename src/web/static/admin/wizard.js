import { api, get, getAll } from './api.js';
import { field, h, input, select } from './dom.js';
import { heading, onSubmit } from './ui.js';

// One form that creates the provider and its application together (and the group restriction),
// then opens the application's page, which shows what to paste into the app.

const slugOf = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50);
const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);

function typeFields(type, choices) {
  if (type === 'oauth2') {
    return [
      field('Client type', select('client_type', [['confidential', 'Confidential (a server-side app with a secret)'], ['public', 'Public (browser or mobile app, PKCE)']], 'confidential')),
      field('Redirect URIs', h('textarea', { name: 'redirect_uris', rows: 3, required: true }), 'One per line, exactly as the app sends them, e.g. https://grafana.example.com/login/generic_oauth'),
    ];
  }
  if (type === 'proxy') {
    return [
      field('Mode', select('mode', [['forward_single', 'Single application (one host)'], ['forward_domain', 'Domain (one login for every host under a domain)']], 'forward_single')),
      field('External host', input('external_host', { type: 'url', required: true, placeholder: 'https://app.example.com' }), 'Single mode: the app’s address. Domain mode: Gatehouse’s address.'),
      field('Cookie domain', input('cookie_domain', { placeholder: 'example.com' }), 'Domain mode only.'),
      field('Internal host', input('internal_host', { placeholder: 'http://127.0.0.1:3001' }), 'Where the proxy sends traffic (used in the snippets).'),
    ];
  }
  if (type === 'ldap') {
    return [
      field('Base DN', input('base_dn', { required: true, value: 'DC=ldap,DC=goauthentik,DC=io' }), 'Root of the tree, e.g. DC=ldap,DC=example,DC=com. Unique across LDAP providers.'),
      field('Bind flow', select('bind_flow', choices.authenticationFlows.map((f) => [f.pk, `${f.name} (${f.slug})`]), choices.authenticationFlows.find((f) => f.slug === 'default-authentication-flow')?.pk)),
      field('Search group', select('search_group', [['', 'None (each user sees only their own entry, primary group and groups)'], ...choices.groups.map((g) => [g.pk, g.name])], ''), 'Its members may search the whole directory (service accounts of apps that look users up).'),
      h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'mfa_support', checked: true }), 'Accept an MFA code after the password (password;123456)'),
    ];
  }
  return [
    field('ACS URL', input('acs_url', { type: 'url', required: true }), 'The SP’s Assertion Consumer Service URL.'),
    field('SP entity ID (audience)', input('audience'), 'Requests are then accepted only from this Issuer.'),
    field('Response binding', select('sp_binding', [['post', 'HTTP-POST'], ['redirect', 'HTTP-Redirect']], 'post')),
  ];
}

function providerBody(type, v, flows) {
  const common = { name: `${v.name} provider`, authorization_flow: v.authorization_flow, invalidation_flow: flows.invalidation };
  if (type === 'oauth2') {
    return { ...common, client_type: v.client_type, redirect_uris: lines(v.redirect_uris).map((url) => ({ matching_mode: 'strict', url })) };
  }
  if (type === 'proxy') {
    const body = { ...common, mode: v.mode, external_host: v.external_host.replace(/\/+$/, '') };
    if (v.cookie_domain) body.cookie_domain = v.cookie_domain;
    if (v.internal_host) body.internal_host = v.internal_host;
    return body;
  }
  if (type === 'ldap') {
    // The LDAP provider's flow is the bind flow (an authentication flow), as in Authentik.
    return { name: common.name, authorization_flow: v.bind_flow, invalidation_flow: common.invalidation_flow, base_dn: v.base_dn, search_group: v.search_group || null, mfa_support: v.mfa_support };
  }
  const body = { ...common, acs_url: v.acs_url, sp_binding: v.sp_binding };
  if (v.audience) body.audience = v.audience;
  return body;
}

/** Field names the provider API reports under, mapped to this form's inputs. */
function prefixErrors(error, map) {
  if (!error.body || typeof error.body !== 'object') return error;
  for (const [from, to] of Object.entries(map)) {
    if (from in error.body) {
      error.body[to] = error.body[from];
      delete error.body[from];
    }
  }
  return error;
}

export async function render(_rest, ctx) {
  const [authorizationFlows, authenticationFlows, groups, invalidation] = await Promise.all([
    getAll('/flows/instances/?designation=authorization'),
    getAll('/flows/instances/?designation=authentication'),
    getAll('/core/groups/?include_users=false'),
    get('/flows/instances/?slug=default-invalidation-flow'),
  ]);
  const flows = { invalidation: invalidation.results[0]?.pk ?? null };
  const implicit = authorizationFlows.find((f) => f.slug === 'default-provider-authorization-implicit-consent') ?? authorizationFlows[0];
  const initial = ctx.params.get('type') ?? 'oauth2';

  const choices = { authenticationFlows, groups };
  // LDAP binds walk the bind flow (in its own fields): there is no consent step to choose.
  const authorizationField = field('Authorization flow', select('authorization_flow', authorizationFlows.map((f) => [f.pk, `${f.name} (${f.slug})`]), implicit?.pk));
  authorizationField.hidden = initial === 'ldap';
  const typeBox = h('div', { class: 'type-fields' }, typeFields(initial, choices));
  const radios = [['oauth2', 'OAuth2 / OpenID Connect'], ['proxy', 'Forward auth (Nginx, Traefik, Caddy)'], ['saml', 'SAML 2.0'], ['ldap', 'LDAP (NAS boxes, network gear, older apps)']].map(([value, label]) =>
    h('label', { class: 'inline' }, h('input', { type: 'radio', name: 'provider_type', value, checked: value === initial, onchange: () => { typeBox.replaceChildren(...typeFields(value, choices)); authorizationField.hidden = value === 'ldap'; } }), label),
  );
  const name = input('name', { required: true, autocomplete: 'off' });
  const slug = input('slug', { required: true, pattern: '[-a-z0-9_]{1,50}', autocomplete: 'off' });
  let isSlugEdited = false;
  slug.addEventListener('input', () => { isSlugEdited = true; });
  name.addEventListener('input', () => { if (!isSlugEdited) slug.value = slugOf(name.value); });

  const form = h(
    'form',
    { class: 'wizard', novalidate: true },
    h('fieldset', {}, h('legend', {}, '1. The application'),
      field('Name', name),
      field('Slug', slug, 'Part of its URLs (/application/o/<slug>/). Lowercase letters, digits, - and _.'),
      field('Launch URL', input('meta_launch_url', { type: 'url', placeholder: 'https://app.example.com' }), 'Where the app library sends users (optional).'),
    ),
    h('fieldset', {}, h('legend', {}, '2. How it signs users in'), h('div', { class: 'radios' }, radios), typeBox,
      authorizationField,
    ),
    h('fieldset', {}, h('legend', {}, '3. Who may use it'),
      groups.length === 0
        ? h('p', { class: 'muted' }, 'No groups yet: everyone who can sign in may use it.')
        : [h('p', { class: 'muted' }, 'Tick groups to restrict it to their members; tick none to allow everyone.'),
          groups.map((g) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'groups', value: g.pk, 'data-list': '1' }), g.name))],
    ),
    h('button', { type: 'submit' }, 'Create application'),
  );

  onSubmit(form, async (v) => {
    const type = v.provider_type;
    const path = { oauth2: 'oauth2', proxy: 'proxy', saml: 'saml', ldap: 'ldap' }[type];
    const provider = await api('POST', `/providers/${path}/`, providerBody(type, v, flows)).catch((e) => {
      throw prefixErrors(e, { name: 'name' });
    });
    let app;
    try {
      const body = { name: v.name, slug: v.slug, provider: provider.pk };
      if (v.meta_launch_url) body.meta_launch_url = v.meta_launch_url;
      app = await api('POST', '/core/applications/', body);
    } catch (error) {
      // No half-made application: the provider goes again when the application is refused.
      await api('DELETE', `/providers/${path}/${provider.pk}/`).catch(() => {});
      throw error;
    }
    for (const [i, group] of (v.groups ?? []).entries()) {
      await api('POST', '/policies/bindings/', { target: app.pk, group, order: i });
    }
    location.hash = `#/applications/${encodeURIComponent(app.slug)}?created=1`;
  });

  return h('div', {}, heading('New application'), h('p', { class: 'muted' }, 'Creates the application and its provider together, then shows what to paste into the app.'), form);
}
