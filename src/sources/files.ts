// Input sources: files, directories (walked), `-` for stdin; `.gz` and `.zst` (and gzip/zstd by
// magic bytes) decompressed transparently while streaming. The only module that reads files.
// Every input is delivered as an async sequence of Buffer chunks, never loaded whole.

import { createReadStream, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Decompress as ZstdDecompress } from 'fzstd';
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

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

async function* zstdChunks(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const d = new ZstdDecompress((data) => {
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
