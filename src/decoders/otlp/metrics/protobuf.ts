// OTLP metrics, protobuf encoding: ExportMetricsServiceRequest → MetricPoint rows
// (opentelemetry/proto/collector/metrics/v1/metrics_service.proto, metrics/v1/metrics.proto).
// Quality counts OTLP data points (what `rejected_data_points` counts), not the expanded rows.

import type { Quality } from '../../../model/quality.js';
import type { MetricKind, MetricPoint } from '../../../model/span.js';
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader } from '../wire.js';
import { readAttribute, readResource, type Attrs } from '../common/protobuf.js';
import { OutcomeCounter, type DecodeOutcome } from '../outcome.js';
import { PointSink, labelsOf, temporalityOf, type MetricMeta } from './points.js';

/** ExportMetricsServiceRequest { 1 resource_metrics repeated ResourceMetrics } */
export function decodeMetricsRequestProto(
  bytes: Uint8Array,
  out: MetricPoint[],
  q: Quality,
): DecodeOutcome {
  const r = new WireReader(bytes);
  const c = new OutcomeCounter(q);
  const sink = new PointSink(out);
  const end = bytes.length;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.len(end);
      if (e < 0) break;
      readResourceMetrics(r, e, sink, c);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
  return c.finish(r.err, r.errAt);
}

/** ResourceMetrics { 1 resource Resource; 2 scope_metrics repeated ScopeMetrics; 3 schema_url } */
function readResourceMetrics(r: WireReader, end: number, sink: PointSink, c: OutcomeCounter): void {
  let resource: Attrs = {};
  const scopes: number[] = [];
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (wt === WIRE_LEN && (f === 1 || f === 2)) {
      const e = r.len(end);
      if (e < 0) return;
      if (f === 1) resource = readResource(r, e);
      else scopes.push(r.pos, e);
      r.pos = e;
    } else r.skip(wt, end);
  }
  for (let i = 0; i < scopes.length && r.err === null; i += 2) {
    // ScopeMetrics { 1 scope InstrumentationScope; 2 metrics repeated Metric; 3 schema_url }
    const se = scopes[i + 1]!;
    r.pos = scopes[i]!;
    while (r.pos < se && r.err === null) {
      const tag = r.varint(se);
      if (tag === ((2 << 3) | WIRE_LEN)) {
        const e = r.len(se);
        if (e < 0) return;
        readMetric(r, e, resource, sink, c);
        r.pos = e;
      } else r.skip(tag & 7, se);
    }
  }
  r.pos = end;
}

const KIND_BY_FIELD: Record<number, MetricKind> = {
  5: 'gauge',
  7: 'sum',
  9: 'histogram',
  10: 'exponential-histogram',
  11: 'summary',
};

/**
 * Metric { 1 name string; 2 description string; 3 unit string; 5 gauge Gauge; 7 sum Sum;
 *   9 histogram Histogram; 10 exponential_histogram ExponentialHistogram; 11 summary Summary;
 *   12 metadata repeated KeyValue }
 * Gauge { 1 data_points repeated NumberDataPoint }
 * Sum { 1 data_points; 2 aggregation_temporality enum; 3 is_monotonic bool }
 * Histogram / ExponentialHistogram { 1 data_points; 2 aggregation_temporality enum }
 * Summary { 1 data_points repeated SummaryDataPoint }
 */
function readMetric(
  r: WireReader,
  end: number,
  resource: Attrs,
  sink: PointSink,
  c: OutcomeCounter,
): void {
  const meta: MetricMeta = { name: '', unit: null, kind: 'gauge', temporality: null };
  let dataStart = -1;
  let dataEnd = -1;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === WIRE_LEN) meta.name = r.string(end);
    else if (f === 3 && wt === WIRE_LEN) meta.unit = r.string(end) || null;
    else if (wt === WIRE_LEN && KIND_BY_FIELD[f] !== undefined) {
      meta.kind = KIND_BY_FIELD[f];
      dataEnd = r.len(end);
      if (dataEnd < 0) return;
      dataStart = r.pos;
      r.pos = dataEnd;
    } else r.skip(wt, end);
  }
  if (r.err !== null) return;
  if (meta.name === '') {
    c.reject('missing-metric-name', r.pos, 'metric without a name');
    return;
  }
  if (dataStart < 0) return;
  // The temporality may follow the data points on the wire: read it first.
  r.pos = dataStart;
  const points: number[] = [];
  while (r.pos < dataEnd && r.err === null) {
    const tag = r.varint(dataEnd);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.len(dataEnd);
      if (e < 0) return;
      points.push(r.pos, e);
      r.pos = e;
    } else if (tag === ((2 << 3) | WIRE_VARINT) && meta.kind !== 'gauge' && meta.kind !== 'summary')
      meta.temporality = temporalityOf(r.int32(dataEnd));
    else r.skip(tag & 7, dataEnd);
  }
  for (let i = 0; i < points.length && r.err === null; i += 2) {
    const at = points[i]!;
    r.pos = at;
    const e = points[i + 1]!;
    const ok =
      meta.kind === 'gauge' || meta.kind === 'sum'
        ? readNumberPoint(r, e, meta, resource, sink)
        : meta.kind === 'histogram'
          ? readHistogramPoint(r, e, meta, resource, sink)
          : meta.kind === 'exponential-histogram'
            ? readExpHistogramPoint(r, e, meta, resource, sink)
            : readSummaryPoint(r, e, meta, resource, sink);
    if (r.err !== null) return;
    if (ok === null) c.ok();
    else c.reject(ok, at, `metric '${meta.name}'`);
  }
}

