// Loaded with `node --import ./bench/moduleTrace.ts` into a Gatehouse process by
// bench/startupModules.ts and test/e2e/startupFootprint.test.ts: appends every module the process
// loads (ESM and require()) to the file named by BENCH_MODULE_TRACE, one line each in load order:
// its URL, a tab, the URL of the module that first asked for it. On SIGUSR2 it runs a full
// collection and appends `#heap <used bytes> <rss bytes>`.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const traceFile = process.env.BENCH_MODULE_TRACE;
if (!traceFile) throw new Error('moduleTrace: set BENCH_MODULE_TRACE to the file to write');
const firstImporter = new Map<string, string>();

process.on('SIGUSR2', () => {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as (options: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  appendFileSync(traceFile, `#heap ${getHeapStatistics().used_heap_size} ${process.memoryUsage.rss()}\n`);
});

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (!firstImporter.has(resolved.url)) firstImporter.set(resolved.url, context.parentURL ?? '');
    return resolved;
  },
  load(url, context, nextLoad) {
    const loaded = nextLoad(url, context);
    appendFileSync(traceFile, `${url}\t${firstImporter.get(url) ?? ''}\n`);
    return loaded;
  },
});
