import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Quality } from '../../model/quality.js';
import type { LogRecord } from '../../model/records.js';
import type { MetricPoint } from '../../model/span.js';
import { decodeLogsRequestProto } from './logs/protobuf.js';
import { decodeMetricsRequestProto } from './metrics/protobuf.js';
import { ProtoWriter } from './writer.js';
import { keyValue } from './encode.test-util.js';
import { decoderConformance } from '../decoder.case.js';

const W = (): ProtoWriter => new ProtoWriter();
const NS = 1_700_000_000_123_456; // µs

/** ExportLogsServiceRequest with one resource, one scope and the given LogRecord messages. */
function logsRequest(...records: ProtoWriter[]): Uint8Array {
  const scope = W().message(1, W().string(1, 'lib'));
  for (const r of records) scope.message(2, r);
  const res = W()
    .message(1, keyValue('service.name', 'api'))
    .message(1, keyValue('host.name', 'h1'));
  return W().message(1, W().message(1, res).message(2, scope)).finish();
}

const LOG_A = W()
  .fixed64NanosFromUs(1, NS) // 1 time_unix_nano
  .uint(2, 17) // 2 severity_number = ERROR
  .string(3, 'Error') // 3 severity_text
  .message(5, W().string(1, 'model load failed')) // 5 body
  .message(6, keyValue('http.response.status_code', 503)) // 6 attributes
  .message(6, keyValue('gpu', 'A100'))
  .hex(9, '5b8efff798038103d269b633813fc60c') // 9 trace_id
  .hex(10, 'eee19b7ec3c1b174'); // 10 span_id
const LOG_B = W()
  .fixed64NanosFromUs(11, NS + 5) // 11 observed_time_unix_nano only
  .message(5, W().message(6, W().message(1, keyValue('k', 1)))) // body kvlist {k: 1}
  .string(12, 'gen_ai.choice'); // 12 event_name
const LOG_BAD = W().hex(9, 'abcd'); // a 2-byte trace id: rejected

