import { z } from 'zod';

// Every setting Gatehouse reads, as GATEHOUSE_<SECTION>__<KEY> in the environment. The nesting
// mirrors Authentik's AUTHENTIK_* names so an operator's habits carry over.

const listenAddress = (defaultPort: number) =>
  z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:9000 or :9000')
    .transform((value, ctx) => {
      const cut = value.lastIndexOf(':');
      const port = Number(value.slice(cut + 1));
      if (port < 1 || port > 65535) ctx.addIssue({ code: 'custom', message: 'expected a port from 1 to 65535' });
      const host = value.slice(0, cut).replace(/^\[|\]$/g, '') || '0.0.0.0';
      return { host, port };
    })
    .prefault(`127.0.0.1:${defaultPort}`);

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const hostAndPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;
/** Sentinel's own default port, as in `redis-sentinel`'s sentinel.conf. */
const SENTINEL_PORT = 26379;
// GATEHOUSE_REDIS__SENTINELS=10.0.0.1:26379,10.0.0.2:26379,[fd00::3] — tried in this order.
const sentinelAddresses = z
  .string()
  .transform((value, ctx) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const match = hostAndPort.exec(entry);
        const port = Number(match?.[2] ?? SENTINEL_PORT);
        if (!match || port < 1 || port > 65535) {
          ctx.addIssue({ code: 'custom', message: `expected HOST[:PORT] separated by commas, e.g. 10.0.0.1:26379,10.0.0.2:26379 (not "${entry}")` });
        }
        return { host: (match?.[1] ?? '').replace(/^\[|\]$/g, ''), port };
      }),
  )
  .refine((addresses) => addresses.length > 0, 'expected at least one sentinel address');
const cidr = z
  .string()
  .regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected a CIDR such as 10.0.0.0/8');

// A per-client-address limit on refused requests: `limit` refusals per `window_seconds`.
const refusalLimit = (limit: number, windowSeconds: number) =>
  z
    .strictObject({
      limit: z.coerce.number().int().min(1).max(1_000_000).default(limit),
      window_seconds: z.coerce.number().int().min(1).max(86_400).default(windowSeconds),
    })
    .prefault({});

