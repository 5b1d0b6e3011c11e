// Records of one table spec (schema.ts) encoded column by column into a chunk of at most
// CHUNK_ROWS rows held in two ArrayBuffers: pure JS, no database client, so it can run in a
// worker thread and be transferred to the thread that appends (ingest/log-worker.ts).
//
// Layout (little-endian):
//   fixed  per column, at 8-byte aligned offsets (ChunkColumn):
//            values      bigint/ts: int64 as two uint32 halves; double: float64; int: int32;
//                        bool: uint8; text/json: int32 byte offsets into `bytes`, rows + 1 of them
//            validity    one bit per row, 1 = valid, in whole uint64 words (DuckDB's validity
//                        mask layout); read only when the column has NULLs
//   bytes  the UTF-8 bytes of every non-constant string column, one column after the other.
//
// Values are narrowed to the column's type; what does not fit becomes NULL rather than an
// exception (records come from hostile input): non-integer or out-of-range ints, non-finite or
// ≥ 2^63 bigints/timestamps, non-strings in JSON columns. TEXT columns stringify other values.
// A string column with the same value in every row (file, format) is sent as that one value.

import type { ColumnType, ColumnValue, TableSpec } from './schema.js';
import { jsonBytesBound, utf8Write, writeJsonBytes } from './json-bytes.js';

/** DuckDB's STANDARD_VECTOR_SIZE: the most rows one chunk holds. */
export const CHUNK_ROWS = 2048;

const INT32_MAX = 2 ** 31 - 1;
/** Numbers at or above 2^63 do not fit a BIGINT; they are stored as NULL. */
const INT64_LIMIT = 2 ** 63;
const TWO_32 = 2 ** 32;
/** Strings up to this many characters are written by a JS loop when ASCII (see putStrings). */
const SHORT_CHARS = 16;

/** Bytes per value of the fixed-width types; strings keep rows + 1 int32 offsets instead. */
export const VALUE_BYTES: Record<ColumnType, number> = {
  bigint: 8,
  ts: 8,
  double: 8,
  int: 4,
  bool: 1,
  text: 4,
  json: 4,
};

export interface ChunkColumn {
  /** NULLs in the column; -1 for a constant string column (`constant`). */
  nulls: number;
  /** Byte offset in `fixed` of the values (strings: of the rows + 1 offsets). */
  dataAt: number;
  /** Byte offset in `fixed` of the validity words; -1 when there are no NULLs. */
  validAt: number;
  /** String columns: where the column's bytes start in `bytes` (its offsets are relative to it). */
  bytesAt: number;
  /** The value of every row of a constant string column. */
  constant: string | null;
}

export interface ColumnChunk {
  rows: number;
  fixed: ArrayBuffer;
  bytes: ArrayBuffer;
  columns: ChunkColumn[];
}

const align8 = (n: number): number => (n + 7) & ~7;

/** Bytes of the validity mask of `rows` rows (whole uint64 words). */
export function validityBytes(rows: number): number {
  return ((rows + 63) >>> 6) * 8;
}

/**
 * Encodes records of one spec. `encode(…, true)` gives buffers of its own (for a transfer);
 * `encode(…, false)` reuses scratch buffers, valid until the next call.
 */
export class ChunkEncoder<R> {
  private readonly kinds: ColumnType[];
  /** Strings of one column of the chunk being encoded ('' past the rows; reset after use). */
  private readonly vals: string[] = new Array<string>(CHUNK_ROWS).fill('');
  private scratchFixed = new ArrayBuffer(0);
  private scratchBytes: Buffer = Buffer.alloc(1 << 16);

  constructor(readonly spec: TableSpec<R>) {
    this.kinds = spec.columns.map((c) => c.type);
  }

  /** Layout of the fixed region for `n` rows: per column [dataAt, validAt], and its size. */
  private layout(n: number): { at: number[]; size: number } {
    const at: number[] = [];
    let size = 0;
    for (const k of this.kinds) {
      at.push(size);
      size = align8(size + VALUE_BYTES[k] * (k === 'text' || k === 'json' ? n + 1 : n));
      at.push(size);
      size += validityBytes(n);
    }
    return { at, size };
  }