test('otlp logs proto: fields map onto LogRecord; bad trace ids are rejected', () => {
  const out: LogRecord[] = [];
  const q = new Quality('t', 'otlp-proto');
  const o = decodeLogsRequestProto(logsRequest(LOG_A, LOG_B, LOG_BAD), out, q);
  assert.equal(o.error, null);
  assert.equal(o.accepted, 2);
  assert.equal(o.rejected, 1);
  const [a, b] = out;
  assert.equal(a!.tsUs, NS);
  assert.equal(a!.severity, 'ERROR');
  assert.equal(a!.body, 'model load failed');
  assert.equal(a!.httpStatus, 503);
  assert.deepEqual(a!.attributes, { gpu: 'A100' });
  assert.equal(a!.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(a!.spanId, 'eee19b7ec3c1b174');
  assert.equal(a!.service, 'api');
  assert.equal(a!.host, 'h1');
  assert.equal(a!.format, 'otlp-proto');
  assert.equal(b!.tsUs, NS + 5);
  assert.equal(b!.severity, null);
  assert.equal(b!.body, '{"k":1}');
  assert.equal(b!.attributes['event.name'], 'gen_ai.choice');
});

function metricsRequest(...metrics: ProtoWriter[]): Uint8Array {
  const scope = W();
  for (const m of metrics) scope.message(2, m);
  return W()
    .message(
      1,
      W()
        .message(1, W().message(1, keyValue('service.name', 'svc')))
        .message(2, scope),
    )
    .finish();
}

function packedFixed64(field: number, vals: number[], dbl: boolean): ProtoWriter {
  const b = Buffer.alloc(vals.length * 8);
  vals.forEach((v, i) => (dbl ? b.writeDoubleLE(v, i * 8) : b.writeBigUInt64LE(BigInt(v), i * 8)));
  return W().bytes(field, b);
}

test('otlp metrics proto: every point type', () => {
  const attrs = keyValue('route', '/x');
  const gauge = W()
    .string(1, 'temp')
    .message(5, W().message(1, W().message(7, attrs).fixed64NanosFromUs(3, NS).double(4, 71.5)));
  const sum = W()
    .string(1, 'reqs')
    .string(3, '1')
    .message(7, W().message(1, W().fixed64NanosFromUs(3, NS).fixed64(6, 42)).uint(2, 2).uint(3, 1));
  // fixed64 (6) for as_int: sfixed64 on the wire is the same 8 bytes.
  const histPoint = W().fixed64NanosFromUs(3, NS).fixed64(4, 3).double(5, 0.9);
  const hb = packedFixed64(6, [1, 1, 1], false).finish();
  const hbounds = packedFixed64(7, [0.1, 0.5], true).finish();
  const histBytes = Buffer.concat([histPoint.finish(), hb, hbounds]);
  const hist = W().string(1, 'lat').message(9, W().bytes(1, histBytes).uint(2, 2));
  // ExponentialHistogramDataPoint: scale 1 (base √2), positive offset -1 counts [2, 3] (packed varints)
  const posBuckets = W()
    .uint(1, 1 /* zigzag(-1) */)
    .bytes(2, Buffer.from([2, 3]));
  const exp = W()
    .string(1, 'ttft')
    .message(
      10,
      W()
        .message(
          1,
          W()
            .fixed64NanosFromUs(3, NS)
            .fixed64(4, 6)
            .double(5, 7)
            .uint(6, 2 /* zigzag(1) */)
            .fixed64(7, 1)
            .message(8, posBuckets),
        )
        .uint(2, 1),
    );
  const summary = W()
    .string(1, 'rt')
    .message(
      11,
      W().message(
        1,
        W()
          .fixed64NanosFromUs(3, NS)
          .fixed64(4, 10)
          .double(5, 20)
          .message(6, W().double(1, 0.5).double(2, 1.5)),
      ),
    );
  const noName = W().message(5, W().message(1, W().fixed64NanosFromUs(3, NS).double(4, 1)));
  const out: MetricPoint[] = [];
  const q = new Quality('t', 'otlp-proto');
  const o = decodeMetricsRequestProto(
    metricsRequest(gauge, sum, hist, exp, summary, noName),
    out,
    q,
  );
  assert.equal(o.error, null);
  assert.equal(o.accepted, 5);
  assert.equal(o.rejected, 1);
  assert.match(o.rejectMessage ?? '', /missing-metric-name/);
  const v = (name: string, k?: string, val?: string): MetricPoint =>
    out.find((p) => p.name === name && (k === undefined || p.labels[k] === val))!;
  assert.equal(v('temp').value, 71.5);
  assert.deepEqual(v('temp').labels, { 'service.name': 'svc', route: '/x' });
  assert.equal(v('temp').tsUs, NS);
  assert.equal(v('reqs').value, 42);
  assert.equal(v('reqs').temporality, 'cumulative');
  assert.equal(v('reqs').unit, '1');
  assert.equal(v('lat_count').value, 3);
  assert.equal(v('lat_sum').value, 0.9);
  assert.equal(v('lat_bucket', 'le', '0.1').value, 1);
  assert.equal(v('lat_bucket', 'le', '0.5').value, 2);
  assert.equal(v('lat_bucket', 'le', '+Inf').value, 3);
  // base √2, index -1 → upper bound √2^0 = 1; index 0 → √2
  assert.equal(v('ttft_bucket', 'le', '1').value, 3);
  assert.equal(v('ttft_bucket', 'le', String(Math.SQRT2 ** 1)).value, 6);
  assert.equal(v('ttft_count').temporality, 'delta');
  assert.equal(v('rt', 'quantile', '0.5').value, 1.5);
  assert.equal(v('rt_count').value, 10);
});

const wrap = (decode: (b: Buffer, q: Quality) => unknown) => () => {
  const parts: Buffer[] = [];
  return {
    push: (c: Buffer) => parts.push(c),
    end: () => {
      const q = new Quality('t', 'x');
      const out = decode(Buffer.concat(parts), q);
      const r = q.report();
      return { seen: r.seen, decoded: r.decoded, skipped: r.skipped, digest: JSON.stringify(out) };
    },
  };
};

decoderConformance(
  'otlp logs proto',
  wrap((b, q) => {
    const out: LogRecord[] = [];
    decodeLogsRequestProto(b, out, q);
    return out;
  }),
  [{ name: 'three records', bytes: Buffer.from(logsRequest(LOG_A, LOG_B, LOG_BAD)) }],
  { fuzzMs: 600 },
);

decoderConformance(
  'otlp metrics proto',
  wrap((b, q) => {
    const out: MetricPoint[] = [];
    decodeMetricsRequestProto(b, out, q);
    return out;
  }),
  [
    {
      name: 'gauge+summary',
      bytes: Buffer.from(
        metricsRequest(
          W()
            .string(1, 'g')
            .message(5, W().message(1, W().fixed64NanosFromUs(3, NS).double(4, 1))),
          W()
            .string(1, 'rt')
            .message(
              11,
              W().message(
                1,
                W()
                  .fixed64NanosFromUs(3, NS)
                  .fixed64(4, 1)
                  .message(6, W().double(1, 0.5).double(2, 1)),
              ),
            ),
        ),
      ),
    },
  ],
  { fuzzMs: 600 },
);
