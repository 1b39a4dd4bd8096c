/**
 * A small Prometheus metrics registry with no dependencies: counters, gauges and histograms with
 * labels, rendered in the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */

/** The Content-Type of `Registry.render()`'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Prometheus' default buckets, in seconds: they suit HTTP request durations. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One value per declared label name. */
export type LabelValues<L extends string> = Readonly<Record<L, string | number>>;

/** Arguments that start with the label values, which a metric without labels does not take. */
type WithLabels<L extends string, Rest extends unknown[]> = [L] extends [never] ? Rest : [labels: LabelValues<L>, ...Rest];

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** Label values escaped as the format requires: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes only backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Sample values as Prometheus (Go's ParseFloat) reads them. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function formatLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

interface Series<V> {
  labels: [string, string][];
  value: V;
}

abstract class Metric<L extends string, V> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected readonly series = new Map<string, Series<V>>();

  constructor(opts: MetricOptions<L>, reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(opts.name)) throw new TypeError(`invalid metric name '${opts.name}'`);
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = [...(opts.labelNames ?? [])];
    const seen = new Set<string>();
    for (const l of this.labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new TypeError(`invalid label name '${l}' in ${opts.name}`);
      if (reserved.includes(l)) throw new TypeError(`label name '${l}' is reserved in ${opts.name}`);
      if (seen.has(l)) throw new TypeError(`duplicate label name '${l}' in ${opts.name}`);
      seen.add(l);
    }
  }

  /** Check the labels against the declared names; their values in declared order. */
  private labelValues(labels: Readonly<Record<string, string | number>> | undefined): string[] {
    const given = labels ?? {};
    const keys = Object.keys(given);
    if (keys.length !== this.labelNames.length || this.labelNames.some((l) => !(l in given))) {
      throw new TypeError(`${this.name} takes labels [${this.labelNames.join(', ')}], got [${keys.join(', ')}]`);
    }
    return this.labelNames.map((l) => String(given[l]));
  }

  /** Find (or start) the series of these labels. */
  protected seriesFor(labels: Readonly<Record<string, string | number>> | undefined, init: () => V): Series<V> {
    const values = this.labelValues(labels);
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: this.labelNames.map((l, i) => [l, values[i] as string]), value: init() };
      this.series.set(key, s);
    }
    return s;
  }

  /** The series of these labels, without starting one. */
  protected peek(labels: Readonly<Record<string, string | number>> | undefined): Series<V> | undefined {
    return this.series.get(JSON.stringify(this.labelValues(labels)));
  }

  /** Split `inc(labels, value)` / `inc(value)` style arguments by whether this metric has labels. */
  protected split(args: unknown[]): [Record<string, string | number> | undefined, unknown[]] {
    if (this.labelNames.length === 0) return [undefined, args];
    return [args[0] as Record<string, string | number>, args.slice(1)];
  }

  /** Forget every series (a gauge refilled by its collect callback starts from scratch). */
  reset(): void {
    this.series.clear();
  }

  /** Runs before rendering; gauges override it to call their collect callback. */
  collect(): void | Promise<void> {}

  protected abstract samples(): string[];

  render(): string {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join('\n');
  }
}

