import { ApiError, api, get, getAll, qs } from './api.js';
import { field, h, input, select, table } from './dom.js';
import { dangerButton, heading, notify, onSubmit } from './ui.js';

async function list(ctx) {
  const groups = await getAll('/core/groups/?include_users=false&ordering=name');
  const create = h('form', { class: 'inline-form' },
    field('Name', input('name', { required: true })),
    field('Parent', select('parent', [['', '(none)'], ...groups.map((g) => [g.pk, g.name])], '')),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'is_superuser' }), 'Members are administrators'),
    h('button', { type: 'submit', class: 'small' }, 'Create group'));
  onSubmit(create, async (v) => {
    await api('POST', '/core/groups/', { name: v.name, parent: v.parent || null, is_superuser: v.is_superuser });
    await ctx.refresh();
    notify('Group created.');
  });
  return h('div', {},
    heading('Groups'),
    table(['Name', 'Parent', 'Administrators'], groups.map((g) => [h('a', { href: `#/groups/${g.pk}` }, g.name), g.parent_name ?? '', g.is_superuser ? 'yes' : ''])),
    h('h2', {}, 'New group'),
    create);
}

async function detail(pk, ctx) {
  const group = await get(`/core/groups/${pk}/?include_users=true`);
  const members = group.users_obj ?? [];
  const add = h('form', { class: 'inline-form' }, field('Username', input('username', { required: true, autocomplete: 'off' })), h('button', { type: 'submit', class: 'small' }, 'Add member'));
  onSubmit(add, async (v) => {
    const found = await get(`/core/users/${qs({ username: v.username, include_groups: false })}`);
    if (!found.results[0]) throw new ApiError(400, { username: [`No user named ${v.username}.`] });
    await api('POST', `/core/groups/${pk}/add_user/`, { pk: found.results[0].pk });
    await ctx.refresh();
    notify(`${v.username} added.`);
  });
  const others = (await getAll('/core/groups/?include_users=false&ordering=name')).filter((g) => g.pk !== group.pk);
  const edit = h('form', { class: 'narrow' },
    field('Name', input('name', { value: group.name, required: true })),
    field('Parent', select('parent', [['', '(none)'], ...others.map((g) => [g.pk, g.name])], group.parent ?? '')),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'is_superuser', checked: group.is_superuser }), 'Members are administrators'),
    h('button', { type: 'submit' }, 'Save group'));
  onSubmit(edit, async (v) => {
    await api('PATCH', `/core/groups/${pk}/`, { name: v.name, parent: v.parent || null, is_superuser: v.is_superuser });
    await ctx.refresh();
    notify('Group saved.');
  });
  return h('div', {},
    heading(group.name, dangerButton('Delete group', `Delete the group ${group.name}?`, async () => {
      await api('DELETE', `/core/groups/${pk}/`);
      location.hash = '#/groups';
    })),
    h('p', { class: 'muted' }, group.is_superuser ? 'Members are administrators.' : '', group.parent_name ? ` Parent: ${group.parent_name}.` : ''),
    h('h2', {}, `Members (${members.length})`),
    table(['Username', 'Name', ''], members.map((u) => [h('a', { href: `#/users/${u.pk}` }, u.username), u.name,
      dangerButton('Remove', `Remove ${u.username} from ${group.name}?`, async () => {
        await api('POST', `/core/groups/${pk}/remove_user/`, { pk: u.pk });
        await ctx.refresh();
        notify(`${u.username} removed.`);
      })])),
    add,
    h('h2', {}, 'Settings'),
    edit);
}

export async function render(rest, ctx) {
  return rest[0] ? detail(rest[0], ctx) : list(ctx);
}
