import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureEngine } from './engine.js';
import { DEFAULT_TCP_LIMITS } from './tcp.js';
import { pcapFile, tcpFrame, type FrameRec } from './frames.test-util.js';

const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };

/**
 * A connection whose client sends `sends` 10-byte segments (1 ms apart) while the server acks
 * them `ackLag` segments behind, then, a second later, resends the oldest unacknowledged one.
 * Returns the RTO stall of that retransmission and the time of the segment it measures from.
 */
function stallOf(sends: number, ackLag: number, maxUnacked?: number) {
  const frames: FrameRec[] = [];
  const isn = 1000;
  frames.push({ tsUs: 1000, data: tcpFrame({ ...C, seq: isn, flags: 'S' }) });
  frames.push({ tsUs: 1010, data: tcpFrame({ ...S, seq: 5000, ack: isn + 1, flags: 'SA' }) });
  frames.push({ tsUs: 1020, data: tcpFrame({ ...C, seq: isn + 1, ack: 5001, flags: 'A' }) });
  const sentAt: number[] = [];
  let t = 2000;
  for (let i = 0; i < sends; i++) {
    t += 1000;
    sentAt.push(t);
    const seq = isn + 1 + i * 10;
    frames.push({
      tsUs: t,
      data: tcpFrame({ ...C, seq, ack: 5001, flags: 'PA', payload: 'x'.repeat(10) }),
    });
    const acked = i + 1 - ackLag;
    if (acked > 0)
      frames.push({
        tsUs: t + 10,
        data: tcpFrame({ ...S, seq: 5001, ack: isn + 1 + acked * 10, flags: 'A' }),
      });
  }
  const oldest = Math.max(0, sends - ackLag);
  const resendAt = t + 1e6;
  frames.push({
    tsUs: resendAt,
    data: tcpFrame({
      ...C,
      seq: isn + 1 + oldest * 10,
      ack: 5001,
      flags: 'PA',
      payload: 'x'.repeat(10),
    }),
  });
  const stalls: number[] = [];
  const e = new CaptureEngine({
    source: 'test',
    sink: { retransmission: (r) => stalls.push(r.stallMs) },
    ...(maxUnacked !== undefined
      ? { tcpLimits: { ...DEFAULT_TCP_LIMITS, maxUnackedSegments: maxUnacked } }
      : {}),
  });
  e.push(pcapFile(frames));
  e.end();
  return { stalls, resendAt, sentAt, oldest };
}

test('RTO stall: measured from the oldest unacked segment, across the unacked ring wrapping and growing', () => {
  // lags below, at and above the ring's first capacities; many sends so the ring wraps often
  for (const lag of [1, 3, 4, 5, 9, 17, 40]) {
    const { stalls, resendAt, sentAt, oldest } = stallOf(300, lag);
    assert.equal(stalls.length, 1, `lag ${lag}`);
    assert.equal(stalls[0], (resendAt - sentAt[oldest]!) / 1000, `lag ${lag}`);
  }
});

test('RTO stall: unacked segments past maxUnackedSegments are not remembered', () => {
  // 12 unacked, 5 remembered: the oldest is still the first (the limit drops the newest)
  const { stalls, resendAt, sentAt } = stallOf(12, 12, 5);
  assert.deepEqual(stalls, [(resendAt - sentAt[0]!) / 1000]);
});
