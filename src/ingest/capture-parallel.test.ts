import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyzeCaptureParallel } from './capture-parallel.js';
import { analyzeCapture } from './capture.js';
import { allRecognisers } from '../decoders/proto/registry.js';

const FIX = join(import.meta.dirname, '../../test/fixtures/capture');

for (const f of ['http-lo.pcap', 'http-lo.pcapng', 'http-lo-snap.pcap']) {
  test(`parallel partitions merge to the single-thread summary (${f})`, async () => {
    const ref = { name: f, path: join(FIX, f) };
    const one = await analyzeCapture(ref, { recognisers: allRecognisers() });
    const par = await analyzeCaptureParallel(ref, 10);
    assert.deepEqual(par.summary, one.engine.summary());
    assert.equal(par.format, one.engine.format);
    assert.equal(par.error, null);
  });
}
