// Fills DuckDB data chunks column by column straight from JS values and hands them to an Appender.
//
// Why not DuckDBVector.setItem: the node-api vectors allocate per cell (a BigInt per BIGINT, a
// BigInt plus a DuckDBTimestampValue per TIMESTAMP, BigInt shifts per validity bit) and keep a JS
// item cache that flush() walks again. On the 1M-line bench that was ~40% of ingest CPU (GC 20%).
// Here fixed-width columns are written into reusable typed arrays (int64 as two 32-bit halves, so
// no BigInt) and copied into the vector with one native call each; validity is one bitmask copy;
// strings take one native call per non-null cell. The raw binding (@duckdb/node-bindings, the
// exact version @duckdb/node-api pins) is used only for these copies.

import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import type { ColumnType, ColumnValue, TableSpec } from '../schema.js';

/** DuckDB's STANDARD_VECTOR_SIZE: the most rows one data chunk holds. */
export const CHUNK_ROWS = 2048;

const INT32_MAX = 2 ** 31 - 1;
/** Numbers at or above 2^63 do not fit a BIGINT; they are stored as NULL. */
const INT64_LIMIT = 2 ** 63;
const TWO_32 = 2 ** 32;

const BYTES: Record<ColumnType, number> = {
  bigint: 8,
  ts: 8,
  double: 8,
  int: 4,
  bool: 1,
  text: 0,
  json: 0,
};

/** Reusable per-column scratch space for one chunk. */
interface Scratch {
  buf: ArrayBuffer;
  f64: Float64Array;
  i32: Int32Array;
  u32: Uint32Array;
  u8: Uint8Array;
}

function scratch(bytes: number): Scratch {
  const buf = new ArrayBuffer(Math.max(8, bytes));
  return {
    buf,
    f64: new Float64Array(buf),
    i32: new Int32Array(buf),
    u32: new Uint32Array(buf),
    u8: new Uint8Array(buf),
  };
}

/**
 * Writes batches of records of one table spec into data chunks. Each value is narrowed to the
 * column's type; anything that does not fit becomes NULL rather than an exception (records come
 * from hostile input): non-integer or out-of-range ints, non-finite or ≥ 2^63 bigints/timestamps,
 * non-strings in JSON columns. TEXT columns stringify non-string values.
 */
export class ChunkWriter<R> {
  private readonly kinds: ColumnType[];
  private readonly data: Scratch[];
  /** Validity bitmask: one bit per row, 1 = valid (DuckDB's layout, little-endian uint64 words). */
  private readonly valid = new Uint32Array(CHUNK_ROWS / 32);
  /** String columns: the vector's 16-byte string_t slots, for strings DuckDB stores inline. */
  private readonly slots = scratch(16 * CHUNK_ROWS);
  /** String columns: values too long (or not ASCII) to inline, set through the binding. */
  private readonly longAt = new Int32Array(CHUNK_ROWS);
  private readonly longValues: string[] = new Array<string>(CHUNK_ROWS).fill('');

  constructor(
    readonly spec: TableSpec<R>,
    private readonly types: readonly DuckDBType[],
  ) {
    this.kinds = spec.columns.map((c) => c.type);
    this.data = this.kinds.map((k) => scratch(BYTES[k] * CHUNK_ROWS));
  }

