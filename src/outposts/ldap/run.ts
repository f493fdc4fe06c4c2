import type { Logger } from 'pino';
import { ConfigError } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { CoreClient } from './coreClient.ts';
import { LdapOutpost } from './outpost.ts';
import { type RunningLdapServer, startLdapServer } from './server.ts';

/** `gatehouse ldap`: one outpost, configured by GATEHOUSE_HOST and GATEHOUSE_TOKEN alone. */
export async function startStandaloneOutpost(config: Config, logger: Logger, metrics?: Metrics): Promise<{ outpost: LdapOutpost; stop(): Promise<void> }> {
  if (!config.host) throw new ConfigError('GATEHOUSE_HOST: required by `gatehouse ldap` (the URL of the Gatehouse core)');
  if (!config.token) throw new ConfigError('GATEHOUSE_TOKEN: required by `gatehouse ldap` (the outpost token)');
  const outpost = new LdapOutpost(new CoreClient({ host: config.host, token: config.token }), logger, config.ldap.bind_cache_seconds);
  // The first load may fail (core still starting): the outpost keeps trying on its own.
  await outpost.start();
  const server = await startLdapServer(serverOptions(config, logger, () => [outpost], metrics));
  return {
    outpost,
    async stop() {
      outpost.stop();
      await server.close();
    },
  };
}

export const serverOptions = (config: Config, logger: Logger, outposts: () => LdapOutpost[], metrics?: Metrics) => ({
  outposts,
  metrics,
  logger,
  ldap: config.listen.ldap,
  ldaps: config.listen.ldaps,
  tls: { certPath: config.ldap.tls_cert, keyPath: config.ldap.tls_key },
});

export type { RunningLdapServer };
