// Input sources: files, directories (walked), `-` for stdin; `.gz` and `.zst` (and gzip/zstd by
// magic bytes) decompressed transparently while streaming. The only module that reads files.
// Every input is delivered as an async sequence of Buffer chunks, never loaded whole.

import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, InputError, errorMessage } from '../util/errors.js';

export const CHUNK_BYTES = 1 << 20;
/** Directory walks stop descending past this depth (symlink loops, hostile trees). */
const MAX_WALK_DEPTH = 32;

export interface InputRef {
  /** What the user named (file path, or '-'), relative paths kept as given. */
  name: string;
  /** Path to open, or null for stdin. */
  path: string | null;
}

/** Expand user arguments into input files: directories are walked (sorted, hidden files skipped). */
export async function expandInputs(
  args: readonly string[],
  onError: (e: InputError) => void,
): Promise<InputRef[]> {
  const out: InputRef[] = [];
  for (const arg of args) {
    if (arg === '-') {
      out.push({ name: '-', path: null });
      continue;
    }
    await walk(arg, 0, out, onError);
  }
  return out;
}

async function walk(
  path: string,
  depth: number,
  out: InputRef[],
  onError: (e: InputError) => void,
): Promise<void> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (err) {
    onError(new InputError(ErrorCode.INPUT_UNREADABLE, path, describeFsError(err)));
    return;
  }
  if (st.isDirectory()) {
    if (depth >= MAX_WALK_DEPTH) return;
    let names: string[];
    try {
      names = await fsp.readdir(path);
    } catch (err) {
      onError(new InputError(ErrorCode.INPUT_UNREADABLE, path, describeFsError(err)));
      return;
    }
    names.sort();
    for (const n of names) {
      if (n.startsWith('.')) continue;
      await walk(join(path, n), depth + 1, out, onError);
    }
  } else if (st.isFile() || st.isFIFO()) {
    out.push({ name: path, path });
  }
}

function describeFsError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return errorMessage(err);
}

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;
const ZSTD_MAGIC = 0xfd2fb528; // little-endian 28 b5 2f fd

export type Compression = 'none' | 'gzip' | 'zstd';

export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1) return 'gzip';
  if (
    head.length >= 4 &&
    (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0 === ZSTD_MAGIC
  )
    return 'zstd';
  return 'none';
}

