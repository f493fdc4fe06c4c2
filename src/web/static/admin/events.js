import { get, getAll, qs } from './api.js';
import { field, h, input, select, table, when } from './dom.js';
import { heading } from './ui.js';

const ACTIONS = ['', 'login', 'login_failed', 'logout', 'authorize_application', 'access_denied', 'model_created', 'model_updated', 'model_deleted',
  'password_set', 'secret_view', 'suspicious_request', 'recovery_link_created', 'configuration_error'];
const FILTERS = ['username', 'action', 'application', 'client_ip', 'from', 'to'];

/** The API's query for the form's filters; "application" matches the app a sign-in was for. */
function apiQuery(params) {
  const iso = (local) => (local ? new Date(local).toISOString() : undefined);
  return {
    username: params.get('username') || undefined,
    action: params.get('action') || undefined,
    client_ip: params.get('client_ip') || undefined,
    created__gte: iso(params.get('from')),
    created__lte: iso(params.get('to')),
    context_authorized_app: params.get('application') || undefined,
  };
}

const appOf = (e) => e.context?.authorized_application ?? e.context?.application ?? null;

function summary(e) {
  const app = appOf(e);
  if (app) return `application: ${app.name ?? app.slug ?? app}`;
  if (e.context?.model) return `${e.context.model.model_name} ${e.context.model.name}`;
  if (e.context?.reason) return `reason: ${e.context.reason}`;
  return '';
}

const csvCell = (value) => {
  const text = String(value ?? '');
  // A leading =, +, - or @ would run as a formula in a spreadsheet (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

async function exportCsv(params) {
  const events = await getAll(`/events/events/${qs(apiQuery(params))}`, 50_000);
  const rows = [['created', 'action', 'username', 'client_ip', 'application', 'app', 'context']];
  for (const e of events) rows.push([e.created, e.action, e.user?.username ?? '', e.client_ip ?? '', appOf(e)?.slug ?? '', e.app, JSON.stringify(e.context)]);
  const blob = new Blob([rows.map((r) => r.map(csvCell).join(',')).join('\r\n')], { type: 'text/csv' });
  const link = h('a', { href: URL.createObjectURL(blob), download: `gatehouse-events-${new Date().toISOString().slice(0, 10)}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

export async function render(_rest, ctx) {
  const params = ctx.params;
  const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
  const [answer, apps] = await Promise.all([
    get(`/events/events/${qs({ ...apiQuery(params), page, page_size: 50 })}`),
    getAll('/core/applications/?superuser_full_list=true&ordering=name'),
  ]);
  const events = answer.results;
  const form = h('form', { class: 'filters', role: 'search' },
    field('User', input('username', { value: params.get('username') ?? '', placeholder: 'username' })),
    field('Action', select('action', ACTIONS.map((a) => [a, a || 'any']), params.get('action') ?? '')),
    field('Application signed in to', select('application', [['', 'any'], ...apps.map((a) => [a.pk, a.name])], params.get('application') ?? '')),
    field('Client IP', input('client_ip', { value: params.get('client_ip') ?? '' })),
    field('From', input('from', { type: 'datetime-local', value: params.get('from') ?? '' })),
    field('To', input('to', { type: 'datetime-local', value: params.get('to') ?? '' })),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit' }, 'Filter'),
      h('button', { type: 'button', class: 'secondary', onclick: () => exportCsv(params) }, 'Export CSV')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = {};
    for (const name of FILTERS) next[name] = form.elements[name].value;
    location.hash = `#/events${qs(next)}`;
  });
  const pageLink = (n, label) => {
    const next = new URLSearchParams(params);
    next.set('page', String(n));
    return h('a', { class: 'button secondary small', href: `#/events?${next}` }, label);
  };
  return h('div', {},
    heading('Events'),
    form,
    h('p', { class: 'muted', id: 'event-count' }, `${answer.pagination.count} event(s)`),
    table(['When', 'Action', 'User', 'IP', 'Details'], events.map((e) => [when(e.created), h('span', { class: `action ${e.action}` }, e.action), e.user?.username ?? '', e.client_ip ?? '', summary(e)])),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      answer.pagination.previous ? pageLink(page - 1, 'Newer') : null,
      h('span', { class: 'muted' }, ` page ${answer.pagination.current} of ${Math.max(1, answer.pagination.total_pages)} `),
      answer.pagination.next ? pageLink(page + 1, 'Older') : null),
  );
}
