import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { CoreDeps } from '../../core/context.ts';
import { outpostTokenIdentifier } from '../../core/outpostAdmin.ts';
import { watchedDefinitionVersion } from '../../flows/definitions.ts';
import { CoreClient } from '../../outposts/ldap/coreClient.ts';
import { LdapOutpost } from '../../outposts/ldap/outpost.ts';
import { serverOptions } from '../../outposts/ldap/run.ts';
import { type RunningLdapServer, startLdapServer } from '../../outposts/ldap/server.ts';
import { listOutpostsWithTokens } from '../../store/outposts.ts';
import { watchedTokenVersion } from '../../store/tokenVersion.ts';

// `gatehouse all`: one LDAP listener serving every LDAP outpost defined in the core, each with
// its own token, over loopback HTTP — the same code path as a separate `gatehouse ldap`.
// Outposts created or deleted later are picked up within a second. The listeners open with the
// first LDAP outpost: an install without one binds no LDAP ports; a port already taken is logged
// and retried, without taking the web interface down with it.

const SYNC_MS = 1_000;
// Outposts move the definition counter (migration 0012) and their tokens token_version (0015):
// while both stand still the list is what it was, and a tick reads nothing. Only a token's expiry
// passes unannounced: a full read at least this often notices it (the outpost's own calls are
// refused from that moment anyway).
const FULL_SYNC_MS = 60_000;

function loopbackUrl(config: Config): string {
  const { host, port } = config.listen.http;
  const address = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${address}:${port}`;
}

export async function startEmbeddedLdap(
  config: Config,
  logger: Logger,
  deps: CoreDeps,
): Promise<{ outposts(): LdapOutpost[]; stop(): Promise<void> }> {
  const running = new Map<string, { outpost: LdapOutpost; key: string }>();
  const host = loopbackUrl(config);
  let syncedUnder = '';
  let syncedAt = 0;
  const sync = async () => {
    const versions = (await Promise.all([watchedDefinitionVersion(deps.db), watchedTokenVersion(deps.db)])).join(':');
    if (versions === syncedUnder && Date.now() - syncedAt < FULL_SYNC_MS) return;
    const rows = await listOutpostsWithTokens(deps.db, 'ldap', outpostTokenIdentifier);
    const seen = new Set<string>();
    for (const row of rows) {
      if (!row.key_encrypted) continue;
      const key = deps.tokenBox.open(row.key_encrypted);
      seen.add(row.id);
      if (running.get(row.id)?.key === key) continue;
      running.get(row.id)?.outpost.stop();
      const outpost = new LdapOutpost(new CoreClient({ host, token: key }), logger.child({ outpost: row.name }), config.ldap.bind_cache_seconds);
      running.set(row.id, { outpost, key });
      void outpost.start();
    }
    for (const [id, { outpost }] of running) {
      if (seen.has(id)) continue;
      outpost.stop();
      running.delete(id);
    }
    // Read before the rows: a change committed in between moves them, and the next tick reads.
    syncedUnder = versions;
    syncedAt = Date.now();
  };
  let server: RunningLdapServer | null = null;
  let isListenFailureLogged = false;
  const listenWhenNeeded = async () => {
    if (server || running.size === 0) return;
    try {
      server = await startLdapServer(serverOptions(config, logger, () => [...running.values()].map((r) => r.outpost), deps.metrics));
    } catch (error) {
      if (!isListenFailureLogged) logger.error({ err: error }, 'ldap_listen_failed');
      isListenFailureLogged = true;
    }
  };
  const tick = () =>
    sync()
      .then(listenWhenNeeded)
      .catch((error) => logger.warn({ err: error }, 'ldap_outpost_sync_failed'));
  await tick();
  let timer: NodeJS.Timeout;
  const loop = () => {
    timer = setTimeout(() => tick().finally(loop), SYNC_MS);
    timer.unref();
  };
  loop();
  return {
    outposts: () => [...running.values()].map((r) => r.outpost),
    async stop() {
      clearTimeout(timer);
      for (const { outpost } of running.values()) outpost.stop();
      await server?.close();
    },
  };
}
