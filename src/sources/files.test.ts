import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readChunksReused } from './files.js';

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-files-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const bytes = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 7919) % 251));

test('readChunksReused delivers every byte in order, whatever the chunk size', () =>
  withDir(async (dir) => {
    const f = join(dir, 'x.bin');
    writeFileSync(f, bytes);
    for (const size of [1, 7, 4096, 100_003, 1 << 20]) {
      const got: Buffer[] = [];
      // copies: the reader reuses its buffers once the next chunk is asked for
      for await (const c of readChunksReused({ name: f, path: f }, size)) got.push(Buffer.from(c));
      assert.ok(Buffer.concat(got).equals(bytes), `chunk size ${size}`);
      if (size < bytes.length) assert.ok(got.length > 1);
    }
  }));

test('readChunksReused: compressed files are decompressed, empty files give nothing', () =>
  withDir(async (dir) => {
    const gz = join(dir, 'x.bin.gz');
    writeFileSync(gz, gzipSync(bytes));
    const got: Buffer[] = [];
    for await (const c of readChunksReused({ name: gz, path: gz }, 4096)) got.push(Buffer.from(c));
    assert.ok(Buffer.concat(got).equals(bytes));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    let n = 0;
    for await (const _ of readChunksReused({ name: empty, path: empty })) n++;
    assert.equal(n, 0);
  }));

test('readChunksReused: a missing file is an input error naming it; stopping early is clean', () =>
  withDir(async (dir) => {
    const missing = join(dir, 'nope.pcap');
    await assert.rejects(
      async () => {
        for await (const _ of readChunksReused({ name: 'nope.pcap', path: missing })) void _;
      },
      (e: Error) => /nope\.pcap/.test(e.message),
    );
    const f = join(dir, 'x.bin');
    writeFileSync(f, bytes);
    for await (const c of readChunksReused({ name: f, path: f }, 1000)) {
      assert.equal(c.length, 1000);
      break; // the read already in flight is awaited and the file closed
    }
  }));
