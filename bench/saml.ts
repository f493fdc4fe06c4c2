// SAML benchmark: IdP-initiated SSO on the built `gatehouse server` (Postgres + Redis), 16
// signed-in browsers at once, each SSO being GET /sso/binding/init/ → GET /sso/binding/resume/
// → the POST-binding page with a freshly built and RSA-2048-signed Response. Beside it, the
// same Response built and signed in this process alone (one core), to show the signing cost.
// Run: npm run build && node_modules/.bin/node bench/saml.ts > saml.json — one JSON object on
// stdout, progress on stderr. bench/README.md explains every figure.
import { cpus } from 'node:os';
import { generateSigningCertificate } from '../src/core/certificates.ts';
import { buildResponse } from '../src/providers/saml/responses.ts';
import { createBenchStorage, log, percentile, processCpuMs, randomText, round, runBench, serverSettings, startGatehouse, waitUntilReady } from './harness.ts';
import { Browser, type Reply, send } from './httpClient.ts';

const CONCURRENCY = 16;
const WARMUP_MS = 1_000;
const MEASURE_MS = Number(process.env.BENCH_SAML_SECONDS ?? 5) * 1000;
const SLUG = 'bench-saml';
const FLOW_PATH = '/api/v3/flows/executor/default-authentication-flow/';

async function api(baseUrl: string, token: string, method: 'GET' | 'POST', path: string, json?: Record<string, unknown>): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (json) headers['content-type'] = 'application/json';
  return send(baseUrl, method, path, headers, json ? JSON.stringify(json) : undefined);
}

function expectStatus(reply: Reply, status: number, what: string): Record<string, unknown> {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
  return reply.body ? (JSON.parse(reply.body) as Record<string, unknown>) : {};
}

async function setUp(baseUrl: string, token: string) {
  const flows = expectStatus(await api(baseUrl, token, 'GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent'), 200, 'flow');
  const flow = (flows.results as { pk: string }[])[0]?.pk;
  const provider = expectStatus(
    await api(baseUrl, token, 'POST', '/api/v3/providers/saml/', {
      name: `${SLUG}-provider`,
      authorization_flow: flow,
      acs_url: 'http://127.0.0.1:1/acs',
      audience: 'http://127.0.0.1:1/sp',
      sp_binding: 'post',
    }),
    201,
    'create saml provider',
  );
  expectStatus(await api(baseUrl, token, 'POST', '/api/v3/core/applications/', { name: 'Bench SAML', slug: SLUG, provider: provider.pk }), 201, 'application');
  const username = 'saml-bench';
  const user = expectStatus(await api(baseUrl, token, 'POST', '/api/v3/core/users/', { username, name: 'Bench User', email: `${username}@bench.invalid` }), 201, 'user');
  const password = `pw-${randomText(12)}`;
  expectStatus(await api(baseUrl, token, 'POST', `/api/v3/core/users/${user.pk}/set_password/`, { password }), 204, 'password');
  return { username, password };
}

async function signIn(browser: Browser, username: string, password: string): Promise<void> {
  expectStatus(await browser.request('GET', FLOW_PATH), 200, 'get flow');
  expectStatus(await browser.request('POST', FLOW_PATH, { uid_field: username }), 200, 'post uid');
  expectStatus(await browser.request('POST', FLOW_PATH, { password }), 200, 'post password');
}

/** One IdP-initiated SSO; true when the page carries a SAMLResponse. */
async function ssoOnce(browser: Browser): Promise<boolean> {
  const init = await browser.request('GET', `/application/saml/${SLUG}/sso/binding/init/`);
  if (init.status !== 303) return false;
  const page = await browser.request('GET', init.headers.location as string);
  return page.status === 200 && page.body.includes('name="SAMLResponse"');
}

async function loadPhase(browsers: Browser[], pid: number) {
  const latencies: number[] = [];
  let failures = 0;
  let measuring = false;
  const cpuBefore = { value: 0 };
  const end = performance.now() + WARMUP_MS + MEASURE_MS;
  setTimeout(() => {
    measuring = true;
    cpuBefore.value = processCpuMs(pid);
  }, WARMUP_MS);
  await Promise.all(
    browsers.map(async (browser) => {
      while (performance.now() < end) {
        const started = performance.now();
        const ok = await ssoOnce(browser);
        if (!measuring) continue;
        if (ok) latencies.push(performance.now() - started);
        else failures += 1;
      }
    }),
  );
  const cpuMs = processCpuMs(pid) - cpuBefore.value;
  latencies.sort((a, b) => a - b);
  return {
    concurrency: browsers.length,
    seconds: MEASURE_MS / 1000,
    sso_per_s: round(latencies.length / (MEASURE_MS / 1000)),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    failures,
    server_cpu_ms_per_sso: round(cpuMs / Math.max(1, latencies.length), 2),
  };
}

/** The Response alone: build + sign (RSA-2048, SHA-256), one after another for 2 s in this process. */
async function inProcessSigning() {
  const keys = await generateSigningCertificate('bench', new Date());
  const input = {
    provider: { issuer: 'authentik', audience: 'sp', acs_url: 'http://127.0.0.1:1/acs', sign_assertion: true, sign_response: false, encryption_certificate: null },
    signing: {
      privateKeyPem: keys.privateKeyPem,
      certificatePem: keys.certificatePem,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    },
    now: new Date(),
    inResponseTo: null,
    nameId: { value: 'user@example.com', format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' },
    sessionIndex: '_bench',
    validity: { notBefore: -300, notOnOrAfter: 300, sessionNotOnOrAfter: 86_400 },
    attributes: [
      { name: 'http://schemas.goauthentik.io/2021/02/saml/username', values: ['user'] },
      { name: 'http://schemas.xmlsoap.org/claims/Group', values: ['a', 'b', 'c'] },
    ],
  };
  let count = 0;
  const end = performance.now() + 2_000;
  while (performance.now() < end) {
    await buildResponse(input);
    count += 1;
  }
  return { responses_per_s_one_core: round(count / 2) };
}

await runBench({
  watchdogMs: 3 * 60_000,
  run: async (cleanup, workDir) => {
    const { database, redisPrefix } = await createBenchStorage(cleanup);
    const apiToken = randomText(32);
    const server = await startGatehouse('server', 'server', serverSettings({ database, redisPrefix, apiToken }), workDir, cleanup);
    await waitUntilReady(server);
    const { username, password } = await setUp(server.baseUrl, apiToken);
    const browsers = Array.from({ length: CONCURRENCY }, () => new Browser(server.baseUrl));
    await Promise.all(browsers.map((browser) => signIn(browser, username, password)));
    log(`${CONCURRENCY} browsers signed in; measuring ${MEASURE_MS / 1000} s`);
    const sso = await loadPhase(browsers, server.pid);
    await server.stop();
    const signing = await inProcessSigning();
    return { cpus: cpus().length, key: 'RSA-2048, rsa-sha256, assertion signed', idp_initiated_sso: sso, in_process_signing: signing };
  },
});
