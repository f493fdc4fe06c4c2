import { listAccessibleApplications } from '../../core/applicationAccess.ts';
import type { CoreDeps } from '../../core/context.ts';
import type { UserRow } from '../../store/users.ts';
import { html, type SafeHtml } from '../html.ts';

/** One tile of the app library, as Authentik's user interface shows an application. */
export interface LibraryApp {
  name: string;
  slug: string;
  /** Where "open" goes: an absolute http(s) URL or a path on this server. */
  launchUrl: string;
  description: string;
  /** Tiles with the same group are shown together (Authentik's "group" field); '' for none. */
  group: string;
}

/**
 * The applications this user may open (their policy bindings pass), as tiles. An application
 * without a launch URL (an OAuth2 client started from its own site) is shown without a link.
 * Without the client's address a network policy cannot pass: it fails closed.
 */
export async function listAppsForUser(deps: CoreDeps, user: UserRow, clientIp: string): Promise<LibraryApp[]> {
  const apps = await listAccessibleApplications(deps, user, clientIp);
  return apps.map((app) => ({
    name: app.name,
    slug: app.slug,
    launchUrl: app.launch_url,
    description: app.description,
    group: app.group,
  }));
}

/** Only http(s) or a local path may become a link: a javascript: URL in an admin's field must not run. */
function isSafeLaunchUrl(url: string): boolean {
  if (url.startsWith('/') && !url.startsWith('//') && !url.includes('\\')) return true;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}

function tile(app: LibraryApp): SafeHtml {
  const initial = app.name.trim().charAt(0).toUpperCase() || '?';
  const body = html`<span class="app-icon" aria-hidden="true">${initial}</span>
<span class="app-name">${app.name}</span>${app.description ? html`<span class="muted">${app.description}</span>` : ''}`;
  return isSafeLaunchUrl(app.launchUrl)
    ? html`<li><a class="app-tile" href="${app.launchUrl}" rel="noopener">${body}</a></li>`
    : html`<li><span class="app-tile disabled" title="This application is opened from its own site.">${body}</span></li>`;
}

export function renderAppLibrary(apps: LibraryApp[]): SafeHtml {
  if (apps.length === 0) {
    return html`<div class="empty-state"><p><strong>No applications yet.</strong></p>
<p class="muted">When an administrator connects an application to Gatehouse, it appears here and you can open it with one click.</p></div>`;
  }
  const groups = new Map<string, LibraryApp[]>();
  for (const app of [...apps].sort((a, b) => a.name.localeCompare(b.name))) {
    groups.set(app.group, [...(groups.get(app.group) ?? []), app]);
  }
  return html`${[...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, members]) => html`${group ? html`<h3>${group}</h3>` : ''}<ul class="app-grid">${members.map(tile)}</ul>`)}`;
}
