// Hostile input for every log format: truncation at every prefix, random bytes, binary garbage,
// invalid UTF-8, over-long lines. Nothing may throw; decoded + skipped === seen; every skip has a
// reason with a line number.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Quality } from '../../model/quality.js';
import type { LogRecord } from '../../model/records.js';
import { LineSplitter } from '../../util/lines.js';
import { createLogParser, LOG_FORMATS, parseLogText } from './index.js';
import type { LogParseOptions } from './index.js';
import { FIXTURES, NGINX_CONF } from './fixtures.case.js';

function runBytes(
  buf: Buffer,
  opts: LogParseOptions,
  maxLineBytes?: number,
): { q: Quality; records: LogRecord[]; lines: number } {
  const q = new Quality('h', 'auto');
  const p = createLogParser('h', q, opts);
  const sp = new LineSplitter(maxLineBytes);
  const records: LogRecord[] = [];
  let lines = 0;
  const emit = (r: LogRecord): void => {
    records.push(r);
  };
  const onLine = (l: {
    text: string;
    lineNo: number;
    truncated: boolean;
    invalidUtf8: boolean;
  }): void => {
    lines++;
    p.push(l, emit);
  };
  sp.push(buf, onLine);
  sp.end(onLine);
  p.end(emit);
  return { q, records, lines };
}

function checkInvariants(q: Quality, records: LogRecord[]): void {
  assert.equal(q.decoded + q.skipped, q.seen);
  assert.equal(q.decoded, records.length);
  for (const r of records) {
    assert.equal(typeof r.body, 'string');
    assert.ok(Number.isInteger(r.lineNo) && r.lineNo >= 1);
    assert.ok(r.tsUs === null || Number.isFinite(r.tsUs));
    assert.ok(r.durationMs === null || Number.isFinite(r.durationMs));
  }
}

test('every prefix of every fixture line parses without throwing, in its own format and auto', () => {
  for (const f of FIXTURES) {
    for (const line of f.lines) {
      for (let i = 0; i <= line.length; i++) {
        const text = line.slice(0, i);
        for (const opts of [f.opts ?? {}, { ...f.opts, format: f.format }]) {
          const { records, quality } = parseLogText(text + '\n', 'p', opts);
          checkInvariants(quality, records);
        }
      }
    }
  }
});

test('every byte prefix of every whole fixture file (cut mid-line, mid-UTF-8)', () => {
  for (const f of FIXTURES) {
    const buf = Buffer.from(f.lines.join('\n') + '\n  — ünïcode tail\n', 'utf8');
    for (let i = 0; i <= buf.length; i += 3) {
      const { q, records } = runBytes(buf.subarray(0, i), f.opts ?? {});
      checkInvariants(q, records);
    }
  }
});

test('every forced format survives every other format’s lines', () => {
  const all = FIXTURES.flatMap((f) => f.lines);
  for (const format of LOG_FORMATS) {
    const opts: LogParseOptions =
      format === 'nginx-custom'
        ? { nginxFormat: '$remote_addr [$time_local] "$request"' }
        : { format };
    const { records, quality } = parseLogText(all.join('\n'), 'x', opts);
    checkInvariants(quality, records);
    assert.ok(records.length > 0);
  }
  assert.ok(NGINX_CONF.length > 0);
});

test('random bytes never throw (fast-check, time-boxed)', () => {
  const formats = [undefined, ...LOG_FORMATS.filter((f) => f !== 'nginx-custom')];
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2048 }),
      fc.constantFrom(...formats),
      (bytes, format) => {
        const { q, records } = runBytes(Buffer.from(bytes), format ? { format } : {}, 256);
        checkInvariants(q, records);
      },
    ),
    { numRuns: 3000, interruptAfterTimeLimit: 8000 },
  );
});

test('random printable mutations of fixture lines never throw', () => {
  const all = FIXTURES.flatMap((f) => f.lines);
  fc.assert(
    fc.property(
      fc.constantFrom(...all),
      fc.nat(400),
      fc.string({ maxLength: 8 }),
      (line, at, ins) => {
        const i = Math.min(at, line.length);
        const text = line.slice(0, i) + ins + line.slice(i + ins.length);
        const { records, quality } = parseLogText(text + '\n' + line + '\n', 'm');
        checkInvariants(quality, records);
      },
    ),
    { numRuns: 3000, interruptAfterTimeLimit: 8000 },
  );
});

