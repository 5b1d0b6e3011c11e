// End-to-end test of `mlscope flows` over the fixtures in test/fixtures/flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { flowsCommand } from './flows.js';
import { sink } from './io.test-util.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/flow');

test('flows --json: gzip CloudWatch envelopes and NetFlow v9 files; unreadable input → exit 1', async () => {
  const out = sink();
  const err = sink();
  const code = await flowsCommand.run(
    [
      '--json',
      join(FIX, 'v9-data.bin'),
      join(FIX, 'v9-template.bin'),
      join(FIX, 'cw-envelope.json.gz'),
      join(FIX, 'missing.bin'),
    ],
    { stdout: out.w, stderr: err.w, isTty: false },
  );
  assert.equal(code, 1);
  assert.match(err.text(), /missing\.bin: no such file/);
  const doc = JSON.parse(out.text()) as {
    records: number;
    bytes: number;
    packets: number;
    flows: {
      src: string;
      proto: string;
      start: string;
      exporter: string | null;
      action: string | null;
    }[];
    skipped: Record<string, number>;
    dataQuality: { seen: number; decoded: number; skipped: number }[];
  };
  assert.equal(doc.records, 5);
  assert.equal(doc.bytes, 512 + 2 * (5000 + 180));
  assert.equal(doc.flows[0]!.src, '192.168.0.1');
  assert.equal(doc.flows[0]!.proto, 'udp');
  assert.equal(doc.flows[0]!.exporter, null);
  assert.equal(doc.flows[2]!.action, 'REJECT');
  assert.equal(doc.flows[1]!.start, '2024-12-05T20:20:00.000Z');
  assert.deepEqual(doc.skipped, { 'aws-nodata': 2 });
  for (const q of doc.dataQuality) assert.equal(q.seen, q.decoded + q.skipped);
});

test('flows human output renders the sections', async () => {
  const out = sink();
  const code = await flowsCommand.run([join(FIX, 'cw-envelope.json.gz')], {
    stdout: out.w,
    stderr: sink().w,
    isTty: false,
  });
  assert.equal(code, 0);
  for (const h of [
    'top talkers',
    'top destination ports',
    'rejected flows: 2',
    'per minute',
    'data quality',
  ])
    assert.ok(out.text().includes(h), h);
});
