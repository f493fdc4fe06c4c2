import type { Queryable } from '../store/db.ts';
import { type EventRow, insertEvent, type NewEvent } from '../store/events.ts';
import type { CoreDeps, RequestContext } from './context.ts';

/** Authentik's event actions; the list grows with the features that emit them. */
export type EventAction =
  | 'login'
  | 'login_failed'
  | 'logout'
  | 'authorize_application'
  | 'model_created'
  | 'model_updated'
  | 'model_deleted'
  | 'password_set'
  | 'secret_view'
  | 'secret_rotate'
  | 'suspicious_request'
  | 'access_denied'
  | 'recovery_link_created'
  | 'configuration_error'
  | 'system_task_execution'
  | 'email_sent';

export interface ModelRef {
  model_name:
    | 'user'
    | 'group'
    | 'role'
    | 'token'
    | 'totp_device'
    | 'static_device'
    | 'webauthn_device'
    | 'flow'
    | 'stage'
    | 'flow_stage_binding'
    | 'policy'
    | 'policy_binding'
    | 'application'
    | 'oauth2_provider'
    | 'proxy_provider'
    | 'saml_provider'
    | 'ldap_provider'
    | 'outpost'
    | 'invitation'
    | 'blueprint_instance';
  pk: string | number;
  name: string;
  /** Authentik's app label of the model, when not authentik_core. */
  app?: string;
}

export interface EventDetails {
  app?: string;
  model?: ModelRef;
  /** Free context; it must never hold a secret (password, key, cookie). */
  context?: Record<string, unknown>;
  /** For events about a user who is not the actor (login_failed for a username, …). */
  subject?: { id: number | null; username: string; email?: string };
}

/** One audit event as it will be written: who (the subject, else the actor), what, the request. */
export function describeEvent(
  deps: Pick<CoreDeps, 'eventRetentionDays'>,
  ctx: RequestContext,
  action: EventAction,
  details: EventDetails = {},
): NewEvent {
  const who = details.subject ?? (ctx.actor ? { id: ctx.actor.id, username: ctx.actor.username, email: ctx.actor.email } : null);
  const context: Record<string, unknown> = { ...details.context };
  if (details.model) context.model = { app: 'authentik_core', ...details.model };
  if (ctx.http) {
    context.http_request = {
      method: ctx.http.method,
      path: ctx.http.path,
      request_id: ctx.http.requestId,
      user_agent: ctx.http.userAgent ?? '',
    };
  }
  return {
    action,
    userId: who?.id ?? null,
    username: who?.username ?? '',
    userEmail: who?.email ?? '',
    app: details.app ?? 'gatehouse.core',
    clientIp: ctx.clientIp,
    context,
    retentionDays: deps.eventRetentionDays,
  };
}

/**
 * Writes one audit event. Pass the transaction of the change it records (`tx`), so that the
 * change and its event commit together or not at all.
 */
export function recordEvent(
  tx: Queryable,
  deps: Pick<CoreDeps, 'eventRetentionDays'>,
  ctx: RequestContext,
  action: EventAction,
  details: EventDetails = {},
): Promise<EventRow> {
  return insertEvent(tx, describeEvent(deps, ctx, action, details));
}
