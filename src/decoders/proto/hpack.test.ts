import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HpackDecoder, HPACK_UNKNOWN, type HpackOptions } from './hpack.js';
import { HUFFMAN_CODES, huffmanDecode, huffmanEncode } from './hpack-huffman.js';
import { ascii, hex } from './proto-test-context.test-util.js';

const OPTS: HpackOptions = { maxHeaderListBytes: 64 * 1024, maxHeaders: 128, maxValueChars: 1024 };
const pairs = (d: HpackDecoder, b: Uint8Array) => {
  const r = d.decode(b, 0, b.length);
  assert.equal(r.error, null);
  return r.headers.map((h) => `${h.name}: ${h.value}`);
};

test('huffman table is a complete canonical code (Kraft sum 1) with RFC codes', () => {
  assert.equal(HUFFMAN_CODES[0], 0x1ff8);
  assert.equal(HUFFMAN_CODES[48], 0x0); // '0'
  assert.equal(HUFFMAN_CODES[256], 0x3fffffff); // EOS
  assert.equal(HUFFMAN_CODES[255], 0x3ffffee);
});

test('huffman: RFC 7541 C.4 strings, padding rules, round trip', () => {
  const b = hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'); // "www.example.com"
  assert.equal(huffmanDecode(b, 0, b.length, 100), 'www.example.com');
  // 8 bits of padding are invalid (§5.2): append 0xff
  const bad = hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff ff');
  assert.equal(huffmanDecode(bad, 0, bad.length, 100), null);
  // padding with a zero bit: '0' = 00000 then 000 -> not a prefix of EOS
  const zeroPad = hex('00');
  assert.equal(huffmanDecode(zeroPad, 0, 1, 100), null);
  // EOS inside the string (30 ones) is an error
  const eos = hex('ffff ffff');
  assert.equal(huffmanDecode(eos, 0, eos.length, 100), null);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const enc = huffmanEncode(bytes);
      const dec = huffmanDecode(enc, 0, enc.length, 1000);
      assert.equal(dec, Buffer.from(bytes).toString('utf8'));
    }),
    { numRuns: 300 },
  );
});

