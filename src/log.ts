import pino, { type Logger } from 'pino';

// Anything that can carry a secret is removed before a line is written, wherever it sits.
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-authentik-csrf"]',
  'res.headers["set-cookie"]',
  'password',
  'key',
  'token',
  '*.password',
  '*.key',
  '*.token',
  '*.secret',
  'config.secret_key',
  'config.secret_key_fallbacks',
  'config.postgresql.password',
  'config.redis.password',
  'config.redis.sentinel_password',
  'config.bootstrap_password',
  'config.bootstrap_token',
];

// Path segments and query values that are themselves credentials.
const SECRET_IN_URL = [
  /(\/recovery\/use-token\/)[^/?#]+/g,
  /([?&](?:token|key|code|password|client_secret|access_token|refresh_token)=)[^&#]*/gi,
];

export function redactUrl(url: string): string {
  return SECRET_IN_URL.reduce((text, pattern) => text.replace(pattern, '$1[Redacted]'), url);
}

/** How long a log line may wait in the buffer before it is written. */
export const LOG_FLUSH_INTERVAL_MS = 200;
// Lines are gathered to about this many bytes (or the interval above) per write. Each write is a
// system call handed to the thread pool: on a 2-vCPU VM ~0.1 ms of CPU and a wake-up of whoever
// reads the pipe (docker, journald), which one write per line paid for every request
// (bench/README.md, "Logins").
const LOG_BATCH_BYTES = 4096;

/**
 * The process's log output: asynchronous, batched writes to a file descriptor (1 = stdout) or a
 * file. What is pending is written at exit, also after a fatal error (pino registers that flush
 * itself); only a SIGKILL loses it, at most LOG_FLUSH_INTERVAL_MS of lines.
 */
export function logDestination(fd: number | string): pino.DestinationStream {
  return pino.destination({ dest: fd, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_INTERVAL_MS });
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
