// HTTP/1 framing: the framing-only head scan (used when nobody consumes exchanges, e.g.
// `mlscope pcap`) must frame every stream exactly as the full head parse does — same requests,
// responses, skips and body boundaries — whatever the line endings, the segmentation, HTTP/0.9
// requests or damaged heads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { http1Recogniser, pendingAfterReset } from './http1.js';
import { ascii, drive, recordingContext, type Segment } from './proto-test-context.test-util.js';

interface Msg {
  eol: '\r\n' | '\n';
  body: 'none' | 'length' | 'chunked';
  bodyLen: number;
  extraHeaders: number;
  http09: boolean;
  damaged: boolean;
  /** Header lines end with a bare LF in a CRLF head (and the other way round). */
  mixed: boolean;
  /** A chunked body ends with trailer fields. */
  trailers: boolean;
}

const msg = fc.record({
  eol: fc.constantFrom('\r\n' as const, '\n' as const),
  body: fc.constantFrom('none' as const, 'length' as const, 'chunked' as const),
  bodyLen: fc.integer({ min: 0, max: 40 }),
  extraHeaders: fc.integer({ min: 0, max: 4 }),
  http09: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  damaged: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  mixed: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  trailers: fc.boolean(),
});

function head(first: string, m: Msg, n: number): string {
  const e = m.eol;
  let h = first + e;
  const other = e === '\r\n' ? '\n' : '\r\n';
  for (let i = 0; i < m.extraHeaders; i++)
    h += `X-H${i}: value ${n}-${i}` + (m.mixed && i % 2 === 0 ? other : e);
  if (m.body === 'length') h += `Content-Length: ${m.bodyLen}` + e;
  if (m.body === 'chunked') h += 'Transfer-Encoding: chunked' + e;
  return h + e;
}

function body(m: Msg): string {
  const b = 'b'.repeat(m.bodyLen);
  if (m.body === 'length') return b;
  if (m.body === 'chunked')
    return (
      (m.bodyLen ? `${m.bodyLen.toString(16)}\r\n${b}\r\n` : '') +
      (m.trailers ? '0\r\nX-Checksum: abc\r\nX-Tokens: 42\r\n\r\n' : '0\r\n\r\n')
    );
  return '';
}

/** Request and response streams of one connection, then one segment list for both. */
function conversation(ms: Msg[], cuts: number[]): Segment[] {
  const segs: Segment[] = [];
  let t = 0;
  const cut = (dir: 0 | 1, s: string): void => {
    const bytes = ascii(s);
    let o = 0;
    for (let k = 0; o < bytes.length; k++) {
      const n = Math.max(1, cuts[(k + o) % cuts.length]!);
      segs.push({ dir, tsUs: t++, bytes: bytes.subarray(o, Math.min(bytes.length, o + n)) });
      o += n;
    }
  };
  ms.forEach((m, n) => {
    if (m.http09) {
      cut(0, `GET /old${n}\r\n`);
      return; // an HTTP/0.9 response runs to the close: end the conversation's requests here
    }
    const reqLine = m.damaged ? `G@T /x${n} HTTP/1.1` : `POST /v1/x${n} HTTP/1.1`;
    cut(0, head(reqLine, m, n) + body(m));
    cut(1, head(m.damaged ? 'HTTP/1.1 2X0 Bad' : 'HTTP/1.1 200 OK', m, n) + body(m));
  });
  return segs;
}

function run(segs: Segment[], exchanges: boolean): unknown {
  const ctx = recordingContext({ exchanges });
  const p = http1Recogniser.create(ctx);
  drive(p, ctx, segs);
  const { ['http.exchanges']: _framingOnly, ...counts } = ctx.counts;
  return { counts, skips: ctx.skips.map((s) => s.reason) };
}

test('framing-only and full HTTP/1 parsing frame every stream the same way', () => {
  fc.assert(
    fc.property(
      fc.array(msg, { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }),
      (ms, cuts) => {
        const segs = conversation(ms, cuts);
        assert.deepEqual(run(segs, false), run(segs, true));
      },
    ),
    { numRuns: 2000 },
  );
});

