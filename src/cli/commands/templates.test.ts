import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { templatesCommand, stripControl } from './templates.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await templatesCommand.run(argv, { stdout, stderr, isTty: false });
  return { code, out, err };
}

const LOG = [
  '2024-05-01 10:00:01,001 INFO  [main] app.Server: listening on port 8080',
  '',
  '2024-05-01 10:00:02,002 INFO  [main] app.Server: request 1 served in 12 ms',
  '2024-05-01 10:00:03,003 WARN  [pool-1] app.Cache: evicted 42 entries \u001b[31m\u009b',
  '   ',
  '2024-05-01 10:00:04,004 INFO  [main] app.Server: request 2 served in 7 ms',
].join('\n');

test('templates --json --assignments: contract shape, one assignment per non-empty line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-tpl-'));
  try {
    const f = join(dir, 'a.log');
    writeFileSync(f, LOG);
    writeFileSync(join(dir, 'b.log.gz'), gzipSync(LOG + '\n'));
    const r = await run([f, join(dir, 'b.log.gz'), '--json', '--assignments']);
    assert.equal(r.code, 0);
    assert.equal(r.err, '');
    const doc = JSON.parse(r.out) as {
      lines: number;
      templates: { id: string; template: string; count: number }[];
      assignments: string[];
    };
    assert.equal(doc.lines, 8);
    assert.equal(doc.assignments.length, 8);
    const ids = new Set(doc.templates.map((t) => t.id));
    for (const a of doc.assignments) assert.ok(ids.has(a));
    assert.equal(doc.assignments[1], doc.assignments[3]);
    assert.equal(doc.assignments[1], doc.assignments[5]);
    assert.equal(
      doc.templates.reduce((s, t) => s + t.count, 0),
      8,
    );
    for (const t of doc.templates) assert.equal(typeof t.template, 'string');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('templates: unreadable input → one stderr line, others processed, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-tpl-'));
  try {
    const f = join(dir, 'a.log');
    writeFileSync(f, LOG);
    const r = await run([join(dir, 'missing.log'), f]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.match(r.err, /missing\.log/);
    assert.match(r.out, /^4 lines, \d+ templates/);
    assert.ok(
      !r.out.includes('\u001b') && !r.out.includes('\u009b'),
      'control characters stripped',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('templates: usage errors exit 2', async () => {
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['x', '--limit=-3'])).code, 2);
  await assert.rejects(run(['x', '--bogus']), { name: 'UsageError' });
});

test('stripControl removes escapes and C0/C1 controls but keeps text', () => {
  assert.equal(stripControl('a\u001b[31mred\u001b[0m\u0007b\u009bc\td'), 'aredbc\td');
});
