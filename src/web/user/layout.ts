import type { FastifyReply } from 'fastify';
import type { UserRow } from '../../store/users.ts';
import { html, page, raw, type SafeHtml } from '../html.ts';

// The frame every /if/user/ page shares: who is signed in, the sections, and a one-line notice.

export type Section = 'apps' | 'devices' | 'password' | 'sessions';

export const USER_AREA_PATHS: Record<Section, string> = {
  apps: '/if/user/',
  devices: '/if/user/devices/',
  password: '/if/user/password/',
  sessions: '/if/user/sessions/',
};
export const SIGN_OUT_URL = '/if/flow/default-invalidation-flow/';

const NAV: Array<{ section: Section; label: string }> = [
  { section: 'apps', label: 'My applications' },
  { section: 'devices', label: 'MFA devices' },
  { section: 'password', label: 'Password' },
  { section: 'sessions', label: 'Sessions' },
];

export interface Notice {
  kind: 'success' | 'error';
  text: string;
}

/** What a finished POST reports after its redirect (?done=…): a fixed list, never text from the URL. */
const DONE_NOTICES: Record<string, string> = {
  device_renamed: 'Device renamed.',
  device_removed: 'Device removed.',
  password_changed: 'Your password was changed.',
  password_changed_signed_out: 'Your password was changed, and your other sessions were signed out.',
  session_ended: 'That session was signed out.',
  others_ended: 'All your other sessions were signed out.',
};

export function doneNotice(query: unknown): Notice | null {
  const done = (query as { done?: unknown } | undefined)?.done;
  const text = typeof done === 'string' ? DONE_NOTICES[done] : undefined;
  return text ? { kind: 'success', text } : null;
}

export function userAreaPage(options: { title: string; user: UserRow; section: Section | null; notice?: Notice | null; content: SafeHtml }): string {
  const { title, user, section, notice, content } = options;
  return page(
    `${title} · Gatehouse`,
    html`<div class="user-area">
<header class="user-header">
<a class="brand" href="${USER_AREA_PATHS.apps}">Gatehouse</a>
<span class="muted">Signed in as <strong>${user.name || user.username}</strong>${user.name ? html` (${user.username})` : ''}</span>
</header>
<nav class="user-nav" aria-label="Your account">
${NAV.map((item) => html`<a href="${USER_AREA_PATHS[item.section]}"${item.section === section ? raw(' aria-current="page"') : ''}>${item.label}</a>`)}
<a class="sign-out" href="${SIGN_OUT_URL}">Sign out</a>
</nav>
${notice ? html`<p class="notice ${notice.kind}" role="${notice.kind === 'error' ? 'alert' : 'status'}">${notice.text}</p>` : ''}
${content}
</div>`,
  );
}

export function sendHtml(reply: FastifyReply, status: number, markup: string): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(markup);
}

const pad = (n: number) => String(n).padStart(2, '0');
const utc = (d: Date) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;

function relative(d: Date, now: Date): string {
  const seconds = Math.round((now.getTime() - d.getTime()) / 1000);
  const ago = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return ago(Math.floor(seconds / 60), 'minute');
  if (seconds < 86_400) return ago(Math.floor(seconds / 3600), 'hour');
  if (seconds < 30 * 86_400) return ago(Math.floor(seconds / 86_400), 'day');
  return utc(d).slice(0, 10);
}

/** A past instant as "5 minutes ago", with the exact UTC time on hover; `never` when there is none. */
export function when(value: Date | null, now: Date, never = 'Never'): SafeHtml {
  if (!value) return html`<span class="muted">${never}</span>`;
  const d = new Date(value);
  return html`<time datetime="${d.toISOString()}" title="${utc(d)}">${relative(d, now)}</time>`;
}

/** A future instant (expiry) as its UTC date and time. */
export function until(value: Date): SafeHtml {
  const d = new Date(value);
  return html`<time datetime="${d.toISOString()}">${utc(d)}</time>`;
}
