import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Heap } from './heap.js';

test('property: a heap gives its items back in order; replaceTop keeps the order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer()), fc.array(fc.integer()), (xs, ys) => {
      const h = new Heap<number>((a, b) => a < b);
      for (const x of xs) h.push(x);
      for (const y of ys) if (h.size > 0) h.replaceTop(y);
      const want = h
        .items()
        .slice()
        .sort((a, b) => a - b);
      const got: number[] = [];
      while (h.size > 0) got.push(h.pop()!);
      assert.deepEqual(got, want);
    }),
  );
});
