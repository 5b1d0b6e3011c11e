import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maskToken, maskTokens, splitTokens, WILDCARD } from './tokenize.js';

test('splitTokens: blanks and pipes separate, runs count once', () => {
  assert.deepEqual(splitTokens('  a\tb  c|d||e ', 100), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(splitTokens('a b c d', 2), ['a', 'b']);
  assert.deepEqual(splitTokens('', 10), []);
  assert.deepEqual(splitTokens(' \u00a0| ', 10), []);
  assert.deepEqual(splitTokens(' a b ', 1), ['a']);
  assert.deepEqual(splitTokens('a\u3000b\u2003c', 10), ['a', 'b\u2003c']);
});

/** The tokenizer as first written (a charCodeAt loop): splitTokens must give the same tokens. */
function splitTokensLoop(line: string, maxTokens: number): string[] {
  const isSpace = (c: number): boolean =>
    c === 32 || c === 9 || (c >= 10 && c <= 13) || c === 0xa0 || c === 0x3000 || c === 124;
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n && out.length < maxTokens) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(line.charCodeAt(i))) i++;
    out.push(line.slice(start, i));
  }
  return out;
}

test('splitTokens: the same tokens as a character loop, any string, any limit', () => {
  const chars = [
    ' ',
    '\t',
    '\n',
    '\v',
    '\f',
    '\r',
    '\u00a0',
    '\u3000',
    '|',
    '\u2003',
    '\u0085',
    '\ufeff',
    'a',
    'é',
    '\ud800',
    '1',
    '[',
  ];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...chars), { maxLength: 60 }).map((a) => a.join('')),
      fc.integer({ min: 0, max: 12 }),
      (line, max) => {
        assert.deepEqual(splitTokens(line, max), splitTokensLoop(line, max));
      },
    ),
    { numRuns: 5000 },
  );
});

test('maskToken: numbers, hex, IPs, UUIDs, paths, quoted values, dates', () => {
  const cases: [string, string][] = [
    ['42', WILDCARD],
    ['0x7fed806eb5d', WILDCARD],
    ['10.251.73.220:50010', WILDCARD],
    ['/10.250.19.102:54106', WILDCARD],
    ['7e7cc42f-3cb9-4d91-804c-f5a32d54f1c5', WILDCARD],
    ['blk_-6952295868487656571', WILDCARD],
    ['/var/lib/nova/instances', WILDCARD],
    ['C:\\Windows\\winsxs', `C:${WILDCARD}`],
    ['"quoted"', WILDCARD],
    ['Jun', WILDCARD],
    ['true', WILDCARD],
    ['(1973),', `(${WILDCARD}),`],
    ['uid=0', `uid=${WILDCARD}`],
    ['isOverlap:false,', `isOverlap:${WILDCARD},`],
    ['logname=', 'logname='],
    ['()', `(${WILDCARD})`],
    ['jk2_init()', 'jk2_init()'],
    ['LOGIN(uid=0)', `LOGIN(uid=${WILDCARD})`],
    ['hello', 'hello'],
    ['terminating', 'terminating'],
    ['Session:', 'Session:'],
  ];
  for (const [input, want] of cases) assert.equal(maskToken(input), want, input);
});

test('maskTokens: a size unit after a number joins the variable', () => {
  const out: string[] = [];
  maskTokens(['size', '384.0', 'B,', 'free', '12', 'KB'], 0, out);
  assert.deepEqual(out, ['size', WILDCARD, `${WILDCARD},`, 'free', WILDCARD, WILDCARD]);
  const out2: string[] = [];
  maskTokens(['stored', 'as', 'bytes'], 0, out2);
  assert.deepEqual(out2, ['stored', 'as', 'bytes']);
});
