import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoMs, isoMsClamped, isoUsMicro, isoUsMs, MAX_DATE_MS } from './iso.js';

test('ISO text for in-range times, to the millisecond and to the microsecond', () => {
  assert.equal(isoMs(0), '1970-01-01T00:00:00.000Z');
  assert.equal(isoUsMs(1_422_527_998_578_402), '2015-01-29T10:39:58.578Z');
  assert.equal(isoUsMicro(1_422_527_998_578_402), '2015-01-29T10:39:58.578402Z');
});

test('a time no Date can hold gives null (or a clamped date), never a RangeError', () => {
  // pcapng-example.pcapng (pcapplusplus) has a packet stamped ≈1.8e19 µs
  for (const us of [18446744073204277000, -1e20, Infinity, NaN]) {
    assert.equal(isoUsMs(us), null);
    assert.equal(isoUsMicro(us), null);
  }
  assert.equal(isoMs(MAX_DATE_MS), '+275760-09-13T00:00:00.000Z');
  assert.equal(isoMsClamped(1.8e16), '+275760-09-13T00:00:00.000Z');
  assert.equal(isoMsClamped(NaN), '1970-01-01T00:00:00.000Z');
});
