import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { CoreDeps } from '../core/context.ts';
import { SESSION_COOKIE } from '../core/sessions.ts';
import type { Challenge, ResponseErrors } from '../flows/challenge.ts';
import { cancelFlow } from '../flows/cancel.ts';
import { answerChallenge, currentChallenge } from '../flows/executor.ts';
import { SIGN_IN_REQUIRED } from '../flows/planner.ts';
import { isCsrfSafe } from './csrf.ts';
import { applySession, flowRequestOf, flowSlug } from './flowRequest.ts';
import { html, page, raw, type SafeHtml } from './html.ts';
import { securityHeaders } from './securityHeaders.ts';
import { loginUrl } from './user/guard.ts';

const params = z.object({ slug: flowSlug });
const cancelQuery = z.object({ flow: flowSlug.optional() });

/** The flow's cancel URL (Authentik's `/flows/-/cancel/`) naming this flow. */
const cancelLinkOf = (c: Challenge, slug: string) => `${c.flow_info?.cancel_url ?? '/flows/-/cancel/'}?flow=${slug}`;

function errorsFor(errors: ResponseErrors | undefined, field: string): SafeHtml {
  // Own keys only: a prompt's field may be named like an Object.prototype member (`constructor`).
  const list = errors && Object.hasOwn(errors, field) ? (errors[field] ?? []) : [];
  return html`${list.map((e) => html`<p class="error" role="alert" id="${field}-error">${e.string}</p>`)}`;
}

/** What each kind of authenticator setup is called on the "set up a second factor" choice. */
const SETUP_LABELS: Record<string, string> = {
  authenticator_totp: 'Authenticator app (a 6-digit code)',
  authenticator_webauthn: 'Passkey or security key',
  authenticator_static: 'Recovery codes only',
};

const submit = (label: string) => html`<button type="submit" class="full">${label}</button>`;

interface Field {
  field_key: string;
  label: string;
  type: string;
  required: boolean;
  placeholder: string;
  initial_value: string;
}

