import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowSummary } from './summary.js';
import { emptyFlow } from '../../model/flow.js';

test('summary: talkers, ports, rejects, per-minute', () => {
  const s = new FlowSummary();
  for (const [src, port, bytes, action, t] of [
    ['10.0.0.1', 443, 100, 'ACCEPT', 0],
    ['10.0.0.1', 443, 50, 'ACCEPT', 61],
    ['10.0.0.2', 22, 7, 'REJECT', 62],
  ] as const) {
    const f = emptyFlow('aws-vpc');
    f.src = src;
    f.dst = '10.0.0.9';
    f.dstPort = port;
    f.proto = 6;
    f.bytes = bytes;
    f.packets = 1;
    f.action = action;
    f.startUs = t * 1e6;
    s.add(f);
  }
  const r = s.report(5);
  assert.equal(r.records, 3);
  assert.deepEqual(r.topTalkers[0], {
    src: '10.0.0.1',
    dst: '10.0.0.9',
    bytes: 150,
    packets: 2,
    records: 2,
  });
  assert.deepEqual(r.topPorts[0], { proto: 'tcp', port: 443, bytes: 150, packets: 2, records: 2 });
  assert.equal(r.rejected.records, 1);
  assert.deepEqual(
    r.perMinute.map((m) => m.records),
    [1, 2],
  );
});