test('binary garbage is skipped with a reason; good lines around it survive', () => {
  const good = '{"time":"2025-03-04T10:00:00Z","level":"info","msg":"ok"}\n';
  const garbage = Buffer.from([
    0, 1, 2, 3, 0xff, 0xfe, 4, 5, 6, 7, 8, 0x0b, 0x0c, 0x0e, 0x0f, 0x10, 10,
  ]);
  const buf = Buffer.concat([Buffer.from(good.repeat(3)), garbage, Buffer.from(good)]);
  const { q, records } = runBytes(buf, {});
  checkInvariants(q, records);
  assert.equal(records.length, 4);
  const rep = q.report();
  assert.equal(rep.skippedByReason['binary'], 1);
  assert.equal(rep.samples['binary']?.[0]?.at, 'line 4');
  assert.equal(rep.skippedByReason['invalid-utf8'], 1);
});

test('over-long lines are cut by the splitter, counted, and still parsed when they can be', () => {
  const long = '2025-03-04 10:00:00,000 INFO app: ' + 'x'.repeat(5000);
  const json = '{"time":"2025-03-04T10:00:00Z","msg":"' + 'y'.repeat(5000) + '"}';
  const buf = Buffer.from(
    [long, json, '2025-03-04 10:00:01,000 INFO app: short'].join('\n') + '\n',
  );
  const { q, records, lines } = runBytes(buf, {}, 1024);
  checkInvariants(q, records);
  assert.equal(lines, 3);
  const rep = q.report();
  assert.equal(rep.skippedByReason['truncated-line'], 2);
  // the cut python line is still a record; the cut JSON line no longer parses: a plain record
  assert.equal(records[0]!.severity, 'INFO');
  assert.equal(records.length, 3);
});

test('a cut JSON line in a JSON file is skipped as truncated, not as malformed', () => {
  const q = new Quality('t', 'auto');
  const p = createLogParser('t', q, { format: 'json' });
  const out: LogRecord[] = [];
  p.push({ text: '{"msg":"abc', lineNo: 1, truncated: true }, (r) => out.push(r));
  p.push({ text: '{"msg":"abc', lineNo: 2 }, (r) => out.push(r));
  p.end((r) => out.push(r));
  const rep = q.report();
  assert.equal(rep.skippedByReason['truncated-line'], 2); // one note (cut) + one skip
  assert.equal(rep.skippedByReason['malformed-json'], 1);
  assert.equal(q.skipped, 2);
  assert.equal(out.length, 0);
});

test('multi-line joins are bounded', () => {
  const lines = [
    '2025-03-04 10:00:00,000 ERROR app: boom',
    ...Array.from({ length: 50 }, (_, i) => `  frame ${i}`),
  ];
  const { records, quality } = parseLogText(lines.join('\n'), 'b', { maxJoinLines: 10 });
  checkInvariants(quality, records);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.body.split('\n').length, 10);
  assert.equal(quality.report().skippedByReason['multiline-cut'], 41);
});

test('wrapped lines and ids in prose stay bounded on hostile messages', () => {
  const ids = 'request_id=' + 'x'.repeat(200) + ' trace_id: '.repeat(300);
  const nested = JSON.stringify({
    message: JSON.stringify({ message: JSON.stringify({ msg: 'deep' }) }),
  });
  const lines = [
    JSON.stringify({ ts: 1, message: '{' + '"a":'.repeat(4000) }),
    JSON.stringify({ ts: 2, message: ids }),
    JSON.stringify({ ts: 3, log: 'INFO '.repeat(3000) }),
    JSON.stringify({ ts: 4, message: '1'.repeat(15000) }),
    nested,
    `Mar 15 20:17:01 h app[1]: ${'k=v '.repeat(4000)}`,
    `Mar 15 20:17:01 h app[1]: {"message": ${JSON.stringify(ids)}}`,
  ];
  const t0 = performance.now();
  const { records, quality } = parseLogText(lines.join('\n') + '\n', 'h.log');
  assert.ok(performance.now() - t0 < 2000, 'bounded time');
  assert.equal(records.length, lines.length);
  assert.equal(quality.decoded + quality.skipped, quality.seen);
  // an over-long id is not taken whole; one level of wrapping is unwrapped, no more
  for (const r of records) assert.ok((r.requestId ?? '').length <= 128);
  assert.match(records[4]!.body, /"msg"/);
});