/** The form for each component; input names are the executor's field names. `cancel`: this flow's "start over" link. */
function renderChallenge(c: Challenge, cancel: string, signInReturn: string): SafeHtml {
  const e = c.response_errors;
  const title = html`<h1>${c.flow_info?.title ?? 'Gatehouse'}</h1>`;
  switch (c.component) {
    case 'ak-stage-identification':
      return html`${title}<form method="post">
<label for="uid_field">${(c.user_fields as string[]).includes('email') ? 'Username or email' : 'Username'}</label>
<input id="uid_field" name="uid_field" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
${errorsFor(e, 'uid_field')}
${
  c.password_fields === true
    ? html`<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
${errorsFor(e, 'password')}`
    : ''
}${errorsFor(e, 'non_field_errors')}
<label class="inline"><input type="checkbox" name="remember_me" value="on"> Stay signed in</label>
${submit('Log in')}
</form>${c.passwordless_url ? html`<p class="muted or">Or</p><a class="button secondary full" id="passwordless-link" href="${c.passwordless_url}">Use a passkey or security key</a>` : ''}
${c.recovery_url ? html`<p class="muted"><a href="${c.recovery_url}">Forgot username or password?</a></p>` : ''}
${c.enroll_url ? html`<p class="muted">Need an account? <a href="${c.enroll_url}">Sign up.</a></p>` : ''}`;
    case 'ak-stage-password':
      return html`${title}<form method="post">
<p class="muted">Signing in as <strong>${c.pending_user}</strong> · <a href="${cancel}">Not you?</a></p>
<input type="hidden" name="username" autocomplete="username" value="${c.pending_user}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
${errorsFor(e, 'password')}${errorsFor(e, 'non_field_errors')}
${submit('Continue')}
</form>`;
    case 'ak-stage-authenticator-validate': {
      const devices = c.device_challenges as Array<{ device_class: string; challenge: Record<string, unknown> }>;
      const choices = c.configuration_stages as Array<{ pk: string; name: string; meta_model_name: string }>;
      if (devices.length === 0) {
        return html`${title}<form method="post"><p>Set up a second factor to continue.</p>
${choices.map((s) => html`<label class="inline"><input type="radio" name="selected_stage" value="${s.pk}" required> ${SETUP_LABELS[s.meta_model_name] ?? s.name}</label>`)}
${errorsFor(e, 'selected_stage')}${submit('Continue')}</form>`;
      }
      const webauthn = devices.find((d) => d.device_class === 'webauthn');
      const hasCodes = devices.some((d) => d.device_class === 'totp' || d.device_class === 'static');
      // Nobody identified yet: the passkey itself says who is signing in (passwordless flow).
      const isPasswordless = c.pending_user === '' && webauthn !== undefined && !hasCodes;
      return html`${title}${isPasswordless ? html`<p>Sign in with a passkey on this device, or with a security key.</p>` : ''}
${
  webauthn
    ? html`<form method="post" id="webauthn-form" data-webauthn-get="${JSON.stringify(webauthn.challenge)}">
<input type="hidden" name="webauthn" id="webauthn-response">
<button type="button" class="full" id="webauthn-start">Use a passkey or security key</button>${errorsFor(e, 'webauthn')}</form>`
    : ''
}
${
  hasCodes
    ? html`<form method="post"><label for="code">Code from your authenticator app, or a recovery code</label>
<input id="code" name="code" type="text" inputmode="text" autocomplete="one-time-code" required ${webauthn ? '' : raw('autofocus')}>
${errorsFor(e, 'code')}${submit('Verify')}</form>`
    : ''
}
<p class="muted"><a href="${cancel}">Cancel and start over</a></p>`;
    }
    case 'ak-stage-authenticator-totp':
      return html`${title}<form method="post">
<p>Scan this code with your authenticator app (Google Authenticator, Bitwarden, Aegis, …), then enter the code it shows.</p>
<img class="qr" alt="QR code for your authenticator app" src="data:image/svg+xml;base64,${Buffer.from(String(c.qr_code_svg)).toString('base64')}">
<p class="muted">Cannot scan? Add this URI by hand:</p><p class="secret">${c.config_url}</p>
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus>
${errorsFor(e, 'code')}${submit('Confirm')}</form>`;
    case 'ak-stage-authenticator-static':
      return html`${title}<form method="post">
<p>Your recovery codes. Each works once, when you cannot use your other authenticators. Store them somewhere safe: they are shown only now.</p>
<ol class="codes">${(c.codes as string[]).map((code) => html`<li>${code}</li>`)}</ol>
${submit('I have saved these codes')}</form>`;
    case 'ak-stage-authenticator-webauthn':
      return html`${title}<form method="post" id="webauthn-form" data-webauthn-create="${JSON.stringify(c.registration)}">
<p>Register a passkey or security key for this account.</p>
<input type="hidden" name="response" id="webauthn-response">
<button type="button" class="full" id="webauthn-start">Register</button>${errorsFor(e, 'response')}</form>`;
    case 'ak-stage-consent':
      return html`${title}<form method="post"><p>${c.header_text}</p>
<input type="hidden" name="token" value="${c.token}">${errorsFor(e, 'token')}${submit('Continue')}</form>
<p class="muted"><a href="${cancel}">Cancel</a></p>`;
    case 'ak-stage-prompt':
      return html`${title}<form method="post">
${(c.fields as Field[]).map((f) =>
  f.type === 'hidden'
    ? html`<input type="hidden" name="${f.field_key}" value="${f.initial_value}">`
    : f.type === 'checkbox'
      ? html`<label class="inline"><input type="checkbox" name="${f.field_key}" value="on"> ${f.label}</label>${errorsFor(e, f.field_key)}`
      : html`<label for="${f.field_key}">${f.label}</label>
<input id="${f.field_key}" name="${f.field_key}" type="${f.type === 'username' ? 'text' : f.type}" value="${f.initial_value}" placeholder="${f.placeholder}" ${f.required ? raw('required') : ''} autocomplete="${f.type === 'password' ? 'new-password' : f.type === 'email' ? 'email' : 'off'}">${errorsFor(e, f.field_key)}`,
)}${errorsFor(e, 'non_field_errors')}${submit('Continue')}</form>`;
    case 'ak-stage-email':
      return html`${title}<form method="post"><p>If the account exists, an email with a link is on its way. Open the link to continue; it works once.</p>
${errorsFor(e, 'non_field_errors')}${submit('Send the email again')}</form>`;
    case 'ak-stage-access-denied':
      return c.error_message === SIGN_IN_REQUIRED
        ? html`${title}<p class="error" role="alert">${c.error_message}</p><p><a href="${loginUrl(signInReturn)}">Sign in</a></p>`
        : html`${title}<p class="error" role="alert">${c.error_message}</p><p><a href="?">Start again</a></p>`;
    default:
      return html`${title}<p class="error">This step cannot be shown in this page.</p>`;
  }
}

