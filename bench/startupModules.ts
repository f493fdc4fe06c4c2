// What `gatehouse server` (or `all`) loads at start and what each part costs in resident memory:
// the tool for finding what grew when idle RSS creeps up (bench/README.md, "Start-up modules").
//
//   npm run build && node_modules/.bin/node bench/startupModules.ts [server|all] > modules.json
//
// 1. Starts the built command (server: Postgres + Redis; all: embedded PGlite) with a loader hook
//    (bench/moduleTrace.ts) that lists every module it loads, waits for /-/health/ready/, 3 s
//    idle, then signs in once as akadmin through the flow executor: which packages (and how many
//    of our own modules) were loaded by ready, and which only by the login.
// 2. Weighs them in fresh processes (bench/moduleWeigh.ts): the packages loaded by ready, imported
//    one after another in the order the server first loaded them (each one's figure is what it
//    adds on top of those before it: shared dependencies count for the first), and the top-level
//    imports of dist/src/web/app.js the same way. Parts that add ≥ 1 MiB are weighed alone too.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Cleanup,
  CLI,
  createBenchStorage,
  log,
  randomText,
  residentMemoryMb,
  runBench,
  serverSettings,
  startGatehouse,
  waitUntilReady,
} from './harness.ts';
import { signIn } from './httpClient.ts';

const TRACE_HOOK = new URL('./moduleTrace.ts', import.meta.url).pathname;
const WEIGH = new URL('./moduleWeigh.ts', import.meta.url).pathname;
const APP = new URL('../dist/src/web/app.js', import.meta.url);
const DIST = new URL('../dist/', import.meta.url).href;
const command = process.argv[2] === 'all' ? 'all' : 'server';

/** `pkg` or `@scope/pkg` of a module URL inside node_modules; null for node: builtins and our own files. */
function packageOf(url: string): string | null {
  const at = url.lastIndexOf('/node_modules/');
  if (at < 0) return null;
  const [first = '', second = ''] = url.slice(at + '/node_modules/'.length).split('/');
  return first.startsWith('@') ? `${first}/${second}` : first;
}

/** Each package in the order it was first loaded, with the first file loaded of it (its entry as imported). */
function packagesIn(trace: TraceLine[]): Map<string, { entry: string; importer: string; files: number }> {
  const importerOf = new Map(trace.map(({ url, importer }) => [url, importer]));
  const packages = new Map<string, { entry: string; importer: string; files: number }>();
  for (const { url, importer } of trace) {
    const name = packageOf(url);
    if (!name) continue;
    const known = packages.get(name);
    if (known) known.files += 1;
    else packages.set(name, { entry: url, importer: importChain(importer, importerOf), files: 1 });
  }
  return packages;
}

/** `a.js < b.js < cli.js`: the module and who first imported it, up to the entry point. */
function importChain(url: string, importerOf: Map<string, string>): string {
  const chain: string[] = [];
  for (let at: string | undefined = url; at && chain.length < 30; at = importerOf.get(at)) chain.push(shortName(at));
  return chain.join(' < ');
}

interface TraceLine {
  url: string;
  importer: string;
}

/** A module URL as a reader wants it: `src/…` for ours, `pkg/…` inside node_modules. */
function shortName(url: string): string {
  if (url.startsWith(DIST)) return url.slice(DIST.length);
  const at = url.lastIndexOf('/node_modules/');
  return at < 0 ? url : url.slice(at + '/node_modules/'.length);
}

interface Weights {
  baseline_mb: number;
  total_mb: number;
  weights: { url: string; added_mb: number; ms: number; error?: string }[];
}

