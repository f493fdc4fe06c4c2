import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { CoreDeps } from '../../core/context.ts';
import { changeOwnPassword } from '../../core/passwordChange.ts';
import type { UserRow } from '../../store/users.ts';
import { html } from '../html.ts';
import { contextOf, enterUserArea, parseForm } from './guard.ts';
import { doneNotice, type Notice, sendHtml, USER_AREA_PATHS, userAreaPage } from './layout.ts';

const HERE = USER_AREA_PATHS.password;
export const MIN_PASSWORD_LENGTH = 8;

const passwordForm = z
  .object({
    current_password: z.string({ error: 'Enter your current password.' }).min(1, 'Enter your current password.').max(1024),
    new_password: z
      .string({ error: 'Enter a new password.' })
      .min(MIN_PASSWORD_LENGTH, `The new password needs at least ${MIN_PASSWORD_LENGTH} characters.`)
      .max(1024, 'The new password is too long.'),
    new_password_repeat: z.string({ error: 'Repeat the new password.' }).max(1024),
    // An unticked checkbox is simply absent from the form.
    sign_out_others: z.literal('on', { error: '"Sign out my other sessions" is either ticked (on) or absent.' }).optional(),
  })
  .refine((f) => f.new_password === f.new_password_repeat, { path: ['new_password_repeat'], message: 'The two new passwords differ.' });

type FieldErrors = Record<string, string>;

function renderPasswordPage(user: UserRow, notice: Notice | null, errors: FieldErrors = {}, signOutOthers = true): string {
  const error = (field: string) => (errors[field] ? html`<p class="error" role="alert" id="${field}-error">${errors[field]}</p>` : '');
  const content = html`<h1>Change password</h1>
<form method="post" action="${HERE}" class="narrow">
<input type="hidden" name="username" autocomplete="username" value="${user.username}">
<label for="current_password">Current password</label>
<input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
${error('current_password')}
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required aria-describedby="new_password-hint">
<p class="muted" id="new_password-hint">At least ${MIN_PASSWORD_LENGTH} characters. A long passphrase is easier to remember and harder to guess.</p>
${error('new_password')}
<label for="new_password_repeat">Repeat the new password</label>
<input id="new_password_repeat" name="new_password_repeat" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required>
${error('new_password_repeat')}
<label class="inline"><input type="checkbox" name="sign_out_others" value="on"${signOutOthers ? html` checked` : ''}> Sign out my other sessions</label>
<button type="submit">Change password</button>
</form>`;
  return userAreaPage({ title: 'Change password', user, section: 'password', notice, content });
}

/** /if/user/password/: the current password (throttled like a login), then the new one twice. */
export const userPasswordRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get(HERE, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    return sendHtml(reply, 200, renderPasswordPage(browser.user, doneNotice(request.query)));
  });

  app.post(HERE, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    const form = parseForm(passwordForm, request.body);
    const wantsSignOut = (request.body as { sign_out_others?: unknown } | undefined)?.sign_out_others === 'on';
    if (!form.ok) {
      // Each message sits under its own field; one without a field of its own becomes the notice.
      const fieldless = Object.keys(form.fields).some((k) => !['current_password', 'new_password', 'new_password_repeat'].includes(k));
      const notice: Notice | null = fieldless ? { kind: 'error', text: form.message } : null;
      return sendHtml(reply, 400, renderPasswordPage(browser.user, notice, form.fields, wantsSignOut));
    }
    const outcome = await changeOwnPassword(deps, contextOf(request, browser), {
      userId: browser.user.id,
      currentPassword: form.data.current_password,
      newPassword: form.data.new_password,
      signOutOthers: form.data.sign_out_others === 'on',
      keepSessionId: browser.sessionId,
    });
    switch (outcome.kind) {
      case 'locked':
        return sendHtml(reply, 429, renderPasswordPage(browser.user, { kind: 'error', text: 'Too many wrong passwords. Try again later.' }, {}, wantsSignOut));
      case 'wrong_current': {
        const errors = { current_password: 'The current password is wrong.' };
        return sendHtml(reply, 400, renderPasswordPage(browser.user, null, errors, wantsSignOut));
      }
      case 'changed':
        return reply.redirect(`${HERE}?done=${form.data.sign_out_others ? 'password_changed_signed_out' : 'password_changed'}`, 303);
    }
  });
};
