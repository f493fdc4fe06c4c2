import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { CoreClient } from '../../src/outposts/ldap/coreClient.ts';
import { LdapOutpost } from '../../src/outposts/ldap/outpost.ts';

// The outpost fetches its providers' settings and the directory in two requests. A change between
// them (a provider taken off and put back, a base DN edited) must not leave it with one answer's
// settings under the other's version: it would keep that tree until the next change.

const settingsOf = (baseDn: string) => ({
  pk: 1, name: 'p', base_dn: baseDn, bind_flow_slug: 'f', application_slug: null, search_group: null,
  uid_start_number: 2000, gid_start_number: 4000, search_mode: 'cached', bind_mode: 'direct', mfa_support: false,
});

/** A stand-in core whose settings change from A to B between the first settings answer and the directory's. */
async function standInCore(options: { withConfigVersion: boolean }) {
  const calls = { settings: 0, directory: 0 };
  const core = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    let body: unknown;
    if (path === '/api/v3/outposts/ldap/') {
      calls.settings += 1;
      // The first answer is the settings as they were; the directory was already built for B.
      body = calls.settings === 1 ? { results: [settingsOf('dc=a,dc=example')], version: 'cA' } : { results: [settingsOf('dc=b,dc=example')], version: 'cB' };
    } else if (path === '/api/v3/outposts/ldap/directory/version/') {
      body = { version: 'vB' };
    } else {
      calls.directory += 1;
      body = { version: 'vB', ...(options.withConfigVersion ? { config_version: 'cB' } : {}), users: [], groups: [] };
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  core.listen(0, '127.0.0.1');
  await once(core, 'listening');
  const outpost = new LdapOutpost(new CoreClient({ host: `http://127.0.0.1:${(core.address() as AddressInfo).port}`, token: 't' }), pino({ level: 'silent' }), 0);
  return { calls, outpost, close: () => core.close() };
}

test('settings and a directory built for other settings are not taken together: the outpost asks again', async () => {
  const { calls, outpost, close } = await standInCore({ withConfigVersion: true });
  try {
    await outpost.refresh();
    assert.deepEqual(
      outpost.trees.map((tree) => tree.provider.base_dn),
      ['dc=b,dc=example'],
    );
    assert.deepEqual(calls, { settings: 2, directory: 2 });
    // Settled: the next check finds the same version and fetches nothing.
    await outpost.refresh();
    assert.deepEqual(calls, { settings: 2, directory: 2 });
  } finally {
    outpost.stop();
    close();
  }
});

test('a core that does not say which settings its directory was built for is taken at its word', async () => {
  const { calls, outpost, close } = await standInCore({ withConfigVersion: false });
  try {
    await outpost.refresh();
    assert.equal(outpost.trees.length, 1);
    assert.deepEqual(calls, { settings: 1, directory: 1 });
  } finally {
    outpost.stop();
    close();
  }
});
