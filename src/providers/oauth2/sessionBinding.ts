import type { CoreDeps } from '../../core/context.ts';
import { deleteGrantWithPayloads, findPayload, upsertPayload } from '../../store/oidcPayloads.ts';
import { findLiveUserSession } from '../../store/userSessions.ts';

/*
 * Tokens live as long as the Gatehouse browser session they came from (as Authentik binds its
 * tokens to the authenticated session). Why the grant carries the binding: every code, access
 * token and refresh token oidc-provider issues names its grantId, rotation keeps it, and our
 * interaction creates one new grant per authorization, so "grant → session" is exact without
 * touching token formats. The binding is stored as one more oidc_payloads row keyed by the grant
 * id, with grant_id set, so revoking the grant removes it too. findAccount (accounts.ts) checks
 * it whenever oidc-provider loads the account for a token — code exchange, refresh, userinfo —
 * and a session that was signed out or revoked ("sign out everywhere", admin) ends the grant:
 * its tokens are deleted at once, not when they expire.
 */
const MODEL = 'GatehouseSessionBinding';

export async function bindGrantToSession(deps: Pick<CoreDeps, 'db'>, grantId: string, sessionHash: string, ttlSeconds: number): Promise<void> {
  await upsertPayload(deps.db, {
    model: MODEL,
    id: grantId,
    payload: { sessionHash },
    grantId,
    userCode: null,
    uid: null,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000),
  });
}

/**
 * Whether tokens of this grant may still be used: true for grants with no browser session
 * (client credentials carry no grant at all); false, and the grant's tokens deleted, when the
 * session it was bound to is gone.
 */
export async function isGrantSessionLive(deps: Pick<CoreDeps, 'db'>, grantId: string): Promise<boolean> {
  const binding = await findPayload(deps.db, MODEL, 'id', grantId);
  const hash = binding?.payload.sessionHash;
  if (typeof hash !== 'string') return true;
  if (await findLiveUserSession(deps.db, Buffer.from(hash, 'hex'))) return true;
  await deleteGrantWithPayloads(deps.db, grantId);
  return false;
}
