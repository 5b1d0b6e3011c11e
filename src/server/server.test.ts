import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { request } from 'node:http';
import { startServer, type RunningServer } from './server.js';
import { openTelemetryStore } from './telemetry-store.js';
import { encodeTraceRequest, span } from '../decoders/otlp/encode.test-util.js';
import { ProtoWriter } from '../decoders/otlp/writer.js';
import { WireReader } from '../decoders/otlp/wire.js';

interface Resp {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(
  port: number,
  method: string,
  path: string,
  body: Uint8Array | string | null,
  headers: Record<string, string> = {},
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
    });
    req.on('error', reject);
    if (body !== null) req.end(body);
    else req.end();
  });
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
let srv: RunningServer;

before(async () => {
  srv = await startServer({
    store: await openTelemetryStore(':memory:'),
    port: 0,
    otlpPort: 0,
    maxBodyBytes: 64 * 1024,
    flushMs: 10,
  });
});
after(async () => {
  await srv.close();
});

const spans = [
  span({
    traceId: TRACE,
    spanId: '00f067aa0ba902b7',
    startUs: 1_700_000_000_000_000,
    endUs: 1_700_000_000_050_000,
    kind: 'server',
    service: 'api',
    attributes: { 'http.route': '/v1/chat/completions', 'http.response.status_code': 200 },
  }),
  span({
    traceId: TRACE,
    spanId: '00f067aa0ba902b8',
    parentSpanId: '00f067aa0ba902b7',
    startUs: 1_700_000_000_010_000,
    endUs: 1_700_000_000_040_000,
    kind: 'client',
    service: 'api',
  }),
];

test('receiver: protobuf traces → 200 with an empty response, then GET /api/traces/{id}', async () => {
  const r = await call(srv.otlpPort!, 'POST', '/v1/traces', encodeTraceRequest(spans), {
    'content-type': 'application/x-protobuf',
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/x-protobuf');
  assert.equal(r.body.length, 0);
  const g = await call(srv.port, 'GET', `/api/traces/${TRACE}`, null);
  assert.equal(g.status, 200);
  const doc = JSON.parse(g.body.toString()) as {
    spans: { spanId: string; attributes: Record<string, unknown> }[];
  };
  assert.deepEqual(
    doc.spans.map((s) => s.spanId),
    ['00f067aa0ba902b7', '00f067aa0ba902b8'],
  );
  assert.equal(doc.spans[0]!.attributes['http.route'], '/v1/chat/completions');
});

test('receiver: JSON traces, logs and metrics', async () => {
  const tr = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'j' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '5B8EFFF798038103D269B633813FC60C',
                spanId: 'EEE19B7EC3C1B174',
                name: 'x',
                kind: 'SPAN_KIND_SERVER',
                startTimeUnixNano: '1544712660000000000',
                endTimeUnixNano: '1544712661000000000',
              },
            ],
          },
        ],
      },
    ],
  };
  const r = await call(srv.otlpPort!, 'POST', '/v1/traces', JSON.stringify(tr), {
    'content-type': 'application/json',
  });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body.toString()), {});
  const lg = {
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: '1544712660300000000',
                severityNumber: 17,
                body: { stringValue: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  };
  assert.equal(
    (
      await call(srv.otlpPort!, 'POST', '/v1/logs', JSON.stringify(lg), {
        'content-type': 'application/json',
      })
    ).status,
    200,
  );
  const mt = {
    resourceMetrics: [
      {
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'g',
                gauge: { dataPoints: [{ asDouble: 1, timeUnixNano: '1544712660300000000' }] },
              },
            ],
          },
        ],
      },
    ],
  };
  assert.equal(
    (
      await call(srv.otlpPort!, 'POST', '/v1/metrics', JSON.stringify(mt), {
        'content-type': 'application/json',
      })
    ).status,
    200,
  );
  const g = await call(srv.port, 'GET', '/api/traces/5b8efff798038103d269b633813fc60c', null);
  assert.equal(g.status, 200);
});