export const configSchema = z.strictObject({
  secret_key: z.string().min(32, 'expected at least 32 characters (openssl rand -base64 36)').optional(),
  // Earlier secret keys, comma-separated: what they encrypted can still be read while
  // `gatehouse rotate-secret-key` re-encrypts it under the current one (docs/operations.md).
  secret_key_fallbacks: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(32, 'expected secret keys of at least 32 characters, separated by commas')))
    .default([]),
  data_dir: z.string().min(1).default('./data'),
  blueprints_dir: z.string().min(1).default('./blueprints'),
  external_url: z.url({ protocol: /^https?$/ }).optional(),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  listen: z
    .strictObject({
      http: listenAddress(9000),
      https: listenAddress(9443),
      ldap: listenAddress(3389),
      ldaps: listenAddress(6636),
      metrics: listenAddress(9300),
      // Authentik's default: X-Forwarded-* is believed only from these peers.
      trusted_proxy_cidrs: z
        .string()
        .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
        .pipe(z.array(cidr))
        .default(['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fe80::/10', '::1/128']),
    })
    .prefault({}),
  postgresql: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: port(5432),
      user: z.string().min(1).default('gatehouse'),
      password: z.string().default(''),
      name: z.string().min(1).default('gatehouse'),
      sslmode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
      pool_size: z.coerce.number().int().min(2).max(200).default(10),
    })
    .prefault({}),
  redis: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: port(6379),
      db: z.coerce.number().int().min(0).max(15).default(0),
      username: z.string().optional(),
      password: z.string().optional(),
      tls: flag.default(false),
      key_prefix: z.string().default('gatehouse:'),
      // Redis Sentinel instead of HOST/PORT: the sentinels tell which node is the primary now,
      // and after a failover the clients reconnect to the promoted one by themselves.
      sentinels: sentinelAddresses.optional(),
      // The name in `sentinel monitor <name> <ip> <port> <quorum>`.
      sentinel_master: z.string().min(1).default('mymaster'),
      // Credentials of the sentinels themselves (their `requirepass`/ACL), if they have any;
      // USERNAME/PASSWORD above are the data nodes'.
      sentinel_username: z.string().optional(),
      sentinel_password: z.string().optional(),
    })
    .superRefine((redis, ctx) => {
      if (redis.host !== undefined && redis.sentinels !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'set either GATEHOUSE_REDIS__HOST or GATEHOUSE_REDIS__SENTINELS, not both' });
      }
    })
    .prefault({}),
  // What an outpost (`gatehouse ldap`) talks to, as Authentik's AUTHENTIK_HOST / AUTHENTIK_TOKEN.
  host: z.url({ protocol: /^https?$/ }).optional(),
  token: z.string().min(16, 'expected the outpost token (at least 16 characters)').max(512).optional(),
  ldap: z
    .strictObject({
      // How long a successful bind is remembered in cached bind mode (0 turns it off).
      bind_cache_seconds: z.coerce.number().int().min(0).max(3600).default(60),
      // PEM files for LDAPS and StartTLS; without them a self-signed certificate is made at start.
      tls_cert: z.string().min(1).optional(),
      tls_key: z.string().min(1).optional(),
    })
    .prefault({}),
  // Single underscore, as Authentik spells AUTHENTIK_BOOTSTRAP_PASSWORD and friends.
  bootstrap_password: z.string().min(8, 'expected at least 8 characters').optional(),
  bootstrap_email: z.email().optional(),
  bootstrap_token: z
    .string()
    .min(16, 'expected at least 16 characters')
    .max(256)
    .regex(/^\S+$/, 'expected no spaces')
    .optional(),
  events: z
    .strictObject({
      retention_days: z.coerce.number().int().min(1).max(36500).default(365),
    })
    .prefault({}),
  brand: z
    .strictObject({
      // Shown in page titles and headers.
      title: z.string().min(1).max(100).default('Gatehouse'),
      // A path on this server or an https URL of the logo shown above every form.
      logo_url: z
        .string()
        .max(2000)
        .regex(/^(\/[^/\\]|https:\/\/)/, 'expected a path starting with / or an https:// URL')
        .optional(),
    })
    .prefault({}),
  // Authentik's AUTHENTIK_EMAIL__* names. Without a HOST no mail is sent (and no email job queued).
  email: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: port(25),
      username: z.string().default(''),
      password: z.string().default(''),
      use_tls: flag.default(false),
      use_ssl: flag.default(false),
      timeout: z.coerce.number().int().min(1).max(600).default(10),
      from: z.string().min(3).max(320).default('gatehouse@localhost'),
      // "New sign-in" notices cost one job per login; turn them off for very busy installations.
      sign_in_notices: flag.default(true),
    })
    .prefault({}),
  backup: z
    .strictObject({
      // Where backups are written (default: <data_dir>/backups).
      dir: z.string().min(1).optional(),
      // Encryption key (at least 32 characters); without it one is derived from the secret key.
      key: z.string().min(32, 'expected at least 32 characters (openssl rand -base64 36)').optional(),
      keep_days: z.coerce.number().int().min(1).max(3650).default(30),
      // Five-field cron (UTC) for the scheduled backup; "off" disables it.
      schedule: z
        .string()
        .regex(/^(off|\S+ \S+ \S+ \S+ \S+)$/, 'expected a five-field cron expression such as "30 3 * * *", or off')
        .default('30 3 * * *'),
    })
    .prefault({}),
  worker: z
    .strictObject({
      // Jobs one worker process runs at once.
      concurrency: z.coerce.number().int().min(1).max(50).default(4),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      // How long a browser session lives after login, in hours.
      max_age_hours: z.coerce.number().int().min(1).max(24 * 366).default(24 * 14),
    })
    .prefault({}),
  // Limits on unauthenticated endpoints where a guesser spends our CPU or probes a secret
  // (docs/security.md). Counted per client address (and per account for logins) in the shared
  // cache, so every replica sees one count.
  rate_limits: z
    .strictObject({
      // Failed client authentications (401) at /application/o/token|introspect|revoke|device/.
      oauth_client: refusalLimit(30, 60),
      // Refused forward-auth hand-offs at /outpost.goauthentik.io/start|callback|handoff.
      forward_login: refusalLimit(60, 60),
      // Refused SAML SSO/SLO requests (each may have cost a signature check).
      saml: refusalLimit(60, 60),
      // Refused recovery links (/recovery/use-token/…).
      recovery: refusalLimit(10, 60),
      // Wrong device-flow user codes entered at /application/o/<app>/device/.
      device_code: refusalLimit(10, 60),
      // Failed passwords and second factors (web login, LDAP binds, the user area's password change).
      login: z
        .strictObject({
          // Failures per username (existing or not) before it is locked for the rest of the window.
          username_limit: z.coerce.number().int().min(1).max(10_000).default(10),
          // Failures per client address before it is locked for the rest of the window.
          ip_limit: z.coerce.number().int().min(1).max(1_000_000).default(50),
          window_seconds: z.coerce.number().int().min(10).max(86_400).default(15 * 60),
          // Failures answered at once; after them each answer waits, doubling up to max_delay_ms.
          free_failures: z.coerce.number().int().min(0).max(10_000).default(3),
          max_delay_ms: z.coerce.number().int().min(0).max(30_000).default(4000),
        })
        .prefault({}),
      // Accounts a flow (enrollment, invitation, initial setup) may create per client address and
      // hour: each costs an argon2 hash and rows.
      enrollment: z
        .strictObject({
          per_ip_per_hour: z.coerce.number().int().min(1).max(1_000_000).default(20),
        })
        .prefault({}),
      // Recovery and verification mails an email stage sends, per hour.
      email: z
        .strictObject({
          per_user_per_hour: z.coerce.number().int().min(1).max(10_000).default(5),
          per_ip_per_hour: z.coerce.number().int().min(1).max(1_000_000).default(30),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ListenAddress = Config['listen']['http'];
export type RateLimits = Config['rate_limits'];

/** The defaults, for processes and tests that build their dependencies without a config. */
export const DEFAULT_RATE_LIMITS: RateLimits = Object.freeze(configSchema.shape.rate_limits.parse(undefined));
