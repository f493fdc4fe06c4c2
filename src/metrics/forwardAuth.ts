import { Counter, Histogram, type MetricObjectWithValues, type MetricValueWithName, type Registry } from 'prom-client';
import type { ForwardAuthOutcome, ProxyKind } from './metrics.ts';

// Forward auth answers 6-8k questions a second. prom-client's inc()/observe() hash their labels
// on every call (~2 us per observation, bench/metrics.ts); here each answer bumps slots of typed
// arrays (tens of ns), and the metrics are read from the arrays when Prometheus scrapes.

const PROXIES: readonly ProxyKind[] = ['nginx', 'traefik', 'caddy'];
const OUTCOMES: readonly ForwardAuthOutcome[] = ['allowed', 'skipped', 'unauthenticated', 'forbidden', 'unknown_host'];
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;
const LATENCY_HELP = 'Time forward auth took to decide a question (without sending the answer), by proxy dialect.';
const PROXY_INDEX = new Map(PROXIES.map((p, i) => [p, i]));
const OUTCOME_INDEX = new Map(OUTCOMES.map((o, i) => [o, i]));

/** A histogram whose observations are counted in typed arrays; get() renders them as prom-client would. */
class PrecountedHistogram extends Histogram<'proxy'> {
  /** Per proxy: one slot per bucket and a last one for what falls past the largest. */
  readonly slots = PROXIES.map(() => new Float64Array(BUCKETS.length + 1));
  readonly sums = new Float64Array(PROXIES.length);

  observeAt(proxy: number, seconds: number): void {
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > (BUCKETS[bucket] as number)) bucket++;
    const slots = this.slots[proxy] as Float64Array;
    slots[bucket] = (slots[bucket] as number) + 1;
    this.sums[proxy] = (this.sums[proxy] as number) + seconds;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<'proxy'>>> {
    return this.getForPromString();
  }

  /** What the registry renders (prom-client 15 asks a metric for this before get()). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<'proxy'>>> {
    const name = 'gatehouse_outpost_proxy_request_duration_seconds';
    const values: MetricValueWithName<string>[] = [];
    PROXIES.forEach((proxy, p) => {
      const slots = this.slots[p] as Float64Array;
      let cumulative = 0;
      BUCKETS.forEach((le, b) => {
        cumulative += slots[b] as number;
        values.push({ metricName: `${name}_bucket`, labels: { le, proxy }, value: cumulative });
      });
      cumulative += slots[BUCKETS.length] as number;
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', proxy }, value: cumulative });
      values.push({ metricName: `${name}_sum`, labels: { proxy }, value: this.sums[p] as number });
      values.push({ metricName: `${name}_count`, labels: { proxy }, value: cumulative });
    });
    // prom-client's typings call `type` an enum; what it renders (and itself returns) is the string.
    return { name, help: LATENCY_HELP, type: 'histogram', values, aggregator: 'sum' } as unknown as MetricObjectWithValues<MetricValueWithName<'proxy'>>;
  }
}

/** Registers the forward-auth counter and latency histogram; returns what the hot path calls. */
export function forwardAuthMetrics(registry: Registry): (proxy: ProxyKind, outcome: ForwardAuthOutcome, seconds: number) => void {
  const counts = new Float64Array(PROXIES.length * OUTCOMES.length);
  new Counter({
    name: 'gatehouse_outpost_proxy_requests_total',
    help: 'Forward-auth questions answered by the embedded proxy outpost, by proxy dialect and outcome.',
    labelNames: ['proxy', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      PROXIES.forEach((proxy, p) => {
        OUTCOMES.forEach((outcome, o) => {
          this.inc({ proxy, outcome }, counts[p * OUTCOMES.length + o] as number);
        });
      });
    },
  });
  const latency = new PrecountedHistogram({
    name: 'gatehouse_outpost_proxy_request_duration_seconds',
    help: LATENCY_HELP,
    labelNames: ['proxy'],
    buckets: [...BUCKETS],
    registers: [registry],
  });
  return (proxy, outcome, seconds) => {
    const p = PROXY_INDEX.get(proxy) ?? 0;
    const slot = p * OUTCOMES.length + (OUTCOME_INDEX.get(outcome) ?? 0);
    counts[slot] = (counts[slot] as number) + 1;
    latency.observeAt(p, seconds);
  };
}
