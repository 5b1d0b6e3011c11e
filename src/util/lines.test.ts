import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteLineSplitter, LineSplitter } from './lines.js';

function byteLines(chunks: Buffer[], max: number): [number, string, boolean][] {
  const out: [number, string, boolean][] = [];
  const s = new ByteLineSplitter(max);
  const on = (b: Buffer, st: number, e: number, n: number, t: boolean): void => {
    out.push([n, b.toString('latin1', st, e), t]);
  };
  for (const c of chunks) s.push(c, on);
  s.end(on);
  return out;
}

test('ByteLineSplitter: same lines as LineSplitter under any chunking; long lines cut and flagged', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('a', 'b', ' ', '\n', '\r\n', 'xyz'), { maxLength: 60 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
      (parts, cuts) => {
        const text = Buffer.from(parts.join(''), 'latin1');
        const chunks: Buffer[] = [];
        for (let o = 0, i = 0; o < text.length; i++) {
          const n = cuts[i % cuts.length]!;
          chunks.push(text.subarray(o, o + n));
          o += n;
        }
        const ref: [number, string, boolean][] = [];
        const ls = new LineSplitter(8);
        const on = (l: { lineNo: number; text: string; truncated: boolean }): void => {
          ref.push([l.lineNo, l.text, l.truncated]);
        };
        for (const c of chunks) ls.push(c, on);
        ls.end(on);
        assert.deepEqual(byteLines(chunks, 8), ref);
      },
    ),
    { numRuns: 500 },
  );
});