  /** Append `batch` to `appender` in chunks of at most CHUNK_ROWS rows. */
  append(appender: DuckDBAppender, batch: readonly R[], inputId: number | null): void {
    for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, batch.length - start);
      // A fresh chunk per append: the appender copies it, but reuse is not documented as safe.
      const chunk = DuckDBDataChunk.create(this.types, n);
      this.fill(chunk, batch, start, n, inputId);
      appender.appendDataChunk(chunk);
    }
  }

  private fill(
    chunk: DuckDBDataChunk,
    batch: readonly R[],
    start: number,
    n: number,
    inputId: number | null,
  ): void {
    const cols = this.spec.columns;
    const valid = this.valid;
    const words = (n + 31) >>> 5;
    for (let c = 0; c < cols.length; c++) {
      const get = cols[c]!.get;
      const vec = duckdb.data_chunk_get_vector(chunk.chunk, c);
      valid.fill(0xffffffff, 0, words);
      let nulls = 0;
      const kind = this.kinds[c]!;
      const s = this.data[c]!;
      switch (kind) {
        case 'text':
        case 'json':
          nulls = this.fillStrings(vec, c, kind === 'json', batch, start, n, inputId);
          break;
        case 'bigint':
        case 'ts': {
          const { u32, i32 } = s;
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
          duckdb.copy_data_to_vector(vec, 0, s.buf, 0, n * 8);
          break;
        }
        case 'double': {
          const f64 = s.f64;
          for (let i = 0; i < n; i++) {
            const v = get(batch[start + i]!, inputId);
            if (typeof v === 'number') f64[i] = v;
            else {
              f64[i] = 0;
              valid[i >>> 5]! &= ~(1 << (i & 31));
              nulls++;
            }
          }
          duckdb.copy_data_to_vector(vec, 0, s.buf, 0, n * 8);
          break;
        }
        case 'int': {
          const i32 = s.i32;
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
          duckdb.copy_data_to_vector(vec, 0, s.buf, 0, n * 4);
          break;
        }
        case 'bool': {
          const u8 = s.u8;
          for (let i = 0; i < n; i++) {
            const v = get(batch[start + i]!, inputId);
            if (typeof v === 'boolean') u8[i] = v ? 1 : 0;
            else {
              u8[i] = 0;
              valid[i >>> 5]! &= ~(1 << (i & 31));
              nulls++;
            }
          }
          duckdb.copy_data_to_vector(vec, 0, s.buf, 0, n);
          break;
        }
      }
      if (nulls < 0) continue; // a constant vector: no validity mask
      if (nulls > 0) {
        duckdb.vector_ensure_validity_writable(vec);
        // Whole uint64 words: DuckDB's mask is an array of uint64.
        const bytes = ((n + 63) >>> 6) * 8;
        if (words & 1) valid[words] = 0xffffffff;
        duckdb.copy_data_to_vector_validity(vec, 0, valid.buffer, 0, bytes);
      }
    }
  }

  /**
   * A VARCHAR/JSON column. DuckDB's string_t is 16 bytes: a uint32 length, then for strings of at
   * most 12 bytes the bytes themselves (zero-padded), else a prefix and a heap pointer. Short
   * ASCII strings (methods, status words, IPv4 addresses, format names) are written inline into
   * a scratch copy of the slots, which is copied into the vector at once; the others take one
   * native call each (≈90 ns + 1 ns/byte), after the copy. A column whose value is the same in
   * every row (file, format) becomes a constant vector: one native call per chunk.
   * Returns the number of NULLs, or -1 for a constant vector.
   */
  private fillStrings(
    vec: duckdb.Vector,
    c: number,
    json: boolean,
    batch: readonly R[],
    start: number,
    n: number,
    inputId: number | null,
  ): number {
    const get = this.spec.columns[c]!.get;
    const valid = this.valid;
    const { u8, u32 } = this.slots;
    const longAt = this.longAt;
    const longValues = this.longValues;
    let longs = 0;
    let nulls = 0;
    let first: string | null = null;
    let same = true;
    u32.fill(0, 0, n * 4);
    for (let i = 0; i < n; i++) {
      const raw = get(batch[start + i]!, inputId);
      const v = raw === null ? null : typeof raw === 'string' ? raw : json ? null : String(raw);
      const o = i * 16;
      if (i === 0) first = v;
      else if (same && v !== first) same = false;
      if (v === null) {
        valid[i >>> 5]! &= ~(1 << (i & 31));
        nulls++;
        continue;
      }
      const len = v.length;
      let inline = len <= 12;
      if (inline) {
        for (let k = 0; k < len; k++) {
          const ch = v.charCodeAt(k);
          if (ch >= 0x80) {
            inline = false;
            break;
          }
          u8[o + 4 + k] = ch;
        }
      }
      if (inline) u32[o >>> 2] = len;
      else {
        longAt[longs] = i;
        longValues[longs++] = v;
      }
    }
    if (same && first !== null && n > 1) {
      duckdb.vector_reference_value(vec, duckdb.create_varchar(first));
      longValues.fill('', 0, longs);
      return -1;
    }
    duckdb.copy_data_to_vector(vec, 0, this.slots.buf, 0, n * 16);
    for (let k = 0; k < longs; k++) {
      duckdb.vector_assign_string_element(vec, longAt[k]!, longValues[k]!);
      longValues[k] = '';
    }
    return nulls;
  }
}
