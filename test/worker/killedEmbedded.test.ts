// `gatehouse all` on embedded storage, killed with SIGKILL while its in-process runner delivers a
// recovery mail: after a restart on the same data directory the job runs again, and the mail
// arrives once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, type RunningGatehouse, startGatehouse, waitFor } from '../support/processes.ts';
import { SmtpSink } from '../support/smtpSink.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'gh-killed-'));
const running: RunningGatehouse[] = [];
let sink: SmtpSink;

after(async () => {
  for (const run of running) await run.stop();
  await sink?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${running.map((r) => r.output().slice(-1500)).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the embedded runner loses no job to SIGKILL: the mail arrives once after a restart', async () => {
  sink = await new SmtpSink().start();
  const port = await freePort();
  const env = {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}`,
    GATEHOUSE_BOOTSTRAP_PASSWORD: 'Embedded-Admin-1!',
    GATEHOUSE_BOOTSTRAP_EMAIL: 'admin@example.com',
    GATEHOUSE_EMAIL__HOST: '127.0.0.1',
    GATEHOUSE_EMAIL__PORT: String(sink.port),
    GATEHOUSE_EMAIL__TIMEOUT: '120',
    GATEHOUSE_BACKUP__SCHEDULE: 'off',
  };
  const first = startGatehouse(['all'], env, port);
  running.push(first);
  await waitFor(first, '/-/health/ready/');

  sink.holdNext();
  const url = `http://127.0.0.1:${port}/api/v3/flows/executor/default-recovery-flow/`;
  const start = await fetch(url);
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const answer = await fetch(url, {
    method: 'POST',
    headers: { cookie, origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' },
    body: JSON.stringify({ uid_field: 'akadmin' }),
  });
  assert.equal((await answer.json()).component, 'ak-stage-email');
  await until('the first delivery to reach the sink', () => sink.held === 1, 30_000);
  first.process.kill('SIGKILL');
  await first.exited;

  // The data-dir lock of the killed process goes stale after 15 s; until then a start refuses.
  const deadline = Date.now() + 40_000;
  let second: RunningGatehouse;
  for (;;) {
    second = startGatehouse(['all'], env, port);
    running.push(second);
    const outcome = await Promise.race([second.exited.then(() => 'exited'), waitFor(second, '/-/health/ready/', undefined, 30_000).then(() => 'ready', () => 'exited')]);
    if (outcome === 'ready') break;
    assert.ok(Date.now() < deadline, `restart kept failing: ${second.output()}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  await until('the mail to be delivered after the restart', () => sink.mails.length >= 1, 30_000);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(sink.mails.length, 1, 'delivered exactly once');
  assert.match(sink.mails[0]?.text ?? '', /default-recovery-flow\/\?flow_token=/);
  assert.match(second.output(), /jobs_of_dead_process_released/);
});
