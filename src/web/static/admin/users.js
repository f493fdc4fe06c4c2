import { api, get, getAll, qs } from './api.js';
import { copyable, field, h, input, table, when } from './dom.js';
import { dangerButton, heading, notify, onSubmit } from './ui.js';

async function list(ctx) {
  const search = ctx.params.get('search') ?? '';
  const pageNumber = Math.max(1, Number(ctx.params.get('page') ?? 1) || 1);
  const page = await get(`/core/users/${qs({ search, page: pageNumber, page_size: 100, ordering: 'username', include_groups: false })}`);
  const pageLink = (n, label) => h('a', { class: 'button secondary small', href: `#/users${qs({ search, page: n })}` }, label);
  const searchForm = h('form', { class: 'search', role: 'search' },
    h('label', { class: 'visually-hidden', for: 'user-search' }, 'Search users'),
    h('input', { type: 'search', id: 'user-search', name: 'search', value: search, placeholder: 'Username, name or email' }),
    h('button', { type: 'submit', class: 'secondary small' }, 'Search'));
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/users${qs({ search: searchForm.elements.search.value })}`;
  });
  const create = h('form', { class: 'narrow' },
    field('Username', input('username', { required: true, autocomplete: 'off' })),
    field('Name', input('name')),
    field('Email', input('email', { type: 'email' })),
    h('button', { type: 'submit' }, 'Create user'));
  onSubmit(create, async (v) => {
    const user = await api('POST', '/core/users/', { username: v.username, name: v.name, email: v.email });
    location.hash = `#/users/${user.pk}`;
  });
  return h('div', {},
    heading('Users'),
    searchForm,
    h('p', { class: 'muted' }, `${page.pagination.count} user${page.pagination.count === 1 ? '' : 's'}`),
    table(['Username', 'Name', 'Email', 'Active', 'Last login'], page.results.map((u) => [
      h('a', { href: `#/users/${u.pk}` }, u.username),
      u.name,
      u.email,
      u.is_active ? 'yes' : h('span', { class: 'badge off' }, 'deactivated'),
      when(u.last_login),
    ])),
    page.pagination.total_pages > 1
      ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
        page.pagination.previous ? pageLink(pageNumber - 1, 'Previous') : null,
        h('span', { class: 'muted' }, ` page ${page.pagination.current} of ${page.pagination.total_pages} `),
        page.pagination.next ? pageLink(pageNumber + 1, 'Next') : null)
      : null,
    h('details', {}, h('summary', {}, 'Create a user'), create),
  );
}

function offboardReport(report) {
  return h('div', { class: 'notice success report', role: 'status', id: 'offboard-report' },
    h('h3', {}, `${report.user.username} was offboarded`),
    h('ul', {},
      h('li', {}, 'Account deactivated.'),
      h('li', {}, `${report.sessions_ended} session${report.sessions_ended === 1 ? '' : 's'} ended.`),
      h('li', {}, `${report.tokens_revoked.length} token${report.tokens_revoked.length === 1 ? '' : 's'} revoked${report.tokens_revoked.length ? `: ${report.tokens_revoked.map((t) => t.identifier).join(', ')}` : ''}.`),
    ),
    h('p', {}, report.applications.length ? 'Applications they used — remove their account there too:' : 'No recorded use of any application.'),
    report.applications.length
      ? h('ul', { class: 'used-apps' }, report.applications.map((a) => h('li', {}, h('a', { href: `#/applications/${encodeURIComponent(a.slug)}` }, a.name), ` — last ${a.how === 'forward_auth' ? 'request' : 'sign-in'} `, when(a.last_used))))
      : null,
  );
}