/** 64 KiB lines in the shapes of the W3C and llama.cpp parsers (regex and scan bounds). */
const K64 = 65536;
const W3C_HEAD = [
  '#Version: 1.0',
  '#Fields: date time x-edge-location c-ip cs-method cs-uri-stem sc-status cs(User-Agent) time-taken time-to-first-byte',
];
const HUGE_LINES: string[] = [
  '#Fields: ' + 'a '.repeat(K64 / 2),
  '#Fields: ' + 'x'.repeat(K64),
  '#Fields: date time ' + 'cs('.repeat(K64 / 3),
  '#Remark: ' + '%'.repeat(K64),
  '#' + ':'.repeat(K64),
  '2026-11-20 10:15:30 ' + ' '.repeat(K64),
  '2026-11-20\t10:15:30\t' + '\t'.repeat(K64),
  '2026-11-20\t10:15:30\tLAX\t1.2.3.4\tGET\t/\t200\t' + '%41%e2%82'.repeat(K64 / 9) + '\t0.1\t0.1',
  '2026-11-20 10:15:30 ' + '9'.repeat(K64),
  'slot ' + ' '.repeat(K64),
  'srv  ' + 'a'.repeat(K64) + ':',
  'slot f: id ' + '9'.repeat(K64),
  'slot f: id 0 | task ' + '-'.repeat(K64),
  'prompt eval time = ' + '9'.repeat(K64),
  'prompt eval time =' + ' '.repeat(K64) + '1 ms',
  '       eval time = 1.' + '0'.repeat(K64) + ' ms / 1 tokens',
  '0.00.000.000 I ' + 'a'.repeat(K64),
  '0.00.000.000 I srv  f: ' + 'n = 1, '.repeat(K64 / 7),
  '9'.repeat(K64),
  '9.'.repeat(K64 / 2),
  'INFO [' + ' '.repeat(K64),
  'INFO [main] x | tid=' + '"'.repeat(K64),
  'INFO [main] x | ' + 'k=v '.repeat(K64 / 4),
  'INFO [main] x | tid="' + '\\'.repeat(K64),
  'srv  log_server_r: request: GET ' + '/ '.repeat(K64 / 2) + '1.2.3.4 200',
  'srv  log_server_r: request: ' + 'A'.repeat(K64),
  'llama_model_loader: loaded meta data from ' + '/'.repeat(K64) + ' (version',
  '\x1b[' + '1;'.repeat(K64 / 2) + 'm',
  '\x1b[0m'.repeat(K64 / 4) + 'srv  f: x',
  'slot print_timing: id  0 | task 1 | ' + 'prompt eval time = 1 ms ('.repeat(K64 / 25),
  'draft acceptance rate = ' + '1'.repeat(K64),
];

test('64 KiB lines in W3C and llama.cpp shapes never throw and keep the accounting', () => {
  for (const opts of [{}, { format: 'w3c' as const }, { format: 'llama-cpp' as const }]) {
    for (const head of [[], W3C_HEAD]) {
      const lines = [...head, ...HUGE_LINES];
      const { records, quality } = parseLogText(lines.join('\n') + '\n', 'huge', opts);
      checkInvariants(quality, records);
      // only the lines of escape codes are skipped (as binary); every other line is a record
      assert.equal(quality.skipped, quality.report().skippedByReason['binary'] ?? 0);
      for (const r of records) assert.ok(r.body.length <= 2 * K64);
    }
  }
});

test('random W3C data lines and llama.cpp-shaped lines never throw (fast-check, time-boxed)', () => {
  const pieces = [
    '2026-11-20',
    '10:15:30',
    '10:15:30.5',
    '-',
    '\t',
    ' ',
    '%2',
    '%20',
    '+',
    'GET',
    '/p',
    '200',
    '0.5',
    'srv  ',
    'slot ',
    'f: ',
    'id  0 | task 1 | ',
    'request: ',
    'prompt eval time = ',
    '       eval time = ',
    ' ms / ',
    ' tokens',
    ' ms per token, ',
    ' tokens per second)',
    '0.01.234.567 ',
    'I ',
    'INFO [',
    '] ',
    ' | ',
    'tid=',
    '"',
    '=',
    '#Fields: ',
    '#Date: ',
    'cs(Host) ',
    'time-taken ',
  ];
  fc.assert(
    fc.property(
      fc.array(
        fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 4 })), {
          maxLength: 24,
        }),
        {
          maxLength: 12,
        },
      ),
      fc.constantFrom<LogParseOptions>({}, { format: 'w3c' }, { format: 'llama-cpp' }),
      (lines, opts) => {
        const text = [...W3C_HEAD, ...lines.map((l) => l.join(''))].join('\n');
        const { records, quality } = parseLogText(text, 'r', opts);
        checkInvariants(quality, records);
      },
    ),
    { numRuns: 2000, interruptAfterTimeLimit: 8000 },
  );
});