function weigh(urls: string[]): Weights {
  const output = execFileSync(process.execPath, ['--expose-gc', WEIGH, ...urls], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  return JSON.parse(output) as Weights;
}

/** Cumulative weights in the given order, plus each part of ≥ 1 MiB weighed alone in its own process. */
function weighParts(parts: { name: string; url: string }[]) {
  const together = weigh(parts.map((part) => part.url));
  return {
    baseline_mb: together.baseline_mb,
    total_mb: together.total_mb,
    parts: parts
      .map((part, i) => {
        const weight = together.weights[i] as Weights['weights'][number];
        const alone = weight.added_mb >= 1 ? weigh([part.url]).weights[0]?.added_mb : undefined;
        return { name: part.name, added_mb: weight.added_mb, ...(alone === undefined ? {} : { alone_mb: alone }), ...(weight.error ? { error: weight.error } : {}) };
      })
      .sort((a, b) => b.added_mb - a.added_mb),
  };
}

/** The modules dist/src/web/app.js imports itself (relative and bare specifiers), in source order. */
function topLevelImportsOfApp(): { name: string; url: string }[] {
  const source = readFileSync(APP, 'utf8');
  const specifiers = [...source.matchAll(/^import\s+(?!type\b)[^;]*?from\s+(['"])([^'"]+)\1;/gms)].map((match) => match[2] as string);
  return specifiers.map((specifier) => ({
    name: specifier,
    url: specifier.startsWith('.') ? new URL(specifier, APP).href : import.meta.resolve(specifier, APP.href),
  }));
}

async function run(cleanup: Cleanup, workDir: string) {
  const traceFile = join(workDir, 'modules.txt');
  const password = randomText(18);
  const settings: Record<string, string> =
    command === 'server'
      ? { ...serverSettings({ ...(await createBenchStorage(cleanup)), apiToken: randomText(32) }), GATEHOUSE_BOOTSTRAP_PASSWORD: password }
      : { GATEHOUSE_DATA_DIR: join(workDir, 'embedded-data'), GATEHOUSE_BOOTSTRAP_PASSWORD: password };
  log(`${command} with the module trace`);
  const traced = await startGatehouse(command, command, { ...settings, BENCH_MODULE_TRACE: traceFile }, workDir, cleanup, [
    '--import',
    TRACE_HOOK,
  ]);
  const readyMs = await waitUntilReady(traced);
  const readTrace = (): TraceLine[] =>
    readFileSync(traceFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => {
        const [url = '', importer = ''] = line.split('\t');
        return { url, importer };
      });
  const atReady = readTrace();
  await sleep(3_000);
  const idleRss = residentMemoryMb(traced.pid);
  await signIn(traced.baseUrl, 'akadmin', password);
  await sleep(500);
  const afterLogin = readTrace();
  const loginRss = residentMemoryMb(traced.pid);
  await traced.stop();

  const atReadyPackages = packagesIn(atReady);
  const loginPackages = [...packagesIn(afterLogin)].filter(([name]) => !atReadyPackages.has(name));
  const ownAtReady = atReady.filter(({ url }) => url.startsWith(DIST));
  const ownByLogin = afterLogin.slice(atReady.length).filter(({ url }) => url.startsWith(DIST));

  log(`weighing ${atReadyPackages.size} packages`);
  const packages = weighParts([...atReadyPackages].map(([name, { entry }]) => ({ name, url: entry })));
  log('weighing the top-level imports of dist/src/web/app.js');
  const appImports = weighParts(topLevelImportsOfApp());

  return {
    note: 'MiB of resident memory; the traced process pays for the hook (a file append per module), so its RSS is only indicative',
    command,
    cli: CLI,
    traced: { ready_ms: readyMs, rss_idle_mb: idleRss, rss_after_login_mb: loginRss },
    loaded_at_ready: {
      modules: atReady.length,
      own_modules: ownAtReady.length,
      own: ownAtReady.map(({ url }) => shortName(url)),
      /** Each package: how many of its files, and which module first imported it. */
      packages: Object.fromEntries([...atReadyPackages].map(([name, { files, importer }]) => [name, `${files} files, from ${importer}`])),
    },
    loaded_by_first_login: {
      packages: Object.fromEntries(loginPackages.map(([name, { files, importer }]) => [name, `${files} files, from ${importer}`])),
      own_modules: ownByLogin.map(({ url }) => shortName(url)),
    },
    package_weights: packages,
    app_import_weights: appImports,
  };
}

await runBench({ watchdogMs: 5 * 60_000, run });
