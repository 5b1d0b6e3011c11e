// Metric data points → MetricPoint rows, shared by both encodings. Histograms and summaries are
// expanded the way Prometheus exposes them: `_count`, `_sum`, cumulative `_bucket{le}` (ending in
// le="+Inf"), `{quantile}`; exponential histograms get `le` bounds base^(index+1), base = 2^2^-scale.

import type { MetricKind, MetricPoint } from '../../../model/span.js';
import type { Attrs } from '../common/protobuf.js';

/** Buckets emitted per exponential histogram point at most (the rest fold into +Inf). */
export const MAX_EXP_BUCKETS = 160;

export interface MetricMeta {
  name: string;
  unit: string | null;
  kind: MetricKind;
  temporality: 'cumulative' | 'delta' | null;
}

export function temporalityOf(n: number | string | undefined): 'cumulative' | 'delta' | null {
  if (n === 1 || n === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (n === 2 || n === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return null;
}

export function labelsOf(attrs: Attrs, resource: Attrs): Record<string, string> {
  const l: Record<string, string> = {};
  const svc = resource['service.name'];
  if (svc !== undefined && svc !== null) l['service.name'] = String(svc);
  for (const k in attrs) {
    const v = attrs[k];
    l[k] = v === null || v === undefined ? '' : String(v);
  }
  return l;
}

export class PointSink {
  constructor(readonly out: MetricPoint[]) {}

  emit(
    m: MetricMeta,
    suffix: string,
    labels: Record<string, string>,
    tsUs: number,
    value: number,
  ): void {
    this.out.push({
      name: m.name + suffix,
      labels,
      tsUs,
      value,
      kind: m.kind,
      temporality: m.temporality,
      unit: m.unit,
    });
  }

  histogram(
    m: MetricMeta,
    labels: Record<string, string>,
    tsUs: number,
    count: number,
    sum: number | null,
    bounds: readonly number[],
    counts: readonly number[],
  ): void {
    this.emit(m, '_count', labels, tsUs, count);
    if (sum !== null) this.emit(m, '_sum', labels, tsUs, sum);
    let cum = 0;
    for (let i = 0; i < bounds.length; i++) {
      cum += counts[i] ?? 0;
      this.emit(m, '_bucket', { ...labels, le: String(bounds[i]) }, tsUs, cum);
    }
    this.emit(m, '_bucket', { ...labels, le: '+Inf' }, tsUs, count);
  }

  expHistogram(
    m: MetricMeta,
    labels: Record<string, string>,
    tsUs: number,
    count: number,
    sum: number | null,
    scale: number,
    zeroCount: number,
    posOffset: number,
    pos: readonly number[],
    negTotal: number,
  ): void {
    this.emit(m, '_count', labels, tsUs, count);
    if (sum !== null) this.emit(m, '_sum', labels, tsUs, sum);
    const base = Math.pow(2, Math.pow(2, -scale));
    let cum = negTotal + zeroCount;
    const n = Math.min(pos.length, MAX_EXP_BUCKETS);
    for (let i = 0; i < n; i++) {
      cum += pos[i] ?? 0;
      const le = Math.pow(base, posOffset + i + 1);
      if (Number.isFinite(le)) this.emit(m, '_bucket', { ...labels, le: String(le) }, tsUs, cum);
    }
    this.emit(m, '_bucket', { ...labels, le: '+Inf' }, tsUs, count);
  }
}
