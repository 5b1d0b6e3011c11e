import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReorderWindow } from './reorder.js';

test('records that complete out of order come out in start order', () => {
  const out: string[] = [];
  const w = new ReorderWindow((t) => out.push(t), { windowUs: 1000, maxHeld: 100 });
  // (start, done): a slow request started at 0 completes last
  w.offer(10, 20, 'b');
  w.offer(30, 40, 'c');
  w.offer(0, 900, 'a');
  w.offer(2000, 2010, 'd'); // moves the capture clock: everything before 1010 can go
  assert.deepEqual(out, ['a', 'b', 'c']);
  w.flush();
  assert.deepEqual(out, ['a', 'b', 'c', 'd']);
  assert.equal(w.late, 0);
});

test('a record longer than the window is written at once and counted as late', () => {
  const out: string[] = [];
  const w = new ReorderWindow((t) => out.push(t), { windowUs: 100, maxHeld: 100 });
  w.offer(500, 510, 'x');
  w.offer(1000, 1010, 'y'); // x goes
  w.offer(0, 1020, 'old'); // started before x: too late to sort in
  w.flush();
  assert.deepEqual(out, ['x', 'old', 'y']);
  assert.equal(w.late, 1);
});

test('memory is bounded by maxHeld; records without a time sort last', () => {
  const out: string[] = [];
  const w = new ReorderWindow((t) => out.push(t), { windowUs: 1e12, maxHeld: 3 });
  w.offer(NaN, 0, 'none');
  for (let i = 0; i < 10; i++) w.offer(i, i, `r${i}`);
  assert.ok(out.length >= 7);
  w.flush();
  assert.deepEqual(out, ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'none']);
});

test('property: with a window longer than every record, output is sorted and complete', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ start: fc.nat(10_000), dur: fc.nat(500) }), { maxLength: 200 }),
      (recs) => {
        // arrive in completion order, as exchanges do
        const byDone = recs
          .map((r, i) => ({ ...r, i, done: r.start + r.dur }))
          .sort((a, b) => a.done - b.done);
        const out: number[] = [];
        const w = new ReorderWindow((t) => out.push(Number(t)), { windowUs: 501, maxHeld: 1e6 });
        for (const r of byDone) w.offer(r.start, r.done, String(r.start));
        w.flush();
        assert.equal(w.late, 0);
        assert.deepEqual(
          out,
          recs.map((r) => r.start).sort((a, b) => a - b),
        );
      },
    ),
  );
});
