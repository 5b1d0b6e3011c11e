import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../main.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures/capture');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
  const stderr = new Writable({ write: (c: Buffer, _e, cb) => ((err += c.toString()), cb()) });
  const code = await main(argv, { stdout, stderr, isTty: false });
  return { code, out, err };
}

test('ingest puts a capture’s connections and exchanges in the store, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-ingest-cap-'));
  try {
    const db = join(dir, 'x.duckdb');
    const first = await run(['ingest', join(FIX, 'http-lo.pcap'), '--db', db, '--json']);
    assert.equal(first.code, 0, first.err);
    const q = await run([
      'sql',
      "SELECT (SELECT count(*) FROM connections) AS c, (SELECT count(*) FROM exchanges) AS x, (SELECT count(*) FROM exchanges WHERE request_id = 'req-1') AS r",
      '--db',
      db,
      '--json',
    ]);
    assert.equal(q.code, 0, q.err);
    const row = (JSON.parse(q.out) as { rows: Record<string, number>[] }).rows[0]!;
    // curl sent X-Request-ID: req-1 on both GETs of its keep-alive connection.
    assert.deepEqual(row, { c: 4, x: 4, r: 2 });
    const again = await run(['ingest', join(FIX, 'http-lo.pcap'), '--db', db, '--json']);
    assert.equal(again.code, 0);
    assert.match(again.out, /"skipped"/);
    const q2 = await run(['sql', 'SELECT count(*) AS x FROM exchanges', '--db', db, '--json']);
    assert.deepEqual((JSON.parse(q2.out) as { rows: unknown[] }).rows, [{ x: 4 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ingest of a cut capture keeps the packets before the cut and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-ingest-cap-'));
  try {
    const db = join(dir, 'x.duckdb');
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(join(FIX, 'http-lo.pcap')).subarray(0, 3000));
    const r = await run(['ingest', cut, '--db', db, '--json']);
    assert.equal(r.code, 1);
    assert.match(r.err, /cut\.pcap at byte \d+: the capture is cut short/);
    const q = await run(['sql', 'SELECT count(*) AS x FROM exchanges', '--db', db, '--json']);
    assert.ok((JSON.parse(q.out) as { rows: { x: number }[] }).rows[0]!.x >= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ingest decrypts HTTPS with the TLS secrets a pcapng carries (DSB)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-ingest-cap-'));
  try {
    const db = join(dir, 'x.duckdb');
    const r = await run(['ingest', join(FIX, 'https-keylog-dsb.pcapng'), '--db', db, '--json']);
    assert.equal(r.code, 0, r.err);
    const q = await run([
      'sql',
      "SELECT count(*) AS x, count(*) FILTER (WHERE path = '/v1/chat/completions' AND status = 200) AS ok FROM exchanges",
      '--db',
      db,
      '--json',
    ]);
    assert.equal(q.code, 0, q.err);
    assert.deepEqual((JSON.parse(q.out) as { rows: unknown[] }).rows, [{ x: 7, ok: 7 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
