import { ApiError, api, get, getAll, qs } from './api.js';
import { copyable, field, h, input, select, table, when } from './dom.js';
import { dangerButton, heading, notify, onSubmit } from './ui.js';

function createForm(ctx) {
  const shown = h('div', { id: 'new-token' });
  const form = h('form', { class: 'inline-form' },
    field('Identifier', input('identifier', { required: true, autocomplete: 'off', placeholder: 'backup-script' })),
    field('For user', input('username', { required: true, autocomplete: 'off', placeholder: 'username' })),
    field('Kind', select('intent', [['api', 'API token'], ['app_password', 'App password']], 'api')),
    h('button', { type: 'submit', class: 'small' }, 'Create token'));
  onSubmit(form, async (v) => {
    const found = await get(`/core/users/${qs({ username: v.username, include_groups: false })}`);
    if (!found.results[0]) throw new ApiError(400, { username: [`No user named ${v.username}.`] });
    const token = await api('POST', '/core/tokens/', { identifier: v.identifier, intent: v.intent, user: found.results[0].pk });
    // The key is shown here once; reading it again is an audited view_key.
    const { key } = await get(`/core/tokens/${encodeURIComponent(token.identifier)}/view_key/`);
    await ctx.refresh();
    notify(`Token ${token.identifier} created.`);
    document.getElementById('new-token')?.replaceChildren(copyable(`Key of ${token.identifier} (copy it now)`, key));
  });
  return [form, shown];
}

export async function render(_rest, ctx) {
  const tokens = await getAll('/core/tokens/?ordering=identifier');
  return h('div', {},
    heading('Tokens'),
    h('p', { class: 'muted' }, 'API tokens and app passwords of every user. Expiring tokens last 30 days (API) or a year (app passwords).'),
    table(['Identifier', 'User', 'Intent', 'Expires', 'Last used', ''], tokens.map((t) => [
      h('code', {}, t.identifier),
      t.user_obj ? h('a', { href: `#/users/${t.user}` }, t.user_obj.username) : '',
      t.intent,
      t.expiring ? when(t.expires) : 'never',
      when(t.last_used),
      dangerButton('Revoke', `Revoke the token ${t.identifier}?`, async () => {
        await api('DELETE', `/core/tokens/${encodeURIComponent(t.identifier)}/`);
        await ctx.refresh();
        notify('Token revoked.');
      }),
    ])),
    h('h2', {}, 'New token'),
    createForm(ctx));
}
