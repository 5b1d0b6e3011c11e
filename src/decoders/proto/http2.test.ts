import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Exchange } from '../../model/records.js';
import type { ProtoContext, StreamParser } from './stream.js';
import {
  createHttp2AfterUpgrade,
  http2Recogniser,
  HTTP2_PREFACE,
  type Http2Exchange,
} from './http2.js';
import { huffmanEncode } from './hpack-huffman.js';
import {
  ascii,
  concat,
  drive,
  hex,
  recordingContext,
  type Segment,
} from './proto-test-context.test-util.js';

// ---- fixture builders (annotated: every frame is `frame(type, flags, stream, payload)`) --------

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(9);
  h[0] = (payload.length >> 16) & 0xff;
  h[1] = (payload.length >> 8) & 0xff;
  h[2] = payload.length & 0xff;
  h[3] = type;
  h[4] = flags;
  h[5] = (stream >>> 24) & 0x7f;
  h[6] = (stream >> 16) & 0xff;
  h[7] = (stream >> 8) & 0xff;
  h[8] = stream & 0xff;
  return concat(h, payload);
}
/** HPACK literal without indexing, new name (0x00), raw strings (< 127 bytes). */
function lit(name: string, value: string): Uint8Array {
  return concat(
    hex('00'),
    Uint8Array.of(name.length),
    ascii(name),
    Uint8Array.of(value.length),
    ascii(value),
  );
}
/** HPACK literal with incremental indexing, new name, Huffman value. */
function litIdxHuff(name: string, value: string): Uint8Array {
  const v = huffmanEncode(ascii(value));
  return concat(
    hex('40'),
    Uint8Array.of(name.length),
    ascii(name),
    Uint8Array.of(0x80 | v.length),
    v,
  );
}
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255);
const PREFACE = ascii(HTTP2_PREFACE);
const SETTINGS_EMPTY = frame(4, 0, 0, new Uint8Array(0));
const SETTINGS_ACK = frame(4, 1, 0, new Uint8Array(0));

function run(segments: Segment[], opts: { splitEvery?: number } = {}) {
  const ctx = recordingContext();
  const p = http2Recogniser.create(ctx);
  drive(p, ctx, segments, opts);
  return { ctx, xs: ctx.exchanges as Http2Exchange[] };
}

