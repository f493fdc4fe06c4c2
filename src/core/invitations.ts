import { NotFound, ValidationError } from '../errors.ts';
import { isUniqueViolation } from '../store/db.ts';
import { findFlowById } from '../store/flows.ts';
import { findGroupById } from '../store/groups.ts';
import * as store from '../store/invitations.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';

/** What an admin sends (Authentik's fields); `flow` is a flow's pk, `group` a group's pk. */
export interface InvitationInput {
  name: string;
  expires: Date | null;
  fixed_data: Record<string, unknown>;
  single_use: boolean;
  flow: string | null;
  group: string | null;
}

const ref = (row: store.InvitationRow) => ({ model_name: 'invitation' as const, pk: row.id, name: row.name });

async function toFields(deps: Pick<CoreDeps, 'db' | 'now'>, input: InvitationInput): Promise<store.InvitationFields> {
  if (input.expires && input.expires.getTime() <= deps.now().getTime()) throw ValidationError.field('expires', 'Must be in the future.');
  const flow = input.flow ? await findFlowById(deps.db, input.flow) : null;
  if (input.flow && flow?.designation !== 'enrollment') throw ValidationError.field('flow', 'Must be an enrollment flow.');
  if (input.group && !(await findGroupById(deps.db, input.group))) throw ValidationError.field('group', 'No such group.');
  return {
    name: input.name,
    expires: input.expires,
    fixedData: input.fixed_data,
    singleUse: input.single_use,
    flowSlug: flow?.slug ?? null,
    groupId: input.group,
  };
}

async function translatingDuplicate<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isUniqueViolation(error)) throw ValidationError.field('name', 'An invitation with this name exists.');
    throw error;
  }
}

export async function createInvitation(deps: CoreDeps, ctx: RequestContext, input: InvitationInput): Promise<store.InvitationRow> {
  const fields = await toFields(deps, input);
  return translatingDuplicate(() =>
    deps.db.transaction(async (tx) => {
      const row = await store.insertInvitation(tx, fields, ctx.actor?.id ?? null);
      await recordEvent(tx, deps, ctx, 'model_created', { model: ref(row) });
      return row;
    }),
  );
}

export async function updateInvitation(deps: CoreDeps, ctx: RequestContext, id: string, input: InvitationInput): Promise<store.InvitationRow> {
  const fields = await toFields(deps, input);
  return translatingDuplicate(() =>
    deps.db.transaction(async (tx) => {
      const row = await store.updateInvitation(tx, id, fields);
      if (!row) throw new NotFound();
      await recordEvent(tx, deps, ctx, 'model_updated', { model: ref(row) });
      return row;
    }),
  );
}

export function deleteInvitation(deps: CoreDeps, ctx: RequestContext, id: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const row = await store.deleteInvitation(tx, id);
    if (!row) throw new NotFound();
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: ref(row) });
  });
}

/** Mails the invitation link; the send is recorded (email_sent) by the job, the request here. */
export async function sendInvitation(deps: CoreDeps, ctx: RequestContext, row: store.InvitationRow, to: string): Promise<void> {
  if (!deps.jobs?.canSendEmail) throw ValidationError.field('email', 'Email is not configured on this server (GATEHOUSE_EMAIL__HOST).');
  const jobs = deps.jobs;
  await deps.db.transaction(async (tx) => {
    await recordEvent(tx, deps, ctx, 'model_updated', { model: ref(row), context: { action: 'invitation_emailed', to } });
    await jobs.enqueue(
      'send_email',
      {
        template: 'invitation',
        to,
        data: { flowSlug: row.flow_slug ?? 'default-enrollment-flow', invitation: row.id, expires: row.expires ? new Date(row.expires).toISOString() : null },
      },
      { tx },
    );
  });
}