const needsScript = (c: Challenge) =>
  c.component === 'ak-stage-authenticator-webauthn' ||
  (c.component === 'ak-stage-authenticator-validate' &&
    (c.device_challenges as Array<{ device_class: string }>).some((d) => d.device_class === 'webauthn'));

/** /if/flow/<slug>/: the same flows as plain HTML forms (no JavaScript needed but for WebAuthn). */
export const flowPageRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get('/if/flow/:slug/', async (request, reply) => {
    securityHeaders(reply);
    const parsed = params.safeParse(request.params);
    if (!parsed.success) return reply.status(404).type('text/html; charset=utf-8').send(page('Not found', html`<h1>Not found</h1>`));
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const response = await currentChallenge(deps, parsed.data.slug, flowRequestOf(request), query);
    applySession(request, reply, response);
    const challenge = response.challenge;
    if (challenge.type === 'redirect') return reply.redirect(String(challenge.to), 302);
    return reply
      .type('text/html; charset=utf-8')
      .send(page(challenge.flow_info?.title ?? 'Gatehouse', renderChallenge(challenge, cancelLinkOf(challenge, parsed.data.slug), request.url), { scripts: needsScript(challenge) ? ['/static/webauthn.js'] : [] }));
  });

  // Drops this browser's progress in a flow ("Not you?") and starts it over. A GET, as in
  // Authentik: it only discards the caller's own unfinished flow state.
  app.get('/flows/-/cancel/', async (request, reply) => {
    securityHeaders(reply);
    const parsed = cancelQuery.safeParse(request.query);
    if (!parsed.success) return reply.status(400).type('text/html; charset=utf-8').send(page('Bad request', html`<h1>Bad request</h1>`));
    return reply.redirect(await cancelFlow(deps, request.cookies[SESSION_COOKIE] ?? null, parsed.data.flow ?? null), 302);
  });

  app.post('/if/flow/:slug/', async (request, reply) => {
    securityHeaders(reply);
    const parsed = params.safeParse(request.params);
    if (!parsed.success) return reply.status(404).send();
    if (!isCsrfSafe(request)) {
      return reply.status(403).type('text/html; charset=utf-8').send(page('Forbidden', html`<h1>Forbidden</h1><p>This form was sent from another site.</p>`));
    }
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const response = await answerChallenge(deps, parsed.data.slug, flowRequestOf(request), query, body);
    applySession(request, reply, response);
    const challenge = response.challenge;
    if (challenge.type === 'redirect') {
      // Not a 303: the flow's end often redirects on to another site (an app's OIDC callback,
      // a forward-auth host), and browsers hold a form's whole redirect chain to the page's CSP
      // form-action 'self'. A page that moves on by itself starts a new navigation instead.
      const to = String(challenge.to);
      return reply
        .type('text/html; charset=utf-8')
        .send(page('Signing you in', html`<h1>Signed in</h1><p><a href="${to}">Continue</a></p>`, { refreshTo: to }));
    }
    if (challenge.component === 'ak-stage-access-denied') {
      return reply.type('text/html; charset=utf-8').send(page('Gatehouse', renderChallenge(challenge, cancelLinkOf(challenge, parsed.data.slug), request.url)));
    }
    // Post/redirect/get: the next GET shows the next stage, or this one with its errors.
    return reply.redirect(request.url, 303);
  });
};
