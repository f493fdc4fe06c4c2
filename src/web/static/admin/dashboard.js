import { get, qs } from './api.js';
import { h, s, table } from './dom.js';
import { backupSummary, lastBackup, outpostState, outpostsWithHealth } from './status.js';
import { heading } from './ui.js';

const DAYS = 14;
const dayKey = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** Logins and failed logins per day as grouped bars: an SVG built here, no chart library. */
function chart(days, series) {
  const width = 640;
  const height = 220;
  const left = 32;
  const bottom = 24;
  const max = Math.max(1, ...series.flatMap((x) => x.values));
  const slot = (width - left) / days.length;
  const bar = Math.max(2, (slot - 6) / series.length);
  const y = (v) => height - bottom - (v / max) * (height - bottom - 10);
  const ticks = [0, Math.ceil(max / 2), max];
  return s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title chart-desc' },
    s('title', { id: 'chart-title' }, `Logins and failed logins, last ${DAYS} days`),
    s('desc', { id: 'chart-desc' }, series.map((x) => `${x.label}: ${x.values.reduce((a, b) => a + b, 0)} in total`).join('; ')),
    ticks.map((t) => [
      s('line', { x1: left, x2: width, y1: y(t), y2: y(t), class: 'grid' }),
      s('text', { x: left - 4, y: y(t) + 4, 'text-anchor': 'end', class: 'axis' }, t),
    ]),
    days.map((day, i) => [
      series.map((x, j) =>
        s('rect', { x: left + i * slot + 3 + j * bar, y: y(x.values[i]), width: bar - 1, height: height - bottom - y(x.values[i]), class: x.cls },
          s('title', {}, `${day}: ${x.values[i]} ${x.label.toLowerCase()}`)),
      ),
      i % 2 === 0 ? s('text', { x: left + i * slot + slot / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis' }, day.slice(5)) : null,
    ]),
  );
}

export async function render() {
  const since = new Date();
  since.setHours(0, 0, 0, 0);
  since.setDate(since.getDate() - (DAYS - 1));
  const days = Array.from({ length: DAYS }, (_, i) => dayKey(new Date(since.getTime() + i * 86_400_000 + 3_600_000)));
  // Hourly counts from the server, folded into this browser's local days.
  const [volume, apps, users, providers, outposts, backup] = await Promise.all([
    get(`/events/events/volume/${qs({ action: 'login', history_days: DAYS + 1 })}&action=login_failed`),
    get('/core/applications/?superuser_full_list=true&page_size=1'),
    get('/core/users/?page_size=1&include_groups=false'),
    get('/providers/all/?page_size=1'),
    outpostsWithHealth(),
    lastBackup(),
  ]);
  const perDay = (action) => {
    const counts = new Map(days.map((d) => [d, 0]));
    for (const row of volume) {
      const key = dayKey(new Date(row.time));
      if (row.action === action && counts.has(key)) counts.set(key, counts.get(key) + row.count);
    }
    return days.map((d) => counts.get(d));
  };
  const series = [
    { label: 'Logins', values: perDay('login'), cls: 'bar-ok' },
    { label: 'Failed logins', values: perDay('login_failed'), cls: 'bar-bad' },
  ];
  const failedTotal = series[1].values.reduce((a, b) => a + b, 0);
  const tile = (label, value, href) => h('a', { class: 'tile', href }, h('span', { class: 'tile-value' }, value), h('span', { class: 'tile-label' }, label));
  return h(
    'div',
    {},
    heading('Dashboard'),
    h('div', { class: 'tiles' },
      tile('Applications', apps.pagination.count, '#/applications'),
      tile('Providers', providers.pagination.count, '#/applications'),
      tile('Users', users.pagination.count, '#/users'),
      tile(`Failed logins (${DAYS} days)`, failedTotal, '#/events?action=login_failed'),
    ),
    h('h2', {}, 'Logins'),
    h('div', { class: 'legend' }, series.map((x) => h('span', { class: `key ${x.cls}` }, `${x.label}: ${x.values.reduce((a, b) => a + b, 0)}`))),
    chart(days, series),
    h('section', { id: 'dashboard-outposts' }, h('h2', {}, h('a', { href: '#/outposts' }, 'Outposts')),
      outposts.length
        ? table(['Outpost', 'Providers', 'Health'], outposts.map((o) => [o.name, o.providers_obj.map((p) => p.name).join(', '), outpostState(o)]))
        : h('p', { class: 'muted' }, 'None: forward auth, OIDC and SAML run inside Gatehouse; LDAP needs an outpost.')),
    h('section', { id: 'dashboard-backup' }, h('h2', {}, 'Backups'), backupSummary(backup)),
  );
}
