import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { CoreDeps, RequestContext } from '../../core/context.ts';
import { requestContext, toActor } from '../authentication.ts';
import { findSignedInBrowser, type SignedInBrowser } from '../browserSession.ts';
import { isCsrfSafe } from '../csrf.ts';
import { html, page } from '../html.ts';
import { securityHeaders } from '../securityHeaders.ts';
import { sendHtml } from './layout.ts';

// What every user-area handler does first: headers, CSRF (for POST), and who is signed in.

export const loginUrl = (returnTo: string) => `/if/flow/default-authentication-flow/?next=${encodeURIComponent(returnTo)}`;

/**
 * The signed-in browser, or null after answering with a redirect to the login (which comes back
 * to `returnTo`). A POST from another site is refused with 403 before anything else is looked at.
 */
export async function enterUserArea(
  deps: CoreDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  returnTo: string,
): Promise<SignedInBrowser | null> {
  securityHeaders(reply);
  if (!isCsrfSafe(request)) {
    sendHtml(reply, 403, page('Forbidden', html`<h1>Forbidden</h1><p>This form was sent from another site, so it was ignored.</p>`));
    return null;
  }
  const browser = await findSignedInBrowser(deps, request);
  if (!browser) {
    reply.redirect(loginUrl(returnTo), request.method === 'GET' || request.method === 'HEAD' ? 302 : 303);
    return null;
  }
  return browser;
}

/** The audit context of a user acting on their own account from this browser. */
export function contextOf(request: FastifyRequest, browser: SignedInBrowser): RequestContext {
  return requestContext(request, toActor(browser.user));
}

export type FormResult<T> = { ok: true; data: T } | { ok: false; message: string; fields: Record<string, string> };

/** Validates a form body; on failure, the first message per field (and one for the whole form). */
export function parseForm<S extends z.ZodType>(schema: S, body: unknown): FormResult<z.infer<S>> {
  const parsed = schema.safeParse(typeof body === 'object' && body !== null ? body : {});
  if (parsed.success) return { ok: true, data: parsed.data };
  const fields: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const key = String(issue.path[0] ?? 'form');
    fields[key] ??= issue.message;
  }
  return { ok: false, message: Object.values(fields)[0] ?? 'The form is incomplete.', fields };
}
