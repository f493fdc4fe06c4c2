import { get, getAll, qs } from './api.js';
import { h, when } from './dom.js';

// Outposts' health and the last backup, as the dashboard, the outposts page and the System page
// show them. An outpost reports at most every 10 s, so one unseen for a minute is not connected.

const ONLINE_MS = 60_000;
// Backups run nightly by default: one older than two days means the schedule stopped.
const STALE_BACKUP_MS = 2 * 86_400_000;

/** The outposts (optionally only those serving one provider), each with its last report. */
export async function outpostsWithHealth(providerPk) {
  const outposts = await getAll(`/outposts/instances/${qs({ providers_by_pk: providerPk })}`);
  const health = await Promise.all(outposts.map((o) => get(`/outposts/instances/${o.pk}/health/`).catch(() => [])));
  return outposts.map((o, i) => ({ ...o, lastSeen: health[i][0]?.last_seen ?? null, seenFrom: health[i][0]?.hostname ?? null }));
}

export function outpostState(outpost) {
  if (!outpost.lastSeen) return h('span', { class: 'badge off' }, 'never connected');
  const isOnline = Date.now() - new Date(outpost.lastSeen).getTime() < ONLINE_MS;
  return h('span', {}, h('span', { class: `badge ${isOnline ? '' : 'off'}`.trim() }, isOnline ? 'connected' : 'not connected'), ' last seen ', when(outpost.lastSeen));
}

/** The last backup run as /events/system_tasks/ reports it (Authentik's shape), or null. */
export async function lastBackup() {
  const tasks = await get('/events/system_tasks/');
  return tasks.results.find((task) => task.name === 'backup') ?? null;
}

/** A paragraph saying when the last backup ran and whether its restore check passed. */
export function backupSummary(task) {
  if (!task) {
    return h('p', { class: 'notice error', id: 'backup-state' }, 'No backup has run yet. The worker makes one on its schedule (GATEHOUSE_BACKUP__SCHEDULE); gatehouse backup makes one now.');
  }
  if (!task.finish_timestamp) return h('p', { class: 'notice', id: 'backup-state' }, 'A backup is running since ', when(task.start_timestamp), '.');
  const isOk = task.status === 'successful';
  const ageDays = Math.floor((Date.now() - new Date(task.finish_timestamp).getTime()) / 86_400_000);
  const isStale = Date.now() - new Date(task.finish_timestamp).getTime() > STALE_BACKUP_MS;
  return h('div', { class: `notice ${isOk && !isStale ? 'success' : 'error'}`, id: 'backup-state' },
    h('p', {}, 'Last backup ', when(task.finish_timestamp), ` (${task.uid}, ${Math.round(task.duration)} s): `,
      h('strong', {}, isOk ? 'restore check passed' : task.status === 'unknown' ? 'restore check not run' : 'restore check FAILED')),
    isStale ? h('p', {}, `It is ${ageDays} days old: is the worker running (GATEHOUSE_BACKUP__SCHEDULE)?`) : null,
    isOk ? null : h('ul', {}, task.messages.map((m) => h('li', {}, m))));
}