test('receiver: gzip Content-Encoding', async () => {
  const s = [
    span({
      traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      spanId: '1111111111111111',
      startUs: 1,
      endUs: 2,
    }),
  ];
  const r = await call(srv.otlpPort!, 'POST', '/v1/traces', gzipSync(encodeTraceRequest(s)), {
    'content-type': 'application/x-protobuf',
    'content-encoding': 'gzip',
  });
  assert.equal(r.status, 200);
  assert.equal(
    (await call(srv.port, 'GET', '/api/traces/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', null)).status,
    200,
  );
  const bad = await call(srv.otlpPort!, 'POST', '/v1/traces', Buffer.from('not gzip'), {
    'content-type': 'application/x-protobuf',
    'content-encoding': 'gzip',
  });
  assert.equal(bad.status, 400);
});

test('receiver: partial success names the rejected count', async () => {
  const s = [
    span({
      traceId: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      spanId: '1111111111111111',
      startUs: 1,
      endUs: 2,
    }),
    span({ traceId: 'bbbbbbbbbbbbbbbb', spanId: '1111111111111112', startUs: 1, endUs: 2 }),
  ];
  const r = await call(srv.otlpPort!, 'POST', '/v1/traces', encodeTraceRequest(s), {
    'content-type': 'application/x-protobuf',
  });
  assert.equal(r.status, 200);
  // ExportTraceServiceResponse { 1 partial_success { 1 rejected_spans = 1; 2 error_message } }
  const rd = new WireReader(r.body);
  assert.equal(rd.varint(r.body.length), 0x0a);
  const e = rd.len(r.body.length);
  assert.equal(rd.varint(e), 0x08);
  assert.equal(rd.varint(e), 1);
  assert.equal(rd.varint(e), 0x12);
  assert.match(rd.string(e), /invalid-trace-id/);
  const j = await call(
    srv.otlpPort!,
    'POST',
    '/v1/traces',
    JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '12', spanId: '1111111111111111' }] }] }],
    }),
    { 'content-type': 'application/json' },
  );
  assert.deepEqual(
    (JSON.parse(j.body.toString()) as { partialSuccess: { rejectedSpans: string } }).partialSuccess
      .rejectedSpans,
    '1',
  );
});

test('receiver: malformed bodies are 400 with a message, never 500', async () => {
  for (const [ct, body] of [
    ['application/x-protobuf', Buffer.from([0x0a, 0x7f, 0x01])],
    ['application/x-protobuf', Buffer.from([0x0b])],
    ['application/json', '{"resourceSpans": '],
    ['application/json', '{"resourceSpans": {}}'],
    ['application/json', '[]'],
  ] as const) {
    const r = await call(srv.otlpPort!, 'POST', '/v1/traces', body, { 'content-type': ct });
    assert.equal(r.status, 400, `${ct} ${String(body)}`);
    if (ct === 'application/json')
      assert.equal((JSON.parse(r.body.toString()) as { code: number }).code, 3);
    else {
      const rd = new WireReader(r.body);
      assert.equal(rd.varint(r.body.length), 0x08);
      assert.equal(rd.varint(r.body.length), 3);
      assert.equal(rd.varint(r.body.length), 0x12);
      assert.match(rd.string(r.body.length), /malformed traces request/);
    }
  }
});

test('receiver: unknown content type → 415, oversize → 413, GET → 405', async () => {
  assert.equal(
    (await call(srv.otlpPort!, 'POST', '/v1/traces', 'x', { 'content-type': 'text/plain' })).status,
    415,
  );
  assert.equal(
    (
      await call(srv.otlpPort!, 'POST', '/v1/traces', 'x', {
        'content-type': 'application/json',
        'content-encoding': 'br',
      })
    ).status,
    415,
  );
  const big = Buffer.alloc(70 * 1024, 0x20);
  assert.equal(
    (await call(srv.otlpPort!, 'POST', '/v1/traces', big, { 'content-type': 'application/json' }))
      .status,
    413,
  );
  // Small compressed, large decompressed (a zip bomb) is also 413.
  const bomb = gzipSync(Buffer.alloc(1 << 20, 0x20));
  assert.equal(
    (
      await call(srv.otlpPort!, 'POST', '/v1/traces', bomb, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      })
    ).status,
    413,
  );
  assert.equal((await call(srv.otlpPort!, 'GET', '/v1/traces', null)).status, 405);
});

