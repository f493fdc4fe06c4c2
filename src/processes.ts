import type { Logger } from 'pino';
import { usesPostgres } from './config/load.ts';
import { publicUrl } from './config/publicUrl.ts';
import type { Config } from './config/schema.ts';
import type { MetricsListener } from './metrics/server.ts';
import type { LdapOutpost } from './outposts/ldap/outpost.ts';
import type { Runtime } from './runtime.ts';
import { startIdleCollector } from './web/idleCollector.ts';

// Each command loads only what it runs: the LDAP outpost never loads the HTTP core, the server
// never loads the job runner or the mailer (each tens of MiB of resident memory).
const runtimeModule = () => import('./runtime.ts');
const openRuntime: typeof import('./runtime.ts').openRuntime = async (...args) => (await runtimeModule()).openRuntime(...args);
const buildApp: typeof import('./web/app.ts').buildApp = async (...args) => (await import('./web/app.ts')).buildApp(...args);
const startJobs: typeof import('./worker/start.ts').startJobs = async (...args) => (await import('./worker/start.ts')).startJobs(...args);
const startBlueprintFolder: typeof import('./blueprints/folder.ts').startBlueprintFolder = async (...args) =>
  (await import('./blueprints/folder.ts')).startBlueprintFolder(...args);
const startEmbeddedLdap: typeof import('./providers/ldap/embedded.ts').startEmbeddedLdap = async (...args) =>
  (await import('./providers/ldap/embedded.ts')).startEmbeddedLdap(...args);
const startStandaloneOutpost: typeof import('./outposts/ldap/run.ts').startStandaloneOutpost = async (...args) =>
  (await import('./outposts/ldap/run.ts')).startStandaloneOutpost(...args);

/**
 * The Prometheus listener, opened first so that a taken port stops the process before it
 * migrates or serves anything; prom-client is loaded only when metrics are on.
 */
async function startMetrics(config: Config, logger: Logger, command: 'all' | 'server' | 'worker' | 'ldap'): Promise<MetricsListener | null> {
  if (!config.listen.metrics) return null;
  return (await import('./metrics/server.ts')).startMetricsListener(config.listen.metrics, logger, command);
}

async function addMetricGauges(listener: MetricsListener | null, runtime: Runtime, parts: { sessions: boolean; worker: boolean }) {
  if (!listener) return;
  const { registry } = listener.metrics;
  (await import('./metrics/storageGauges.ts')).registerStorageGauges(registry, runtime.deps, { sessions: parts.sessions });
  if (parts.worker) (await import('./metrics/workerGauges.ts')).registerWorkerGauges(registry, runtime.deps);
}

async function addLdapGauges(listener: MetricsListener | null, outposts: () => LdapOutpost[]) {
  if (listener) (await import('./metrics/ldapGauges.ts')).registerLdapGauges(listener.metrics.registry, outposts);
}

