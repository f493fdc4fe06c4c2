// `npm run bench`: every benchmark in bench/, one after another (they would steal each other's
// CPU side by side), each figure beside its floor or peer from the same run. Writes one JSON file
// and one Markdown table under bench-results/ and prints the JSON on stdout.
// BENCH_ONLY=logins,oidc runs a subset; a benchmark that fails is reported, and the rest run.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

const BENCHES = ['core', 'processes', 'logins', 'loginFloor', 'oidc', 'forwardAuth', 'scaleOut', 'ldap', 'saml'] as const;
type Bench = (typeof BENCHES)[number];
const here = new URL('.', import.meta.url).pathname;
const log = (message: string) => process.stderr.write(`[bench:all] ${message}\n`);

function runOne(name: Bench): Promise<{ seconds: number; result?: unknown; error?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, `${name}.ts`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      try {
        if (code !== 0) throw new Error(`exited with ${code}`);
        resolve({ seconds, result: JSON.parse(out) });
      } catch (error) {
        resolve({ seconds, error: (error as Error).message });
      }
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: each bench prints its own JSON shape; read defensively below
type Json = Record<string, any>;
const fmt = (n: unknown, digits = 0) => (typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '—');
const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? (a / b).toFixed(2) : '—');

/** One row per figure: what, Gatehouse, its floor or peer, the ratio, the goal. */
function rows(results: Partial<Record<Bench, Json>>): string[][] {
  const r: string[][] = [];
  const { core, processes, logins, loginFloor, oidc, forwardAuth, scaleOut, ldap, saml } = results;
  if (logins) r.push(['password logins/s (16 clients)', fmt(logins.logins_per_s, 1), `argon2 verifies/s ${fmt(logins.verifies_per_s, 1)}`, ratio(logins.logins_per_s, logins.verifies_per_s), '≥ 0.85']);
  if (loginFloor) {
    const floor = (name: string) => `${fmt(loginFloor[name]?.logins_per_s, 1)} (${fmt(loginFloor.ratios?.[name], 2)} of argon2 ${fmt(loginFloor.argon2?.verifies_per_s, 1)}/s)`;
    r.push(['password logins/s against floors (same run)', floor('gatehouse'), `bare node:http ${floor('floor_bare')}; with Postgres+Redis ${floor('floor_stores')}`, ratio(loginFloor.gatehouse?.logins_per_s, loginFloor.floor_stores?.logins_per_s), '']);
  }
  if (oidc) {
    for (const [op, figures] of Object.entries<Json>(oidc.operations ?? {})) {
      r.push([`OIDC ${op} req/s (32 conn.)`, fmt(figures.gatehouse?.req_per_s), `bare oidc-provider ${fmt(figures.bare?.req_per_s)}`, ratio(figures.gatehouse?.req_per_s, figures.bare?.req_per_s), op === 'client_credentials' ? '≥ 0.5' : '']);
    }
  }
  if (forwardAuth) {
    // Two Nginx shapes, each beside its own floor (bench/forwardAuth.ts); the goal is the lean one's.
    for (const [shape, label] of [
      ['lean', 'lean block: keepalive pool, static page'],
      ['seed', 'seed guide block'],
    ] as const) {
      const s = forwardAuth[shape];
      if (!s) continue;
      const p99 = (m: Json | undefined) => fmt(m?.p99_ms, 1);
      r.push([
        `forward auth via Nginx auth_request req/s (${label})`,
        `${fmt(s.gatehouse?.requests_per_s)} (p99 ${p99(s.gatehouse)} ms)`,
        `Nginx to a 200 upstream ${fmt(s.floor?.requests_per_s)} (p99 ${p99(s.floor)} ms); to a bare node:http server ${fmt(s.node_floor?.requests_per_s)} (p99 ${p99(s.node_floor)} ms)`,
        `${ratio(s.gatehouse?.requests_per_s, s.floor?.requests_per_s)} (from CPU: machine ${fmt(s.ratio_from_machine_cpu, 2)}, own ${fmt(s.ratio_from_cpu, 2)}); of bare node:http ${fmt(s.ratio_to_node_floor, 2)}`,
        shape === 'lean' ? '≥ 0.5, p99 < 5 ms' : '',
      ]);
    }
  }
  if (scaleOut) {
    // One row per measurement: the figures for 1 / 2 / 3 servers, the ratios of 2 and 3 to one.
    const perPool = (values: unknown, digits: number) => (Array.isArray(values) ? values.map((v) => fmt(v, digits)).join(' / ') : '—');
    const ratios = (values: unknown) => (Array.isArray(values) ? values.slice(1).map((v) => fmt(v, 2)).join(' / ') : '—');
    const ceiling = `CPU-bound on ${fmt(scaleOut.cpus)} cores`;
    r.push(['scale-out: password logins/s, 1 / 2 / 3 servers via Nginx (16 clients)', perPool(scaleOut.logins_per_s, 1), 'one server, same run', ratios(scaleOut.ratio_to_one_server?.logins), ceiling]);
    r.push(['scale-out: forward auth req/s, 1 / 2 / 3 servers (32 conn.)', perPool(scaleOut.forward_auth_req_per_s, 0), 'one server, same run', ratios(scaleOut.ratio_to_one_server?.forward_auth), ceiling]);
  }
  if (ldap) {
    for (const op of ['search_by_uid', 'groups_of_user', 'all_users']) {
      r.push([`LDAP ${op}/s (32 clients)`, fmt(ldap.gatehouse?.[op]?.per_s), `slapd ${fmt(ldap.slapd?.[op]?.per_s)}`, ratio(ldap.gatehouse?.[op]?.per_s, ldap.slapd?.[op]?.per_s), op === 'search_by_uid' ? '≥ 0.5' : '']);
    }
    r.push(['LDAP cached binds/s', fmt(ldap.gatehouse?.cached_binds?.per_s), `slapd binds ${fmt(ldap.slapd?.binds?.per_s)}`, ratio(ldap.gatehouse?.cached_binds?.per_s, ldap.slapd?.binds?.per_s), '']);
    const floors = ldap.direct_bind_floors;
    r.push([
      'LDAP direct binds/s',
      fmt(ldap.gatehouse?.direct_binds?.per_s, 1),
      `argon2 verifies/s ${fmt(ldap.argon2_verifies_per_s, 1)}; servers that only verify: one process ${fmt(floors?.ldap?.per_s)}, LDAP → HTTP core ${fmt(floors?.relay?.per_s)}`,
      `${ratio(ldap.gatehouse?.direct_binds?.per_s, ldap.argon2_verifies_per_s)}; of the HTTP floor ${fmt(ldap.direct_binds_to_floor?.relay, 2)}; ${fmt(ldap.direct_bind_cpu_besides_argon2_ms, 2)} ms of CPU a bind besides argon2`,
      'near 1',
    ]);
  }
  if (saml) r.push(['SAML SSO responses/s (16 conn., RSA-2048)', fmt(saml.idp_initiated_sso?.sso_per_s), `signing alone, one core ${fmt(saml.in_process_signing?.responses_per_s_one_core)}`, ratio(saml.idp_initiated_sso?.sso_per_s, saml.in_process_signing?.responses_per_s_one_core), '']);
  if (core) {
    r.push(['list 100 of 10k users req/s', fmt(core.list_users?.requests_per_s), '', '', '']);
    r.push(['server start → ready (ms), RSS ready / idle (MiB)', `${fmt(core.start_to_ready_ms)} ms, ${fmt(core.ready_rss_mb)} / ${fmt(core.idle_rss_mb)} MiB`, '', '', 'idle < 120 MiB']);
    r.push([
      'embedded `all` first start / restart: ready (ms); idle RSS; peak RSS',
      `${fmt(core.embedded?.start_to_ready_ms)} / ${fmt(core.embedded?.restart_to_ready_ms)} ms; ${fmt(core.embedded?.idle_rss_mb)} / ${fmt(core.embedded?.restart_idle_rss_mb)} MiB; ${fmt(core.embedded?.peak_rss_mb)} / ${fmt(core.embedded?.restart_peak_rss_mb)} MiB`,
      '',
      '',
      '',
    ]);
  }
  if (processes) {
    for (const name of ['server', 'worker', 'ldap']) {
      const p = processes[name] ?? {};
      r.push([`\`${name}\`: spawn → ready; RSS ready / under load / idle`, `${fmt(p.ready_ms)} ms; ${fmt(p.rss_ready_mb)} / ${fmt(p.rss_under_load_mb)} / ${fmt(p.rss_idle_mb)} MiB`, '', '', '']);
    }
    const server = processes.server ?? {};
    r.push(['`server`: RSS 5 s after ready / 5 s after one login', `${fmt(server.rss_5s_after_ready_mb)} / ${fmt(server.rss_5s_after_login_mb)} MiB`, '', '', 'idle < 120 MiB']);
    const all = processes.all_embedded ?? {};
    r.push([
      '`all` (embedded): spawn → ready; RSS 5 s after ready / after one login / idle / peak',
      `${fmt(all.ready_ms)} ms; ${fmt(all.rss_5s_after_ready_mb)} / ${fmt(all.rss_5s_after_login_mb)} / ${fmt(all.rss_idle_mb)} / ${fmt(all.rss_peak_mb)} MiB`,
      '',
      '',
      '',
    ]);
  }
  return r;
}

