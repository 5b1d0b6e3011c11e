import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchSelector, quantile, selectKth } from './range-state.js';
import { parseExpr } from './parser.js';
import { lineIncludes, recordLine } from './labels.js';
import fc from 'fast-check';
import type { LogRecord } from '../../model/records.js';
import { xorshift32 as rng } from '../../util/rng.js';

test('selectKth returns the k-th smallest and partitions around it, for every k', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const rand = rng(seed);
    const n = 1 + Math.floor(rand() * 200);
    // few distinct values on some seeds: duplicates are where partition schemes go wrong
    const distinct = seed % 3 === 0 ? 3 : 1000;
    const src = Float64Array.from(
      { length: n },
      () => Math.floor(rand() * distinct) - distinct / 2,
    );
    const sorted = Float64Array.from(src).sort();
    for (let k = 0; k < n; k++) {
      const xs = Float64Array.from(src);
      const v = selectKth(xs, n, k);
      assert.equal(v, sorted[k], `seed ${seed} n ${n} k ${k}`);
      assert.equal(xs[k], v);
      for (let i = 0; i < k; i++) assert.ok(xs[i]! <= v);
      for (let i = k + 1; i < n; i++) assert.ok(xs[i]! >= v);
    }
  }
});

test('selectKth on sorted, reversed and constant inputs', () => {
  const n = 5000;
  for (const make of [(i: number) => i, (i: number) => n - i, () => 7]) {
    const src = Float64Array.from({ length: n }, (_, i) => make(i));
    const sorted = Float64Array.from(src).sort();
    for (const k of [0, 1, 2499, 2500, n - 2, n - 1])
      assert.equal(selectKth(Float64Array.from(src), n, k), sorted[k]);
  }
});

test('quantile interpolates between closest ranks like Prometheus', () => {
  assert.equal(quantile(0.5, [1, 2, 3, 4]), 2.5);
  assert.equal(quantile(0.99, [0, 100]), 99);
  assert.equal(quantile(1.5, [1]), Infinity);
  assert.ok(Number.isNaN(quantile(0.5, [])));
});

test('=~ and !~ with a plain alternation match whole values, like the anchored regexp', () => {
  const rec = (job: string): LogRecord => ({ attributes: { job } }) as unknown as LogRecord;
  for (const [sel, yes, no] of [
    ['{job=~"api|gateway"}', ['api', 'gateway'], ['apix', 'xapi', '', 'api|gateway', 'API']],
    ['{job!~"api|gateway"}', ['apix', '', 'API'], ['api', 'gateway']],
    ['{job=~"a.i"}', ['api', 'aXi'], ['a.ix']], // '.' is a regexp: not taken as a literal
    ['{job=~"api||gw"}', ['api', '', 'gw'], ['x']], // an empty alternative matches ''
  ] as const) {
    const p = parseExpr(`count_over_time(${sel}[1m])`);
    assert.ok(p.ok, sel);
    const e = p.expr as unknown as { range: { matchers: Parameters<typeof matchSelector>[0] } };
    for (const v of yes)
      assert.equal(matchSelector(e.range.matchers, -1, rec(v)), true, `${sel} ${v}`);
    for (const v of no)
      assert.equal(matchSelector(e.range.matchers, -1, rec(v)), false, `${sel} ${v}`);
  }
});

test('lineIncludes agrees with searching the built line', () => {
  const alphabet = ['a', 'b', '=', ' ', 'ab', 'b a', 'a=b', '1'];
  fc.assert(
    fc.property(
      fc.string({ maxLength: 8 }),
      fc.dictionary(
        fc.constantFrom('a', 'b', 'ab', 'k'),
        fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean(), fc.constant(null)),
      ),
      fc.constantFrom(...alphabet),
      (body, attributes, needle) => {
        const r = { body, attributes } as unknown as LogRecord;
        assert.equal(lineIncludes(r, needle), recordLine(r).includes(needle));
      },
    ),
    { numRuns: 3000 },
  );
});
