import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonBytesBound, writeJsonBytes } from './json-bytes.js';

/** writeJsonBytes read back as text (null for no JSON), written at an offset into a dirty buffer. */
function viaBytes(o: Record<string, unknown>): string | null {
  const at = 7;
  const buf = Buffer.alloc(at + jsonBytesBound(o), 0xee);
  const end = writeJsonBytes(o, buf, at);
  return end < 0 ? null : buf.toString('utf8', at, end);
}

/** What the logs table stored before: JSON.stringify for an object with keys, else NULL. */
function stringified(o: Record<string, unknown>): string | null {
  for (const _ in o) return JSON.stringify(o);
  return null;
}

test('writeJsonBytes: the UTF-8 of JSON.stringify for flat objects of any scalars and keys', () => {
  const text = fc.string({
    unit: fc.constantFrom(
      'a',
      'é',
      '"',
      '\\',
      '\n',
      '\u0000',
      '\u001f',
      '\u007f',
      '\ud800',
      '\udc00',
      '😀',
      '/',
      ' ',
      '1',
      '\u2028',
    ),
    maxLength: 12,
  });
  const value = fc.oneof(
    text,
    fc.double(),
    fc.integer(),
    fc.constantFrom(
      0,
      -0,
      1e21,
      1e-7,
      2 ** 53 + 2,
      -1.7976931348623157e308,
      NaN,
      Infinity,
      -Infinity,
    ),
    fc.boolean(),
    fc.constant(null),
  );
  fc.assert(
    fc.property(
      fc.dictionary(fc.oneof(text, fc.constantFrom('1', '0', '10', 'a.b')), value),
      (o) => {
        assert.equal(viaBytes(o), stringified(o));
      },
    ),
    { numRuns: 3000 },
  );
});

test('writeJsonBytes: integer-like keys first, nested values, undefined, empty', () => {
  for (const o of [
    { b: 1, 2: 'x', a: 'y', 1: true },
    { a: 1, b: { c: [1, 'x'] }, d: 'z' },
    { u: undefined, v: 1 },
    { u: undefined },
    {},
    { long: 'x'.repeat(100_000), ü: 'ß'.repeat(1000) },
  ] as Record<string, unknown>[])
    assert.equal(viaBytes(o), stringified(o));
});