test('/metrics: Prometheus text with ingest counters and observed RED by route', async () => {
  const r = await call(srv.port, 'GET', '/metrics', null);
  assert.equal(r.status, 200);
  const text = r.body.toString();
  assert.match(text, /# TYPE mlscope_otlp_received_total counter/);
  assert.match(text, /mlscope_otlp_received_total\{signal="traces"\} \d+/);
  assert.match(
    text,
    /mlscope_observed_requests_total\{service="api",route="\/v1\/chat\/completions",status="200"\} 1/,
  );
  assert.match(
    text,
    /mlscope_observed_request_duration_seconds_bucket\{service="api",route="\/v1\/chat\/completions",status="200",le="0.05"\} 1/,
  );
  assert.match(
    text,
    /mlscope_otlp_requests_total\{signal="traces",encoding="protobuf",code="400"\} 3/,
  );
});

test('/metrics: label cardinality is bounded, overflow goes to "other"', async () => {
  const s2 = await startServer({
    store: await openTelemetryStore(':memory:'),
    port: 0,
    otlpPort: null,
    maxLabelValues: 3,
  });
  try {
    const many = Array.from({ length: 10 }, (_, i) =>
      span({
        traceId: 'cccccccccccccccccccccccccccccccc',
        spanId: `10000000000000${String(i).padStart(2, '0')}`,
        startUs: 1,
        endUs: 2,
        kind: 'server',
        attributes: { 'url.path': `/item/${i}` },
      }),
    );
    await call(s2.port, 'POST', '/v1/traces', encodeTraceRequest(many), {
      'content-type': 'application/x-protobuf',
    });
    const text = (await call(s2.port, 'GET', '/metrics', null)).body.toString();
    const routes = new Set(
      [...text.matchAll(/mlscope_observed_requests_total\{[^}]*route="([^"]*)"/g)].map((m) => m[1]),
    );
    assert.deepEqual([...routes].sort(), ['/item/0', '/item/1', '/item/2', 'other']);
    assert.match(text, /route="other",status="unset"\} 7/);
  } finally {
    await s2.close();
  }
});

test('auth: a non-loopback bind needs a token; requests without it get 401', async () => {
  await assert.rejects(
    startServer({
      store: await openTelemetryStore(':memory:'),
      host: '0.0.0.0',
      port: 0,
      otlpPort: null,
    }),
    /token/,
  );
  const s3 = await startServer({
    store: await openTelemetryStore(':memory:'),
    host: '0.0.0.0',
    port: 0,
    otlpPort: null,
    token: 's3cret',
  });
  try {
    assert.equal((await call(s3.port, 'GET', '/metrics', null)).status, 401);
    assert.equal(
      (await call(s3.port, 'GET', '/metrics', null, { authorization: 'Bearer s3cret' })).status,
      200,
    );
  } finally {
    await s3.close();
  }
});

test('shutdown writes everything acknowledged', async () => {
  const store = await openTelemetryStore(':memory:');
  const s4 = await startServer({ store, port: 0, otlpPort: null, flushMs: 60_000 });
  const batch = Array.from({ length: 50 }, (_, i) =>
    span({
      traceId: 'dddddddddddddddddddddddddddddddd',
      spanId: `20000000000000${String(i).padStart(2, '0')}`,
      startUs: 1,
      endUs: 2,
    }),
  );
  await call(s4.port, 'POST', '/v1/traces', encodeTraceRequest(batch), {
    'content-type': 'application/x-protobuf',
  });
  assert.equal(s4.queue.stats.stored.spans, 0);
  const counts = store.counts.bind(store);
  const origClose = store.close.bind(store);
  let atClose = -1;
  store.close = async () => {
    atClose = (await counts()).spans;
    await origClose();
  };
  await s4.close();
  assert.equal(s4.acknowledged.spans, 50);
  assert.equal(atClose, 50);
  void ProtoWriter;
});
