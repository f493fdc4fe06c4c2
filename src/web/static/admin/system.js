import { h, table, when } from './dom.js';
import { backupSummary, lastBackup } from './status.js';
import { heading } from './ui.js';

// Health as the load balancer sees it, and where the rest lives.
async function readiness() {
  const response = await fetch('/-/health/ready/', { credentials: 'same-origin' });
  if (response.status === 204) return { ok: true, database: true, cache: true };
  const body = await response.json().catch(() => ({}));
  return { ok: false, database: body.database === true, cache: body.cache === true };
}

export async function render() {
  const [ready, backup] = await Promise.all([readiness(), lastBackup()]);
  const state = (isUp) => h('span', { class: `badge ${isUp ? '' : 'off'}`.trim() }, isUp ? 'answering' : 'down');
  return h('div', {},
    heading('System'),
    h('p', { class: ready.ok ? 'notice success' : 'notice error' }, ready.ok ? 'Gatehouse is ready: its database and cache answer.' : 'Gatehouse is not ready: see below.'),
    table(['Part', 'State'], [['Database (Postgres or embedded)', state(ready.database)], ['Cache (Redis or the Postgres fallback)', state(ready.cache)]]),
    h('h2', {}, 'Backups'),
    backupSummary(backup),
    backup ? table(['Task', 'Started', 'Finished', 'Status', 'Messages'], [[backup.full_name, when(backup.start_timestamp), when(backup.finish_timestamp), backup.status, backup.messages.join(' ')]]) : null,
    h('p', { class: 'muted' }, 'Nightly, encrypted, and each one restored into a scratch database to check it (docs/worker.md); a failed check is mailed to the administrators and written as a system_task_execution event (Events, action system_task_execution).'),
    h('h2', {}, 'Addresses'),
    table(['What', 'URL'], [
      ['This server, as your browser reaches it', location.origin],
      ['Public address (GATEHOUSE_EXTERNAL_URL): what apps and outposts are given', document.getElementById('admin')?.dataset.publicUrl || h('span', { class: 'muted' }, 'not set: the address above is used')],
      ['Liveness / readiness', `${location.origin}/-/health/live/ · ${location.origin}/-/health/ready/`],
      ['REST API (OpenAPI document)', h('a', { href: '/api/v3/schema/' }, `${location.origin}/api/v3/schema/`)],
    ]),
    h('p', { class: 'muted' }, 'Settings are GATEHOUSE_* environment variables (.env.example lists every one); they are read at start.'));
}
