// The child process of bench/startupModules.ts that weighs modules: imports the module URLs
// given as arguments one after another and prints, as one JSON array, the resident memory each
// import added (after two full collections, so garbage of the import is not counted). Imports
// nothing itself beyond node: builtins, so its own start is the baseline.
// Run: node --expose-gc bench/moduleWeigh.ts <url>...
import { setImmediate as nextTurn } from 'node:timers/promises';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('moduleWeigh: run with --expose-gc');

async function settledRss(): Promise<number> {
  for (let round = 0; round < 2; round++) {
    gc?.();
    await nextTurn();
  }
  return process.memoryUsage.rss() / 2 ** 20;
}

const weights: { url: string; added_mb: number; ms: number; error?: string }[] = [];
let before = await settledRss();
const baseline = before;
for (const url of process.argv.slice(2)) {
  const started = performance.now();
  let error: string | undefined;
  try {
    await import(url);
  } catch (caught) {
    error = (caught as Error).message.split('\n')[0];
  }
  const ms = performance.now() - started;
  const after = await settledRss();
  weights.push({ url, added_mb: Number((after - before).toFixed(1)), ms: Number(ms.toFixed(1)), ...(error ? { error } : {}) });
  before = after;
}
process.stdout.write(`${JSON.stringify({ baseline_mb: Number(baseline.toFixed(1)), total_mb: Number(before.toFixed(1)), weights })}\n`);
