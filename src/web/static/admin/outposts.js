import { api, get, getAll } from './api.js';
import { copyable, field, h, input, table } from './dom.js';
import { outpostState, outpostsWithHealth } from './status.js';
import { dangerButton, heading, notify, onSubmit, publicOrigin } from './ui.js';

// LDAP outposts: the separate process that answers LDAP for the LDAP providers it serves, with
// its own token (ak-outpost-<pk>-api) and no database credentials.

/** How to run the outpost with its token: shown once, right after it is made. */
function runPanel(outpost, key) {
  const compose = `# in .env, next to docker-compose.yml
LDAP_OUTPOST_TOKEN=${key}

docker compose --profile ldap up -d ldap`;
  const standalone = `GATEHOUSE_HOST=${publicOrigin()} GATEHOUSE_TOKEN=${key} \\
GATEHOUSE_LISTEN__LDAP=0.0.0.0:3389 GATEHOUSE_LISTEN__LDAPS=0.0.0.0:6636 gatehouse ldap`;
  return h('div', { class: 'notice success report', id: 'outpost-token' },
    h('h3', {}, `${outpost.name} was created — copy its token now`),
    h('p', {}, 'It is shown once here; reading it again (Tokens → view key) is recorded.'),
    copyable(`Token (${outpost.token_identifier})`, key),
    copyable('Run it with Docker Compose', compose, { multiline: true }),
    copyable('Or on its own', standalone, { multiline: true }),
    h('p', { class: 'muted' }, 'GATEHOUSE_HOST is where the outpost reaches Gatehouse (the Compose file sets http://server:9000 itself). ',
      h('code', {}, 'gatehouse all'), ' (npm start) also serves every LDAP outpost in-process on 127.0.0.1:3389 and 6636.'));
}

const providerBoxes = (providers, isChecked) => providers.map((p) => h('label', { class: 'inline' },
  h('input', { type: 'checkbox', name: 'providers', value: p.pk, 'data-list': '1', checked: isChecked(p) }),
  `${p.name} (${p.base_dn})${p.assigned_application_name ? ` — ${p.assigned_application_name}` : ''}`));

/** One listener serves every provider of a running outpost: adding one needs no new token. */
function providersEditor(outpost, providers, ctx) {
  const form = h('form', { 'aria-label': `Providers of ${outpost.name}` },
    providerBoxes(providers, (p) => outpost.providers.includes(p.pk)),
    h('button', { type: 'submit', class: 'small' }, 'Save providers'));
  onSubmit(form, async (v) => {
    await api('PATCH', `/outposts/instances/${outpost.pk}/`, { providers: (v.providers ?? []).map(Number) });
    await ctx.refresh();
    notify(`${outpost.name} now serves ${(v.providers ?? []).length} provider(s); a running outpost picks this up by itself.`);
  });
  return h('details', {}, h('summary', {}, outpost.providers_obj.map((p) => p.name).join(', ') || 'none'), form);
}

function createForm(ctx, providers) {
  const preselected = ctx.params.get('provider');
  const form = h('form', { class: 'narrow', 'aria-label': 'New outpost' },
    field('Name', input('name', { required: true, autocomplete: 'off', value: preselected ? '' : 'ldap' })),
    h('fieldset', { 'data-field': 'providers' }, h('legend', {}, 'LDAP providers it serves'),
      providers.length === 0
        ? h('p', { class: 'muted' }, 'No LDAP provider yet: ', h('a', { href: '#/applications/new?type=ldap' }, 'make an LDAP application'), ' first.')
        : providerBoxes(providers, (p) => String(p.pk) === preselected)),
    h('button', { type: 'submit' }, 'Create outpost'));
  onSubmit(form, async (v) => {
    const outpost = await api('POST', '/outposts/instances/', { name: v.name, type: 'ldap', providers: (v.providers ?? []).map(Number) });
    // The key is shown here once; reading it again is an audited view_key.
    const { key } = await get(`/core/tokens/${encodeURIComponent(outpost.token_identifier)}/view_key/`);
    history.replaceState(null, '', '#/outposts');
    await ctx.refresh();
    notify(`Outpost ${outpost.name} created.`);
    document.getElementById('new-outpost')?.replaceChildren(runPanel(outpost, key));
  });
  return form;
}

export async function render(_rest, ctx) {
  const [outposts, providers] = await Promise.all([outpostsWithHealth(), getAll('/providers/ldap/')]);
  return h('div', {},
    heading('Outposts'),
    h('div', { id: 'new-outpost' }),
    h('p', { class: 'muted' }, 'An LDAP outpost answers LDAP binds and searches for its providers, asking Gatehouse over HTTP with its own token. Forward auth needs none: it runs inside Gatehouse.'),
    table(['Name', 'Type', 'Providers', 'Health', ''], outposts.map((o) => [
      h('strong', {}, o.name),
      o.type,
      providersEditor(o, providers, ctx),
      outpostState(o),
      dangerButton('Delete', `Delete the outpost ${o.name}? Its token stops working and it stops answering LDAP.`, async () => {
        await api('DELETE', `/outposts/instances/${o.pk}/`);
        await ctx.refresh();
        notify('Outpost deleted.');
      }),
    ])),
    h('h2', {}, 'New LDAP outpost'),
    createForm(ctx, providers));
}
