import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser } from '../../src/core/users.ts';
import { openGraphileQueue, SILENT_WORKER_SECONDS } from '../../src/worker/graphileQueue.ts';
import { createEmptyDatabase, hasPostgres, TEST_SECRET_KEY, type TestDatabase } from '../support/backends.ts';
import { type RunningGatehouse, startGatehouse } from '../support/processes.ts';
import { SmtpSink } from '../support/smtpSink.ts';

// Real `gatehouse worker` processes on real Postgres: one is killed with SIGKILL in the middle of
// delivering a mail; two others take over; the mail arrives once and the queue ends empty.

let database: TestDatabase;
let sink: SmtpSink;
const workers: RunningGatehouse[] = [];

async function until(what: string, check: () => boolean | Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startWorker(): RunningGatehouse {
  const s = database.settings as NonNullable<TestDatabase['settings']>;
  const worker = startGatehouse(['worker'], {
    GATEHOUSE_POSTGRESQL__HOST: s.host,
    GATEHOUSE_POSTGRESQL__PORT: String(s.port),
    GATEHOUSE_POSTGRESQL__USER: s.user,
    GATEHOUSE_POSTGRESQL__NAME: s.database,
    GATEHOUSE_SECRET_KEY: TEST_SECRET_KEY,
    GATEHOUSE_EMAIL__HOST: '127.0.0.1',
    GATEHOUSE_EMAIL__PORT: String(sink.port),
    // The held delivery must outlast the kill, not time out first.
    GATEHOUSE_EMAIL__TIMEOUT: '120',
    GATEHOUSE_BACKUP__SCHEDULE: 'off',
    GATEHOUSE_LOG_LEVEL: 'debug',
  });
  workers.push(worker);
  return worker;
}

before(async () => {
  if (!hasPostgres) return;
  database = await createEmptyDatabase();
  sink = await new SmtpSink().start();
});
after(async () => {
  if (!hasPostgres) return;
  for (const worker of workers) await worker.stop();
  await sink.stop();
  await database.drop();
});

test('a worker killed mid-job loses nothing: another runs the job, the mail arrives once', { skip: !hasPostgres && 'needs Postgres' }, async () => {
  const first = startWorker();
  await until('the first worker to start', () => first.output().includes('worker_started'), 60_000);
  const user = await createUser({ db: database.db, eventRetentionDays: 365 } as never, SYSTEM_CONTEXT, {
    username: 'dave',
    name: 'Dave',
    email: 'dave@example.com',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  sink.holdNext();
  const queue = openGraphileQueue(database.db, { canSendEmail: true, sendsSignInNotices: false });
  await queue.enqueue('send_email', { template: 'mfa_changed', userId: user.id, data: { action: 'added', deviceType: 'totp', deviceName: 'phone' } });
  await until('the first delivery to reach the sink', () => sink.held === 1, 30_000);

  first.process.kill('SIGKILL');
  await first.exited;
  const locked = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL');
  assert.equal(locked.rows[0]?.n, 1, 'the job is still locked by the dead worker');

  // Two workers at once take over; only one may run the job.
  startWorker();
  startWorker();
  await until('the mail to be delivered again', () => sink.mails.length >= 1, (SILENT_WORKER_SECONDS + 30) * 1000);
  await until('the queue to be empty', async () => (await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs')).rows[0]?.n === 0, 10_000);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(sink.mails.length, 1, 'delivered exactly once');
  assert.deepEqual(sink.mails[0]?.to, ['dave@example.com']);
  const sent = await database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE action = 'email_sent'`);
  assert.equal(sent.rows[0]?.n, 1, 'one email_sent event');
});
