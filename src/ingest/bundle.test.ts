// An investigation bundle is sorted by content, as `mlscope ingest` sorts inputs (detect.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundle } from './bundle.js';

const FIX = join(import.meta.dirname, '../../test/fixtures');

test('a bundle: capture, OTLP protobuf spans, flow log and app log each go where they belong', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-bundle-'));
  try {
    // names that say nothing: the content decides
    copyFileSync(join(FIX, 'capture/http-lo.pcap'), join(dir, 'a.dat'));
    copyFileSync(join(FIX, 'otlp/traces.binpb'), join(dir, 'b.dat'));
    copyFileSync(join(FIX, 'flow/aws-vpc.log'), join(dir, 'c.dat'));
    writeFileSync(
      join(dir, 'd.dat'),
      '{"time":"2026-11-28T08:52:04Z","level":"info","msg":"started","request_id":"r1"}\n',
    );
    const b = await readBundle([dir]);
    assert.deepEqual(b.captures, [join(dir, 'a.dat')]);
    assert.equal(b.exchanges.length, 4);
    assert.ok(b.spans.length > 0, 'OTLP protobuf spans decoded');
    const flows = b.quality.find((q) => q.source.endsWith('c.dat'));
    assert.equal(flows?.format, 'flows');
    assert.equal(flows?.report.skippedByReason['not-used-by-investigate'], 1);
    assert.equal(b.logs.length, 1, 'only the app log line is a log record');
    assert.equal(b.logs[0]!.requestId, 'r1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
