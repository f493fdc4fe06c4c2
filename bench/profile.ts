// Summarizes a V8 .cpuprofile (from BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"):
// where the main thread's time went, by area (a package, a Gatehouse directory, node internals,
// GC, idle), by function (self time) and by Gatehouse function (time with it on the stack).
// Run: node_modules/.bin/node bench/profile.ts <file.cpuprofile> [<from_us> <to_us>]
// from/to (CLOCK_MONOTONIC µs, e.g. `logins.cpu.window_monotonic_us` of bench/logins.ts) keep
// only the samples of that window. Plain text on stdout.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, fromText, toText] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile.ts <file.cpuprofile> [<from_us> <to_us>]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const from = fromText ? Number(fromText) : Number.NEGATIVE_INFINITY;
const to = toText ? Number(toText) : Number.POSITIVE_INFINITY;

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

/** Where code lives: a package, a Gatehouse directory, node's own JS, or a V8 pseudo-frame. */
function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const own = /\/dist\/(src\/.+)\/[^/]+\.js$/.exec(url);
  if (own) return own[1] as string;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}
const where = (frame: ProfileNode['callFrame']) => {
  const url = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist\/src\/|node_modules\/)/, '$1');
  return `${frame.functionName || '(anonymous)'} ${url ? `${url}:${frame.lineNumber + 1}` : ''}`.trim();
};

const selfByArea = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const onStack = new Map<string, number>();
let total = 0;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  // A sample stands for the time until the next one.
  const weight = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  if (at < from || at > to) continue;
  const node = nodes.get(profile.samples[i] as number);
  if (!node) continue;
  total += weight;
  const area = areaOf(node.callFrame.url, node.callFrame.functionName);
  selfByArea.set(area, (selfByArea.get(area) ?? 0) + weight);
  selfByFunction.set(where(node.callFrame), (selfByFunction.get(where(node.callFrame)) ?? 0) + weight);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
    const frame = (nodes.get(id) as ProfileNode).callFrame;
    if (!frame.url.includes('/dist/src/')) continue;
    const key = where(frame);
    if (seen.has(key)) continue;
    seen.add(key);
    onStack.set(key, (onStack.get(key) ?? 0) + weight);
  }
}

const busy = total - (selfByArea.get('(idle)') ?? 0);
const line = (label: string, ms: number) => `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / Math.max(1, busy)).toFixed(1).padStart(5)}%  ${label}`;
const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([label, ms]) => line(label, ms))
    .join('\n');
const out = [
  `${file}: ${total.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms not idle (percentages are of that)`,
  '',
  'Self time by area:',
  top(selfByArea, 25),
  '',
  'Self time by function:',
  top(selfByFunction, 40),
  '',
  'Gatehouse functions, time with them on the stack (inclusive; awaits excluded):',
  top(onStack, 40),
];
process.stdout.write(`${out.join('\n')}\n`);
