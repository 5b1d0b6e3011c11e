import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { LogRecord } from '../model/records.js';
import type { QualityReport } from '../model/quality.js';
import { readLogInputs, type LogIngestEvent } from './logs.js';

async function collect(
  args: string[],
  opts = {},
): Promise<{
  records: LogRecord[];
  files: Array<{ source: string; format: string; lines: number; quality: QualityReport }>;
  errors: string[];
  events: LogIngestEvent[];
}> {
  const records: LogRecord[] = [];
  const files: Array<{ source: string; format: string; lines: number; quality: QualityReport }> =
    [];
  const errors: string[] = [];
  const events: LogIngestEvent[] = [];
  for await (const ev of readLogInputs(args, opts)) {
    events.push(ev);
    if (ev.kind === 'records') records.push(...ev.records);
    else if (ev.kind === 'file') files.push(ev);
    else errors.push(ev.error.message);
  }
  return { records, files, errors, events };
}

test('reads a directory of mixed logs (plain and gzip), one quality report per file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-logs-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(
      join(dir, 'a-access.log'),
      '192.0.2.1 - - [04/Mar/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" rt=0.100 rid=r1\n' +
        '192.0.2.1 - - [04/Mar/2025:10:00:01 +0000] "GET /x HTTP/1.1" 503 5 "-" "ua" rt=2.000 rid=r2\n',
    );
    writeFileSync(
      join(dir, 'sub', 'app.jsonl.gz'),
      gzipSync(
        '{"ts":"2025-03-04T10:00:00.050Z","level":"INFO","request_id":"r1","inference_ms":42}\n',
      ),
    );
    writeFileSync(join(dir, 'sub', 'gunicorn.log'), 'Mar  4 10:00:00 host app[1]: started\n');
    const { records, files, errors } = await collect([dir, join(dir, 'missing.log')], {
      now: () => Date.UTC(2031, 0, 1),
    });
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /missing\.log: no such file/);
    assert.deepEqual(
      files.map((f) => [f.source.slice(dir.length + 1), f.format, f.lines, f.quality.decoded]),
      [
        ['a-access.log', 'nginx-combined', 2, 2],
        ['sub/app.jsonl.gz', 'json', 1, 1],
        ['sub/gunicorn.log', 'syslog-3164', 1, 1],
      ],
    );
    assert.equal(records.length, 4);
    assert.equal(records[1]!.durationMs, 2000);
    assert.equal(records[2]!.durationMs, 42);
    assert.equal(records[2]!.file, join(dir, 'sub', 'app.jsonl.gz'));
    // year-less syslog: the year comes from the injected clock
    assert.equal(new Date(records[3]!.tsUs! / 1000).getUTCFullYear(), 2031);
    for (const f of files) assert.equal(f.quality.seen, f.quality.decoded + f.quality.skipped);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt gzip input ends with its records so far, its report and an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-logs-'));
  try {
    const lines = Array.from(
      { length: 2000 },
      (_, i) => `{"ts":${1741082400 + i},"msg":"line ${i} ${'z'.repeat(i % 50)}"}`,
    ).join('\n');
    const gz = gzipSync(lines);
    writeFileSync(join(dir, 'cut.jsonl.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
    const { files, errors } = await collect([join(dir, 'cut.jsonl.gz')]);
    assert.equal(errors.length, 1);
    assert.equal(files.length, 1);
    assert.ok(files[0]!.quality.error !== null);
    assert.equal(files[0]!.quality.seen, files[0]!.quality.decoded + files[0]!.quality.skipped);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('over-long lines are cut at maxLineBytes and counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-logs-'));
  try {
    writeFileSync(join(dir, 'big.log'), `INFO: ${'a'.repeat(10_000)}\nINFO: small\n`);
    const { records, files } = await collect([join(dir, 'big.log')], { maxLineBytes: 1000 });
    assert.equal(records.length, 2);
    assert.equal(files[0]!.quality.skippedByReason['truncated-line'], 1);
    assert.equal(records[1]!.lineNo, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
