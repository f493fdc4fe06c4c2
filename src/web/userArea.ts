import type { FastifyPluginAsync } from 'fastify';
import type { CoreDeps } from '../core/context.ts';
import { findSignedInBrowser } from './browserSession.ts';
import { securityHeaders } from './securityHeaders.ts';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/**
 * /if/user/: who is signed in. The app library, MFA devices and session list arrive with the
 * flows work; until then this page confirms a login (recovery link) and links to the API.
 */
export const userAreaRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get('/if/user/', async (request, reply) => {
    securityHeaders(reply);
    const user = (await findSignedInBrowser(deps, request))?.user;
    if (!user) return reply.redirect(`/if/flow/default-authentication-flow/?next=${encodeURIComponent('/if/user/')}`, 302);
    const name = escapeHtml(user.name || user.username);
    return reply.type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Gatehouse</title></head>
<body><main><h1>Gatehouse</h1><p>Signed in as <strong>${name}</strong> (${escapeHtml(user.username)}).</p>
${user.is_superuser ? '<p>The API is at <a href="/api/v3/schema/">/api/v3/</a>.</p>' : ''}</main></body></html>`);
  });
};
