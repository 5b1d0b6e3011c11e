// OTLP metrics, JSON encoding: an ExportMetricsServiceRequest document → MetricPoint rows.

import type { Quality } from '../../../model/quality.js';
import type { MetricKind, MetricPoint } from '../../../model/span.js';
import {
  arrayField,
  attributes,
  double,
  field,
  int64,
  isObject,
  nanosToUs,
  type JsonObject,
} from '../common/json.js';
import type { Attrs } from '../common/protobuf.js';
import { OutcomeCounter, type DecodeOutcome } from '../outcome.js';
import { PointSink, labelsOf, temporalityOf, type MetricMeta } from './points.js';

const KINDS: [string, MetricKind][] = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential-histogram'],
  ['summary', 'summary'],
];

export function decodeMetricsRequestJson(
  doc: unknown,
  out: MetricPoint[],
  q: Quality,
): DecodeOutcome {
  const c = new OutcomeCounter(q);
  return c.finish(walk(doc, new PointSink(out), c), -1);
}

function walk(doc: unknown, sink: PointSink, c: OutcomeCounter): string | null {
  if (!isObject(doc)) return 'the request is not a JSON object';
  const rms = arrayField(doc, 'resourceMetrics');
  if (rms === null) return 'resourceMetrics is not an array';
  for (let i = 0; i < rms.length; i++) {
    const rm = rms[i];
    if (!isObject(rm)) return `resourceMetrics[${i}] is not an object`;
    const res = field(rm, 'resource');
    const resource = attributes(isObject(res) ? field(res, 'attributes') : undefined);
    const sms = arrayField(rm, 'scopeMetrics');
    if (sms === null) return `resourceMetrics[${i}].scopeMetrics is not an array`;
    for (let j = 0; j < sms.length; j++) {
      const sm = sms[j];
      if (!isObject(sm)) return `resourceMetrics[${i}].scopeMetrics[${j}] is not an object`;
      const ms = arrayField(sm, 'metrics');
      if (ms === null) return `resourceMetrics[${i}].scopeMetrics[${j}].metrics is not an array`;
      for (let k = 0; k < ms.length; k++) {
        const m = ms[k];
        const at = `resourceMetrics[${i}].scopeMetrics[${j}].metrics[${k}]`;
        if (!isObject(m)) {
          c.reject('invalid-metric', at, 'not an object');
          continue;
        }
        metric(m, resource, sink, c, at);
      }
    }
  }
  return null;
}

function metric(
  m: JsonObject,
  resource: Attrs,
  sink: PointSink,
  c: OutcomeCounter,
  at: string,
): void {
  const name = typeof m['name'] === 'string' ? m['name'] : '';
  if (name === '') {
    c.reject('missing-metric-name', at, JSON.stringify(m).slice(0, 120));
    return;
  }
  const unit = typeof m['unit'] === 'string' && m['unit'] ? m['unit'] : null;
  for (const [key, kind] of KINDS) {
    const data = field(m, key);
    if (!isObject(data)) continue;
    const t = field(data, 'aggregationTemporality');
    const meta: MetricMeta = {
      name,
      unit,
      kind,
      temporality:
        kind === 'gauge' || kind === 'summary' ? null : temporalityOf(t as number | string),
    };
    const dps = field(data, 'dataPoints');
    if (!Array.isArray(dps)) {
      c.reject('invalid-data-points', at, `metric '${name}'`);
      return;
    }
    for (const dp of dps) {
      const bad = isObject(dp) ? point(dp, meta, resource, sink) : 'invalid-data-point';
      if (bad === null) c.ok();
      else c.reject(bad, at, `metric '${name}'`);
    }
    return;
  }
  c.reject('unknown-metric-type', at, `metric '${name}'`);
}

function nums(v: unknown, conv: (x: unknown) => number | null): number[] | null {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return null;
  const out: number[] = [];
  for (const x of v) {
    const n = conv(x);
    if (n === null) return null;
    out.push(n);
  }
  return out;
}

function point(dp: JsonObject, m: MetricMeta, resource: Attrs, sink: PointSink): string | null {
  const tsUs = nanosToUs(field(dp, 'timeUnixNano'));
  if (Number.isNaN(tsUs)) return 'invalid-timestamp';
  const labels = labelsOf(attributes(dp['attributes']), resource);
  switch (m.kind) {
    case 'gauge':
    case 'sum': {
      const d = field(dp, 'asDouble');
      const n = field(dp, 'asInt');
      const v = d !== undefined ? double(d) : n !== undefined ? int64(n) : null;
      if (v === null) return 'missing-value';
      sink.emit(m, '', labels, tsUs, v);
      return null;
    }
    case 'histogram': {
      const count = int64(dp['count'] ?? 0);
      const counts = nums(field(dp, 'bucketCounts'), int64);
      const bounds = nums(field(dp, 'explicitBounds'), double);
      if (count === null || counts === null || bounds === null) return 'invalid-histogram';
      if (counts.length !== 0 && counts.length !== bounds.length + 1)
        return 'histogram-bucket-mismatch';
      const sum = dp['sum'] === undefined ? null : double(dp['sum']);
      sink.histogram(m, labels, tsUs, count, sum, bounds, counts);
      return null;
    }
    case 'exponential-histogram': {
      const count = int64(dp['count'] ?? 0);
      const scale = int64(dp['scale'] ?? 0);
      const zero = int64(field(dp, 'zeroCount') ?? 0);
      if (count === null || scale === null || zero === null) return 'invalid-histogram';
      if (scale < -10 || scale > 20) return 'invalid-scale';
      const pos = isObject(dp['positive']) ? dp['positive'] : {};
      const neg = isObject(dp['negative']) ? dp['negative'] : {};
      const pc = nums(field(pos, 'bucketCounts'), int64);
      const nc = nums(field(neg, 'bucketCounts'), int64);
      const off = int64(pos['offset'] ?? 0);
      if (pc === null || nc === null || off === null) return 'invalid-histogram';
      const sum = dp['sum'] === undefined ? null : double(dp['sum']);
      sink.expHistogram(
        m,
        labels,
        tsUs,
        count,
        sum,
        scale,
        zero,
        off,
        pc,
        nc.reduce((a, b) => a + b, 0),
      );
      return null;
    }
    case 'summary': {
      const count = int64(dp['count'] ?? 0);
      const sum = double(dp['sum'] ?? 0);
      if (count === null || sum === null) return 'invalid-summary';
      const qv = field(dp, 'quantileValues');
      if (Array.isArray(qv))
        for (const x of qv) {
          if (!isObject(x)) return 'invalid-summary';
          const qn = double(x['quantile'] ?? 0);
          const v = double(x['value'] ?? 0);
          if (qn === null || v === null) return 'invalid-summary';
          sink.emit(m, '', { ...labels, quantile: String(qn) }, tsUs, v);
        }
      sink.emit(m, '_count', labels, tsUs, count);
      sink.emit(m, '_sum', labels, tsUs, sum);
      return null;
    }
  }
}
