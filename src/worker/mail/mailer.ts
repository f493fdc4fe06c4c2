import nodemailer from 'nodemailer';
import type { Config } from '../../config/schema.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<…@…>`; by default nodemailer makes a random one. */
  messageId?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<{ messageId: string }>;
  close(): void;
}

/**
 * SMTP through nodemailer, configured as Authentik's AUTHENTIK_EMAIL__*: USE_TLS is STARTTLS
 * (required when set, and not attempted when unset, as Authentik does), USE_SSL is TLS from
 * the first byte. Null without a host: then no mail job is ever queued.
 */
export function createMailer(email: Config['email']): Mailer | null {
  if (!email.host) return null;
  const timeoutMs = email.timeout * 1000;
  const transport = nodemailer.createTransport({
    host: email.host,
    port: email.port,
    secure: email.use_ssl,
    requireTLS: email.use_tls,
    ignoreTLS: !email.use_tls && !email.use_ssl,
    auth: email.username ? { user: email.username, pass: email.password } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async send(message) {
      const info = await transport.sendMail({ from: email.from, ...message });
      return { messageId: String(info.messageId ?? '') };
    },
    close: () => transport.close(),
  };
}