async function detail(pk, ctx) {
  const user = await get(`/core/users/${pk}/`);
  const [sessions, devices, tokens, signIns, mailCheck] = await Promise.all([
    getAll(`/core/authenticated_sessions/${qs({ user__username: user.username })}`),
    get(`/authenticators/admin/all/${qs({ user: user.pk })}`),
    getAll(`/core/tokens/${qs({ user__username: user.username })}`),
    get(`/events/events/${qs({ username: user.username, action: 'authorize_application', page_size: 500 })}`),
    get(`/core/users/${pk}/recovery_email/`),
  ]);
  const lastUse = new Map();
  for (const e of signIns.results) {
    const app = e.context?.authorized_application;
    if (app?.slug && !lastUse.has(app.slug)) lastUse.set(app.slug, { ...app, when: e.created });
  }
  const recoveryBox = h('div', { id: 'recovery-link' });
  const recovery = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      const { link } = await api('POST', `/core/users/${pk}/recovery/`);
      recoveryBox.replaceChildren(copyable('One-time login link (valid for an hour)', link),
        h('p', { class: 'muted' }, 'Give it to the user over a channel you trust: it signs them in once, without password or MFA.'));
    } catch (error) {
      notify(error.message, 'error');
    }
  } }, 'Create a recovery link');
  // Offered only when a mail can go (mail configured, the user has an address and is active).
  const mailRecovery = mailCheck.can_send
    ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try {
        await api('POST', `/core/users/${pk}/recovery_email/`);
        notify(`A recovery link is on its way to ${user.email}.`);
      } catch (error) {
        notify(error.message, 'error');
      }
    } }, 'Send recovery email')
    : h('p', { class: 'muted', id: 'no-recovery-email' }, `No recovery email: ${mailCheck.reason}`);
  const edit = h('form', { class: 'narrow' },
    field('Username', input('username', { value: user.username, required: true })),
    field('Name', input('name', { value: user.name })),
    field('Email', input('email', { value: user.email, type: 'email' })),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'is_active', checked: user.is_active }), 'Active (may sign in)'),
    h('button', { type: 'submit' }, 'Save'));
  onSubmit(edit, async (v) => {
    await api('PATCH', `/core/users/${pk}/`, v);
    await ctx.refresh();
    notify('User saved.');
  });
  const password = h('form', { class: 'narrow' },
    field('New password', input('password', { type: 'password', required: true, autocomplete: 'new-password' })),
    h('button', { type: 'submit' }, 'Set password'));
  onSubmit(password, async (v) => {
    await api('POST', `/core/users/${pk}/set_password/`, { password: v.password });
    password.reset();
    notify('Password set.');
  });
  const offboard = dangerButton('Offboard', `Offboard ${user.username}? This deactivates the account, ends every session and revokes every token.`, async () => {
    const report = await api('POST', `/core/users/${pk}/offboard/`);
    await ctx.refresh();
    document.getElementById('view').prepend(offboardReport(report));
  });
  return h('div', {},
    heading(user.username, offboard),
    h('p', { class: 'muted' }, `${user.is_active ? 'Active' : 'Deactivated'} · joined `, when(user.date_joined), ' · last login ', when(user.last_login),
      user.is_superuser ? ' · administrator' : '', user.groups_obj?.length ? ` · groups: ${user.groups_obj.map((g) => g.name).join(', ')}` : ''),
    h('section', {}, h('h2', {}, 'Details'), edit),
    h('section', {}, h('h2', {}, 'Password'), password, h('p', { class: 'muted' }, 'Or, when they lost their password or second factor:'),
      h('div', { class: 'row-actions' }, recovery, mailRecovery), recoveryBox),
    h('section', { id: 'apps-used' }, h('h2', {}, 'Applications used'),
      table(['Application', 'Last sign-in'], [...lastUse.values()].map((a) => [h('a', { href: `#/applications/${encodeURIComponent(a.slug)}` }, a.name), when(a.when)]))),
    h('section', { id: 'sessions' }, h('h2', {}, `Sessions (${sessions.length})`),
      table(['Browser', 'IP address', 'Last used', 'Expires', ''], sessions.map((s) => [
        `${s.user_agent.user_agent.family} on ${s.user_agent.os.family}`,
        s.last_ip ?? '',
        when(s.last_used),
        when(s.expires),
        dangerButton('End', 'End this session?', async () => {
          await api('DELETE', `/core/authenticated_sessions/${s.uuid}/`);
          await ctx.refresh();
          notify('Session ended.');
        }),
      ]))),
    h('section', { id: 'devices' }, h('h2', {}, `MFA devices (${devices.length})`),
      table(['Name', 'Type', 'Created', 'Last used', ''], devices.map((d) => [d.name, d.verbose_name, when(d.created), when(d.last_used),
        dangerButton('Remove', `Remove the device ${d.name}? The user will need another second factor.`, async () => {
          const kind = /authenticator_(\w+)\./.exec(d.meta_model_name)?.[1];
          await api('DELETE', `/authenticators/admin/${kind}/${d.pk}/${qs({ user: user.pk })}`);
          await ctx.refresh();
          notify('Device removed.');
        })]))),
    h('section', { id: 'tokens' }, h('h2', {}, `Tokens (${tokens.length})`),
      table(['Identifier', 'Intent', 'Expires', ''], tokens.map((t) => [
        h('code', {}, t.identifier),
        t.intent,
        t.expiring ? when(t.expires) : 'never',
        dangerButton('Revoke', `Revoke the token ${t.identifier}?`, async () => {
          await api('DELETE', `/core/tokens/${encodeURIComponent(t.identifier)}/`);
          await ctx.refresh();
          notify('Token revoked.');
        }),
      ]))),
  );
}

export async function render(rest, ctx) {
  return rest[0] ? detail(Number(rest[0]), ctx) : list(ctx);
}