/** Stops cleanly on SIGTERM/SIGINT: stop taking requests, finish the ones in flight, close pools. */
function onShutdown(logger: Logger, stop: () => Promise<void>) {
  let isStopping = false;
  const handler = (signal: string) => {
    if (isStopping) return;
    isStopping = true;
    logger.info({ signal }, 'shutting_down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown_failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  // A stray rejection is a bug to log, not a reason to drop every user's session mid-request.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled_rejection'));
}

async function serveHttp(config: Config, logger: Logger, runtime: Runtime) {
  const app = await buildApp({ config, deps: runtime.deps, logger });
  const idleCollector = startIdleCollector();
  // On the server itself: forward auth's early answers (earlyAnswer.ts) never reach Fastify's hooks.
  app.server.on('request', () => idleCollector.noteRequest());
  app.addHook('onClose', async () => idleCollector.stop());
  const { host, port } = config.listen.http;
  await app.listen({ host, port });
  return app;
}

export async function runAll(config: Config, logger: Logger) {
  // bin/gatehouse passes the flag (it must be on the command line); a hand-written service unit
  // running `node dist/src/cli.js all` would not, and PGlite would peak at ~750 MiB on every start.
  if (!usesPostgres(config) && !process.execArgv.includes('--liftoff-only')) {
    logger.warn({ hint: 'start `all` through bin/gatehouse (the gatehouse command, npm start): docs/operations.md, "Memory"' }, 'embedded_storage_without_liftoff_only');
  }
  const metricsListener = await startMetrics(config, logger, 'all');
  const runtime = await openRuntime(config, logger, {
    isEmbeddedAllowed: true,
    runMigrations: true,
    runBootstrap: true,
    ...(metricsListener ? { metrics: metricsListener.metrics } : {}),
  });
  await addMetricGauges(metricsListener, runtime, { sessions: true, worker: true });
  const stopJobs = await startJobs(config, runtime.deps, logger, runtime.secretKey);
  const blueprints = await startBlueprintFolder(config, logger, runtime.deps);
  const app = await serveHttp(config, logger, runtime);
  const ldap = await startEmbeddedLdap(config, logger, runtime.deps);
  await addLdapGauges(metricsListener, ldap.outposts);
  onShutdown(logger, async () => {
    await ldap.stop();
    await blueprints.stop();
    await app.close();
    await stopJobs();
    await runtime.close();
    await metricsListener?.close();
  });
  const storage = usesPostgres(config) ? 'Postgres' : `embedded storage in ${config.data_dir}`;
  const { hasActiveSuperuser } = await import('./store/users.ts');
  const next = (await hasActiveSuperuser(runtime.deps.db))
    ? `sign in at ${publicUrl(config)}/if/user/`
    : `create the admin at ${publicUrl(config)}/if/flow/initial-setup/`;
  process.stderr.write(`Gatehouse is running at ${publicUrl(config)} (${storage}): ${next}\n`);
}

export async function runServer(config: Config, logger: Logger) {
  const metricsListener = await startMetrics(config, logger, 'server');
  const runtime = await openRuntime(config, logger, {
    isEmbeddedAllowed: false,
    runMigrations: true,
    runBootstrap: true,
    ...(metricsListener ? { metrics: metricsListener.metrics } : {}),
  });
  await addMetricGauges(metricsListener, runtime, { sessions: true, worker: false });
  const blueprints = await startBlueprintFolder(config, logger, runtime.deps);
  const app = await serveHttp(config, logger, runtime);
  onShutdown(logger, async () => {
    await blueprints.stop();
    await app.close();
    await runtime.close();
    await metricsListener?.close();
  });
}

export async function runWorker(config: Config, logger: Logger) {
  const metricsListener = await startMetrics(config, logger, 'worker');
  const runtime = await openRuntime(config, logger, {
    isEmbeddedAllowed: false,
    runMigrations: true,
    runBootstrap: false,
    ...(metricsListener ? { metrics: metricsListener.metrics } : {}),
  });
  await addMetricGauges(metricsListener, runtime, { sessions: false, worker: true });
  const stopJobs = await startJobs(config, runtime.deps, logger, runtime.secretKey);
  logger.info('worker_started');
  onShutdown(logger, async () => {
    await stopJobs();
    await runtime.close();
    await metricsListener?.close();
  });
}

/** `gatehouse ldap`: the LDAP outpost alone; it reaches the core over HTTP with its token. */
export async function runLdap(config: Config, logger: Logger) {
  const metricsListener = await startMetrics(config, logger, 'ldap');
  const { outpost, stop } = await startStandaloneOutpost(config, logger, metricsListener?.metrics);
  await addLdapGauges(metricsListener, () => [outpost]);
  onShutdown(logger, async () => {
    await stop();
    await metricsListener?.close();
  });
}

export async function runMigrate(config: Config, logger: Logger) {
  const { openConfiguredPostgres } = await runtimeModule();
  const { migrate } = await import('./store/migrate.ts');
  const db = openConfiguredPostgres(config, logger);
  try {
    const report = await migrate(db);
    process.stdout.write(
      report.applied.length ? `Applied ${report.applied.join(', ')}\n` : `Nothing to apply (${report.alreadyApplied} applied before)\n`,
    );
  } finally {
    await db.close();
  }
}

/** `gatehouse rotate-secret-key [--dry-run]`: re-seal every stored secret under the current secret key. */
export async function runRotateSecretKey(config: Config, logger: Logger, args: string[]) {
  const dryRun = args.includes('--dry-run');
  if (args.some((a) => a !== '--dry-run')) {
    process.stderr.write('Usage: gatehouse rotate-secret-key [--dry-run]\n');
    process.exit(2);
  }
  const runtime = await openRuntime(config, logger, { isEmbeddedAllowed: !usesPostgres(config), runMigrations: true, runBootstrap: false });
  try {
    const [{ rotateSealedSecrets, UnreadableSecrets }, { SYSTEM_CONTEXT }] = await Promise.all([import('./core/secretRotation.ts'), import('./core/context.ts')]);
    const report = await rotateSealedSecrets(runtime.deps, SYSTEM_CONTEXT, { dryRun }).catch((error: Error) => {
      if (!(error instanceof UnreadableSecrets)) throw error;
      process.stderr.write(`gatehouse: ${error.message}\n`);
      return null;
    });
    if (!report) {
      process.exitCode = 1;
      return;
    }
    for (const c of report.columns) process.stdout.write(`${c.column}: ${c.resealed} ${dryRun ? 'to re-encrypt' : 're-encrypted'}, ${c.current} already under the current key\n`);
    process.stdout.write(
      dryRun
        ? `Dry run: ${report.resealed} secret(s) would be re-encrypted; nothing was changed.\n`
        : `Done: ${report.resealed} secret(s) re-encrypted. Every stored secret is now under GATEHOUSE_SECRET_KEY; GATEHOUSE_SECRET_KEY_FALLBACKS can be removed once every process has restarted with the new key.\n`,
    );
  } finally {
    await runtime.close();
  }
}

export async function runCreateRecoveryKey(config: Config, logger: Logger, args: string[]) {
  const [username, minutesArg = '60'] = args;
  const minutes = Number(minutesArg);
  if (!username || !Number.isInteger(minutes) || minutes < 1 || minutes > 7 * 24 * 60) {
    process.stderr.write('Usage: gatehouse create-recovery-key USER [MINUTES (1-10080, default 60)]\n');
    process.exit(2);
  }
  const runtime = await openRuntime(config, logger, {
    isEmbeddedAllowed: !usesPostgres(config),
    runMigrations: true,
    runBootstrap: false,
  });
  try {
    const { createRecoveryLink } = await import('./core/recovery.ts');
    const { path, expires } = await createRecoveryLink(runtime.deps, username, minutes);
    process.stdout.write(
      `Store this link safely: it logs anyone in as ${username}, once, until ${expires.toISOString()}.\n${publicUrl(config)}${path}\n`,
    );
  } finally {
    await runtime.close();
  }
}
