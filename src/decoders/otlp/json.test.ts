import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Quality } from '../../model/quality.js';
import { decodeTelemetryFile, emptyBatch } from './index.js';
import { decodeTraceRequestJson } from './trace/json.js';
import type { Span } from '../../model/span.js';

function decodeText(text: string): ReturnType<typeof emptyBatch> & { q: Quality; format: string } {
  const b = emptyBatch();
  const q = new Quality('t', 'x');
  const format = decodeTelemetryFile(Buffer.from(text), 'f.json', b, q);
  return { ...b, q, format };
}

test('otlp json traces: hex ids (any case), int64 strings, enum ints and names, snake_case', () => {
  const doc = {
    resource_spans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { string_value: 'checkout' } }] },
        scope_spans: [
          {
            scope: { name: 's' },
            spans: [
              {
                trace_id: '5B8EFFF798038103D269B633813FC60C',
                span_id: '1111111111111111',
                name: 'parent',
                kind: 'SPAN_KIND_SERVER',
                start_time_unix_nano: '1650917400000000000',
                end_time_unix_nano: '1650917401000000999',
                status: { code: 'STATUS_CODE_ERROR', message: 'db timeout' },
                attributes: [
                  { key: 'n', value: { intValue: '9007199254740993' } },
                  { key: 'd', value: { doubleValue: 1.5 } },
                  { key: 'b', value: { boolValue: true } },
                  {
                    key: 'm',
                    value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } },
                  },
                ],
                events: [{ time_unix_nano: '1650917400500000000', name: 'cache.miss' }],
              },
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: '2222222222222222',
                parentSpanId: '1111111111111111',
                name: 'child',
                kind: 3,
                startTimeUnixNano: 1650917400100000000,
                endTimeUnixNano: '1650917400900000000',
              },
            ],
          },
        ],
      },
    ],
  };
  const r = decodeText(JSON.stringify(doc));
  assert.equal(r.format, 'otlp-json');
  assert.equal(r.spans.length, 2);
  const [p, c] = r.spans as [Span, Span];
  assert.equal(p.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(p.kind, 'server');
  assert.equal(p.status, 'error');
  assert.equal(p.statusMessage, 'db timeout');
  assert.equal(p.service, 'checkout');
  assert.equal(p.startUs, 1650917400000000);
  assert.equal(p.endUs, 1650917401000000);
  assert.deepEqual(p.attributes, { n: 9007199254740992, d: 1.5, b: true, 'm.k': 'v' });
  assert.deepEqual(p.events, [{ tsUs: 1650917400500000, name: 'cache.miss', attributes: {} }]);
  assert.equal(c.kind, 'client');
  assert.equal(c.parentSpanId, '1111111111111111');
});

test('otlp json traces: structural errors are request errors, bad spans are rejected alone', () => {
  const q = new Quality('t', 'x');
  const out: Span[] = [];
  assert.match(decodeTraceRequestJson([], out, q).error ?? '', /not a JSON object/);
  assert.match(decodeTraceRequestJson({ resourceSpans: {} }, out, q).error ?? '', /not an array/);
  assert.match(decodeTraceRequestJson({ resourceSpans: [1] }, out, q).error ?? '', /not an object/);
  assert.equal(decodeTraceRequestJson({}, out, q).error, null);
  const o = decodeTraceRequestJson(
    {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  name: 'a',
                  traceId: '0000000000000000000000000000000G',
                  spanId: '0000000000000001',
                },
                {
                  name: 'b',
                  traceId: '00000000000000000000000000000001',
                  spanId: '000000000000001',
                },
                {
                  name: 'c',
                  traceId: '00000000000000000000000000000001',
                  spanId: '0000000000000001',
                  parentSpanId: '',
                },
                {
                  name: 'd',
                  traceId: '00000000000000000000000000000001',
                  spanId: '0000000000000002',
                  status: { code: 'NOPE' },
                },
              ],
            },
          ],
        },
      ],
    },
    out,
    q,
  );
  assert.equal(o.error, null);
  assert.equal(o.accepted, 1);
  assert.equal(o.rejected, 3);
  assert.equal(out[out.length - 1]!.parentSpanId, null);
  const r = q.report();
  assert.equal(r.decoded + r.skipped, r.seen);
});

