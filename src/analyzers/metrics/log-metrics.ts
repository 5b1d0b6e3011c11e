// Metrics derived from log records: counters (records by labels), histograms of numeric fields
// by labels (Prometheus cumulative buckets + sum + count), and rates between two snapshots. Fed
// record by record (live or backtest); series are capped so hostile label values cannot grow
// memory without bound (overflow is counted under the `__overflow__` series).

import type { LogRecord } from '../../model/records.js';
import { labelNumber, labelString, recordLabel } from '../alerts/labels.js';

export interface MetricDef {
  name: string;
  help?: string;
  /** Record labels to split by (LANGUAGE.md "Labels of a record"). */
  labels: string[];
  /** Only records whose label equals the value (e.g. { job: 'trainer' }). */
  where?: Record<string, string>;
  /** A numeric label to observe: makes the metric a histogram. */
  field?: string;
  buckets?: number[];
}

export const DEFAULT_BUCKETS = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
];
export const MAX_SERIES_PER_METRIC = 10_000;

interface Series {
  labels: [string, string][];
  count: number;
  sum: number;
  buckets: Float64Array | null;
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class LogMetrics {
  private readonly series: Map<string, Series>[];
  readonly overflow: number[];
  constructor(readonly defs: MetricDef[]) {
    this.series = defs.map(() => new Map<string, Series>());
    this.overflow = defs.map(() => 0);
  }

  /** Sensible defaults: records by service and level; request durations by service and path. */
  static defaults(): LogMetrics {
    return new LogMetrics([
      {
        name: 'mlscope_log_records_total',
        help: 'Log records by service and level',
        labels: ['service', 'level'],
      },
      {
        name: 'mlscope_log_duration_ms',
        help: 'Logged request durations (ms)',
        labels: ['service', 'path'],
        field: 'duration_ms',
      },
    ]);
  }

  add(r: LogRecord): void {
    for (let d = 0; d < this.defs.length; d++) {
      const def = this.defs[d]!;
      if (def.where) {
        let ok = true;
        for (const k in def.where) if (labelString(recordLabel(r, k)) !== def.where[k]) ok = false;
        if (!ok) continue;
      }
      let v = 0;
      if (def.field !== undefined) {
        v = labelNumber(recordLabel(r, def.field));
        if (!Number.isFinite(v)) continue;
      }
      let key = '';
      for (const l of def.labels) key += labelString(recordLabel(r, l)) + '\u0000';
      const m = this.series[d]!;
      let s = m.get(key);
      if (!s) {
        if (m.size >= MAX_SERIES_PER_METRIC) {
          this.overflow[d]!++;
          key = '__overflow__';
          s = m.get(key);
        }
        if (!s) {
          const labels: [string, string][] =
            key === '__overflow__'
              ? [['__overflow__', 'true']]
              : def.labels
                  .map((l): [string, string] => [l, labelString(recordLabel(r, l))])
                  .filter(([, x]) => x !== '');
          s = {
            labels,
            count: 0,
            sum: 0,
            buckets:
              def.field !== undefined
                ? new Float64Array((def.buckets ?? DEFAULT_BUCKETS).length)
                : null,
          };
          m.set(key, s);
        }
      }
      s.count++;
      s.sum += v;
      if (s.buckets) {
        const bs = def.buckets ?? DEFAULT_BUCKETS;
        for (let i = 0; i < bs.length; i++) if (v <= bs[i]!) s.buckets[i]!++;
      }
    }
  }

  /** Flat samples: counters as `name`, histograms as `name_bucket{le}`, `name_sum`, `name_count`. */
  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    for (let d = 0; d < this.defs.length; d++) {
      const def = this.defs[d]!;
      for (const s of this.series[d]!.values()) {
        const labels = Object.fromEntries(s.labels);
        if (!s.buckets) {
          out.push({ name: def.name, labels, value: s.count });
          continue;
        }
        const bs = def.buckets ?? DEFAULT_BUCKETS;
        for (let i = 0; i < bs.length; i++)
          out.push({
            name: `${def.name}_bucket`,
            labels: { ...labels, le: String(bs[i]) },
            value: s.buckets[i]!,
          });
        out.push({ name: `${def.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count });
        out.push({ name: `${def.name}_sum`, labels, value: s.sum });
        out.push({ name: `${def.name}_count`, labels, value: s.count });
      }
    }
    return out;
  }
}

/** Per-second rates of counters between two snapshots taken `seconds` apart. */
export function ratesBetween(
  before: MetricSample[],
  after: MetricSample[],
  seconds: number,
): MetricSample[] {
  const key = (s: MetricSample): string => s.name + JSON.stringify(s.labels);
  const prev = new Map(before.map((s) => [key(s), s.value]));
  return after.map((s) => ({
    name: s.name,
    labels: s.labels,
    value: (s.value - (prev.get(key(s)) ?? 0)) / seconds,
  }));
}

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Prometheus text exposition format (0.0.4). */
export function renderPrometheusText(m: LogMetrics): string {
  let out = '';
  const samples = m.samples();
  for (const def of m.defs) {
    out += `# HELP ${def.name} ${(def.help ?? def.name).replace(/\n/g, ' ')}\n# TYPE ${def.name} ${def.field !== undefined ? 'histogram' : 'counter'}\n`;
    for (const s of samples) {
      if (s.name !== def.name && !s.name.startsWith(def.name + '_')) continue;
      const ls = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      out += `${s.name}${ls ? `{${ls}}` : ''} ${s.value}\n`;
    }
  }
  return out;
}
