import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { decideInput, fingerprint, type KnownInput } from './inputs.js';

const W = 16; // a small window so tests cover files larger than it

function hasher(bytes: Buffer) {
  return (offset: number, length: number) =>
    Promise.resolve(
      createHash('sha256')
        .update(bytes.subarray(offset, offset + length))
        .digest('hex'),
    );
}

async function known(id: number, path: string, bytes: Buffer): Promise<KnownInput> {
  const fp = await fingerprint(path, bytes.length, 0, hasher(bytes), W);
  return {
    id,
    path,
    sizeBytes: fp.sizeBytes,
    headHash: fp.headHash,
    tailHash: fp.tailHash,
    windowBytes: W,
    status: 'done',
  };
}

async function decide(k: KnownInput[], path: string, bytes: Buffer) {
  const fp = await fingerprint(path, bytes.length, 0, hasher(bytes), W);
  return decideInput(k, fp, hasher(bytes));
}

const small = Buffer.from('line 1\nline 2\n');
const big = Buffer.from(Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(''));

describe('decideInput', () => {
  it('ingests an unknown input', async () => {
    assert.equal((await decide([], 'a.log', big)).action, 'new');
  });

  it('skips identical content under any name (rotation never duplicates)', async () => {
    const k = [await known(1, 'app.log', big)];
    const d = await decide(k, 'app.log.1', big);
    assert.equal(d.action, 'skip');
    assert.equal(d.action === 'skip' && d.existing.id, 1);
  });

  it('replaces an input that grew (small and large files)', async () => {
    for (const before of [small, big]) {
      const after = Buffer.concat([before, Buffer.from('line new\n'.repeat(5))]);
      const d = await decide([await known(7, 'a.log', before)], 'a.log', after);
      assert.equal(d.action, 'replace', `from ${before.length} bytes`);
      assert.equal(d.action === 'replace' && d.existing.id, 7);
    }
  });

  it('treats changed content at the same path as new (the old rows stay)', async () => {
    const k = [await known(1, 'a.log', big)];
    const edited = Buffer.from(big);
    // Changed inside the old tail window. (A change between the windows is not seen: the
    // fingerprint assumes append-only files, which is what logs are.)
    edited[big.length - 3] = 0x58;
    assert.equal(
      (await decide(k, 'a.log', Buffer.concat([edited, Buffer.from('more\n')]))).action,
      'new',
    );
    assert.equal((await decide(k, 'a.log', Buffer.from('other\n'))).action, 'new');
  });

  it('ignores inputs left half-ingested by a crash', async () => {
    const k = [{ ...(await known(1, 'a.log', big)), status: 'ingesting' as const }];
    assert.equal((await decide(k, 'a.log', big)).action, 'new');
  });
});