test('otlp json logs: severity ranges, body kinds, trace context and well-known attributes', () => {
  const doc = {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'api' } },
            { key: 'host.name', value: { stringValue: 'h1' } },
          ],
        },
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: '1544712660300000000',
                severityNumber: 10,
                severityText: 'Information',
                traceId: '5B8EFFF798038103D269B633813FC60C',
                spanId: 'EEE19B7EC3C1B174',
                body: { stringValue: 'Example log record' },
                attributes: [
                  { key: 'http.response.status_code', value: { intValue: '503' } },
                  { key: 'url.path', value: { stringValue: '/v1/chat' } },
                  { key: 'x', value: { stringValue: 'y' } },
                ],
              },
              {
                observedTimeUnixNano: '1544712660400000000',
                severityNumber: 'SEVERITY_NUMBER_ERROR2',
                body: { kvlistValue: { values: [{ key: 'k', value: { intValue: 1 } }] } },
                eventName: 'ev',
              },
              { severityText: 'warning', body: { stringValue: 'no time' } },
            ],
          },
        ],
      },
    ],
  };
  const r = decodeText(JSON.stringify(doc));
  assert.equal(r.logs.length, 3);
  const [a, b, c] = r.logs;
  assert.equal(a!.severity, 'INFO');
  assert.equal(a!.tsUs, 1544712660300000);
  assert.equal(a!.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(a!.spanId, 'eee19b7ec3c1b174');
  assert.equal(a!.httpStatus, 503);
  assert.equal(a!.httpPath, '/v1/chat');
  assert.deepEqual(a!.attributes, { x: 'y' });
  assert.equal(a!.service, 'api');
  assert.equal(a!.host, 'h1');
  assert.equal(b!.severity, 'ERROR');
  assert.equal(b!.tsUs, 1544712660400000);
  assert.equal(b!.body, '{"k":1}');
  assert.equal(b!.attributes['event.name'], 'ev');
  assert.equal(c!.severity, 'WARN');
  assert.equal(c!.tsUs, null);
});

test('otlp json metrics: gauge, sum, histogram, exponential histogram, summary → points', () => {
  const ts = '1544712660300000000';
  const attrs = [{ key: 'a', value: { stringValue: 'v' } }];
  const doc = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'c',
                sum: {
                  aggregationTemporality: 1,
                  isMonotonic: true,
                  dataPoints: [{ asDouble: 5, timeUnixNano: ts, attributes: attrs }],
                },
              },
              { name: 'g', gauge: { dataPoints: [{ asInt: '10', timeUnixNano: ts }] } },
              {
                name: 'h',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      timeUnixNano: ts,
                      count: '2',
                      sum: 2,
                      bucketCounts: ['1', '1'],
                      explicitBounds: [1],
                    },
                  ],
                },
              },
              {
                name: 'e',
                exponentialHistogram: {
                  aggregationTemporality: 1,
                  dataPoints: [
                    {
                      timeUnixNano: ts,
                      count: '3',
                      sum: 10,
                      scale: 0,
                      zeroCount: '1',
                      positive: { offset: 1, bucketCounts: ['0', '2'] },
                    },
                  ],
                },
              },
              {
                name: 's',
                summary: {
                  dataPoints: [
                    {
                      timeUnixNano: ts,
                      count: '4',
                      sum: 8,
                      quantileValues: [
                        { quantile: 0.5, value: 2 },
                        { quantile: 0.99, value: 5 },
                      ],
                    },
                  ],
                },
              },
              { name: 'bad', gauge: { dataPoints: [{ asDouble: 1 }] } },
            ],
          },
        ],
      },
    ],
  };
  const r = decodeText(JSON.stringify(doc));
  const row = (name: string, le?: string): number | undefined =>
    r.points.find(
      (p) =>
        p.name === name &&
        (le === undefined || p.labels['le'] === le || p.labels['quantile'] === le),
    )?.value;
  assert.equal(row('c'), 5);
  assert.deepEqual(r.points.find((p) => p.name === 'c')!.labels, { 'service.name': 'svc', a: 'v' });
  assert.equal(r.points.find((p) => p.name === 'c')!.temporality, 'delta');
  assert.equal(r.points.find((p) => p.name === 'c')!.tsUs, 1544712660300000);
  assert.equal(row('g'), 10);
  assert.equal(row('h_count'), 2);
  assert.equal(row('h_bucket', '1'), 1);
  assert.equal(row('h_bucket', '+Inf'), 2);
  // scale 0: base 2; positive offset 1 → buckets (2,4] and (4,8]; zero bucket counts below all.
  assert.equal(row('e_bucket', '4'), 1);
  assert.equal(row('e_bucket', '8'), 3);
  assert.equal(row('e_count'), 3);
  assert.equal(row('s', '0.99'), 5);
  assert.equal(row('s_sum'), 8);
  const q = r.q.report();
  // No timestamp: kept with tsUs 0 (the receiver stamps the receive time).
  assert.equal(r.points.find((p) => p.name === 'bad')!.tsUs, 0);
  assert.equal(q.decoded, 6);
});

