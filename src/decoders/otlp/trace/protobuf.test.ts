import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Quality } from '../../../model/quality.js';
import type { Span } from '../../../model/span.js';
import { decodeTraceRequestProto } from './protobuf.js';
import { encodeTraceRequest, span } from '../encode.test-util.js';
import { decoderConformance } from '../../decoder.case.js';
import { ProtoWriter } from '../writer.js';

/** Hex with whitespace and `# comments` stripped. */
function hex(annotated: string): Buffer {
  return Buffer.from(annotated.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

// ExportTraceServiceRequest, written by hand from trace.proto's field numbers.
const MINIMAL = `
0a 56                                   # 1 resource_spans, 86 bytes
  0a 17                                 #   1 resource, 23 bytes
    0a 15                               #     1 attributes (KeyValue), 21 bytes
      0a 0c 736572766963652e6e616d65    #       1 key "service.name"
      12 05                             #       2 value (AnyValue), 5 bytes
        0a 03 617069                    #         1 string_value "api"
  12 3b                                 #   2 scope_spans, 59 bytes
    12 39                               #     2 spans, 57 bytes
      0a 10 5b8efff798038103d269b633813fc60c   # 1 trace_id (16 bytes)
      12 08 eee19b7ec3c1b174            #       2 span_id (8 bytes)
      2a 03 474554                      #       5 name "GET"
      30 02                             #       6 kind = SPAN_KIND_SERVER
      39 004859e3faeb6f15               #       7 start_time_unix_nano fixed64 1544712660000000000
      41 90e2f71efbeb6f15               #       8 end_time_unix_nano fixed64 1544712661000250000
      7a 02                             #       15 status, 2 bytes
        18 02                           #         3 code = STATUS_CODE_ERROR
`;

function decode(b: Uint8Array): {
  spans: Span[];
  q: Quality;
  o: ReturnType<typeof decodeTraceRequestProto>;
} {
  const spans: Span[] = [];
  const q = new Quality('test', 'otlp-proto');
  const o = decodeTraceRequestProto(b, spans, q);
  return { spans, q, o };
}

test('otlp trace proto: hand-written request decodes field by field', () => {
  const b = hex(MINIMAL);
  assert.equal(b.length, 88);
  const { spans, o } = decode(b);
  assert.equal(o.error, null);
  assert.equal(spans.length, 1);
  const s = spans[0]!;
  assert.equal(s.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(s.spanId, 'eee19b7ec3c1b174');
  assert.equal(s.parentSpanId, null);
  assert.equal(s.service, 'api');
  assert.equal(s.name, 'GET');
  assert.equal(s.kind, 'server');
  assert.equal(s.startUs, 1544712660000000);
  assert.equal(s.endUs, 1544712661000250);
  assert.equal(s.status, 'error');
});

test('otlp trace proto: unknown fields of every wire type are skipped', () => {
  // Append to the span: field 99 varint, field 98 fixed32, field 97 fixed64, field 96 bytes.
  const extra = hex(`
    98 06 96 01                 # 99 varint 150
    95 06 01020304              # 98 fixed32
    89 06 0102030405060708      # 97 fixed64
    82 06 02 abcd               # 96 bytes(2)
  `);
  const b = hex(MINIMAL);
  const out = Buffer.concat([
    Buffer.from([0x0a, 0x56 + extra.length, 0x0a, 0x17]),
    b.subarray(4, 4 + 23),
    Buffer.from([0x12, 0x3b + extra.length, 0x12, 0x39 + extra.length]),
    b.subarray(31),
    extra,
  ]);
  const { spans, o } = decode(out);
  assert.equal(o.error, null);
  assert.equal(spans.length, 1);
  assert.equal(spans[0]!.name, 'GET');
});

test('otlp trace proto: a length past the end is a malformed request, not a throw', () => {
  const b = hex(MINIMAL);
  b[1] = 0x7f; // resource_spans claims 127 bytes
  const { o, q } = decode(b);
  assert.match(o.error ?? '', /runs past the end/);
  assert.equal(q.report().skippedByReason['malformed-request'], 1);
});

test('otlp trace proto: group wire types and 11-byte varints are errors', () => {
  assert.match(decode(hex('0b')).o.error ?? '', /wire type 3/);
  assert.match(decode(hex('08 ffffffffffffffffffff01')).o.error ?? '', /varint longer/);
});

test('otlp trace proto: bad ids are rejected one by one (partial success)', () => {
  const good = span({ spanId: '00f067aa0ba902b7', startUs: 1, endUs: 2 });
  const bad = span({
    spanId: '00f067aa0ba902b8',
    startUs: 1,
    endUs: 2,
    traceId: '0af7651916cd43dd',
  });
  const { spans, o } = decode(encodeTraceRequest([good, bad]));
  assert.equal(o.error, null);
  assert.equal(spans.length, 1);
  assert.equal(o.accepted, 1);
  assert.equal(o.rejected, 1);
  assert.match(o.rejectMessage ?? '', /invalid-trace-id/);
});

test('otlp trace proto: round trip through the encoder keeps every field', () => {
  const s = span({
    spanId: '00f067aa0ba902b7',
    parentSpanId: '1111111111111111',
    startUs: 1_700_000_000_123_456,
    endUs: 1_700_000_000_223_456,
    kind: 'client',
    status: 'error',
    statusMessage: 'boom',
    attributes: {
      'http.route': '/v1/chat',
      'http.response.status_code': 503,
      ok: false,
      ratio: 0.5,
      neg: -7,
    },
    events: [{ tsUs: 1_700_000_000_200_000, name: 'retry', attributes: { n: 2 } }],
    links: [
      { traceId: '0af7651916cd43dd8448eb211c80319d', spanId: '2222222222222222', attributes: {} },
    ],
  });
  const { spans } = decode(encodeTraceRequest([s]));
  assert.deepEqual(spans[0], s);
});

test('otlp trace proto: kvlist attributes flatten with dots, arrays become JSON', () => {
  // AnyValue kvlist { a: { b: 1 } } and array [1, "x"]
  const kv = (k: string, v: ProtoWriter): ProtoWriter =>
    new ProtoWriter().string(1, k).message(2, v);
  const inner = new ProtoWriter().message(1, kv('b', new ProtoWriter().int(3, 1)));
  const kvlist = new ProtoWriter().message(6, inner);
  const arr = new ProtoWriter().message(
    5,
    new ProtoWriter()
      .message(1, new ProtoWriter().int(3, 1))
      .message(1, new ProtoWriter().string(1, 'x')),
  );
  const sp = new ProtoWriter()
    .hex(1, '0af7651916cd43dd8448eb211c80319c')
    .hex(2, '00f067aa0ba902b7')
    .message(9, kv('a', kvlist))
    .message(9, kv('list', arr));
  const req = new ProtoWriter().message(
    1,
    new ProtoWriter().message(2, new ProtoWriter().message(2, sp)),
  );
  const { spans } = decode(req.finish());
  assert.deepEqual(spans[0]!.attributes, { 'a.b': 1, list: '[1,"x"]' });
});

const FIXTURE = encodeTraceRequest([
  span({
    spanId: '00f067aa0ba902b7',
    startUs: 1_000_000,
    endUs: 2_000_000,
    attributes: { a: 'b' },
  }),
  span({
    spanId: '00f067aa0ba902b8',
    parentSpanId: '00f067aa0ba902b7',
    service: 'db',
    startUs: 1_100_000,
    endUs: 1_900_000,
    events: [{ tsUs: 1_200_000, name: 'e', attributes: {} }],
  }),
]);

decoderConformance(
  'otlp trace proto',
  () => {
    const parts: Buffer[] = [];
    return {
      push: (c) => parts.push(c),
      end: () => {
        const spans: Span[] = [];
        const q = new Quality('t', 'otlp-proto');
        decodeTraceRequestProto(Buffer.concat(parts), spans, q);
        const r = q.report();
        return {
          seen: r.seen,
          decoded: r.decoded,
          skipped: r.skipped,
          digest: JSON.stringify(spans),
        };
      },
    };
  },
  [
    { name: 'hand-written', bytes: hex(MINIMAL) },
    { name: 'encoded', bytes: Buffer.from(FIXTURE) },
  ],
  { fuzzMs: 1000 },
);