/**
 * NumberDataPoint { 7 attributes; 2 start_time_unix_nano fixed64; 3 time_unix_nano fixed64;
 *   4 as_double double; 6 as_int sfixed64; 5 exemplars; 8 flags uint32 }
 */
function readNumberPoint(
  r: WireReader,
  end: number,
  m: MetricMeta,
  resource: Attrs,
  sink: PointSink,
): string | null {
  const attrs: Attrs = {};
  let tsUs = 0;
  let value: number | null = null;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((7 << 3) | WIRE_LEN)) readAttribute(r, end, attrs);
    else if (tag === ((3 << 3) | WIRE_FIXED64)) tsUs = r.fixed64NanosToUs(end);
    else if (tag === ((4 << 3) | WIRE_FIXED64)) value = r.double(end);
    else if (tag === ((6 << 3) | WIRE_FIXED64)) value = r.sfixed64(end);
    else r.skip(tag & 7, end);
  }
  if (value === null) return 'missing-value';
  sink.emit(m, '', labelsOf(attrs, resource), tsUs, value);
  return null;
}

/**
 * HistogramDataPoint { 9 attributes; 2 start_time_unix_nano fixed64; 3 time_unix_nano fixed64;
 *   4 count fixed64; 5 sum double; 6 bucket_counts repeated fixed64 (packed);
 *   7 explicit_bounds repeated double (packed); 8 exemplars; 10 flags; 11 min double; 12 max double }
 */
function readHistogramPoint(
  r: WireReader,
  end: number,
  m: MetricMeta,
  resource: Attrs,
  sink: PointSink,
): string | null {
  const attrs: Attrs = {};
  let tsUs = 0;
  let count = 0;
  let sum: number | null = null;
  const counts: number[] = [];
  const bounds: number[] = [];
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((9 << 3) | WIRE_LEN)) readAttribute(r, end, attrs);
    else if (tag === ((3 << 3) | WIRE_FIXED64)) tsUs = r.fixed64NanosToUs(end);
    else if (tag === ((4 << 3) | WIRE_FIXED64)) count = r.fixed64(end);
    else if (tag === ((5 << 3) | WIRE_FIXED64)) sum = r.double(end);
    else if (tag === ((6 << 3) | WIRE_LEN)) readPackedFixed64(r, end, counts, false);
    else if (tag === ((6 << 3) | WIRE_FIXED64)) counts.push(r.fixed64(end));
    else if (tag === ((7 << 3) | WIRE_LEN)) readPackedFixed64(r, end, bounds, true);
    else if (tag === ((7 << 3) | WIRE_FIXED64)) bounds.push(r.double(end));
    else r.skip(tag & 7, end);
  }
  if (counts.length !== 0 && counts.length !== bounds.length + 1)
    return 'histogram-bucket-mismatch';
  sink.histogram(m, labelsOf(attrs, resource), tsUs, count, sum, bounds, counts);
  return null;
}

function readPackedFixed64(r: WireReader, end: number, into: number[], asDouble: boolean): void {
  const e = r.len(end);
  if (e < 0) return;
  if ((e - r.pos) % 8 !== 0) {
    r.fail('packed fixed64 length is not a multiple of 8');
    return;
  }
  while (r.pos < e) into.push(asDouble ? r.double(e) : r.fixed64(e));
}

