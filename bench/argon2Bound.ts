// The argon2 bound of the login benchmarks: raw verifies/s with Gatehouse's parameters in the
// bench process while the servers idle — 1 s warm-up, then the verifies that end inside 5 s —
// measured twice, with as many in flight as the server runs at once (HASHING_CONCURRENCY) and
// with 16 (libuv's 4 threads busy), and the better of the two is the bound. 19 MiB a verify:
// on a 2-vCPU VM four at once can thrash the caches enough that two at once do up to 20 % more
// (2026-11-27), and a bound taken the slow way would flatter every ratio against it. Every
// benchmark that compares logins or binds with it takes it this way.
import { setTimeout as sleep } from 'node:timers/promises';
import argon2 from 'argon2';
import { PASSWORD_HASH_OPTIONS } from '../src/core/passwords.ts';
import { HASHING_CONCURRENCY } from '../src/flows/hashingQueue.ts';
import { attributeCpu, type CpuSnapshot, cpuSnapshot, log, round, waitForQuiet } from './harness.ts';

export const ARGON2_BOUND = { inFlight: [HASHING_CONCURRENCY, 16], warmupSeconds: 1, durationSeconds: 5 };
const PASSWORD = 'bench-password-0123456789';

/** How a phase's CPU is split: by pid/command name (see attributeCpu). */
export type CpuGroups = Record<string, (pid: number, comm: string) => boolean>;

export async function measureArgon2Bound(options: { quietWaitMs: number; cpuGroups?: () => Promise<CpuGroups> }) {
  const quiet = await waitForQuiet(options.quietWaitMs);
  const hash = await argon2.hash(PASSWORD, PASSWORD_HASH_OPTIONS);
  const runs = [];
  for (const inFlight of ARGON2_BOUND.inFlight) runs.push(await measureAt(hash, inFlight, options.cpuGroups));
  const best = runs.reduce((a, b) => (b.verifies_per_s > a.verifies_per_s ? b : a));
  return {
    ...best,
    verifies_per_s_by_in_flight: Object.fromEntries(runs.map((r) => [r.in_flight, r.verifies_per_s])),
    quiet_before: quiet,
  };
}

async function measureAt(hash: string, inFlight: number, cpuGroups?: () => Promise<CpuGroups>) {
  const { warmupSeconds, durationSeconds } = ARGON2_BOUND;
  log(`argon2: verify at ${inFlight} in flight, ${warmupSeconds} s warm-up then ${durationSeconds} s (servers idle)`);
  const warmEnd = performance.now() + warmupSeconds * 1000;
  const end = warmEnd + durationSeconds * 1000;
  let counted = 0;
  // CPU is read exactly at the window's edges (timers), so work in flight at both ends evens out.
  let atStart: { snapshot: CpuSnapshot; cpu: NodeJS.CpuUsage } | null = null;
  let atEnd: { snapshot: CpuSnapshot; cpu: NodeJS.CpuUsage } | null = null;
  const started = sleep(warmEnd - performance.now()).then(() => {
    atStart = { snapshot: cpuSnapshot(), cpu: process.cpuUsage() };
  });
  const ended = sleep(end - performance.now()).then(() => {
    atEnd = { snapshot: cpuSnapshot(), cpu: process.cpuUsage() };
  });
  const worker = async () => {
    while (performance.now() < end) {
      if (!(await argon2.verify(hash, PASSWORD))) throw new Error('argon2.verify rejected its own hash');
      const finished = performance.now();
      if (finished >= warmEnd && finished < end) counted += 1;
    }
  };
  await Promise.all([started, ended, ...Array.from({ length: inFlight }, worker)]);
  const first = atStart as { snapshot: CpuSnapshot; cpu: NodeJS.CpuUsage } | null;
  const last = atEnd as { snapshot: CpuSnapshot; cpu: NodeJS.CpuUsage } | null;
  if (!first || !last) throw new Error('the verify window never started or ended');
  const cpuMs = (last.cpu.user - first.cpu.user + last.cpu.system - first.cpu.system) / 1000;
  return {
    verifies_per_s: round(counted / durationSeconds),
    verifies: counted,
    in_flight: inFlight,
    duration_s: durationSeconds,
    uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    cpu_ms_per_verify: round(cpuMs / Math.max(1, counted), 2),
    cpu: attributeCpu(first.snapshot, last.snapshot, cpuGroups ? await cpuGroups() : {}),
  };
}
