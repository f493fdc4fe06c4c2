import type { InteractionDetails } from 'oidc-provider';
import type { BrowserSession } from '../../core/sessions.ts';

/**
 * Whether the app asked for a newer login than this browser's (OIDC Core §3.1.2.1):
 * `prompt=login` wants one made after the authorization request arrived, `max_age` one no older
 * than that many seconds. Gatehouse's session records when its login happened (a new session per
 * login), so coming back from the login flow satisfies both and there is no loop.
 */
export function needsFreshLogin(details: InteractionDetails, session: BrowserSession, nowMs: number): boolean {
  if (details.prompt.name !== 'login') return false;
  const loggedInAt = Date.parse(session.createdAt);
  const reasons = details.prompt.reasons;
  const requestedAt = Number((details as { iat?: number }).iat ?? 0) * 1000;
  if (reasons.includes('login_prompt') && loggedInAt < requestedAt) return true;
  const maxAge = Number(details.params.max_age);
  return reasons.includes('max_age') && Number.isFinite(maxAge) && loggedInAt < nowMs - maxAge * 1000;
}
