import { currentBrand } from '../../web/brand.ts';
import { html, page, raw } from '../../web/html.ts';

// The device flow's pages (RFC 8628: enter the code, confirm it, done) in Gatehouse's own look
// and with the headers of every other page (CSP without inline style or script, no framing),
// instead of oidc-provider's defaults (inline styles, a web font from Google). `form` is the
// library's own <form> (the code input and its anti-CSRF token), placed as given.

interface KoaContext {
  body: unknown;
  status: number;
  type: string;
  set(name: string, value: string): void;
  oidc: { client?: { clientName?: string; clientId: string } };
}

// The library's input carries an inline onfocus handler, which the CSP refuses (and the console
// would report): dropped, the field keeps `autofocus`.
const withoutInlineHandlers = (form: string) => form.replace(/\son[a-z]+="[^"]*"/gi, '');

function respond(ctx: KoaContext, title: string, body: ReturnType<typeof html>): void {
  const logoOrigin = currentBrand().logoOrigin;
  ctx.set(
    'Content-Security-Policy',
    `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:${logoOrigin ? ` ${logoOrigin}` : ''}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  );
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = page(title, body);
}

const appName = (ctx: KoaContext) => ctx.oidc.client?.clientName || ctx.oidc.client?.clientId || 'the device';

export async function userCodeInputSource(ctx: KoaContext, form: string, _out: unknown, err?: { name?: string; userCode?: unknown }) {
  const isWrongCode = Boolean(err && (err.userCode || err.name === 'NoCodeError'));
  // oidc-provider answers a wrong code with 200; 400 says what it is, and lets the per-address
  // limit on refusals (rate_limits.device_code) count code guessing.
  if (isWrongCode) ctx.status = 400;
  const message =
    isWrongCode
      ? html`<p class="error" role="alert">That code is not right, or it has expired. Check the code on your device and try again.</p>`
      : err
        ? html`<p class="error" role="alert">This sign-in could not be completed. Start again on your device.</p>`
        : html`<p>Enter the code shown on your device.</p>`;
  respond(ctx, 'Connect a device', html`<h1>Connect a device</h1>${message}${raw(withoutInlineHandlers(form))}<button type="submit" form="op.deviceInputForm">Continue</button>`);
}

export async function userCodeConfirmSource(ctx: KoaContext, form: string, _client: unknown, _deviceInfo: unknown, userCode: string) {
  respond(
    ctx,
    'Confirm the device',
    html`<h1>Confirm the device</h1>
<p><strong>${appName(ctx)}</strong> asks to sign in as you. Your device should show this code:</p>
<p class="code"><code>${userCode}</code></p>
<p>If you did not start this, or the code differs, choose Abort.</p>
${raw(withoutInlineHandlers(form))}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" value="yes" name="abort" class="secondary">Abort</button>`,
  );
}

export async function successSource(ctx: KoaContext) {
  respond(ctx, 'Device connected', html`<h1>Device connected</h1><p>You are signed in to ${appName(ctx)} on your device. You can close this page.</p>`);
}
