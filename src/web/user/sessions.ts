import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { CoreDeps } from '../../core/context.ts';
import { type LiveSession, listSessionsOfUser, revokeOtherSessions, revokeSession } from '../../core/sessionRevocation.ts';
import { hashOfSession, SESSION_COOKIE } from '../../core/sessions.ts';
import { NotFound } from '../../errors.ts';
import type { SignedInBrowser } from '../browserSession.ts';
import { sessionCookieOptions } from '../cookies.ts';
import { html, type SafeHtml } from '../html.ts';
import { contextOf, enterUserArea, loginUrl, parseForm } from './guard.ts';
import { doneNotice, type Notice, sendHtml, USER_AREA_PATHS, userAreaPage, until, when } from './layout.ts';
import { describeUserAgent } from './userAgent.ts';

const HERE = USER_AREA_PATHS.sessions;
const endForm = z.object({
  session: z.string({ error: 'Choose a session.' }).regex(/^[0-9a-f]{64}$/, 'Unknown session.'),
});

function sessionRow(session: LiveSession, now: Date): SafeHtml {
  return html`<tr${session.isCurrent ? html` class="current"` : ''}>
<td><span title="${session.userAgent}">${describeUserAgent(session.userAgent)}</span>${
    session.isCurrent ? html` <span class="badge">This session</span>` : ''
  }</td>
<td data-label="IP address">${session.clientIp ?? html`<span class="muted">unknown</span>`}</td>
<td data-label="Signed in">${when(session.createdAt, now)}</td>
<td data-label="Last seen">${when(session.lastSeen, now)}</td>
<td data-label="Expires">${until(session.expires)}</td>
<td><form method="post" action="${HERE}end/"><input type="hidden" name="session" value="${session.id}">
<button type="submit" class="${session.isCurrent ? 'secondary' : 'danger'}">Sign out</button></form></td>
</tr>`;
}

async function renderSessionsPage(deps: CoreDeps, browser: SignedInBrowser, notice: Notice | null): Promise<string> {
  const sessions = await listSessionsOfUser(deps, browser.user.id, browser.sessionId);
  const now = deps.now();
  const others = sessions.filter((s) => !s.isCurrent).length;
  const content = html`<h1>Sessions</h1>
<p class="muted">The browsers signed in to your account. Sign out any you do not recognise, then change your password.</p>
<div class="table-scroll"><table>
<thead><tr><th>Browser</th><th>IP address</th><th>Signed in</th><th>Last seen</th><th>Expires</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${sessions.map((s) => sessionRow(s, now))}</tbody></table></div>
${
  others > 0
    ? html`<form method="post" action="${HERE}end-others/"><button type="submit" class="danger">Sign out everywhere else (${others})</button></form>`
    : html`<p class="muted">You are signed in on this browser only.</p>`
}`;
  return userAreaPage({ title: 'Sessions', user: browser.user, section: 'sessions', notice, content });
}

/** /if/user/sessions/: the user's live sessions; ending one takes effect on its very next request. */
export const userSessionRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  const answer = async (reply: FastifyReply, browser: SignedInBrowser, status: number, message: string) =>
    sendHtml(reply, status, await renderSessionsPage(deps, browser, { kind: 'error', text: message }));

  app.get(HERE, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    return sendHtml(reply, 200, await renderSessionsPage(deps, browser, doneNotice(request.query)));
  });

  app.post(`${HERE}end/`, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    const form = parseForm(endForm, request.body);
    if (!form.ok) return answer(reply, browser, 400, form.message);
    try {
      await revokeSession(deps, contextOf(request, browser), form.data.session, { ownerId: browser.user.id, reason: 'revoked' });
    } catch (error) {
      if (error instanceof NotFound) return answer(reply, browser, 404, 'No such session: it may have ended already.');
      throw error;
    }
    if (form.data.session === hashOfSession(browser.sessionId)) {
      reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(request, 0));
      return reply.redirect(loginUrl(USER_AREA_PATHS.apps), 303);
    }
    return reply.redirect(`${HERE}?done=session_ended`, 303);
  });

  app.post(`${HERE}end-others/`, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    await revokeOtherSessions(deps, contextOf(request, browser), browser.user.id, browser.sessionId, 'revoked_others');
    return reply.redirect(`${HERE}?done=others_ended`, 303);
  });
};
