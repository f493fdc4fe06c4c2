import type { FastifyReply } from 'fastify';
import { html, page, type SafeHtml } from '../../web/html.ts';
import { securityHeaders } from '../../web/securityHeaders.ts';

/** A short page for the browser (denied, misconfigured, signed out): our headers, never cached. */
export function messagePage(reply: FastifyReply, status: number, title: string, message: string | SafeHtml): FastifyReply {
  return securityHeaders(reply)
    .status(status)
    .type('text/html; charset=utf-8')
    .send(page(title, html`<main class="error"><h1>${title}</h1><p>${message}</p></main>`));
}

export const deniedPage = (reply: FastifyReply, appName: string | null) =>
  messagePage(reply, 403, 'Permission denied', `You are not allowed to access ${appName ?? 'this application'}. Ask an administrator for access.`);

/**
 * The host is not any proxy provider's: say which host arrived and what to set, rather than let
 * the request through (goauthentik/authentik#2079 — "no app for hostname").
 */
export const unknownHostPage = (reply: FastifyReply, host: string) =>
  messagePage(
    reply,
    400,
    'No application for this host',
    `No forward auth provider answers for "${host}". Set a proxy provider's external host to this address (forward_single), or a cookie domain containing it (forward_domain), and make sure the proxy sends the original Host or X-Forwarded-Host.`,
  );
