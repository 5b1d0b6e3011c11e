import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SseParser, type SseEvent } from './sse.js';
import { ascii, concat } from './proto-test-context.test-util.js';

function parseAll(chunks: Uint8Array[], opts?: ConstructorParameters<typeof SseParser>[1]) {
  const out: SseEvent[] = [];
  const p = new SseParser((e) => out.push(e), opts);
  chunks.forEach((c, i) => p.feed(c, 0, c.length, (i + 1) * 1000));
  const pending = p.end();
  return { out, p, pending };
}

const BODY = ascii(
  [
    ': keep-alive comment',
    'event: delta',
    'id: 7',
    'data: {"a":1}',
    '',
    'data: line one',
    'data:line two',
    '',
    'retry: 100',
    'data',
    '',
    'event: ignored-without-data',
    '',
    'data: [DONE]',
    '',
    '',
  ].join('\n'),
);

test('fields, comments, multi-line data, sticky id, empty data, [DONE]', () => {
  const { out, p } = parseAll([BODY]);
  assert.deepEqual(
    out.map((e) => [e.event, e.data, e.id]),
    [
      ['delta', '{"a":1}', '7'],
      ['message', 'line one\nline two', '7'],
      ['message', '', '7'],
      ['message', '[DONE]', '7'],
    ],
  );
  assert.equal(p.comments, 1);
});

test('CRLF, CR and LF line ends give the same events at every split point', () => {
  const want = parseAll([BODY]).out.map((e) => [e.event, e.data]);
  for (const eol of ['\r\n', '\r']) {
    const text = ascii(Buffer.from(BODY).toString('latin1').replace(/\n/g, eol));
    for (let cut = 0; cut <= text.length; cut++) {
      const got = parseAll([text.subarray(0, cut), text.subarray(cut)]).out.map((e) => [
        e.event,
        e.data,
      ]);
      assert.deepEqual(got, want, `eol ${JSON.stringify(eol)} cut ${cut}`);
    }
  }
});

test('event timestamps are those of the chunk completing the event; UTF-8 split across chunks', () => {
  const euro = Buffer.from('data: 5€\n\n', 'utf8'); // € is 3 bytes
  const a = Uint8Array.from(euro.subarray(0, 8));
  const b = Uint8Array.from(euro.subarray(8));
  const { out } = parseAll([a, b]);
  assert.equal(out[0]?.data, '5€');
  assert.equal(out[0]?.tsUs, 2000);
});

test('a UTF-8 BOM at the start is ignored; an unterminated event is reported, not dispatched', () => {
  const { out, pending } = parseAll([
    concat(Uint8Array.of(0xef, 0xbb, 0xbf), ascii('data: x\n\ndata: y')),
  ]);
  assert.deepEqual(
    out.map((e) => e.data),
    ['x'],
  );
  assert.equal(pending, true);
});

test('bounds: overlong lines are cut and counted, event data is capped', () => {
  const long = ascii(`data: ${'z'.repeat(5000)}\n\n`);
  const { out, p } = parseAll([long], { maxLineBytes: 100, maxEventDataBytes: 50 });
  assert.equal(p.overlongLines, 1);
  assert.equal(p.cappedEvents, 1);
  assert.equal(out[0]?.data.length, 50);
});

test('random bytes in random chunks never throw', () => {
  const deadline = Date.now() + 1000;
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
      if (Date.now() > deadline) return;
      parseAll(chunks, { maxLineBytes: 32, maxEventDataBytes: 64 });
    }),
    { numRuns: 2000 },
  );
});
