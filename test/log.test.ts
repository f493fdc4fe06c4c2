import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, LOG_FLUSH_INTERVAL_MS, logDestination } from '../src/log.ts';
import { ROOT } from './support/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const linesOf = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; n?: number });

test('log lines are batched into few writes and still reach the output within the flush interval', async () => {
  const file = join(dir, 'batched.log');
  const destination = logDestination(file);
  const logger = createLogger('info', destination);
  await sleep(50); // the file opens asynchronously
  logger.info({ n: 1 }, 'one line');
  await sleep(LOG_FLUSH_INTERVAL_MS * 3);
  assert.deepEqual(linesOf(file).map((line) => line.msg), ['one line'], 'a lone line is written by the periodic flush');

  // sonic-boom writes through fs.write: count the writes of a burst of 200 request-sized lines.
  const write = fs.write;
  let writes = 0;
  fs.write = ((...args: Parameters<typeof write>) => {
    writes += 1;
    return (write as (...a: unknown[]) => void)(...args);
  }) as typeof write;
  try {
    for (let n = 0; n < 200; n += 1) {
      logger.info({ n, method: 'POST', url: '/api/v3/flows/executor/default-authentication-flow/', status: 200 }, 'request');
      await sleep(0); // lines arrive in separate ticks, as requests do
    }
    await sleep(LOG_FLUSH_INTERVAL_MS * 3);
  } finally {
    fs.write = write;
  }
  const burst = linesOf(file).filter((line) => line.msg === 'request');
  assert.deepEqual(burst.map((line) => line.n), Array.from({ length: 200 }, (_, n) => n), 'every line, in order');
  assert.ok(writes <= 20, `200 lines took ${writes} writes`);
});

test('what is still buffered is written when the process exits, also after a fatal error', () => {
  const file = join(dir, 'exit.log');
  const script = `
    import { createLogger, logDestination } from './src/log.ts';
    const destination = logDestination(${JSON.stringify(file)});
    destination.on('ready', () => {
      const logger = createLogger('info', destination);
      logger.info('before the crash');
      logger.fatal({ err: new Error('boom') }, 'fatal');
      process.exit(1);
    });`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.status, 1, child.stderr);
  assert.deepEqual(linesOf(file).map((line) => line.msg), ['before the crash', 'fatal']);
});