const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const chosen = BENCHES.filter((b) => only.length === 0 || only.includes(b));
const machine = { cpus: availableParallelism(), cpu_model: cpus()[0]?.model ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, load_average_at_start: loadavg().map((l) => Math.round(l * 10) / 10) };
const report: Json = { started_at: new Date().toISOString(), machine, benches: {} };
for (const name of chosen) {
  log(`${name}: starting`);
  const outcome = await runOne(name);
  report.benches[name] = outcome.error ? { error: outcome.error, seconds: outcome.seconds } : { seconds: outcome.seconds, ...(outcome.result as Json) };
  log(`${name}: ${outcome.error ? `failed (${outcome.error})` : 'done'} in ${outcome.seconds} s`);
}
report.finished_at = new Date().toISOString();

const ok = Object.fromEntries(Object.entries<Json>(report.benches).filter(([, v]) => !v.error)) as Partial<Record<Bench, Json>>;
const table = [
  `# Benchmarks ${report.started_at}`,
  '',
  `${machine.cpus} × ${machine.cpu_model}, ${machine.memory_gib} GiB, Node ${machine.node}; load average at start ${machine.load_average_at_start.join(' ')}. Clients, Postgres, Redis and the peers share these CPUs.`,
  '',
  '| figure | Gatehouse | floor / peer (same run) | ratio | goal |',
  '| --- | --- | --- | --- | --- |',
  ...rows(ok).map((cells) => `| ${cells.join(' | ')} |`),
  '',
  ...Object.entries<Json>(report.benches)
    .filter(([, v]) => v.error)
    .map(([name, v]) => `- ${name}: failed (${v.error})`),
].join('\n');
const dir = join(here, '..', 'bench-results');
mkdirSync(dir, { recursive: true });
const stamp = report.started_at.replace(/[:.]/g, '-');
writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(dir, `${stamp}.md`), `${table}\n`);
log(`wrote bench-results/${stamp}.json and .md`);
process.stderr.write(`${table}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
