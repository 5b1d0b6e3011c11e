// A small Prometheus registry rendered in the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Label cardinality is bounded:
// each label name admits at most `maxValuesPerLabel` distinct values per metric family; later new
// values are reported as "other", so hostile or high-cardinality input (raw URL paths, ids) cannot
// grow memory or the scrape without bound.

export const OVERFLOW_VALUE = 'other';

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmtNum(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Family {
  private readonly seen = new Map<string, Set<string>>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly maxValues: number,
  ) {}

  /** Labels with values past the cardinality bound replaced by "other"; the series key. */
  protected key(labels: Labels): string {
    let k = '';
    for (const n of this.labelNames) {
      let v = labels[n] ?? '';
      let set = this.seen.get(n);
      if (!set) this.seen.set(n, (set = new Set()));
      if (!set.has(v)) {
        if (set.size < this.maxValues) set.add(v);
        else v = OVERFLOW_VALUE;
      }
      k += (k ? ',' : '') + `${n}="${escapeLabel(v)}"`;
    }
    return k;
  }

  abstract render(out: string[]): void;
}

export class Counter extends Family {
  private readonly values = new Map<string, number | (() => number)>();
  inc(labels: Labels = {}, by = 1): void {
    const k = this.key(labels);
    const v = this.values.get(k);
    this.values.set(k, (typeof v === 'function' ? v() : (v ?? 0)) + by);
  }
  /** A counter kept elsewhere (read at scrape time; it must only go up). */
  set(labels: Labels, v: () => number): void {
    this.values.set(this.key(labels), v);
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    if (this.values.size === 0 && this.labelNames.length === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values)
      out.push(`${this.name}${k ? `{${k}}` : ''} ${fmtNum(typeof v === 'function' ? v() : v)}`);
  }
}

export class Gauge extends Family {
  private readonly values = new Map<string, number | (() => number)>();
  set(labels: Labels, v: number | (() => number)): void {
    this.values.set(this.key(labels), v);
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    for (const [k, v] of this.values)
      out.push(`${this.name}${k ? `{${k}}` : ''} ${fmtNum(typeof v === 'function' ? v() : v)}`);
  }
}

export class Histogram extends Family {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    maxValues: number,
    readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames, maxValues);
  }
  observe(labels: Labels, v: number): void {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s)
      this.series.set(
        k,
        (s = { counts: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 }),
      );
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const [k, s] of this.series) {
      const pre = k ? `${k},` : '';
      for (let i = 0; i < this.bounds.length; i++)
        out.push(`${this.name}_bucket{${pre}le="${fmtNum(this.bounds[i]!)}"} ${s.counts[i]}`);
      out.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${fmtNum(s.sum)}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
  }
}

export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Families by name: asking again for a name already registered returns that family (so two
 * producers can feed one family, e.g. server spans and captured exchanges into
 * mlscope_observed_*), provided kind and label names agree; otherwise it throws (a programming
 * error: one name must mean one thing on /metrics).
 */
export class Registry {
  private readonly families: Family[] = [];
  private readonly byName = new Map<string, Family>();
  constructor(readonly maxValuesPerLabel = 100) {}
  private existing<F extends Family>(
    name: string,
    labels: readonly string[],
    kind: abstract new (...args: never[]) => F,
  ): F | null {
    const f = this.byName.get(name);
    if (!f) return null;
    if (!(f instanceof kind) || f.labelNames.join(',') !== labels.join(','))
      throw new Error(`metric ${name} is already registered with another kind or labels`);
    return f;
  }
  private add<F extends Family>(f: F): F {
    this.families.push(f);
    this.byName.set(f.name, f);
    return f;
  }
  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    return (
      this.existing(name, labels, Counter) ??
      this.add(new Counter(name, help, labels, this.maxValuesPerLabel))
    );
  }
  gauge(name: string, help: string, labels: readonly string[] = []): Gauge {
    return (
      this.existing(name, labels, Gauge) ??
      this.add(new Gauge(name, help, labels, this.maxValuesPerLabel))
    );
  }
  histogram(
    name: string,
    help: string,
    labels: readonly string[],
    bounds = LATENCY_BUCKETS_S,
  ): Histogram {
    return (
      this.existing(name, labels, Histogram) ??
      this.add(new Histogram(name, help, labels, this.maxValuesPerLabel, bounds))
    );
  }
  render(): string {
    const out: string[] = [];
    for (const f of this.families) f.render(out);
    return out.join('\n') + '\n';
  }
}
