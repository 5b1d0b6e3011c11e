// Metrics from logs: counters by labels, histograms of a numeric field, Prometheus text, caps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRecord } from '../../model/records.js';
import { LogMetrics, renderPrometheusText, ratesBetween } from './log-metrics.js';

const rec = (
  attrs: LogRecord['attributes'],
  severity: LogRecord['severity'] = 'INFO',
): LogRecord => ({
  tsUs: 0,
  severity,
  body: '',
  requestId: null,
  traceId: null,
  spanId: null,
  httpMethod: null,
  httpPath: null,
  httpStatus: null,
  durationMs: null,
  clientIp: null,
  attributes: attrs,
  service: 'api',
  host: null,
  file: 'f',
  lineNo: 1,
  format: 'json',
  templateId: null,
});

test('counters, histograms and text exposition', () => {
  const m = new LogMetrics([
    { name: 'recs_total', labels: ['service', 'level'] },
    { name: 'lat_ms', labels: ['path'], field: 'duration_ms', buckets: [10, 100] },
  ]);
  const before = m.samples();
  m.add(rec({ path: '/a', duration_ms: 5 }));
  m.add(rec({ path: '/a', duration_ms: 50 }, 'ERROR'));
  m.add(rec({ path: '/a', duration_ms: 500 }));
  m.add(rec({ path: '/b' }));
  const s = m.samples();
  assert.equal(s.find((x) => x.name === 'recs_total' && x.labels['level'] === 'info')!.value, 3);
  assert.deepEqual(
    s.filter((x) => x.name === 'lat_ms_bucket').map((x) => [x.labels['le'], x.value]),
    [
      ['10', 1],
      ['100', 2],
      ['+Inf', 3],
    ],
  );
  assert.equal(s.find((x) => x.name === 'lat_ms_sum')!.value, 555);
  const text = renderPrometheusText(m);
  assert.match(text, /# TYPE lat_ms histogram\n/);
  assert.match(text, /recs_total\{service="api",level="error"\} 1\n/);
  assert.equal(ratesBetween(before, s, 2).find((x) => x.name === 'lat_ms_count')!.value, 1.5);
});

test('series are capped', () => {
  const m = new LogMetrics([{ name: 'x_total', labels: ['id'] }]);
  for (let i = 0; i < 10_050; i++) m.add(rec({ id: `i${i}` }));
  assert.equal(m.samples().length, 10_001);
  assert.equal(m.overflow[0], 50);
});
