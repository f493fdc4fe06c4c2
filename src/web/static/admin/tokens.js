import { api, getAll } from './api.js';
import { h, table, when } from './dom.js';
import { dangerButton, heading, notify } from './ui.js';

export async function render(_rest, ctx) {
  const tokens = await getAll('/core/tokens/?ordering=identifier');
  return h('div', {},
    heading('Tokens'),
    h('p', { class: 'muted' }, 'API tokens and app passwords of every user. A token’s key is shown only through the API’s view_key (which is audited).'),
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
    ])));
}
