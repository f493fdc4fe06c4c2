// Reads Prometheus' text exposition format (what GET /metrics answers) into samples, so tests
// assert on numbers the way a Prometheus server would see them.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (!match) throw new Error(`bad labels: ${text}`);
    labels[match[1] as string] = (match[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

/** Every sample line; comments (# HELP, # TYPE) are checked to name known metric types. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('# TYPE ') && !/ (counter|gauge|histogram|summary|untyped)$/.test(line)) throw new Error(`bad TYPE: ${line}`);
      continue;
    }
    const match = LINE.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const raw = match[3] as string;
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case.
    const value = /^\+?inf$/i.test(raw) ? Number.POSITIVE_INFINITY : /^-inf$/i.test(raw) ? Number.NEGATIVE_INFINITY : /^nan$/i.test(raw) ? Number.NaN : Number(raw);
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`bad value: ${line}`);
    samples.push({ name: match[1] as string, labels: parseLabels(match[2] ?? ''), value });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

export async function scrape(port: number): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const contentType = res.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/plain')) throw new Error(`content-type ${contentType}`);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}
