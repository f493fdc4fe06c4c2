import { api, get, getAll, qs } from './api.js';
import { field, h, input, select, table, when } from './dom.js';
import { integrationPanel, loadProvider, PROVIDER_PATHS, providerType, TYPE_LABELS } from './integration.js';
import { providerSettings } from './providerForm.js';
import { dangerButton, heading, linkButton, notify, onSubmit } from './ui.js';

async function list(ctx) {
  const search = ctx.params.get('search') ?? '';
  const apps = await getAll(`/core/applications/${qs({ superuser_full_list: true, search })}`);
  const searchForm = h('form', { class: 'search', role: 'search' },
    h('label', { class: 'visually-hidden', for: 'app-search' }, 'Search applications'),
    h('input', { type: 'search', id: 'app-search', name: 'search', value: search, placeholder: 'Search applications' }),
    h('button', { type: 'submit', class: 'secondary small' }, 'Search'));
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/applications${qs({ search: searchForm.elements.search.value })}`;
  });
  return h('div', {},
    heading('Applications', linkButton('#/applications/new', 'New application')),
    searchForm,
    table(['Name', 'Slug', 'Provider', 'Launch URL'], apps.map((a) => [
      h('a', { href: `#/applications/${encodeURIComponent(a.slug)}` }, a.name),
      h('code', {}, a.slug),
      a.provider_obj ? TYPE_LABELS[providerType(a.provider_obj)] ?? a.provider_obj.verbose_name : h('span', { class: 'muted' }, 'none'),
      a.launch_url ? h('a', { href: a.launch_url, rel: 'noopener noreferrer', target: '_blank' }, a.launch_url) : '',
    ])),
  );
}

async function accessSection(app, ctx) {
  const [bindings, groups] = await Promise.all([getAll(`/policies/bindings/${qs({ target: app.pk })}`), getAll('/core/groups/?include_users=false')]);
  const rows = bindings.map((b) => [
    b.group_obj ? `Group: ${b.group_obj.name}` : b.user_obj ? `User: ${b.user_obj.username}` : `Policy: ${b.policy_obj?.name ?? b.policy}`,
    b.enabled ? 'enabled' : 'disabled',
    dangerButton('Remove', 'Remove this restriction?', async () => {
      await api('DELETE', `/policies/bindings/${b.pk}/`);
      await ctx.refresh();
      notify('Restriction removed.');
    }),
  ]);
  const free = groups.filter((g) => !bindings.some((b) => b.group === g.pk));
  const add = h('form', { class: 'inline-form' },
    field('Group', select('group', free.map((g) => [g.pk, g.name]))),
    h('button', { type: 'submit', class: 'small' }, 'Allow this group'));
  onSubmit(add, async (v) => {
    await api('POST', '/policies/bindings/', { target: app.pk, group: v.group, order: bindings.length ? Math.max(...bindings.map((b) => b.order)) + 1 : 0 });
    await ctx.refresh();
    notify('Group allowed.');
  });
  return h('section', { 'aria-labelledby': 'access' },
    h('h2', { id: 'access' }, 'Who may use it'),
    h('p', { class: 'muted' }, bindings.length ? 'Only the groups and users below (any of them).' : 'Everyone who can sign in. Allow a group to restrict it to that group’s members.'),
    bindings.length ? table(['Bound', 'State', ''], rows) : null,
    free.length ? add : null,
  );
}

async function usage(app, type) {
  if (type !== 'proxy') {
    const events = await get(`/events/events/${qs({ action: 'authorize_application', page_size: 200 })}`);
    const mine = events.results.filter((e) => e.context?.authorized_application?.slug === app.slug).slice(0, 20);
    return h('section', {}, h('h2', {}, 'Recent sign-ins'), table(['When', 'User', 'IP'], mine.map((e) => [when(e.created), e.user?.username ?? '', e.client_ip ?? ''])));
  }
  const hours = await get(`/core/applications/${encodeURIComponent(app.slug)}/access_hours/?page_size=50`);
  return h('section', {}, h('h2', {}, 'Who accessed it (per hour)'),
    table(['Hour', 'User', 'Requests', 'Last seen'], hours.results.map((r) => [when(r.hour), r.user.username, r.requests, when(r.last_seen)])));
}

async function detail(slug, ctx) {
  const app = await get(`/core/applications/${encodeURIComponent(slug)}/`);
  const { type, provider, extras } = await loadProvider(app);
  const edit = h('form', { class: 'narrow' },
    field('Name', input('name', { value: app.name, required: true })),
    field('Launch URL', input('meta_launch_url', { value: app.meta_launch_url, type: 'url' })),
    field('Description', input('meta_description', { value: app.meta_description })),
    h('button', { type: 'submit' }, 'Save'));
  onSubmit(edit, async (v) => {
    await api('PATCH', `/core/applications/${encodeURIComponent(slug)}/`, v);
    await ctx.refresh();
    notify('Application saved.');
  });
  const remove = dangerButton('Delete application', `Delete ${app.name} and its provider? Apps using it stop signing in.`, async () => {
    await api('DELETE', `/core/applications/${encodeURIComponent(slug)}/`);
    if (provider && PROVIDER_PATHS[type]) await api('DELETE', `/providers/${PROVIDER_PATHS[type]}/${provider.pk}/`);
    location.hash = '#/applications';
  });
  if (ctx.params.get('created')) {
    history.replaceState(null, '', `#/applications/${encodeURIComponent(slug)}`);
    setTimeout(() => notify(`${app.name} was created. Paste the values below into the app.`), 0);
  }
  return h('div', {},
    heading(app.name, remove),
    h('p', { class: 'muted' }, `Slug ${app.slug} · ${type ? TYPE_LABELS[type] : 'no provider'}`),
    integrationPanel(app, type, provider, extras),
    await accessSection(app, ctx),
    h('section', {}, h('h2', {}, 'Settings'), edit),
    providerSettings(type, provider, ctx, extras),
    await usage(app, type),
  );
}

export async function render(rest, ctx) {
  if (rest[0] === 'new') return (await import('./wizard.js')).render(rest, ctx);
  if (rest[0]) return detail(rest[0], ctx);
  return list(ctx);
}