// A GET with x-request-id and traceparent, a 200 with a padded DATA frame.
const REQ_HEADERS = concat(
  hex('82 86 84'), // :method GET, :scheme http, :path /
  lit(':authority', 'api.test'),
  lit('x-request-id', 'req-1'),
  litIdxHuff('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
);
const RESP_HEADERS = concat(hex('88'), lit('content-type', 'application/json')); // :status 200
function simpleGet(): Segment[] {
  return [
    {
      dir: 0,
      tsUs: 1_000_000,
      bytes: concat(PREFACE, SETTINGS_EMPTY, frame(1, 0x5, 1, REQ_HEADERS)),
    },
    { dir: 1, tsUs: 1_000_100, bytes: concat(SETTINGS_EMPTY, SETTINGS_ACK) },
    { dir: 1, tsUs: 1_005_000, bytes: frame(1, 0x4, 1, RESP_HEADERS) },
    // DATA, PADDED (0x8): pad length 3, "hello", 3 zero bytes
    { dir: 1, tsUs: 1_007_000, bytes: frame(0, 0x8, 1, hex('03 68656c6c6f 000000')) },
    { dir: 1, tsUs: 1_009_000, bytes: frame(0, 0x1, 1, ascii('!')) },
  ];
}

test('recogniser: client preface (any prefix ≥ 4 bytes), server SETTINGS, not HTTP/1', () => {
  const pre = ascii(HTTP2_PREFACE);
  assert.equal(http2Recogniser.recognise(0, pre, 0, pre.length), true);
  assert.equal(http2Recogniser.recognise(0, pre, 0, 6), true);
  assert.equal(http2Recogniser.recognise(0, pre, 0, 3), false);
  const get = ascii('GET / HTTP/1.1\r\n');
  assert.equal(http2Recogniser.recognise(0, get, 0, get.length), false);
  const settings = frame(4, 0, 0, hex('0003 00000064  0004 0000ffff'));
  assert.equal(http2Recogniser.recognise(1, settings, 0, settings.length), true);
  assert.equal(http2Recogniser.recognise(1, SETTINGS_ACK, 0, 9), false);
  assert.equal(http2Recogniser.recognise(1, hex('16 0303 0040 02'), 0, 6), false);
});

test('a GET stream: pseudo-headers, ids, padding stripped, timings', () => {
  for (const splitEvery of [undefined, 1, 7]) {
    const { ctx, xs } = run(simpleGet(), splitEvery === undefined ? {} : { splitEvery });
    assert.equal(xs.length, 1);
    const x = xs[0]!;
    assert.equal(x.protocol, 'HTTP/2');
    assert.equal(x.streamId, 1);
    assert.equal(x.method, 'GET');
    assert.equal(x.host, 'api.test');
    assert.equal(x.path, '/');
    assert.equal(x.status, 200);
    assert.equal(x.requestId, 'req-1');
    assert.equal(x.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(x.contentType, 'application/json');
    assert.equal(x.reqBodyBytes, 0);
    assert.equal(x.respBodyBytes, 6);
    assert.equal(x.reqFirstUs, 1_000_000);
    assert.equal(x.reqLastUs, 1_000_000);
    assert.equal(x.respFirstUs, 1_005_000);
    assert.equal(x.respLastUs, 1_009_000);
    assert.equal(x.serverTimeMs, 5);
    assert.equal(x.totalMs, 9);
    assert.equal(x.state, 'complete');
    assert.equal(ctx.counts['http2.streams'], 1);
    assert.deepEqual(ctx.skips, []);
  }
});

test('HEADERS with PADDED+PRIORITY and CONTINUATION; trailers; RST_STREAM names the error', () => {
  const block = concat(hex('83 86'), lit(':path', '/v1/x'), lit(':authority', 'h'));
  const part1 = block.subarray(0, 5);
  const part2 = block.subarray(5);
  // HEADERS flags PADDED|PRIORITY (0x28), no END_HEADERS: pad 2, dep 0x00000003, weight 15
  const headers = frame(1, 0x28, 3, concat(hex('02  00000003 0f'), part1, hex('0000')));
  const cont = frame(9, 0x4, 3, part2);
  const { ctx, xs } = run([
    {
      dir: 0,
      tsUs: 10,
      bytes: concat(PREFACE, SETTINGS_EMPTY, headers, cont, frame(0, 1, 3, ascii('{}'))),
    },
    { dir: 1, tsUs: 20, bytes: concat(SETTINGS_EMPTY, frame(1, 4, 3, hex('8d'))) }, // :status 404
    { dir: 1, tsUs: 30, bytes: frame(3, 0, 3, u32(8)) }, // RST_STREAM CANCEL
    {
      dir: 0,
      tsUs: 40,
      bytes: concat(frame(1, 0x5, 5, hex('82 86 84')), frame(2, 0, 7, hex('00000000 10'))),
    },
    {
      dir: 1,
      tsUs: 50,
      bytes: concat(frame(1, 0x4, 5, hex('88')), frame(1, 0x5, 5, lit('x-trailer', 'yes'))),
    },
  ]);
  assert.equal(xs.length, 2);
  const a = xs[0]!;
  assert.equal(a.path, '/v1/x');
  assert.equal(a.method, 'POST');
  assert.equal(a.status, 404);
  assert.equal(a.state, 'reset');
  assert.equal(a.http2.rstError, 'CANCEL');
  assert.equal(a.http2.rstBy, 'server');
  assert.equal(a.reqBodyBytes, 2);
  const b = xs[1]!;
  assert.equal(b.streamId, 5);
  assert.equal(b.state, 'complete');
  assert.equal(ctx.counts['http2.streams'], 2); // PRIORITY on idle stream 7 opens nothing
  assert.deepEqual(ctx.facts['http2.rstError'], ['CANCEL']);
});

test('gRPC: messages spanning DATA frames, trailers, timeout, kinds', () => {
  const req = concat(
    hex('83 86'),
    lit(':path', '/helloworld.Greeter/SayHello'),
    lit(':authority', 'g:50051'),
    lit('content-type', 'application/grpc'),
    lit('grpc-timeout', '250m'),
  );
  // message: flag 0, length 10, 10 bytes — split across two DATA frames (4 + 11 bytes)
  const msg = hex('00 0000000a 0a08776f726c64313233');
  const { xs, ctx } = run([
    { dir: 0, tsUs: 0, bytes: concat(PREFACE, SETTINGS_EMPTY, frame(1, 4, 1, req)) },
    { dir: 0, tsUs: 10, bytes: frame(0, 0, 1, msg.subarray(0, 4)) },
    { dir: 0, tsUs: 20, bytes: frame(0, 1, 1, msg.subarray(4)) },
    {
      dir: 1,
      tsUs: 30,
      bytes: concat(
        SETTINGS_EMPTY,
        frame(1, 4, 1, concat(hex('88'), lit('content-type', 'application/grpc'))),
      ),
    },
    // two response messages in one frame, the second compressed (flag 1)
    { dir: 1, tsUs: 40, bytes: frame(0, 0, 1, hex('00 00000002 0801  01 00000001 ff')) },
    {
      dir: 1,
      tsUs: 50,
      bytes: frame(1, 5, 1, concat(lit('grpc-status', '5'), lit('grpc-message', 'not%20found'))),
    },
  ]);
  const x = xs[0]!;
  assert.equal(x.grpcStatus, 5);
  assert.equal(x.grpcMessage, 'not found');
  assert.deepEqual(
    { ...x.grpc },
    {
      service: 'helloworld.Greeter',
      method: 'SayHello',
      kind: 'server-streaming',
      reqMessages: 1,
      respMessages: 2,
      reqMessageBytes: 10,
      respMessageBytes: 3,
      reqMaxMessageBytes: 10,
      respMaxMessageBytes: 2,
      compressedMessages: 1,
      malformed: false,
      timeoutMs: 250,
      encoding: null,
      statusName: 'NOT_FOUND',
      trailersOnly: false,
    },
  );
  assert.equal(ctx.counts['grpc.calls'], 1);
});

test('gRPC trailers-only response carries the status in the only HEADERS', () => {
  const req = concat(
    hex('83 86'),
    lit(':path', '/a.B/C'),
    lit('content-type', 'application/grpc+proto'),
  );
  const { xs } = run([
    {
      dir: 0,
      tsUs: 0,
      bytes: concat(
        PREFACE,
        SETTINGS_EMPTY,
        frame(1, 4, 1, req),
        frame(0, 1, 1, hex('0000000000')),
      ),
    },
    {
      dir: 1,
      tsUs: 5,
      bytes: concat(
        SETTINGS_EMPTY,
        frame(
          1,
          5,
          1,
          concat(hex('88'), lit('content-type', 'application/grpc'), lit('grpc-status', '12')),
        ),
      ),
    },
  ]);
  assert.equal(xs[0]!.grpcStatus, 12);
  assert.equal(xs[0]!.grpc?.trailersOnly, true);
  assert.equal(xs[0]!.grpc?.statusName, 'UNIMPLEMENTED');
});

test('flow control: a sender that exhausts the stream window stalls until WINDOW_UPDATE', () => {
  // client announces INITIAL_WINDOW_SIZE = 10 for the server's streams
  const req = concat(hex('82 86 84'), lit(':authority', 'x'));
  const { xs, ctx } = run([
    {
      dir: 0,
      tsUs: 0,
      bytes: concat(PREFACE, frame(4, 0, 0, hex('0004 0000000a')), frame(1, 5, 1, req)),
    },
    {
      dir: 1,
      tsUs: 1000,
      bytes: concat(SETTINGS_EMPTY, frame(1, 4, 1, hex('88')), frame(0, 0, 1, new Uint8Array(10))),
    },
    { dir: 0, tsUs: 51_000, bytes: frame(8, 0, 1, u32(100)) }, // WINDOW_UPDATE stream 1 after 50 ms
    { dir: 1, tsUs: 52_000, bytes: frame(0, 1, 1, new Uint8Array(5)) },
  ]);
  assert.equal(xs[0]!.http2.flowControlStalled, true);
  assert.equal(xs[0]!.http2.flowControlStallMs, 50);
  assert.equal(ctx.counts['http2.flowControlStalls'], 1);
});

test('GOAWAY and PING/unknown frame types; stream left open at the end is truncated or unanswered', () => {
  const { xs, ctx } = run([
    {
      dir: 0,
      tsUs: 0,
      bytes: concat(
        PREFACE,
        SETTINGS_EMPTY,
        frame(6, 0, 0, new Uint8Array(8)),
        frame(0xfa, 0, 0, hex('0102')),
      ),
    },
    {
      dir: 0,
      tsUs: 1,
      bytes: concat(frame(1, 5, 1, hex('82 86 84')), frame(1, 5, 3, hex('82 86 84'))),
    },
    {
      dir: 1,
      tsUs: 2,
      bytes: concat(
        SETTINGS_EMPTY,
        frame(1, 4, 1, hex('88')),
        frame(7, 0, 0, concat(u32(1), u32(11), ascii('calm'))),
      ),
    },
  ]);
  assert.deepEqual(
    xs.map((x) => [x.streamId, x.state, x.http2.goaway]),
    [
      [1, 'truncated', 'ENHANCE_YOUR_CALM'],
      [3, 'no-response', 'ENHANCE_YOUR_CALM'],
    ],
  );
  assert.equal(ctx.counts['http2.goaways'], 1);
});

test('server-first (client side missed): requests decode with unknown HPACK refs counted', () => {
  // The client's bytes start mid-connection: a HEADERS that references dynamic entry 62.
  const { xs, ctx } = run([
    { dir: 1, tsUs: 0, bytes: frame(4, 0, 0, hex('0003 00000064')) },
    { dir: 0, tsUs: 1, bytes: frame(1, 5, 13, hex('82 87 84 be')) },
    { dir: 1, tsUs: 2, bytes: frame(1, 5, 13, hex('88')) },
  ]);
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.method, 'GET');
  assert.equal(xs[0]!.http2.unknownHeaderFields, 1);
  assert.equal(ctx.counts['http2.hpackUnknownRefs'], 1);
});

test('h2c upgrade: stream 1 is the HTTP/1.1 request, answered over HTTP/2', () => {
  // The HTTP/1 parser hands over its exchange for the upgrade request as is.
  const asHttp1Hook: (ctx: ProtoContext, x: Omit<Exchange, 'id'>) => StreamParser =
    createHttp2AfterUpgrade;
  assert.equal(typeof asHttp1Hook, 'function');
  const ctx = recordingContext();
  const p = createHttp2AfterUpgrade(ctx, {
    method: 'GET',
    path: '/upgraded',
    host: 'u.test',
    requestHeaders: {
      host: 'u.test',
      upgrade: 'h2c',
      'http2-settings': 'AAMAAABkAAQAAP__', // MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW 65535
      'x-request-id': 'abc',
    },
    reqFirstUs: 100,
    reqLastUs: 150,
    reqFirstFrame: 4,
    reqBodyBytes: 0,
  });
  drive(p, ctx, [
    {
      dir: 1,
      tsUs: 300,
      bytes: concat(SETTINGS_EMPTY, frame(1, 4, 1, hex('88')), frame(0, 1, 1, ascii('ok'))),
    },
    { dir: 0, tsUs: 400, bytes: concat(PREFACE, SETTINGS_EMPTY, SETTINGS_ACK) },
  ]);
  const x = ctx.exchanges[0] as Http2Exchange;
  assert.equal(x.path, '/upgraded');
  assert.equal(x.host, 'u.test');
  assert.equal(x.requestId, 'abc');
  assert.equal(x.status, 200);
  assert.equal(x.serverTimeMs, 0.15);
  assert.equal(x.http2.upgraded, true);
  assert.equal(ctx.counts['http2.streams'], 1);
});

test('PUSH_PROMISE opens a pushed stream with the promised request', () => {
  const { xs, ctx } = run([
    { dir: 0, tsUs: 0, bytes: concat(PREFACE, SETTINGS_EMPTY, frame(1, 5, 1, hex('82 86 84'))) },
    {
      dir: 1,
      tsUs: 1,
      bytes: concat(
        SETTINGS_EMPTY,
        frame(5, 4, 1, concat(u32(2), hex('82 86'), lit(':path', '/style.css'))),
        frame(1, 4, 1, hex('88')),
        frame(0, 1, 1, ascii('<html>')),
        frame(1, 4, 2, hex('88')),
        frame(0, 1, 2, ascii('body{}')),
      ),
    },
  ]);
  const pushed = xs.find((x) => x.streamId === 2)!;
  assert.equal(pushed.path, '/style.css');
  assert.equal(pushed.http2.pushed, true);
  assert.equal(pushed.state, 'complete');
  assert.equal(ctx.counts['http2.streams'], 2);
});

test('after a gap: open streams end truncated, framing resyncs, later streams decode', () => {
  const ctx = recordingContext();
  const p = http2Recogniser.create(ctx);
  const segs = simpleGet();
  for (const s of segs.slice(0, 3)) p.data(s.dir, s.tsUs, s.bytes, 0, s.bytes.length);
  p.gap(1, 3, 100);
  // The next server segment starts mid-frame (3 stray bytes), then real frames follow.
  const after = concat(hex('00 00 01'), segs[4]!.bytes);
  p.data(1, 4, after, 0, after.length); // no plausible start at offset 0: dropped, then found
  p.data(0, 5, frame(1, 5, 3, hex('82 86 84')), 0, 18);
  const resp = concat(frame(1, 4, 3, hex('88')), frame(0, 1, 3, ascii('ok')));
  p.data(1, 6, resp, 0, resp.length);
  p.end(7);
  const xs = ctx.exchanges as Http2Exchange[];
  assert.deepEqual(
    xs.map((x) => [x.streamId, x.state, x.status]),
    [
      [1, 'truncated', 200],
      [3, 'complete', 200],
    ],
  );
  assert.equal(ctx.skips[0]?.reason, 'http2.gap');
  assert.equal(ctx.counts['http2.resyncs'], 1);
  const ctx2 = recordingContext();
  const p2 = http2Recogniser.create(ctx2);
  const bad = ascii('PRI * HTTP/1.1\r\n');
  p2.data(0, 0, bad, 0, bad.length);
  p2.end(1);
  assert.equal(ctx2.skips[0]?.reason, 'http2.badPreface');
});

test('oversize header blocks are abandoned (bounded memory), the connection goes on', () => {
  const ctx = recordingContext({ maxHeaderBytes: 64 });
  const p = http2Recogniser.create(ctx);
  const big = frame(1, 5, 1, concat(hex('82 86 84'), lit('x-big', 'y'.repeat(100))));
  drive(p, ctx, [
    {
      dir: 0,
      tsUs: 0,
      bytes: concat(PREFACE, SETTINGS_EMPTY, big, frame(1, 5, 3, hex('82 86 84'))),
    },
  ]);
  assert.deepEqual(
    ctx.skips.map((s) => s.reason),
    ['http2.headerBlockTooLarge'],
  );
  assert.deepEqual(
    ctx.exchanges.map((x) => [x.streamId, x.method]),
    [
      [1, null],
      [3, 'GET'],
    ],
  );
  assert.equal((ctx.exchanges[0] as Http2Exchange).http2.unknownHeaderFields, 1);
  // a frame too large to even buffer (> maxHeaderBytes + 256) is abandoned the same way
  const ctx2 = recordingContext({ maxHeaderBytes: 64 });
  const p2 = http2Recogniser.create(ctx2);
  const y = 'y'.repeat(120);
  const huge = frame(1, 5, 1, concat(hex('82 86 84'), lit('x-a', y), lit('x-b', y), lit('x-c', y)));
  const bytes = concat(PREFACE, SETTINGS_EMPTY, huge, frame(1, 5, 3, hex('82 86 84')));
  drive(p2, ctx2, [{ dir: 0, tsUs: 0, bytes }], { splitEvery: 50 });
  assert.deepEqual(
    ctx2.skips.map((s) => s.reason),
    ['http2.headerBlockTooLarge'],
  );
  assert.equal(ctx2.exchanges.length, 2);
});

test('limits.exchanges false: streams are counted, no exchanges are built', () => {
  const ctx = recordingContext({ exchanges: false });
  const p = http2Recogniser.create(ctx);
  drive(p, ctx, simpleGet());
  assert.equal(ctx.counts['http2.streams'], 1);
  assert.equal(ctx.exchanges.length, 0);
});

test('every prefix of a conversation, and random bytes, never throw', () => {
  const segs = simpleGet();
  const c = concat(...segs.filter((s) => s.dir === 0).map((s) => s.bytes));
  const s = concat(...segs.filter((s) => s.dir === 1).map((s) => s.bytes));
  for (let i = 0; i <= c.length; i++) {
    const ctx = recordingContext();
    const p = http2Recogniser.create(ctx);
    p.data(0, 0, c, 0, i);
    p.data(1, 1, s, 0, Math.min(s.length, i));
    p.end(2);
  }
  const deadline = Date.now() + 2000;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 120 })), { maxLength: 8 }),
      fc.boolean(),
      (chunks, pre) => {
        if (Date.now() > deadline) return;
        const ctx = recordingContext({ maxHeaderBytes: 256 });
        const p = http2Recogniser.create(ctx);
        if (pre) p.data(0, 0, PREFACE, 0, PREFACE.length);
        let t = 1;
        for (const [d, b] of chunks) p.data(d ? 1 : 0, t++, b, 0, b.length);
        p.close(null, t, true);
        p.end(t + 1);
      },
    ),
    { numRuns: 2000 },
  );
  // Structured fuzz: valid frame headers with random payloads.
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 10 }),
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 9 }),
          fc.uint8Array({ maxLength: 40 }),
        ),
        { maxLength: 12 },
      ),
      (frames) => {
        if (Date.now() > deadline + 1000) return;
        const ctx = recordingContext();
        const p = http2Recogniser.create(ctx);
        p.data(0, 0, PREFACE, 0, PREFACE.length);
        frames.forEach(([type, flags, sid, pl], i) => {
          const f = frame(type, flags, sid, pl);
          p.data(i % 3 === 0 ? 1 : 0, i, f, 0, f.length);
        });
        p.end(99);
      },
    ),
    { numRuns: 2000 },
  );
});

