import type { CoreDeps } from '../core/context.ts';
import type { Queryable } from '../store/db.ts';
import type { UserRow } from '../store/users.ts';

/**
 * On the login path: one enqueue and nothing else. Whether the sign-in is new (never seen from
 * this address and browser) is decided by the job, off the hot path, against the sign-ins
 * recorded before this one's login event (`loginEventId`: the database's clock on both sides,
 * so a server clock ahead of it cannot make this very sign-in look like an earlier one).
 */
export async function queueSignInNotice(
  deps: Pick<CoreDeps, 'jobs' | 'now'>,
  user: Pick<UserRow, 'id' | 'email'>,
  request: { clientIp: string; userAgent: string },
  method: string,
  loginEventId: string,
): Promise<void> {
  if (!deps.jobs?.sendsSignInNotices || !user.email) return;
  await deps.jobs.enqueue(
    'send_sign_in_notice',
    { userId: user.id, clientIp: request.clientIp, userAgent: request.userAgent.slice(0, 500), method, at: deps.now().toISOString(), loginEventId },
    { maxAttempts: 5 },
  );
}

/** After an authenticator was added or removed; pass the change's transaction, so a rollback sends nothing. */
export async function queueMfaNotice(
  deps: Pick<CoreDeps, 'jobs'>,
  user: Pick<UserRow, 'id' | 'email'>,
  change: { action: 'added' | 'removed'; deviceType: string; deviceName: string },
  tx?: Queryable,
): Promise<void> {
  if (!deps.jobs?.canSendEmail || !user.email) return;
  await deps.jobs.enqueue('send_email', { userId: user.id, template: 'mfa_changed', data: change }, { maxAttempts: 10, ...(tx ? { tx } : {}) });
}