  encode(
    batch: readonly R[],
    start: number,
    n: number,
    inputId: number | null,
    own: boolean,
  ): ColumnChunk {
    const { at, size } = this.layout(n);
    let fixed: ArrayBuffer;
    if (own) fixed = new ArrayBuffer(size);
    else {
      if (this.scratchFixed.byteLength < size) this.scratchFixed = new ArrayBuffer(size);
      fixed = this.scratchFixed;
    }
    const cols = this.spec.columns;
    const columns: ChunkColumn[] = [];
    let bytesUsed = 0;
    const words = validityBytes(n) >>> 2;
    for (let c = 0; c < cols.length; c++) {
      const get = cols[c]!.get;
      const kind = this.kinds[c]!;
      const dataAt = at[2 * c]!;
      const validAt = at[2 * c + 1]!;
      const valid = new Uint32Array(fixed, validAt, words);
      valid.fill(0xffffffff);
      let nulls = 0;
      let constant: string | null = null;
      let bytesAt = 0;
      switch (kind) {
        case 'text':
        case 'json': {
          const object = cols[c]!.object;
          if (kind === 'json' && object) {
            // The object's JSON bytes written directly (json-bytes.ts), no JSON string made.
            bytesAt = bytesUsed;
            bytesUsed = this.putObjects(
              object,
              batch,
              start,
              n,
              valid,
              new Int32Array(fixed, dataAt, n + 1),
              bytesAt,
            );
            nulls = this.lastNulls;
            break;
          }
          const json = kind === 'json';
          const vals = this.vals;
          let first: string | null = null;
          let same = true;
          for (let i = 0; i < n; i++) {
            const raw: ColumnValue = get(batch[start + i]!, inputId);
            const v =
              raw === null ? null : typeof raw === 'string' ? raw : json ? null : String(raw);
            if (i === 0) first = v;
            else if (same && v !== first) same = false;
            if (v === null) {
              valid[i >>> 5]! &= ~(1 << (i & 31));
              nulls++;
            } else vals[i] = v;
          }
          if (same && first !== null && n > 1) {
            vals.fill('', 0, n);
            constant = first;
            nulls = -1;
            break;
          }
          bytesAt = bytesUsed;
          bytesUsed = this.putStrings(vals, n, new Int32Array(fixed, dataAt, n + 1), bytesAt);
          break;
        }
        case 'bigint':
        case 'ts': {
          const u32 = new Uint32Array(fixed, dataAt, 2 * n);
          const i32 = new Int32Array(fixed, dataAt, 2 * n);
          for (let i = 0; i < n; i++) {
            const v: ColumnValue = get(batch[start + i]!, inputId);
            if (typeof v === 'number' && v > -INT64_LIMIT && v < INT64_LIMIT) {
              const t = Math.trunc(v);
              const hi = Math.floor(t / TWO_32);
              u32[2 * i] = t - hi * TWO_32;
              i32[2 * i + 1] = hi;
            } else {
              u32[2 * i] = 0;
              i32[2 * i + 1] = 0;
              valid[i >>> 5]! &= ~(1 << (i & 31));
              nulls++;
            }
          }
          break;
        }
        case 'double': {
          const f64 = new Float64Array(fixed, dataAt, n);
          for (let i = 0; i < n; i++) {
            const v = get(batch[start + i]!, inputId);
            if (typeof v === 'number') f64[i] = v;
            else {
              f64[i] = 0;
              valid[i >>> 5]! &= ~(1 << (i & 31));
              nulls++;
            }
          }
          break;
        }
        case 'int': {
          const i32 = new Int32Array(fixed, dataAt, n);
          for (let i = 0; i < n; i++) {
            const v = get(batch[start + i]!, inputId);
            if (typeof v === 'number' && Number.isInteger(v) && v <= INT32_MAX && v >= -INT32_MAX)
              i32[i] = v;
            else {
              i32[i] = 0;
              valid[i >>> 5]! &= ~(1 << (i & 31));
              nulls++;
            }
          }
          break;
        }
        case 'bool': {
          const u8 = new Uint8Array(fixed, dataAt, n);
          for (let i = 0; i < n; i++) {
            const v = get(batch[start + i]!, inputId);
            if (typeof v === 'boolean') u8[i] = v ? 1 : 0;
            else {
              u8[i] = 0;
              valid[i >>> 5]! &= ~(1 << (i & 31));
              nulls++;
            }
          }
          break;
        }
      }
      columns.push({ nulls, dataAt, validAt: nulls > 0 ? validAt : -1, bytesAt, constant });
    }
    // scratchBytes comes from Buffer.alloc (never pooled): its bytes start at offset 0.
    let bytes = this.scratchBytes.buffer as ArrayBuffer;
    if (own) bytes = bytes.slice(0, bytesUsed);
    return { rows: n, fixed, bytes, columns };
  }

  /** NULLs counted by the last putObjects. */
  private lastNulls = 0;

  /** JSON bytes of each row's object (NULL for none or an empty one), like putStrings. */
  private putObjects(
    object: (r: R) => Readonly<Record<string, unknown>> | null,
    batch: readonly R[],
    start: number,
    n: number,
    valid: Uint32Array,
    offsets: Int32Array,
    at: number,
  ): number {
    let off = at;
    let nulls = 0;
    offsets[0] = 0;
    for (let i = 0; i < n; i++) {
      const o = object(batch[start + i]!);
      let end = -1;
      if (o !== null) {
        const need = off + jsonBytesBound(o);
        if (need > this.scratchBytes.length) this.growBytes(need);
        end = writeJsonBytes(o, this.scratchBytes, off);
      }
      if (end < 0) {
        valid[i >>> 5]! &= ~(1 << (i & 31));
        nulls++;
      } else off = end;
      offsets[i + 1] = off - at;
    }
    this.lastNulls = nulls;
    return off;
  }

  /**
   * UTF-8 bytes of `vals[0..n)` at `at` in the scratch bytes, their offsets (relative to `at`)
   * in `offsets`; resets `vals`. Each string is written on its own (Buffer#utf8Write: a lone
   * surrogate becomes U+FFFD, as in every other string conversion of the bindings), short ASCII
   * ones by a JS loop. Measured here: concatenating a column's strings to write them at once made
   * the concatenations survive scavenges (425 MB promoted instead of 34 MB on 1M JSON lines) and
   * cost more than it saved. Returns the end.
   */
  private putStrings(vals: string[], n: number, offsets: Int32Array, at: number): number {
    let off = at;
    offsets[0] = 0;
    let sb = this.scratchBytes;
    for (let i = 0; i < n; i++) {
      const v = vals[i]!;
      const len = v.length;
      if (off + 3 * len > sb.length) sb = this.growBytes(off + 3 * len);
      let k = 0;
      if (len <= SHORT_CHARS) {
        for (; k < len; k++) {
          const c = v.charCodeAt(k);
          if (c >= 0x80) break;
          sb[off + k] = c;
        }
      }
      off += k === len ? len : utf8Write(sb, v, off);
      offsets[i + 1] = off - at;
      vals[i] = '';
    }
    return off;
  }

  private growBytes(size: number): Buffer {
    const b = Buffer.alloc(Math.max(size, this.scratchBytes.length * 2));
    this.scratchBytes.copy(b);
    this.scratchBytes = b;
    return b;
  }
}
