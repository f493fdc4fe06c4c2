// Forward auth's CPU per answer, the figure to compare hot-path changes by on a busy machine:
// wrk straight at the built `gatehouse server` (the question Nginx's auth_request asks, an
// authenticated cookie), beside a bare node:http server that writes the very same answer
// headers — Node's own floor for this exchange. Rounds alternate between the two; the CPU time of
// each server process (schedstat, all threads) over the requests of a round, medians over rounds.
// Both with kept-alive connections and with a connection per request (the seed block's HTTP/1.0).
// Run: npm run build && node_modules/.bin/node bench/forwardAuthCpu.ts > forward-auth-cpu.json
// BENCH_FWD_ROUNDS (default 6) rounds of 3 s each mode; needs wrk.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { forwardAuthQuestion, processRuntimeMs, startBareAnswerer, startForwardAuthServer } from './forwardAuthSetup.ts';
import { type Cleanup, HOST, log, round, runBench } from './harness.ts';

const ROUNDS = Number(process.env.BENCH_FWD_ROUNDS ?? 6);
const execute = promisify(execFile);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function run(cleanup: Cleanup, workDir: string) {
  if (!existsSync('/usr/bin/wrk')) throw new Error('needs wrk (apt-get install wrk)');
  const { server, cookie } = await startForwardAuthServer(cleanup, workDir);
  const question = forwardAuthQuestion(cookie);
  const bare = await startBareAnswerer(server, cookie, cleanup);
  const answerHeaders = bare.headers;
  const barePort = bare.port;

  const targets = { gatehouse: { url: `${server.baseUrl}/outpost.goauthentik.io`, pid: server.pid }, bare_node: { url: `http://${HOST}:${barePort}/outpost.goauthentik.io`, pid: bare.pid } };
  // wrk adds its own Host unless given one spelled `Host`.
  const headerArgs = Object.entries(question).flatMap(([name, value]) => ['-H', `${name === 'host' ? 'Host' : name}: ${value}`]);
  const result: Record<string, unknown> = { rounds: ROUNDS, seconds_per_round: 3, answer_header_bytes: answerHeaders.join(': ').length };
  for (const mode of ['keepalive', 'connection_per_request'] as const) {
    const extra = mode === 'keepalive' ? [] : ['-H', 'Connection: close'];
    const perRequest: Record<string, number[]> = { gatehouse: [], bare_node: [] };
    const rates: Record<string, number[]> = { gatehouse: [], bare_node: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, target] of Object.entries(targets)) {
        const before = processRuntimeMs(target.pid);
        const { stdout } = await execute('/usr/bin/wrk', ['-t1', '-c8', '-d3s', ...headerArgs, ...extra, target.url]);
        const used = processRuntimeMs(target.pid) - before;
        if (/Non-2xx/.test(stdout)) throw new Error(`${name}: answers other than 200\n${stdout}`);
        const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
        perRequest[name]?.push((used * 1000) / Math.max(1, requests));
        rates[name]?.push(Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0));
      }
      log(`${mode} round ${i + 1}: gatehouse ${round(perRequest.gatehouse?.at(-1) ?? 0)} µs, bare node ${round(perRequest.bare_node?.at(-1) ?? 0)} µs per answer`);
    }
    const gatehouse = median(perRequest.gatehouse ?? []);
    const bareNode = median(perRequest.bare_node ?? []);
    result[mode] = {
      gatehouse_cpu_us: round(gatehouse),
      bare_node_cpu_us: round(bareNode),
      gatehouse_over_bare_us: round(gatehouse - bareNode),
      requests_per_s: { gatehouse: round(median(rates.gatehouse ?? [])), bare_node: round(median(rates.bare_node ?? [])) },
      rounds_us: { gatehouse: (perRequest.gatehouse ?? []).map((v) => round(v)), bare_node: (perRequest.bare_node ?? []).map((v) => round(v)) },
    };
  }
  return result;
}

await runBench({ watchdogMs: 5 * 60_000, run });
