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
