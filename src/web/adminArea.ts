import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { CoreDeps } from '../core/context.ts';
import { findSignedInBrowser } from './browserSession.ts';
import { html, page } from './html.ts';
import { securityHeaders } from './securityHeaders.ts';
import { loginUrl } from './user/guard.ts';
import { sendHtml } from './user/layout.ts';

// /if/admin/: a server-rendered shell (who is signed in, the sections) whose views are small ES
// modules under /static/admin/ that talk to the public REST API with the session cookie. No build
// step, no framework, nothing inline: the strict CSP of every page applies unchanged.

export const ADMIN_PATH = '/if/admin/';
const ASSETS = new URL('./static/admin/', import.meta.url);
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

const SECTIONS = [
  ['dashboard', 'Dashboard'],
  ['applications', 'Applications'],
  ['outposts', 'Outposts'],
  ['users', 'Users'],
  ['groups', 'Groups'],
  ['events', 'Events'],
  ['flows', 'Flows & stages'],
  ['tokens', 'Tokens'],
  ['system', 'System'],
] as const;

function shell(username: string, publicUrl: string): string {
  return page(
    'Admin · Gatehouse',
    html`<div class="admin" id="admin" data-public-url="${publicUrl}">
<a class="skip-link" href="#view">Skip to content</a>
<header class="admin-header">
<a class="brand" href="${ADMIN_PATH}">Gatehouse admin</a>
<span class="muted">Signed in as <strong id="whoami">${username}</strong> · <a href="/if/user/">User area</a> · <a href="/if/flow/default-invalidation-flow/">Sign out</a></span>
</header>
<nav class="admin-nav" aria-label="Administration">
${SECTIONS.map(([id, label]) => html`<a href="#/${id}" data-section="${id}">${label}</a>`)}
</nav>
<p id="status" class="notice" role="status" aria-live="polite" hidden></p>
<section id="view" tabindex="-1" aria-label="Content"><p class="muted">Loading…</p></section>
<noscript><p class="notice error">The admin pages need JavaScript. The same things can be done with the REST API at /api/v3/.</p></noscript>
</div>`,
    { modules: ['/static/admin/main.js'], styles: ['/static/admin/admin.css'] },
  );
}

export const adminAreaRoutes: FastifyPluginAsync<{ deps: CoreDeps; externalUrl?: string }> = async (app, { deps, externalUrl }) => {
  app.get(ADMIN_PATH, async (request, reply) => {
    securityHeaders(reply);
    const browser = await findSignedInBrowser(deps, request);
    if (!browser) return reply.redirect(loginUrl(ADMIN_PATH), 302);
    if (!browser.user.is_superuser) {
      return sendHtml(
        reply,
        403,
        page('Forbidden', html`<h1>Forbidden</h1><p>The admin pages are for administrators. <a href="/if/user/">Back to your applications</a>.</p>`),
      );
    }
    // What apps and outposts must use is GATEHOUSE_EXTERNAL_URL when set, not the address the
    // admin happened to open these pages by; the views build their snippets from it.
    return sendHtml(reply, 200, shell(browser.user.username, externalUrl?.replace(/\/+$/, '') ?? ''));
  });

  // The shell's modules and styles, read once at start like /static/.
  for (const name of readdirSync(ASSETS)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (!type) continue;
    const body = readFileSync(new URL(name, ASSETS));
    app.get(`/static/admin/${name}`, async (_request, reply) =>
      reply.type(type).header('Cache-Control', 'no-cache').header('X-Content-Type-Options', 'nosniff').send(body),
    );
  }
};