test('a recycled exchange-in-progress (framing-only parses reuse them) is as good as new', () => {
  const { fresh, reset } = pendingAfterReset();
  assert.deepEqual(reset, fresh);
});

test('a head that arrives a byte at a time is held to the known methods too (found by the property above)', () => {
  // seed 1395898658: a CRLF head whose header lines end in bare LF runs on to a later CRLFCRLF;
  // its Content-Length leaves `ET /old3` — not a method — where a request would start
  const m = (o: Partial<Msg>): Msg => ({
    eol: '\r\n',
    body: 'none',
    bodyLen: 0,
    extraHeaders: 0,
    http09: false,
    damaged: true,
    mixed: true,
    trailers: false,
    ...o,
  });
  const ms: Msg[] = [
    m({ extraHeaders: 3, damaged: false }),
    m({ eol: '\n', body: 'length', bodyLen: 1 }),
    m({}),
    m({ http09: true }),
  ];
  const segs = conversation(ms, [1]);
  const full = run(segs, true) as { counts: Record<string, number>; skips: string[] };
  assert.deepEqual(run(segs, false), full);
  assert.equal(full.counts['http.requests'], 1);
  assert.deepEqual(full.skips, ['http-bad-request-head']);
});

test('a chunked response with trailers is framed without exchanges (crashed `mlscope pcap`) and its trailers join the headers', () => {
  // made by scripts/make-diff-corpus.sh: a raw server's chunked answer ending in two trailer fields
  const segs: Segment[] = [
    { dir: 0, tsUs: 1, bytes: ascii('GET /trailers HTTP/1.1\r\nHost: x\r\n\r\n') },
    {
      dir: 1,
      tsUs: 2,
      bytes: ascii(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n' +
          '5\r\nhello\r\n0\r\nX-Checksum: abc123\r\n\r\n',
      ),
    },
    { dir: 0, tsUs: 3, bytes: ascii('GET /next HTTP/1.1\r\nHost: x\r\n\r\n') },
    { dir: 1, tsUs: 4, bytes: ascii('HTTP/1.1 204 No Content\r\n\r\n') },
  ];
  const framing = recordingContext({ exchanges: false });
  drive(http1Recogniser.create(framing), framing, segs);
  assert.equal(framing.counts['http.requests'], 2);
  assert.equal(framing.counts['http.responses'], 2);
  const full = recordingContext({ exchanges: true });
  drive(http1Recogniser.create(full), full, segs);
  assert.deepEqual(
    full.exchanges.map((x) => [x.path, x.status, x.respBodyBytes, x.responseHeaders['x-checksum']]),
    [
      ['/trailers', 200, 5, 'abc123'],
      ['/next', 204, 0, undefined],
    ],
  );
});

test('a 417 to an Expect: 100-continue request: the body is never sent and the retry is a new request', () => {
  // curl after `417 Expectation Failed` (scripts/make-diff-corpus.sh, raw server /reject): the
  // same connection carries the request again without Expect, then its body
  const body = 'b'.repeat(3000);
  const segs: Segment[] = [
    {
      dir: 0,
      tsUs: 10,
      bytes: ascii(
        'POST /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\nExpect: 100-continue\r\n\r\n',
      ),
    },
    {
      dir: 1,
      tsUs: 20,
      bytes: ascii('HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n'),
    },
    {
      dir: 0,
      tsUs: 30,
      bytes: ascii('POST /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n'),
    },
    { dir: 0, tsUs: 40, bytes: ascii(body) },
    { dir: 1, tsUs: 50, bytes: ascii('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') },
  ];
  const framing = recordingContext({ exchanges: false });
  drive(http1Recogniser.create(framing), framing, segs);
  assert.equal(framing.counts['http.requests'], 2);
  assert.equal(framing.counts['http.responses'], 2);
  assert.deepEqual(framing.skips, []);
  const full = recordingContext({ exchanges: true });
  drive(http1Recogniser.create(full), full, segs);
  assert.deepEqual(
    full.exchanges.map((x) => [x.status, x.reqBodyBytes, x.reqLastUs, x.respBodyBytes]),
    [
      [417, 0, 10, 0],
      [200, 3000, 40, 2],
    ],
  );
  // a client that sends the body anyway after the early answer: it is still that request's body
  const anyway = recordingContext({ exchanges: true });
  drive(http1Recogniser.create(anyway), anyway, [...segs.slice(0, 2), segs[3]!]);
  assert.deepEqual(
    anyway.exchanges.map((x) => [x.status, x.reqBodyBytes]),
    [[417, 3000]],
  );
});

