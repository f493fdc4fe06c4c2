// deploy/k8s/gatehouse.yaml checked against the code it runs (no cluster here): each container's
// command is a gatehouse command, its settings load, its ports and probes are the ones served.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const SAMPLE = 'sample-0123456789abcdef0123456789abcdef';

interface Container {
  name: string;
  args: string[];
  env?: Array<{ name: string; value: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string }; tcpSocket?: { port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
}

const docs = parseAllDocuments(read('deploy/k8s/gatehouse.yaml')).map((d) => {
  assert.equal(d.errors.length, 0, String(d.errors[0]));
  return d.toJS() as { kind: string; metadata: { name: string }; data?: Record<string, string>; spec: Record<string, unknown> };
});
const configMap = docs.find((d) => d.kind === 'ConfigMap')?.data ?? {};
const deployments = docs.filter((d) => d.kind === 'Deployment');
function containerOf(name: string): Container {
  const spec = deployments.find((d) => d.metadata.name === name)?.spec as { template: { spec: { containers: Container[] } } } | undefined;
  assert.ok(spec, `a Deployment ${name}`);
  return spec.template.spec.containers[0] as Container;
}
// The secrets the header tells the operator to create, by name.
const secrets: Record<string, string[]> = {
  gatehouse: ['GATEHOUSE_SECRET_KEY', 'GATEHOUSE_POSTGRESQL__PASSWORD', 'GATEHOUSE_BOOTSTRAP_PASSWORD', 'GATEHOUSE_BOOTSTRAP_TOKEN'],
  'gatehouse-ldap': ['GATEHOUSE_TOKEN'],
};

function environmentOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, configMap);
    if (from.secretRef) for (const name of secrets[from.secretRef.name] ?? assert.fail(`unknown secret ${from.secretRef.name}`)) env[name] = SAMPLE;
  }
  for (const { name, value } of container.env ?? []) env[name] = value;
  return env;
}

test('every secret the manifest reads is one its header says how to create', () => {
  const header = read('deploy/k8s/gatehouse.yaml').split('\napiVersion')[0] ?? '';
  for (const [secret, keys] of Object.entries(secrets)) {
    assert.match(header, new RegExp(`secret generic ${secret} `));
    for (const key of keys) assert.match(header, new RegExp(key));
  }
});

test('server, worker and ldap run gatehouse commands whose settings load', () => {
  const usage = /const USAGE = `((?:\\.|[^`\\])*)`/.exec(read('src/cli.ts'))?.[1] ?? '';
  const commands = [...usage.matchAll(/^ {2}([a-z][a-z0-9-]*)(?=\s)/gm)].map((m) => m[1]);
  for (const name of ['gatehouse-server', 'gatehouse-worker', 'gatehouse-ldap']) {
    const container = containerOf(name);
    assert.ok(commands.includes(container.args[0]), `${name} runs "${container.args[0]}"`);
    assert.doesNotThrow(() => loadConfig(environmentOf(container), null), `${name}'s settings load`);
  }
  const ldapEnv = environmentOf(containerOf('gatehouse-ldap'));
  assert.deepEqual(Object.keys(ldapEnv).sort(), ['GATEHOUSE_HOST', 'GATEHOUSE_TOKEN'], 'the outpost holds no secret key and no database settings');
});

test('ports and probes are the ones Gatehouse serves', () => {
  const config = loadConfig({}, null);
  const server = containerOf('gatehouse-server');
  assert.equal(server.ports?.find((p) => p.name === 'http')?.containerPort, config.listen.http.port);
  assert.equal(server.ports?.find((p) => p.name === 'metrics')?.containerPort, config.listen.metrics?.port);
  assert.equal(server.readinessProbe?.httpGet?.path, '/-/health/ready/');
  assert.equal(server.livenessProbe?.httpGet?.path, '/-/health/live/');
  const ldap = containerOf('gatehouse-ldap');
  assert.equal(ldap.ports?.find((p) => p.name === 'ldap')?.containerPort, config.listen.ldap.port);
  assert.equal(ldap.ports?.find((p) => p.name === 'ldaps')?.containerPort, config.listen.ldaps.port);
  const serverService = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'gatehouse-server');
  assert.ok(serverService, 'a Service in front of the servers');
  assert.equal(environmentOf(ldap).GATEHOUSE_HOST, 'http://gatehouse-server.gatehouse.svc.cluster.local:9000', 'the outpost reaches the core through that Service');
  const serverSpec = deployments.find((d) => d.metadata.name === 'gatehouse-server')?.spec as { replicas?: number } | undefined;
  assert.ok((serverSpec?.replicas ?? 0) > 1, 'several server replicas');
});

test('every process is scraped on its metrics port, which no Service (and so no Ingress) exposes', () => {
  const metricsPort = loadConfig({ GATEHOUSE_LISTEN__METRICS: '0.0.0.0:9300' }, null).listen.metrics?.port;
  assert.equal(metricsPort, loadConfig({}, null).listen.metrics?.port, 'the default port');
  for (const deployment of deployments) {
    const template = (deployment.spec as { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: Container[] } } }).template;
    const annotations = template.metadata.annotations ?? {};
    assert.equal(annotations['prometheus.io/scrape'], 'true', `${deployment.metadata.name} is scraped`);
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    assert.equal(Number(annotations['prometheus.io/port']), metricsPort, `${deployment.metadata.name} scrape port`);
    const container = template.spec.containers[0] as Container;
    assert.equal(container.ports?.find((p) => p.name === 'metrics')?.containerPort, metricsPort, `${deployment.metadata.name} names its metrics port`);
  }
  for (const service of docs.filter((d) => d.kind === 'Service')) {
    const ports = (service.spec as { ports: Array<{ port: number; targetPort: string | number }> }).ports;
    for (const port of ports) assert.ok(port.targetPort !== 'metrics' && port.targetPort !== metricsPort && port.port !== metricsPort, `${service.metadata.name} does not expose metrics`);
  }
});
