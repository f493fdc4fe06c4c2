import type { FastifyReply } from 'fastify';
import { html, page } from '../../web/html.ts';
import { securityHeaders } from '../../web/securityHeaders.ts';

// The browser-facing pages of the SAML endpoints: errors, "signed out", and the POST binding's
// self-submitting form.

export function samlErrorPage(reply: FastifyReply, status: number, title: string, message: string) {
  return securityHeaders(reply)
    .status(status)
    .type('text/html; charset=utf-8')
    .send(page(title, html`<main class="error"><h1>${title}</h1><p>${message}</p></main>`));
}

/**
 * HTTP-POST binding (SAML Bindings §3.5.4): a form the browser submits to the SP. The form
 * targets another origin, so this page's CSP allows exactly that origin in form-action; the
 * submit comes from a static script (no inline script), and without JS the button does it.
 */
export function postBindingPage(reply: FastifyReply, url: string, fields: Record<string, string>) {
  const target = new URL(url).origin;
  securityHeaders(reply).header(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action ${target}; frame-ancestors 'none'`,
  );
  const inputs = Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  const body = html`<form id="saml-post" method="post" action="${url}">
${inputs}
<p>Sending you back to the application…</p>
<noscript><button type="submit">Continue</button></noscript>
</form>`;
  return reply.status(200).type('text/html; charset=utf-8').send(page('Continue', body, { scripts: ['/static/saml-post.js'] }));
}