/** The raw byte stream of an input (before decompression). */
function rawStream(ref: InputRef): AsyncIterable<Buffer> {
  if (ref.path === null) return process.stdin as AsyncIterable<Buffer>;
  return createReadStream(ref.path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>;
}

/**
 * Read an input as decompressed chunks. Errors (unreadable file, corrupt compression) are thrown as
 * InputError naming the file and the decompressed byte offset reached.
 */
export async function* readChunks(ref: InputRef): AsyncGenerator<Buffer> {
  const it = rawStream(ref)[Symbol.asyncIterator]();
  let first: Buffer | undefined;
  try {
    const r = await it.next();
    if (r.done) return;
    first = r.value;
  } catch (err) {
    throw new InputError(ErrorCode.INPUT_UNREADABLE, ref.name, describeFsError(err));
  }
  const comp = sniffCompression(first);
  const rest: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => it,
  };
  let produced = 0;
  try {
    if (comp === 'none') {
      produced += first.length;
      yield first;
      for await (const c of rest) {
        produced += c.length;
        yield c;
      }
    } else if (comp === 'gzip') {
      // (loaded on first use, as zstd's: ≈5 ms of start-up that plain inputs do not need)
      const [{ createGunzip }, { Readable }] = await Promise.all([
        import('node:zlib'),
        import('node:stream'),
      ]);
      const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
      const src = Readable.from(prepend(first, rest));
      src.on('error', (e) => gunzip.destroy(e));
      src.pipe(gunzip);
      for await (const c of gunzip as AsyncIterable<Buffer>) {
        produced += c.length;
        yield c;
      }
    } else {
      for await (const c of zstdChunks(prepend(first, rest))) {
        produced += c.length;
        yield c;
      }
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const what = comp === 'none' ? 'read failed' : `${comp} stream is corrupt or truncated`;
    throw new InputError(
      ErrorCode.INPUT_TRUNCATED,
      ref.name,
      `${what} (${describeFsError(err)}); ${produced} bytes were read`,
      { offset: produced },
    );
  }
}

/**
 * Like readChunks, but for a consumer that is done with each chunk before asking for the next
 * (the capture engine: its frames are "valid only during the call"). An uncompressed file is read
 * into a small ring of reused buffers with the next read already in flight while the caller works
 * on the current chunk: no fresh allocation (and page faults) per MiB, and the copy out of the
 * page cache overlaps the caller's work on the libuv thread. A chunk's bytes are overwritten
 * after the following `next()`. Compressed inputs and stdin fall back to readChunks (their
 * chunks are fresh anyway).
 */
export async function* readChunksReused(
  ref: InputRef,
  chunkBytes = REUSED_CHUNK_BYTES,
): AsyncGenerator<Buffer> {
  if (ref.path === null) {
    yield* readChunks(ref);
    return;
  }
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(ref.path, 'r');
  } catch (err) {
    throw new InputError(ErrorCode.INPUT_UNREADABLE, ref.name, describeFsError(err));
  }
  let handedOff = false;
  let pending: Promise<number> | null = null;
  try {
    // Three buffers: the one the caller holds, the one being filled, and one spare so a read is
    // never issued into the buffer the caller still holds.
    const ring = [0, 1, 2].map(() => Buffer.allocUnsafeSlow(chunkBytes));
    let produced = 0;
    const read = (i: number): Promise<number> =>
      fh.read(ring[i % 3]!, 0, chunkBytes, null).then((r) => r.bytesRead);
    let n: number;
    try {
      n = await read(0);
    } catch (err) {
      throw new InputError(ErrorCode.INPUT_UNREADABLE, ref.name, describeFsError(err));
    }
    if (n === 0) return;
    if (sniffCompression(ring[0]!.subarray(0, n)) !== 'none') {
      // Compressed: hand the file to readChunks from the start (it decompresses while streaming).
      handedOff = true;
      await fh.close();
      yield* readChunks(ref);
      return;
    }
    for (let i = 0; ; i++) {
      const next = read(i + 1);
      // A rejected read must not go unhandled while the caller works on this chunk.
      next.catch(() => undefined);
      pending = next;
      produced += n;
      yield ring[i % 3]!.subarray(0, n);
      try {
        n = await next;
        pending = null;
      } catch (err) {
        throw new InputError(
          ErrorCode.INPUT_TRUNCATED,
          ref.name,
          `read failed (${describeFsError(err)}); ${produced} bytes were read`,
          { offset: produced },
        );
      }
      if (n === 0) return;
    }
  } finally {
    // Stopped early (the caller broke out): let the read in flight finish before closing.
    if (pending) await pending.catch(() => 0);
    if (!handedOff) await fh.close().catch(() => undefined);
  }
}

/** Chunk size for readChunksReused: large reads amortise the syscall and the caller's per-chunk work. */
const REUSED_CHUNK_BYTES = 4 << 20;

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

async function* zstdChunks(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const { Decompress } = await import('fzstd');
  const d = new Decompress((data) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  for await (const c of src) {
    d.push(c);
    while (out.length) yield out.shift()!;
  }
  d.push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
}

/** Read the first `n` decompressed bytes of an input (for format detection). */
export async function readHead(ref: InputRef, n: number): Promise<Buffer> {
  if (ref.path === null) throw new Error('readHead: stdin cannot be re-read');
  const parts: Buffer[] = [];
  let len = 0;
  for await (const c of readChunks(ref)) {
    parts.push(c);
    len += c.length;
    if (len >= n) break;
  }
  return Buffer.concat(parts).subarray(0, n);
}