/**
 * ExponentialHistogramDataPoint { 1 attributes; 2 start_time_unix_nano fixed64;
 *   3 time_unix_nano fixed64; 4 count fixed64; 5 sum double; 6 scale sint32; 7 zero_count fixed64;
 *   8 positive Buckets; 9 negative Buckets; 10 flags; 11 exemplars; 12 min; 13 max;
 *   14 zero_threshold double }
 * Buckets { 1 offset sint32; 2 bucket_counts repeated uint64 (packed) }
 */
function readExpHistogramPoint(
  r: WireReader,
  end: number,
  m: MetricMeta,
  resource: Attrs,
  sink: PointSink,
): string | null {
  const attrs: Attrs = {};
  let tsUs = 0;
  let count = 0;
  let sum: number | null = null;
  let scale = 0;
  let zero = 0;
  const pos = { offset: 0, counts: [] as number[] };
  const neg = { offset: 0, counts: [] as number[] };
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) readAttribute(r, end, attrs);
    else if (tag === ((3 << 3) | WIRE_FIXED64)) tsUs = r.fixed64NanosToUs(end);
    else if (tag === ((4 << 3) | WIRE_FIXED64)) count = r.fixed64(end);
    else if (tag === ((5 << 3) | WIRE_FIXED64)) sum = r.double(end);
    else if (tag === ((6 << 3) | WIRE_VARINT)) scale = r.sint(end);
    else if (tag === ((7 << 3) | WIRE_FIXED64)) zero = r.fixed64(end);
    else if (tag === ((8 << 3) | WIRE_LEN) || tag === ((9 << 3) | WIRE_LEN)) {
      const b = tag >>> 3 === 8 ? pos : neg;
      const e = r.len(end);
      if (e < 0) break;
      while (r.pos < e && r.err === null) {
        const t = r.varint(e);
        if (t === ((1 << 3) | WIRE_VARINT)) b.offset = r.sint(e);
        else if (t === ((2 << 3) | WIRE_LEN)) {
          const pe = r.len(e);
          if (pe < 0) break;
          while (r.pos < pe && r.err === null) b.counts.push(r.varint(pe));
        } else if (t === ((2 << 3) | WIRE_VARINT)) b.counts.push(r.varint(e));
        else r.skip(t & 7, e);
      }
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
  if (scale < -10 || scale > 20) return 'invalid-scale';
  let negTotal = 0;
  for (const n of neg.counts) negTotal += n;
  sink.expHistogram(
    m,
    labelsOf(attrs, resource),
    tsUs,
    count,
    sum,
    scale,
    zero,
    pos.offset,
    pos.counts,
    negTotal,
  );
  return null;
}

/**
 * SummaryDataPoint { 7 attributes; 2 start_time_unix_nano fixed64; 3 time_unix_nano fixed64;
 *   4 count fixed64; 5 sum double; 6 quantile_values repeated ValueAtQuantile; 8 flags }
 * ValueAtQuantile { 1 quantile double; 2 value double }
 */
function readSummaryPoint(
  r: WireReader,
  end: number,
  m: MetricMeta,
  resource: Attrs,
  sink: PointSink,
): string | null {
  const attrs: Attrs = {};
  let tsUs = 0;
  let count = 0;
  let sum = 0;
  const qs: [number, number][] = [];
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((7 << 3) | WIRE_LEN)) readAttribute(r, end, attrs);
    else if (tag === ((3 << 3) | WIRE_FIXED64)) tsUs = r.fixed64NanosToUs(end);
    else if (tag === ((4 << 3) | WIRE_FIXED64)) count = r.fixed64(end);
    else if (tag === ((5 << 3) | WIRE_FIXED64)) sum = r.double(end);
    else if (tag === ((6 << 3) | WIRE_LEN)) {
      const e = r.len(end);
      if (e < 0) break;
      let qn = 0;
      let v = 0;
      while (r.pos < e && r.err === null) {
        const t = r.varint(e);
        if (t === ((1 << 3) | WIRE_FIXED64)) qn = r.double(e);
        else if (t === ((2 << 3) | WIRE_FIXED64)) v = r.double(e);
        else r.skip(t & 7, e);
      }
      r.pos = e;
      qs.push([qn, v]);
    } else r.skip(tag & 7, end);
  }
  const labels = labelsOf(attrs, resource);
  for (const [qn, v] of qs) sink.emit(m, '', { ...labels, quantile: String(qn) }, tsUs, v);
  sink.emit(m, '_count', labels, tsUs, count);
  sink.emit(m, '_sum', labels, tsUs, sum);
  return null;
}
