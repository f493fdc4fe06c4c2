import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { bootstrapAdmin } from '../../src/core/bootstrap.ts';
import { buildApp } from '../../src/web/app.ts';
import { openJobQueue, startJobs } from '../../src/worker/start.ts';
import { ADMIN_PASSWORD, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { createTestCore, TEST_SECRET_KEY } from '../support/backends.ts';
import { SmtpSink } from '../support/smtpSink.ts';

export interface WorkerTestApp extends TestApp {
  config: Config;
  sink: SmtpSink;
  dataDir: string;
  /** Stops the in-process job runner (the app keeps enqueuing). */
  stopJobs(): Promise<void>;
}

/**
 * The app with a job queue (graphile-worker on Postgres, the embedded runner on PGlite) and its
 * runner in this process, mailing a real SMTP sink.
 */
export async function createWorkerTestApp(env: Record<string, string> = {}, options: { runJobs?: boolean } = {}): Promise<WorkerTestApp> {
  const sink = await new SmtpSink().start();
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-worker-'));
  const config = loadConfig(
    {
      GATEHOUSE_EMAIL__HOST: '127.0.0.1',
      GATEHOUSE_EMAIL__PORT: String(sink.port),
      GATEHOUSE_EMAIL__FROM: 'gatehouse@example.com',
      GATEHOUSE_EXTERNAL_URL: 'https://auth.example.com',
      GATEHOUSE_BACKUP__SCHEDULE: 'off',
      GATEHOUSE_DATA_DIR: dataDir,
      ...env,
    },
    null,
  );
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const core = await createTestCore();
  core.deps.rateLimits = config.rate_limits;
  core.deps.jobs = await openJobQueue(config, core.deps.db, logger, { install: true });
  await bootstrapAdmin(core.deps, { password: ADMIN_PASSWORD, token: ADMIN_TOKEN, email: 'admin@example.com' });
  const app = await buildApp({ config, deps: core.deps, logger });
  await app.ready();
  const stopJobs = options.runJobs === false ? async () => {} : await startJobs(config, core.deps, logger, TEST_SECRET_KEY);
  let isStopped = false;
  const stopRunner = async () => {
    if (isStopped) return;
    isStopped = true;
    await stopJobs();
  };
  return {
    ...core,
    config,
    sink,
    dataDir,
    app,
    api(method, url, body, token = ADMIN_TOKEN) {
      return app.inject({
        method,
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
    },
    stopJobs: stopRunner,
    async close() {
      await stopRunner();
      await app.close();
      await core.close();
      await sink.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
