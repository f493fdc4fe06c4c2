import { Gauge, type Registry } from 'prom-client';
import type { LdapOutpost } from '../outposts/ldap/outpost.ts';

/** Whether this process's LDAP outposts reach the core (their directory copy is current). */
export function registerLdapGauges(registry: Registry, outposts: () => LdapOutpost[]): void {
  new Gauge({
    name: 'gatehouse_outpost_ldap_outposts',
    help: 'LDAP outposts served by this process, by whether their last poll of the core succeeded (connected) or not.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const list = outposts();
      const connected = list.filter((o) => o.isCoreReachable).length;
      this.set({ state: 'connected' }, connected);
      this.set({ state: 'disconnected' }, list.length - connected);
    },
  });
}
