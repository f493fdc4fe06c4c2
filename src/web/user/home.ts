import type { FastifyPluginAsync } from 'fastify';
import type { CoreDeps } from '../../core/context.ts';
import { listSessionsOfUser } from '../../core/sessionRevocation.ts';
import { listDevicesOfUser } from '../../core/userDevices.ts';
import { html } from '../html.ts';
import { listAppsForUser, renderAppLibrary } from './appLibrary.ts';
import { enterUserArea } from './guard.ts';
import { sendHtml, USER_AREA_PATHS, userAreaPage, when } from './layout.ts';

/** /if/user/: the app library, and a summary of the account's security with links to each section. */
export const userHomeRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get(USER_AREA_PATHS.apps, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, USER_AREA_PATHS.apps);
    if (!browser) return reply;
    const { user } = browser;
    const [apps, devices, sessions] = await Promise.all([
      listAppsForUser(deps, user, request.ip),
      listDevicesOfUser(deps, user.id),
      listSessionsOfUser(deps, user.id, browser.sessionId),
    ]);
    const now = deps.now();
    const content = html`<h1>My applications</h1>
${renderAppLibrary(apps)}
<h2>Account security</h2>
<ul class="summary">
<li><a href="${USER_AREA_PATHS.devices}">MFA devices</a>
<span class="muted">${
      devices.length === 0
        ? 'None yet: add an authenticator app or a passkey so a stolen password is not enough.'
        : `${devices.length} device${devices.length === 1 ? '' : 's'}`
    }</span></li>
<li><a href="${USER_AREA_PATHS.password}">Password</a>
<span class="muted">Last changed ${when(user.password_change_date, now, 'never')}</span></li>
<li><a href="${USER_AREA_PATHS.sessions}">Sessions</a>
<span class="muted">Signed in on ${sessions.length} browser${sessions.length === 1 ? '' : 's'}</span></li>
</ul>
${user.is_superuser ? html`<p class="muted">You are an administrator: <a href="/if/admin/">open the admin pages</a>. The API is at <a href="/api/v3/schema/">/api/v3/</a>.</p>` : ''}`;
    return sendHtml(reply, 200, userAreaPage({ title: 'My applications', user, section: 'apps', content }));
  });
};