test('jaeger json: padded ids, CHILD_OF parent, foreign-trace refs as links, typed tags, processes', () => {
  const doc = {
    data: [
      {
        traceID: '1',
        spans: [
          {
            traceID: '1',
            spanID: '2',
            operationName: 'root',
            references: [],
            startTime: 1000,
            duration: 50,
            tags: [{ key: 'span.kind', type: 'string', value: 'server' }],
            logs: [{ timestamp: 1010, fields: [{ key: 'event', type: 'string', value: 'x' }] }],
            processID: 'p1',
          },
          {
            traceID: '1',
            spanID: '3',
            operationName: 'db',
            references: [
              { refType: 'CHILD_OF', traceID: 'ff', spanID: 'ff' },
              { refType: 'CHILD_OF', traceID: '1', spanID: '2' },
            ],
            startTime: 1010,
            duration: 20,
            tags: [{ key: 'error', type: 'bool', value: true }],
            processID: 'p2',
          },
          { traceID: 'zz', spanID: '4', operationName: 'bad', startTime: 1, duration: 1 },
        ],
        processes: {
          p1: { serviceName: 'api', tags: [] },
          p2: { serviceName: 'db', tags: [{ key: 'hostname', type: 'string', value: 'h' }] },
        },
      },
    ],
  };
  const r = decodeText(JSON.stringify(doc));
  assert.equal(r.format, 'jaeger-json');
  assert.equal(r.spans.length, 2);
  const [a, b] = r.spans as [Span, Span];
  assert.equal(a.traceId, '00000000000000000000000000000001');
  assert.equal(a.spanId, '0000000000000002');
  assert.equal(a.kind, 'server');
  assert.equal(a.service, 'api');
  assert.equal(a.endUs, 1050);
  assert.equal(a.events[0]!.name, 'x');
  assert.equal(b.parentSpanId, '0000000000000002');
  assert.equal(b.links[0]!.traceId, '000000000000000000000000000000ff');
  assert.equal(b.status, 'error');
  assert.equal(b.resource['hostname'], 'h');
  assert.equal(r.q.report().skipped, 1);
});

test('zipkin v2 json: ids, kinds, endpoints, error tag', () => {
  const doc = [
    {
      traceId: '463ac35c9f6413ad',
      id: '463ac35c9f6413ad',
      name: 'get /api',
      kind: 'SERVER',
      timestamp: 1472470996199000,
      duration: 207000,
      localEndpoint: { serviceName: 'frontend' },
      tags: { 'http.path': '/api' },
    },
    {
      traceId: '463ac35c9f6413ad',
      parentId: '463ac35c9f6413ad',
      id: '72485a3953bb6124',
      name: 'query',
      kind: 'CLIENT',
      timestamp: 1472470996238000,
      duration: 100000,
      localEndpoint: { serviceName: 'backend' },
      remoteEndpoint: { serviceName: 'mysql' },
      tags: { error: 'timeout' },
      annotations: [{ timestamp: 1472470996240000, value: 'retry' }],
    },
  ];
  const r = decodeText(JSON.stringify(doc));
  assert.equal(r.format, 'zipkin-json');
  const [a, b] = r.spans as [Span, Span];
  assert.equal(a.traceId, '0000000000000000463ac35c9f6413ad');
  assert.equal(a.kind, 'server');
  assert.equal(a.endUs, 1472470996406000);
  assert.equal(b.parentSpanId, '463ac35c9f6413ad');
  assert.equal(b.status, 'error');
  assert.equal(b.statusMessage, 'timeout');
  assert.equal(b.attributes['peer.service'], 'mysql');
  assert.equal(b.events[0]!.name, 'retry');
});

test('otlp json lines: one export request per line; bad lines are counted', () => {
  const line = JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              {
                traceId: '00000000000000000000000000000001',
                spanId: '0000000000000001',
                name: 'a',
              },
            ],
          },
        ],
      },
    ],
  });
  const r = decodeText(`${line}\n{oops\n${line}\n`);
  assert.equal(r.format, 'otlp-json-lines');
  assert.equal(r.spans.length, 2);
  assert.equal(r.q.report().skippedByReason['invalid-json'], 1);
});

import { decoderConformance } from '../decoder.case.js';

const JSON_FIXTURE = JSON.stringify({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'a' } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: '00000000000000000000000000000001',
              spanId: '0000000000000001',
              name: 'x',
              startTimeUnixNano: '1000000',
              endTimeUnixNano: '2000000',
              attributes: [{ key: 'k', value: { arrayValue: { values: [{ intValue: '1' }] } } }],
            },
            {
              traceId: '00000000000000000000000000000001',
              spanId: '0000000000000002',
              parentSpanId: '0000000000000001',
              name: 'y',
            },
          ],
        },
      ],
    },
  ],
});

decoderConformance(
  'telemetry file (json/proto detection)',
  () => {
    const parts: Buffer[] = [];
    return {
      push: (c) => parts.push(c),
      end: () => {
        const b = emptyBatch();
        const q = new Quality('t', 'x');
        decodeTelemetryFile(Buffer.concat(parts), 'f', b, q);
        const r = q.report();
        return { seen: r.seen, decoded: r.decoded, skipped: r.skipped, digest: JSON.stringify(b) };
      },
    };
  },
  [{ name: 'otlp json', bytes: Buffer.from(JSON_FIXTURE) }],
  { fuzzMs: 600 },
);