test('a body still arriving after an early answer (413) counts for its request', () => {
  const segs: Segment[] = [
    { dir: 0, tsUs: 10, bytes: ascii('PUT /up HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123456789') },
    {
      dir: 1,
      tsUs: 20,
      bytes: ascii('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n'),
    },
    { dir: 0, tsUs: 30, bytes: ascii('0123456789GET /next HTTP/1.1\r\n\r\n') },
    { dir: 1, tsUs: 40, bytes: ascii('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') },
  ];
  const ctx = recordingContext({ exchanges: true });
  drive(http1Recogniser.create(ctx), ctx, segs);
  assert.deepEqual(
    ctx.exchanges.map((x) => [x.path, x.status, x.reqBodyBytes]),
    [
      ['/up', 413, 20],
      ['/next', 200, 0],
    ],
  );
  assert.deepEqual(ctx.skips, []);
});

test('bytes lost from the capture at the end of a body still count in its size', () => {
  const ctx = recordingContext({ exchanges: true });
  const p = http1Recogniser.create(ctx);
  p.data(0, 1, ascii('GET / HTTP/1.1\r\n\r\n'), 0, 18);
  const head = ascii('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
  p.data(1, 2, head, 0, head.length);
  p.gap(1, 3, 90);
  p.end(4);
  assert.deepEqual(
    ctx.exchanges.map((x) => [x.status, x.respBodyBytes, x.state]),
    [[200, 100, 'truncated']],
  );
});

test('after responses lost from the capture, a keep-alive connection pairs the next answer with its own request', () => {
  // any-sll.pcap of scripts/make-diff-corpus.sh (tcpdump -i any dropped packets): the answer to
  // /b was lost; the next status line answers /c, not /b, and so on to the end of the connection
  const ctx = recordingContext({ exchanges: true });
  const p = http1Recogniser.create(ctx);
  const send = (dir: 0 | 1, t: number, s: string): void => p.data(dir, t, ascii(s), 0, s.length);
  send(0, 10, 'GET /a HTTP/1.1\r\n\r\n');
  send(1, 20, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na');
  send(0, 30, 'GET /b HTTP/1.1\r\n\r\n');
  p.gap(1, 50, 40); // 'HTTP/1.1 201 …' for /b, not captured
  send(0, 45, 'GET /c HTTP/1.1\r\n\r\n');
  send(1, 50, 'HTTP/1.1 202 OK\r\nContent-Length: 1\r\n\r\nc');
  send(0, 60, 'GET /d HTTP/1.1\r\n\r\n');
  send(1, 70, 'HTTP/1.1 203 OK\r\nContent-Length: 1\r\n\r\nd');
  p.end(80);
  assert.deepEqual(
    ctx.exchanges.map((x) => [x.path, x.status, x.state]),
    [
      ['/a', 200, 'complete'],
      ['/b', null, 'truncated'],
      ['/c', 202, 'complete'],
      ['/d', 203, 'complete'],
    ],
  );
});

test('a pipelining client keeps answers in request order after a gap', () => {
  const ctx = recordingContext({ exchanges: true });
  const p = http1Recogniser.create(ctx);
  const send = (dir: 0 | 1, t: number, s: string): void => p.data(dir, t, ascii(s), 0, s.length);
  send(0, 10, 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n');
  send(1, 20, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na');
  p.gap(1, 21, 7); // bytes lost between two answers: nothing says a whole answer was lost
  send(1, 22, 'HTTP/1.1 201 OK\r\nContent-Length: 1\r\n\r\nb');
  send(1, 23, 'HTTP/1.1 202 OK\r\nContent-Length: 1\r\n\r\nc');
  p.end(30);
  assert.deepEqual(
    ctx.exchanges.map((x) => [x.path, x.status]),
    [
      ['/a', 200],
      ['/b', 201],
      ['/c', 202],
    ],
  );
});