function checkFinite(name: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name}: value must be a number, got ${String(value)}`);
}

/** A value that only goes up (restarting from zero with the process). */
export class Counter<L extends string = never> extends Metric<L, number> {
  readonly type = 'counter';

  inc(...args: WithLabels<L, [value?: number]>): void {
    const [labels, [value = 1]] = this.split(args) as [Record<string, string | number> | undefined, [number?]];
    checkFinite(this.name, value);
    if (value < 0) throw new RangeError(`${this.name}: a counter cannot decrease (inc by ${value})`);
    this.seriesFor(labels, () => 0).value += value;
  }

  /** The current value of one series (0 if never incremented). */
  get(...args: WithLabels<L, []>): number {
    const [labels] = this.split(args);
    return this.peek(labels)?.value ?? 0;
  }

  protected samples(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /**
   * Runs at every scrape, before the gauge is rendered, to set its values (it may call `reset()`
   * first to drop series that no longer exist). May be async; the scrape waits for it, and fails
   * if it rejects.
   */
  collect?: (gauge: Gauge<L>) => void | Promise<void>;
}

/** A value that goes up and down, set directly or by a collect callback at scrape time. */
export class Gauge<L extends string = never> extends Metric<L, number> {
  readonly type = 'gauge';
  private readonly collector: ((gauge: Gauge<L>) => void | Promise<void>) | undefined;

  constructor(opts: GaugeOptions<L>) {
    super(opts);
    this.collector = opts.collect;
  }

  set(...args: WithLabels<L, [value: number]>): void {
    const [labels, [value]] = this.split(args) as [Record<string, string | number> | undefined, [number]];
    checkFinite(this.name, value);
    this.seriesFor(labels, () => 0).value = value;
  }

  inc(...args: WithLabels<L, [value?: number]>): void {
    const [labels, [value = 1]] = this.split(args) as [Record<string, string | number> | undefined, [number?]];
    checkFinite(this.name, value);
    this.seriesFor(labels, () => 0).value += value;
  }

  dec(...args: WithLabels<L, [value?: number]>): void {
    const [labels, [value = 1]] = this.split(args) as [Record<string, string | number> | undefined, [number?]];
    checkFinite(this.name, value);
    this.seriesFor(labels, () => 0).value -= value;
  }

  /** The current value of one series; undefined if it was never set. */
  get(...args: WithLabels<L, []>): number | undefined {
    const [labels] = this.split(args);
    return this.peek(labels)?.value;
  }

  override collect(): void | Promise<void> {
    return this.collector?.(this);
  }

  protected samples(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing; `+Inf` is always added. Defaults to DEFAULT_BUCKETS. */
  buckets?: readonly number[];
}

interface HistogramValue {
  /** Cumulative: counts[i] is the number of observations <= buckets[i]. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram<L extends string = never> extends Metric<L, HistogramValue> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(opts: HistogramOptions<L>) {
    super(opts, ['le']);
    const buckets = [...(opts.buckets ?? DEFAULT_BUCKETS)].filter((b) => b !== Number.POSITIVE_INFINITY);
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] as number;
      if (!Number.isFinite(b)) throw new TypeError(`${opts.name}: bucket bounds must be finite numbers`);
      if (i > 0 && b <= (buckets[i - 1] as number)) throw new TypeError(`${opts.name}: bucket bounds must increase strictly`);
    }
    this.buckets = buckets;
  }

  observe(...args: WithLabels<L, [value: number]>): void {
    const [labels, [value]] = this.split(args) as [Record<string, string | number> | undefined, [number]];
    checkFinite(this.name, value);
    const s = this.seriesFor(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] as number)) s.value.counts[i]! += 1;
    s.value.sum += value;
    s.value.count += 1;
  }

  /** One series' state (cumulative bucket counts, in bucket order, without +Inf); undefined if never observed. */
  get(...args: WithLabels<L, []>): { buckets: number[]; sum: number; count: number } | undefined {
    const [labels] = this.split(args);
    const s = this.peek(labels);
    return s && { buckets: [...s.value.counts], sum: s.value.sum, count: s.value.count };
  }

  /**
   * Start timing; the returned function observes the seconds elapsed and returns them. Labels may
   * be given at the start, at the end (e.g. a response status), or split between both.
   */
  startTimer(startLabels?: Partial<LabelValues<L>>): (endLabels?: Partial<LabelValues<L>>) => number {
    const start = process.hrtime.bigint();
    return (endLabels) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const labels = { ...startLabels, ...endLabels };
      (this.observe as (...a: unknown[]) => void)(...(this.labelNames.length ? [labels, seconds] : [seconds]));
      return seconds;
    };
  }

  protected samples(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      for (let i = 0; i < this.buckets.length; i++) {
        const le = formatLabels([...s.labels, ['le', formatValue(this.buckets[i] as number)]]);
        out.push(`${this.name}_bucket${le} ${s.value.counts[i]}`);
      }
      out.push(`${this.name}_bucket${formatLabels([...s.labels, ['le', '+Inf']])} ${s.value.count}`);
      out.push(`${this.name}_sum${formatLabels(s.labels)} ${formatValue(s.value.sum)}`);
      out.push(`${this.name}_count${formatLabels(s.labels)} ${s.value.count}`);
    }
    return out;
  }
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** Holds metrics by name and renders them all for a scrape. */
export class Registry {
  private readonly metrics = new Map<string, AnyMetric>();

  readonly contentType = PROMETHEUS_CONTENT_TYPE;

  counter<L extends string = never>(opts: MetricOptions<L>): Counter<L> {
    return this.add(new Counter<L>(opts));
  }

  gauge<L extends string = never>(opts: GaugeOptions<L>): Gauge<L> {
    return this.add(new Gauge<L>(opts));
  }

  histogram<L extends string = never>(opts: HistogramOptions<L>): Histogram<L> {
    return this.add(new Histogram<L>(opts));
  }

  /** A metric registered under this name, if any. */
  get(name: string): AnyMetric | undefined {
    return this.metrics.get(name);
  }

  private add<M extends Metric<string, unknown>>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric '${metric.name}' is already registered`);
    this.metrics.set(metric.name, metric as unknown as AnyMetric);
    return metric;
  }

  /**
   * Run every collect callback (all at once, so callbacks that share one query can share one
   * promise), then render every metric in registration order. Rejects if a callback rejects.
   */
  async render(): Promise<string> {
    const metrics = [...this.metrics.values()];
    await Promise.all(metrics.map((m) => m.collect()));
    return `${metrics.map((m) => m.render()).join('\n')}\n`;
  }
}

// ---------------------------------------------------------------------------------------------
// Eventix's own metrics.
