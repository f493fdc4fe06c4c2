import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Gives memory back after a burst. V8 keeps the heap it grew under load (an idle process never
 * collects), so a server that once served a spike stays at its peak RSS. When no request has
 * arrived for `idleMs` after some were served, one full collection runs: a few milliseconds,
 * only while nobody waits, and RSS falls back near its start-up size (bench/README.md).
 */
export function startIdleCollector(idleMs = 10_000): { noteRequest: () => void; stop: () => void } {
  // Node documents this way to reach gc() without starting the process with --expose-gc.
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  let lastRequestAt = 0;
  let hasServedSinceCollect = false;
  const timer = setInterval(() => {
    if (hasServedSinceCollect && Date.now() - lastRequestAt >= idleMs) {
      hasServedSinceCollect = false;
      collect();
    }
  }, Math.max(1000, idleMs / 4));
  timer.unref();
  return {
    noteRequest() {
      lastRequestAt = Date.now();
      hasServedSinceCollect = true;
    },
    stop: () => clearInterval(timer),
  };
}