test('RFC 7541 C.3: requests without Huffman share a dynamic table', () => {
  const d = new HpackDecoder(OPTS);
  assert.deepEqual(pairs(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), [
    ':method: GET',
    ':scheme: http',
    ':path: /',
    ':authority: www.example.com',
  ]);
  assert.equal(d.tableSize, 57);
  assert.deepEqual(pairs(d, hex('8286 84be 5808 6e6f 2d63 6163 6865')).slice(3), [
    ':authority: www.example.com',
    'cache-control: no-cache',
  ]);
  assert.equal(d.tableSize, 110);
  assert.deepEqual(
    pairs(d, hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')),
    [
      ':method: GET',
      ':scheme: https',
      ':path: /index.html',
      ':authority: www.example.com',
      'custom-key: custom-value',
    ],
  );
  assert.equal(d.tableSize, 164);
});

test('RFC 7541 C.4: requests with Huffman', () => {
  const d = new HpackDecoder(OPTS);
  pairs(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'));
  assert.deepEqual(
    pairs(d, hex('8286 84be 5886 a8eb 1064 9cbf')).at(-1),
    'cache-control: no-cache',
  );
  assert.deepEqual(
    pairs(d, hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')).at(-1),
    'custom-key: custom-value',
  );
  assert.equal(d.tableSize, 164);
});

test('RFC 7541 C.5: responses with a 256-byte table evict the oldest entries', () => {
  const d = new HpackDecoder(OPTS, 256);
  const r1 = pairs(
    d,
    hex(`4803 3330 32                       # :status 302 (literal, indexed name 8)
         5807 7072 6976 6174 65             # cache-control: private
         611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 54 # date
         6e17 6874 7470 733a 2f2f 7777 772e 6578 616d 706c 652e 636f 6d # location`),
  );
  assert.deepEqual(r1, [
    ':status: 302',
    'cache-control: private',
    'date: Mon, 21 Oct 2013 20:13:21 GMT',
    'location: https://www.example.com',
  ]);
  assert.equal(d.tableSize, 222);
  const r2 = pairs(d, hex('4803 3330 37c1 c0bf'));
  assert.deepEqual(r2, [
    ':status: 307',
    'cache-control: private',
    'date: Mon, 21 Oct 2013 20:13:21 GMT',
    'location: https://www.example.com',
  ]);
  assert.equal(d.tableSize, 222);
  const r3 = pairs(
    d,
    hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0
         5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851
         5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`),
  );
  assert.deepEqual(r3.slice(4), [
    'content-encoding: gzip',
    'set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
  ]);
  assert.equal(d.tableSize, 215);
  assert.equal(d.tableEntries, 3);
});

test('size update to 0 empties the table; oversize update is an error that degrades', () => {
  const d = new HpackDecoder(OPTS);
  pairs(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
  pairs(d, hex('20')); // size update 0
  assert.equal(d.tableEntries, 0);
  const huge = hex('3f e1 ff ff 7f'); // size update ≈ 2^28
  const r = d.decode(huge, 0, huge.length);
  assert.notEqual(r.error, null);
  assert.equal(d.degraded, true);
});

test('mid-connection start: unknown dynamic refs are marked and counted, new inserts resolve', () => {
  const d = new HpackDecoder(OPTS, 4096, true);
  const r = d.decode(hex('82 be c0'), 0, 3); // GET, then two entries we never saw
  assert.equal(r.error, null);
  assert.equal(r.unknownRefs, 2);
  assert.deepEqual(
    r.headers.map((h) => h.name),
    [':method', HPACK_UNKNOWN, HPACK_UNKNOWN],
  );
  // insert x-a: 1, then reference it as 62
  const ins = hex('40 03 782d61 01 31  be');
  const r2 = d.decode(ins, 0, ins.length);
  assert.equal(r2.unknownRefs, 0);
  assert.deepEqual(r2.headers.at(-1), { name: 'x-a', value: '1' });
  const r3 = d.decode(hex('bf'), 0, 1); // index 63: older than our first insert -> unknown
  assert.equal(r3.unknownRefs, 1);
});

test('a known table rejects references past its end', () => {
  const d = new HpackDecoder(OPTS);
  const r = d.decode(hex('be'), 0, 1);
  assert.equal(r.error, 'index out of range');
});

test('bounds: list size / count / value length are cut, the table stays in step', () => {
  const d = new HpackDecoder({ maxHeaderListBytes: 100, maxHeaders: 2, maxValueChars: 4 });
  const block = hex('82 84 40 03 782d61 06 313233343536  be');
  const r = d.decode(block, 0, block.length);
  assert.equal(r.headers.length, 2);
  assert.equal(r.droppedFields, 2);
  assert.equal(d.tableSize, 3 + 6 + 32);
  const d2 = new HpackDecoder({ maxHeaderListBytes: 1000, maxHeaders: 10, maxValueChars: 4 });
  const r2 = d2.decode(block, 0, block.length);
  assert.deepEqual(r2.headers.at(-1), { name: 'x-a', value: '1234' });
  assert.equal(d2.tableSize, 41);
});

test('literal never-indexed and without-indexing fields do not touch the table', () => {
  const d = new HpackDecoder(OPTS);
  const b = concat2(hex('10 03'), ascii('x-b'), hex('01'), ascii('2'), hex('04 01'), ascii('/'));
  assert.deepEqual(pairs(d, b), ['x-b: 2', ':path: /']);
  assert.equal(d.tableEntries, 0);
});

test('every prefix and random bytes never throw', () => {
  const full =
    hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0
         5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f`);
  for (let i = 0; i <= full.length; i++) new HpackDecoder(OPTS, 256, true).decode(full, 0, i);
  const deadline = Date.now() + 1500;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, unknown) => {
      if (Date.now() > deadline) return;
      const d = new HpackDecoder(OPTS, 4096, unknown);
      d.decode(bytes, 0, bytes.length);
      d.decode(bytes, 0, bytes.length);
    }),
    { numRuns: 3000 },
  );
});

function concat2(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
