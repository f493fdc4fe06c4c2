import { z } from 'zod';
import { SYSTEM_CONTEXT } from '../core/context.ts';
import { recordEvent } from '../core/events.ts';
import { issueFlowToken } from '../core/flowTokens.ts';
import { hasSignedInFromBefore } from '../store/signInHistory.ts';
import { findUserById } from '../store/users.ts';
import type { RenderedMail } from './mail/templates.ts';
import { accountConfirmationMail, backupFailedMail, invitationMail, mfaChangedMail, passwordResetMail, signInNoticeMail } from './mail/templates.ts';
import type { JobInfo, TaskHandler, WorkerServices } from './services.ts';

const flowMailPayload = z.object({
  userId: z.number().int().nullable(),
  flowSlug: z.string().regex(/^[-a-z0-9_]{1,100}$/),
  subject: z.string().max(200),
  validMinutes: z.number().int().min(1).max(7 * 24 * 60),
});

/**
 * A Message-ID fixed by the job, for mails whose content a retry repeats unchanged: delivery is at
 * least once (a worker killed after the SMTP server accepted the mail but before the job was
 * marked done sends it again), and mail systems that deduplicate by Message-ID then show it once.
 * Not for mails carrying a link made per attempt (a retry's link replaces the earlier one).
 */
const stableMessageId = (services: WorkerServices, job: JobInfo) => `<gatehouse-job-${job.id}@${new URL(services.baseUrl).hostname}>`;

/** Sends, then records `email_sent` (never the body: it may hold a link that logs someone in). */
async function deliver(services: WorkerServices, to: string, mail: RenderedMail, template: string, userId: number | null, messageId?: string) {
  if (!services.mailer) throw new Error('GATEHOUSE_EMAIL__HOST is not set');
  const sent = await services.mailer.send({ to, ...mail, ...(messageId ? { messageId } : {}) });
  const subject = userId === null ? undefined : await findUserById(services.deps.db, userId);
  await recordEvent(services.deps.db, services.deps, SYSTEM_CONTEXT, 'email_sent', {
    subject: subject ? { id: subject.id, username: subject.username, email: subject.email } : undefined,
    context: { to, subject: mail.subject, template, message_id: sent.messageId },
  });
  services.logger.info({ template, userId, messageId: sent.messageId }, 'email_sent');
}

/**
 * The token is made here, in the worker, so no usable link ever sits in the jobs table. A retry
 * makes a new token, which replaces the one of the failed attempt.
 */
function flowLinkTask(purpose: 'recovery' | 'verification'): TaskHandler {
  return async (payload, services) => {
    const job = flowMailPayload.parse(payload);
    const user = job.userId === null ? null : await findUserById(services.deps.db, job.userId);
    // Unknown names were queued too (the flow must not reveal them); they end here, unsent.
    if (!user?.email || (purpose === 'recovery' && !user.is_active)) return;
    const { key } = await issueFlowToken(services.deps, { userId: user.id, flowSlug: job.flowSlug, purpose, validMinutes: job.validMinutes });
    const url = `${services.baseUrl}/if/flow/${job.flowSlug}/?flow_token=${key}`;
    const name = user.name || user.username;
    const mail =
      purpose === 'recovery'
        ? passwordResetMail(services.brandTitle, job.subject, name, url, job.validMinutes)
        : accountConfirmationMail(services.brandTitle, job.subject, name, url, job.validMinutes);
    await deliver(services, user.email, mail, purpose === 'recovery' ? 'email/password_reset.html' : 'email/account_confirmation.html', user.id);
  };
}

const signInPayload = z.object({
  userId: z.number().int(),
  clientIp: z.string().max(100),
  userAgent: z.string().max(500),
  method: z.string().max(100),
  at: z.iso.datetime(),
  // Absent in jobs queued before it existed: those compare with `at`.
  loginEventId: z.uuid().optional(),
});

const sendSignInNotice: TaskHandler = async (payload, services, jobInfo) => {
  const job = signInPayload.parse(payload);
  const user = await findUserById(services.deps.db, job.userId);
  if (!user?.email || !services.mailer) return;
  const sighting = { username: user.username, clientIp: job.clientIp, userAgent: job.userAgent, before: new Date(job.at), loginEventId: job.loginEventId };
  if (await hasSignedInFromBefore(services.deps.db, sighting)) return;
  const mail = signInNoticeMail(services.brandTitle, user.name || user.username, job.at, job.clientIp, job.userAgent || 'unknown', `${services.baseUrl}/if/user/`);
  await deliver(services, user.email, mail, 'sign_in_notice', user.id, stableMessageId(services, jobInfo));
};

const genericPayload = z.discriminatedUnion('template', [
  z.object({
    template: z.literal('mfa_changed'),
    userId: z.number().int(),
    data: z.object({ action: z.enum(['added', 'removed']), deviceType: z.string().max(50), deviceName: z.string().max(200) }),
  }),
  z.object({
    template: z.literal('invitation'),
    to: z.email(),
    data: z.object({ flowSlug: z.string().regex(/^[-a-z0-9_]{1,100}$/), invitation: z.uuid(), expires: z.string().nullable() }),
  }),
  z.object({ template: z.literal('backup_failed'), to: z.email(), data: z.object({ file: z.string().max(500), problems: z.array(z.string().max(1000)) }) }),
]);

const sendEmail: TaskHandler = async (payload, services, jobInfo) => {
  const job = genericPayload.parse(payload);
  if (job.template === 'backup_failed') {
    await deliver(services, job.to, backupFailedMail(services.brandTitle, job.data.file, job.data.problems), job.template, null, stableMessageId(services, jobInfo));
    return;
  }
  if (job.template === 'invitation') {
    const url = `${services.baseUrl}/if/flow/${job.data.flowSlug}/?itoken=${job.data.invitation}`;
    await deliver(services, job.to, invitationMail(services.brandTitle, url, job.data.expires), job.template, null, stableMessageId(services, jobInfo));
    return;
  }
  const user = await findUserById(services.deps.db, job.userId);
  if (!user?.email) return;
  const device = `${job.data.deviceName} (${job.data.deviceType})`;
  const mail = mfaChangedMail(services.brandTitle, user.name || user.username, job.data.action, device, `${services.baseUrl}/if/user/`);
  await deliver(services, user.email, mail, job.template, user.id, stableMessageId(services, jobInfo));
};

export const MAIL_TASKS = {
  send_email: sendEmail,
  send_recovery_email: flowLinkTask('recovery'),
  send_verification_email: flowLinkTask('verification'),
  send_sign_in_notice: sendSignInNotice,
} satisfies Record<string, TaskHandler>;
