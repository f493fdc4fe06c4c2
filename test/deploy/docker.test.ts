// The container deployment (Dockerfile, docker-compose.yml, .env.example) checked against the code
// it runs: the commands src/cli.ts knows and the settings src/config/schema.ts accepts. There is no
// Docker engine in CI, so these files are read as text and YAML, not built.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** Stands in for "${PG_PASS}" and for empty placeholders: long enough for every secret setting. */
const SAMPLE = 'sample-0123456789abcdef0123456789abcdef';
const sampled = (value: string) => value.replace(/\$\{[^}]*\}/g, SAMPLE) || SAMPLE;

// --- src/cli.ts: the commands, from its usage text (importing cli.ts would run it) ---------------

function cliCommands(): string[] {
  const usage = /const USAGE = `((?:\\.|[^`\\])*)`/.exec(read('src/cli.ts'))?.[1];
  assert.ok(usage, 'src/cli.ts defines a USAGE text');
  // Command lines are indented two spaces; their continuation lines much further.
  return [...usage.matchAll(/^ {2}([a-z][a-z0-9-]*)(?=\s)/gm)].map((m) => m[1] as string);
}

// --- src/config/schema.ts: every setting as an environment variable -----------------------------

function settingNames(shape: Record<string, z.core.$ZodType>, path: string[] = []): string[] {
  return Object.entries(shape).flatMap(([key, field]) => {
    // .optional(), .default() and .prefault() wrap the real type; unwrap to find nested groups.
    let inner = field;
    while ('innerType' in inner._zod.def) inner = inner._zod.def.innerType as z.core.$ZodType;
    const here = [...path, key];
    return inner instanceof z.ZodObject
      ? settingNames(inner.shape as Record<string, z.core.$ZodType>, here)
      : [`GATEHOUSE_${here.join('__').toUpperCase()}`];
  });
}

const SETTINGS = settingNames(configSchema.shape);
const DEFAULTS = loadConfig({}, null);

/** The value at GATEHOUSE_A__B's path (a.b) in a loaded config. */
function settingIn(config: unknown, name: string): unknown {
  const path = name.slice('GATEHOUSE_'.length).toLowerCase().split('__');
  return path.reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], config);
}

function assertAccepted(name: string, value: string, where: string) {
  assert.doesNotThrow(() => loadConfig({ [name]: sampled(value) }, null), `${where}: ${name}=${value} is rejected by loadConfig`);
}

// --- docker-compose.yml -------------------------------------------------------------------------

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  env_file?: string | (string | { path: string })[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | { target: number })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
}

const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const gatehouseServices = services.filter(([, s]) => s.build !== undefined || /^(?:[^/]+\/)*gatehouse(?::|$)/.test(s.image ?? ''));

const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command : (s.command ?? '').trim().split(/\s+/));

function environmentOf(s: Service): [string, string][] {
  if (Array.isArray(s.environment)) {
    return s.environment.map((line) => {
      const cut = line.indexOf('=');
      return cut < 0 ? [line, ''] : [line.slice(0, cut), line.slice(cut + 1)];
    });
  }
  return Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]);
}

const healthTest = (s: Service) => (Array.isArray(s.healthcheck?.test) ? s.healthcheck.test.join(' ') : (s.healthcheck?.test ?? ''));

function serviceNamed(name: string): Service {
  const service = compose.services[name];
  assert.ok(service, `docker-compose.yml has a ${name} service`);
  return service;
}

// --- Dockerfile ---------------------------------------------------------------------------------

interface Instruction {
  name: string;
  args: string;
}

/** Instructions per build stage (joined continuation lines, comments dropped). */
function dockerfileStages(): Instruction[][] {
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [, name = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { name: name.toUpperCase(), args: args.trim() };
    if (instruction.name === 'FROM') stages.push([]);
    const stage = stages.at(-1);
    assert.ok(stage, `Dockerfile: ${instruction.name} before the first FROM`);
    stage.push(instruction);
  }
  return stages;
}

const stages = dockerfileStages();
const finalStage = stages.at(-1) ?? [];
const instructions = (stage: Instruction[], name: string) => stage.filter((i) => i.name === name).map((i) => i.args);

/** ENV KEY=value KEY2=value2 (and the legacy ENV KEY value) of the final stage. */
function dockerEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of instructions(finalStage, 'ENV')) {
    if (!/^\S+=/.test(args)) {
      const [key = '', ...rest] = args.split(/\s+/);
      env[key] = rest.join(' ');
      continue;
    }
    for (const pair of args.split(/\s+/)) {
      const cut = pair.indexOf('=');
      env[pair.slice(0, cut)] = pair.slice(cut + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

const exposedPorts = () => instructions(finalStage, 'EXPOSE').flatMap((a) => a.split(/\s+/)).map((p) => Number(p.split('/')[0]));

// --- .env.example -------------------------------------------------------------------------------

/** Every NAME=value line, whether set or commented out ("# NAME=value"). */
function envExample(): [string, string][] {
  return [...read('.env.example').matchAll(/^#?[ \t]*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, (m[2] as string).trim()]);
}

// ------------------------------------------------------------------------------------------------

describe('deployment files', () => {
  test('the settings walk finds nested and top-level settings of the schema', () => {
    for (const name of ['GATEHOUSE_SECRET_KEY', 'GATEHOUSE_LISTEN__HTTP', 'GATEHOUSE_POSTGRESQL__HOST', 'GATEHOUSE_REDIS__KEY_PREFIX']) {
      assert.ok(SETTINGS.includes(name), `${name} found among ${SETTINGS.join(', ')}`);
    }
    assert.ok(!SETTINGS.includes('GATEHOUSE_POSTGRESQL'), 'groups are walked into, not listed');
  });

  describe('docker-compose.yml', () => {
    test('every Gatehouse service runs a command that src/cli.ts knows', () => {
      const commands = cliCommands();
      assert.ok(commands.includes('server') && commands.includes('worker'), `usage text parsed: ${commands.join(', ')}`);
      assert.ok(gatehouseServices.length >= 2, 'compose runs the gatehouse image at least twice');
      for (const [name, service] of gatehouseServices) {
        const [command = ''] = commandOf(service);
        assert.ok(commands.includes(command), `service ${name}: command "${command}" is none of ${commands.join(', ')}`);
      }
    });

    test('server and worker run from the built gatehouse image with .env and restart unless stopped', () => {
      for (const name of ['server', 'worker']) {
        const service = serviceNamed(name);
        assert.equal(commandOf(service)[0], name);
        assert.notEqual(service.build, undefined, `${name} builds the image`);
        assert.equal(service.image, 'gatehouse:latest');
        assert.equal((service as { restart?: string }).restart, 'unless-stopped');
        const envFiles = [service.env_file ?? []].flat().map((f) => (typeof f === 'string' ? f : f.path));
        assert.ok(envFiles.includes('.env'), `${name} reads .env (GATEHOUSE_SECRET_KEY)`);
      }
    });

    test('every GATEHOUSE_* variable a service sets is accepted by loadConfig', () => {
      for (const [name, service] of services) {
        for (const [key, value] of environmentOf(service)) {
          if (key.startsWith('GATEHOUSE_')) assertAccepted(key, value, `docker-compose.yml service ${name}`);
        }
      }
    });

    test('server and worker together with the image environment form a valid Postgres + Redis config', () => {
      for (const name of ['server', 'worker']) {
        const env = { ...dockerEnvironment(), ...Object.fromEntries(environmentOf(serviceNamed(name)).map(([k, v]) => [k, sampled(v)])) };
        const config = loadConfig({ ...env, GATEHOUSE_SECRET_KEY: SAMPLE }, null);
        assert.equal(config.postgresql.host, 'postgresql');
        assert.equal(config.postgresql.user, 'gatehouse');
        assert.equal(config.postgresql.name, 'gatehouse');
        assert.equal(config.postgresql.password, SAMPLE, 'the password comes from PG_PASS');
        assert.equal(config.redis.host, 'redis');
      }
    });

    test('Postgres is 16 and Redis is 7, each with a health check', () => {
      const postgres = serviceNamed('postgresql');
      const redis = serviceNamed('redis');
      assert.match(postgres.image ?? '', /(?:^|\/)postgres:16(?:[.-]|$)/);
      assert.match(redis.image ?? '', /(?:^|\/)redis:7(?:[.-]|$)/);
      assert.match(healthTest(postgres), /pg_isready/);
      assert.match(healthTest(redis), /redis-cli\s+ping/);
      const env = Object.fromEntries(environmentOf(postgres));
      assert.equal(env.POSTGRES_USER, 'gatehouse');
      assert.equal(env.POSTGRES_DB, 'gatehouse');
      assert.match(env.POSTGRES_PASSWORD ?? '', /^\$\{PG_PASS:\?/, 'compose refuses to start without PG_PASS');
    });

    test('server and worker start only once Postgres and Redis are healthy', () => {
      for (const name of ['server', 'worker']) {
        const dependsOn = serviceNamed(name).depends_on;
        assert.ok(dependsOn && !Array.isArray(dependsOn), `${name}: depends_on has conditions`);
        for (const backend of ['postgresql', 'redis']) {
          assert.equal(dependsOn[backend]?.condition, 'service_healthy', `${name} waits for ${backend}`);
        }
      }
    });

    test('the server publishes HTTP on loopback only and health-checks /-/health/live/', () => {
      const server = serviceNamed('server');
      const ports = (server.ports ?? []).map(String);
      assert.ok(ports.includes('127.0.0.1:9000:9000'), `ports: ${ports.join(', ')}`);
      for (const port of ports) {
        assert.match(port, /^127\.0\.0\.1:/, `${port} is published on loopback (Nginx in front)`);
        assert.ok(exposedPorts().includes(Number(port.split(':').at(-1))), `${port}: the image exposes the container port`);
      }
      assert.match(healthTest(server), /http:\/\/127\.0\.0\.1:9000\/-\/health\/live\//);
    });

    test('every Gatehouse process publishes its metrics listener, on loopback only', () => {
      const metricsPort = loadConfig(dockerEnvironment(), null).listen.metrics?.port;
      const published: string[] = [];
      for (const [name, service] of gatehouseServices) {
        const metrics = (service.ports ?? []).map(String).filter((p) => Number(p.split(':').at(-1)) === metricsPort);
        assert.equal(metrics.length, 1, `${name} publishes port ${metricsPort}`);
        assert.match(metrics[0] as string, /^127\.0\.0\.1:\d+:\d+$/, `${name}: metrics stay off the internet`);
        published.push((metrics[0] as string).split(':')[1] as string);
      }
      assert.equal(new Set(published).size, published.length, 'each on a host port of its own');
    });

    test('Gatehouse services without an HTTP listener disable the image health check', () => {
      for (const [name, service] of gatehouseServices) {
        const serves = ['server', 'all'].includes(commandOf(service)[0] ?? '');
        if (!serves) assert.equal(service.healthcheck?.disable, true, `${name} (${commandOf(service)[0]}) would be reported unhealthy`);
      }
    });

    test('every variable docker-compose.yml interpolates is documented in .env.example', () => {
      const documented = new Set(envExample().map(([k]) => k));
      for (const [, name] of read('docker-compose.yml').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
        assert.ok(documented.has(name as string), `${name} is in .env.example`);
      }
    });
  });

  describe('Dockerfile', () => {
    test('every stage is built FROM node:24', () => {
      assert.ok(stages.length >= 2, 'multi-stage build');
      for (const stage of stages) assert.match(stage[0]?.args ?? '', /^node:24(?:[-.@\s]|$)/);
    });

    test('the build compiles src/ with npm run build and keeps only production dependencies', () => {
      const runs = stages.flatMap((s) => instructions(s, 'RUN')).join('\n');
      assert.match(runs, /npm ci\b[^\n]*--omit=optional/, 'without the dev-machine node binary');
      assert.match(runs, /npm run build/);
      assert.match(runs, /npm prune\b[^\n]*--omit=dev/);
      const copies = instructions(finalStage, 'COPY').join('\n');
      assert.match(copies, /--from=build \/app\/dist \.\/dist/);
      assert.doesNotMatch(copies, /^src\b/m, 'no TypeScript sources in the image');
      const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
      assert.match(pkg.scripts.build ?? '', /tsc -p tsconfig\.build\.json/);
      assert.match(pkg.scripts.build ?? '', /cp -r migrations dist/);
    });

    test('the default flows\' blueprints and their YAML parser reach the image', () => {
      const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
      assert.match(pkg.scripts.build ?? '', /cp -r blueprints\/default dist\/blueprints\//, 'next to the code, where src/blueprints/files.ts looks');
      const buildCopies = stages.slice(0, -1).flatMap((s) => instructions(s, 'COPY')).join('\n');
      assert.match(buildCopies, /^blueprints\/default \.\/blueprints\/default$/m);
      assert.ok(pkg.dependencies.yaml, 'yaml is a production dependency: first start parses the defaults');
    });

    test('the final stage runs as a user other than root', () => {
      const user = instructions(finalStage, 'USER').at(-1);
      assert.ok(user, 'final stage sets USER');
      assert.doesNotMatch(user, /^(root|0)(:|$)/);
    });

    test('the entrypoint is bin/gatehouse (on PATH), all by default', () => {
      const entrypoint = JSON.parse(instructions(finalStage, 'ENTRYPOINT').at(-1) ?? 'null') as string[];
      // bin/gatehouse runs dist/src/cli.js when src/ is absent, and gives `all` its node flag.
      assert.deepEqual(entrypoint, ['gatehouse']);
      assert.ok(
        instructions(finalStage, 'RUN').some((r) => /ln -s \/app\/bin\/gatehouse \/usr\/local\/bin\/gatehouse/.test(r)),
        'the image links bin/gatehouse into PATH',
      );
      assert.equal(instructions(finalStage, 'WORKDIR').at(-1), '/app');
      const [command] = JSON.parse(instructions(finalStage, 'CMD').at(-1) ?? '[]') as string[];
      assert.ok(cliCommands().includes(command ?? ''), `CMD ${command} is a command of src/cli.ts`);
    });

    test('every ENV GATEHOUSE_* variable is accepted by loadConfig', () => {
      const env = Object.entries(dockerEnvironment()).filter(([k]) => k.startsWith('GATEHOUSE_'));
      assert.ok(env.length > 0);
      for (const [key, value] of env) assertAccepted(key, value, 'Dockerfile ENV');
    });

    test('every listener binds 0.0.0.0 on its default port, and the image exposes it', () => {
      const config = loadConfig(dockerEnvironment(), null);
      assert.equal(config.data_dir, '/data');
      assert.ok(instructions(finalStage, 'VOLUME').some((v) => /(^|["\s[])\/data\b/.test(v)), 'VOLUME /data');
      const exposed = exposedPorts();
      for (const listener of ['http', 'https', 'ldap', 'ldaps', 'metrics'] as const) {
        const port = DEFAULTS.listen[listener]?.port;
        assert.deepEqual(config.listen[listener], { host: '0.0.0.0', port }, listener);
        assert.ok(exposed.includes(port ?? 0), `EXPOSE ${port} (${listener})`);
      }
    });

    test('the health check asks node for /-/health/live/ on the HTTP port', () => {
      const healthcheck = instructions(finalStage, 'HEALTHCHECK').at(-1);
      assert.ok(healthcheck, 'final stage has a HEALTHCHECK');
      const port = loadConfig(dockerEnvironment(), null).listen.http.port;
      assert.match(healthcheck, /CMD \["node", "-e", /);
      assert.ok(healthcheck.includes(`http://127.0.0.1:${port}/-/health/live/`), healthcheck);
    });

    test('.dockerignore keeps node_modules, local data and .env out of the build context', () => {
      const ignored = read('.dockerignore').split(/\r?\n/).map((l) => l.trim());
      for (const entry of ['node_modules', 'data', '.git', 'test', '.env']) assert.ok(ignored.includes(entry), entry);
    });
  });

  describe('.env.example', () => {
    const example = envExample();
    const gatehouseKeys = example.map(([k]) => k).filter((k) => k.startsWith('GATEHOUSE_'));

    test('lists every setting of the schema exactly once, and nothing else', () => {
      assert.deepEqual([...gatehouseKeys].sort(), [...SETTINGS].sort());
    });

    test('every setting it lists is accepted by loadConfig with the value shown', () => {
      for (const [key, value] of example) if (key.startsWith('GATEHOUSE_')) assertAccepted(key, value, '.env.example');
    });

    test('a setting shown with a default shows the schema default', () => {
      for (const [key, value] of example) {
        if (!key.startsWith('GATEHOUSE_') || settingIn(DEFAULTS, key) === undefined) continue; // an example, no default
        assert.deepEqual(settingIn(loadConfig({ [key]: value }, null), key), settingIn(DEFAULTS, key), `${key}=${value}`);
      }
    });

    test('sets nothing by default, and says how to make a secret key and PG_PASS', () => {
      const text = read('.env.example');
      assert.deepEqual(text.split(/\r?\n/).filter((l) => /^[A-Z]/.test(l)), [], 'every setting is commented out');
      assert.ok(example.some(([k]) => k === 'PG_PASS'), 'PG_PASS for docker compose');
      assert.match(text, /openssl rand -base64 36/);
    });
  });
});

test('the image carries a pg_dump at least as new as the Postgres that docker-compose.yml runs', () => {
  const dockerfile = read('Dockerfile');
  const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, { image?: string }> };
  const serverMajor = Number(/postgres:(\d+)/.exec(compose.services.postgresql?.image ?? '')?.[1]);
  const clientMajor = Number(/postgresql-client-(\d+)/.exec(dockerfile)?.[1]);
  assert.ok(serverMajor > 0 && clientMajor >= serverMajor, `client ${clientMajor}, server ${serverMajor}`);
  assert.match(dockerfile, /signed-by=\/usr\/share\/postgresql-common\/pgdg\/apt\.postgresql\.org\.asc/, 'the repository is verified by its key');
});
