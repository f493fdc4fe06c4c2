import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/gatehouse`;

// Ports for the processes a test starts come from below Linux's ephemeral range (32768–60999):
// a port the kernel handed out to be free (listen on 0) can be taken, before the child binds it,
// as the local end of some other test's outgoing connection (to Postgres, Redis), which then
// holds it for as long as that connection lives.
const OWN_PORTS = { from: 20_000, to: 32_767 };

function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = OWN_PORTS.from + Math.floor(Math.random() * (OWN_PORTS.to - OWN_PORTS.from + 1));
    if (await isFree(port)) return port;
  }
}

export interface RunningGatehouse {
  process: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code (null if killed by signal). */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Starts bin/gatehouse with only the given environment (plus PATH/HOME), as an operator would.
 * Metrics are off unless the test sets GATEHOUSE_LISTEN__METRICS: processes started side by side
 * would all want the default :9300 (test/e2e/metrics.test.ts turns them on).
 */
export function startGatehouse(args: string[], env: Record<string, string>, port?: number, bin = BIN): RunningGatehouse {
  const child = spawn(bin, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GATEHOUSE_LISTEN__METRICS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    url: `http://127.0.0.1:${port ?? 0}`,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a gatehouse command to completion. */
export async function runGatehouse(args: string[], env: Record<string, string>) {
  const run = startGatehouse(args, env);
  const timer = setTimeout(() => run.process.kill('SIGKILL'), 60_000);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output() };
}

/** Polls a URL until it answers with one of the statuses (or the process dies, or time runs out). */
export async function waitFor(run: RunningGatehouse, path: string, statuses = [200, 204], ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (run.process.exitCode !== null) throw new Error(`gatehouse exited early: ${run.output()}`);
    try {
      const res = await fetch(run.url + path);
      if (statuses.includes(res.status)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer from ${path} in ${ms} ms: ${run.output()}`);
}
