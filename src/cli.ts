import { ConfigError, loadConfig } from './config/load.ts';
import { createLogger, logDestination } from './log.ts';
import { runAll, runCreateRecoveryKey, runLdap, runMigrate, runRotateSecretKey, runServer, runWorker } from './processes.ts';

const USAGE = `Usage: gatehouse <command>

  all                            server, worker and LDAP outposts in one process; embedded storage unless
                                 GATEHOUSE_POSTGRESQL__HOST is set (what \`npm start\` runs)
  server                         the HTTP core alone (needs Postgres)
  worker                         background jobs: mail, cleanup, key rotation, scheduled backups
  ldap                           the LDAP outpost (needs only GATEHOUSE_HOST and GATEHOUSE_TOKEN)
  migrate                        apply migrations/*.sql and exit
  create-recovery-key USER [MIN] print a one-time login link for USER, valid MIN minutes (default 60)
  rotate-secret-key [--dry-run]  re-encrypt every stored secret under GATEHOUSE_SECRET_KEY, reading older
                                 ones with GATEHOUSE_SECRET_KEY_FALLBACKS (docs/operations.md)
  backup                         write an encrypted backup now and check it by restoring it to a scratch database
  restore FILE                   restore a backup into an empty database (or a data dir without one)
  blueprint apply FILE [--dry-run]  apply an Authentik-format blueprint (--dry-run: show the diff only)
  blueprint export               print the current groups, flows, providers and applications as a blueprint
`;

const commands: Record<string, (args: string[]) => Promise<void>> = {
  all: () => runAll(config, logger),
  server: () => runServer(config, logger),
  worker: () => runWorker(config, logger),
  ldap: () => runLdap(config, logger),
  migrate: () => runMigrate(config, logger),
  'create-recovery-key': (args) => runCreateRecoveryKey(config, logger, args),
  'rotate-secret-key': (args) => runRotateSecretKey(config, logger, args),
  // Loaded only for these commands: backup, restore and their locking stay out of every other process.
  backup: async () => (await import('./worker/backup/cli.ts')).runBackupCommand(config, logger),
  restore: async (args) => (await import('./worker/backup/cli.ts')).runRestoreCommand(config, logger, args),
  // Loaded only for this command: the YAML parser and the engine stay out of every other process.
  blueprint: async (args) => (await import('./blueprints/commands.ts')).runBlueprintCommand(config, logger, args),
};

const [command = '', ...args] = process.argv.slice(2);
if (!(command in commands)) {
  process.stderr.write(USAGE);
  process.exit(command === '' || command === 'help' || command === '--help' ? 0 : 2);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`gatehouse: ${error.message}\n`);
  process.exit(78); // EX_CONFIG
}
// Asynchronous, batched writes keep logging off the request path; pino flushes what is pending
// at exit. `blueprint export` prints YAML on stdout, so its logs go to stderr.
const logger = createLogger(config.log_level, logDestination(command === 'blueprint' ? 2 : 1));

try {
  await (commands[command] as (args: string[]) => Promise<void>)(args);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`gatehouse: ${error.message}\n`);
    process.exit(78);
  }
  logger.fatal({ err: error }, 'fatal');
  process.exit(1);
}
