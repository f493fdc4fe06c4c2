// argon2 runs on libuv's thread pool (4 threads by default): verifying more passwords at once
// than there are cores only queues them there and delays every other file or DNS task. A small
// cap keeps the event loop's own I/O responsive under a login storm.
import { availableParallelism } from 'node:os';

/** How many verifies run at once (the benchmarks' argon2 bound is measured at this too). */
export const HASHING_CONCURRENCY = Math.max(2, availableParallelism());
const limit = HASHING_CONCURRENCY;
let running = 0;
const waiting: Array<() => void> = [];

export async function runLimited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}
