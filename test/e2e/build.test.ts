// The container image runs `npm run build` output through bin/gatehouse with no sources present.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, ROOT, startGatehouse, waitFor } from '../support/processes.ts';

const image = mkdtempSync(join(tmpdir(), 'gh-image-'));
after(() => rmSync(image, { recursive: true, force: true }));

test('the built JavaScript runs as the image runs it: bin/gatehouse without src/', async () => {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  assert.ok(existsSync(join(ROOT, 'dist/src/cli.js')));
  assert.ok(existsSync(join(ROOT, 'dist/migrations/0001_core.sql')), 'migrations travel with the build');

  // An /app like the image's: bin, dist and node_modules, but no src/.
  mkdirSync(join(image, 'bin'));
  copyFileSync(join(ROOT, 'bin/gatehouse'), join(image, 'bin/gatehouse'));
  symlinkSync(join(ROOT, 'dist'), join(image, 'dist'));
  symlinkSync(join(ROOT, 'node_modules'), join(image, 'node_modules'));

  const port = await freePort();
  const token = 'image-bootstrap-token-0123456789';
  const run = startGatehouse(
    ['all'],
    { GATEHOUSE_DATA_DIR: join(image, 'data'), GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}`, GATEHOUSE_BOOTSTRAP_TOKEN: token },
    port,
    join(image, 'bin/gatehouse'),
  );
  try {
    await waitFor(run, '/-/health/ready/');
    const res = await fetch(`http://127.0.0.1:${port}/api/v3/core/users/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'partner', name: 'Partner Name', email: 'partner@yourdomain.com', is_active: true }),
    });
    assert.equal(res.status, 201);
    const adminModule = await fetch(`http://127.0.0.1:${port}/static/admin/main.js`);
    assert.equal(adminModule.status, 200, 'the admin UI\'s modules travel with the build');
    assert.match(adminModule.headers.get('content-type') ?? '', /^text\/javascript/);

    // oidc-provider is imported on first use (src/providers/oauth2/issuers.ts): it must resolve
    // from the built files as well.
    const api = async (path: string, body?: unknown) => {
      const reply = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await reply.json()) as { pk: string | number; results: { pk: string }[] };
    };
    const flow = (await api('/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).results[0]?.pk;
    const provider = await api('/api/v3/providers/oauth2/', { name: 'image-oidc', authorization_flow: flow, redirect_uris: [{ matching_mode: 'strict', url: 'https://app.example/cb' }] });
    await api('/api/v3/core/applications/', { name: 'Image OIDC', slug: 'image-oidc', provider: provider.pk });
    const discovery = await fetch(`http://127.0.0.1:${port}/application/o/image-oidc/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200, 'the OIDC issuer is built from the image\'s files');
  } finally {
    assert.equal(await run.stop(), 0);
  }
});
