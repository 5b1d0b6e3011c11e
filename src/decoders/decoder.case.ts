// The conformance suite every byte decoder passes (STYLE.md "Tests"): truncation of real fixtures
// at every byte offset and random or mutated bytes never throw or hang, and the data-quality
// invariant decoded + skipped === seen holds. Chunking must not change the result.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

export interface DecoderRun {
  /** Feed bytes (may be called many times). Must not throw. */
  push(chunk: Buffer): void;
  /** End of input; returns the quality counters and a digest of the decoded output. */
  end(): { seen: number; decoded: number; skipped: number; digest: string };
}

export interface ConformanceOptions {
  /** Max prefixes tried per fixture (evenly spaced when the fixture is larger). */
  maxPrefixes?: number;
  /** Time budget for the random-bytes property, ms. */
  fuzzMs?: number;
}

function runWhole(
  make: () => DecoderRun,
  bytes: Buffer,
  chunk = bytes.length || 1,
): ReturnType<DecoderRun['end']> {
  const d = make();
  for (let o = 0; o < bytes.length; o += chunk)
    d.push(bytes.subarray(o, Math.min(bytes.length, o + chunk)));
  return d.end();
}

export function decoderConformance(
  name: string,
  make: () => DecoderRun,
  fixtures: { name: string; bytes: Buffer }[],
  opts: ConformanceOptions = {},
): void {
  const maxPrefixes = opts.maxPrefixes ?? 2000;
  const fuzzMs = opts.fuzzMs ?? 1500;

  for (const fx of fixtures) {
    void test(`${name}: ${fx.name}: every truncation decodes without throwing, decoded + skipped === seen`, () => {
      const n = fx.bytes.length;
      const step = Math.max(1, Math.ceil(n / maxPrefixes));
      for (let len = 0; len <= n; len += step) {
        const r = runWhole(make, fx.bytes.subarray(0, len));
        assert.equal(r.decoded + r.skipped, r.seen, `prefix ${len}`);
      }
    });

    void test(`${name}: ${fx.name}: chunk boundaries do not change the result`, () => {
      const whole = runWhole(make, fx.bytes);
      for (const chunk of [1, 7, 64, 1500]) {
        const r = runWhole(make, fx.bytes, chunk);
        assert.deepEqual(r, whole, `chunk size ${chunk}`);
      }
    });
  }

  void test(`${name}: random bytes never throw`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (arr) => {
        const r = runWhole(make, Buffer.from(arr));
        return r.decoded + r.skipped === r.seen;
      }),
      { interruptAfterTimeLimit: fuzzMs / 2, numRuns: 100000 },
    );
  });

  if (fixtures.length > 0) {
    void test(`${name}: mutated fixtures never throw`, () => {
      const fx = fixtures;
      fc.assert(
        fc.property(
          fc.nat({ max: fx.length - 1 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 16,
          }),
          (which, edits) => {
            const b = Buffer.from(fx[which]!.bytes);
            if (b.length === 0) return true;
            for (const [pos, val] of edits) b[pos % b.length] = val;
            const r = runWhole(make, b);
            return r.decoded + r.skipped === r.seen;
          },
        ),
        { interruptAfterTimeLimit: fuzzMs / 2, numRuns: 100000 },
      );
    });
  }
}