test('an LLM chat completion streamed as SSE over HTTP/2: request analysis and TTFT', () => {
  const body = ascii(
    '{"model":"llama","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi there"}]}',
  );
  const req = concat(
    hex('83 86'),
    lit(':path', '/v1/chat/completions'),
    lit(':authority', 'llm'),
    lit('content-type', 'application/json'),
  );
  const resp = concat(hex('88'), lit('content-type', 'text/event-stream; charset=utf-8'));
  const ev = (s: string) => ascii(`data: {"choices":[{"delta":{"content":"${s}"}}]}\n\n`);
  const { xs } = run([
    { dir: 0, tsUs: 0, bytes: concat(PREFACE, SETTINGS_EMPTY, frame(1, 4, 1, req)) },
    { dir: 0, tsUs: 1_000, bytes: frame(0, 1, 1, body) },
    { dir: 1, tsUs: 2_000, bytes: concat(SETTINGS_EMPTY, frame(1, 4, 1, resp)) },
    { dir: 1, tsUs: 151_000, bytes: frame(0, 0, 1, ev('Hel')) },
    { dir: 1, tsUs: 171_000, bytes: frame(0, 0, 1, ev('lo')) },
    { dir: 1, tsUs: 191_000, bytes: frame(0, 1, 1, ascii('data: [DONE]\n\n')) },
  ]);
  const x = xs[0]!;
  assert.equal(x.llm?.request?.kind, 'openai-chat');
  assert.equal(x.llm?.request?.model, 'llama');
  assert.equal(x.llm?.request?.promptChars, 8);
  assert.equal(x.llm?.request?.maxTokens, 50);
  assert.equal(x.llm?.stream?.ttftMs, 150);
  assert.equal(x.llm?.stream?.contentChunks, 2);
  assert.equal(x.llm?.stream?.done, true);
  assert.equal(x.serverTimeMs, 1);
});
