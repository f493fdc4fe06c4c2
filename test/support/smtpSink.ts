import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** The raw message with quoted-printable soft breaks and escapes undone (good enough to find links). */
  text: string;
}

const decodeQuotedPrintable = (raw: string) =>
  raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/**
 * A real SMTP server on 127.0.0.1 that keeps what it receives. `holdNext` makes the next DATA
 * hang until released (to kill a sender mid-delivery).
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  port = 0;
  private server: SMTPServer;
  private waiters: Array<() => void> = [];
  private holds = 0;
  sessionsStarted = 0;
  /** Connections that ended in an error (a sender killed mid-message). */
  connectionErrors = 0;
  /** Messages received in full but never answered (see holdNext). */
  held = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onConnect: (_session, callback) => {
        this.sessionsStarted += 1;
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (this.holds > 0) {
            this.holds -= 1;
            this.held += 1;
            // Never answer: the sender waits until it is killed (or times out).
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            text: decodeQuotedPrintable(raw),
          });
          for (const wake of this.waiters.splice(0)) wake();
          callback();
        });
      },
    });
  }

  async start(): Promise<this> {
    // A sender killed mid-message (the tests do that on purpose) resets its connection; smtp-server
    // reports that as an 'error' event, which with no listener would throw in the test process.
    this.server.on('error', () => {
      this.connectionErrors += 1;
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  holdNext(): void {
    this.holds += 1;
  }

  /** Resolves with the first mail (from now on or already received) that matches. */
  async waitFor(match: (mail: ReceivedMail) => boolean, ms = 20_000): Promise<ReceivedMail> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.mails.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching mail in ${ms} ms (${this.mails.length} received)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export const linkIn = (mail: ReceivedMail, pattern = /https?:\/\/[^\s"<>]+flow_token=[A-Za-z0-9_-]+/): string => {
  const found = mail.text.match(pattern);
  if (!found) throw new Error(`no link in mail: ${mail.text.slice(0, 500)}`);
  return found[0];
};
