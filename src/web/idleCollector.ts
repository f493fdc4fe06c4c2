import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

// Less growth than this since the last collection is not worth a full collection.
const MIN_GROWTH_BYTES = 4 * 2 ** 20;

/**
 * Gives memory back after start-up and after a burst. V8 keeps the heap it grew (its young
 * generation grows to its maximum under start-up's allocations, ~60 MiB committed), and an idle
 * process rarely collects, so a server stays at its peak RSS for a while. A memory-reducing full
 * collection runs once start-up is over (no request for `afterStartMs`), then whenever no request
 * has arrived for `idleMs` and the heap has grown since the last one: tens of milliseconds, only
 * while nobody waits; RSS falls back near its start-up size (bench/README.md).
 */
export function startIdleCollector(idleMs = 10_000, afterStartMs = 1_000): { noteRequest: () => void; stop: () => void } {
  // Node documents this way to reach gc() without starting the process with --expose-gc.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as Collect;
  let lastRequestAt = Date.now();
  let hasCollected = false;
  let committedAfterCollect = 0;
  const collect = () => {
    // 'last-resort' is V8's memory-reducing collection: it also shrinks the young generation and
    // returns free pages, which a plain gc() leaves committed.
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    hasCollected = true;
    committedAfterCollect = getHeapStatistics().total_heap_size;
  };
  const timer = setInterval(
    () => {
      const quietMs = Date.now() - lastRequestAt;
      if (!hasCollected) {
        if (quietMs >= afterStartMs) collect();
      } else if (quietMs >= idleMs && getHeapStatistics().total_heap_size - committedAfterCollect >= MIN_GROWTH_BYTES) {
        collect();
      }
    },
    Math.min(afterStartMs, Math.max(1000, idleMs / 4)),
  );
  timer.unref();
  return {
    noteRequest() {
      lastRequestAt = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}
