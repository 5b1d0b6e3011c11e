// Hands encoded column chunks (../columns.ts) to a DuckDB Appender as data chunks.
//
// Why not DuckDBVector.setItem: the node-api vectors allocate per cell (a BigInt per BIGINT, a
// BigInt plus a DuckDBTimestampValue per TIMESTAMP, BigInt shifts per validity bit) and keep a JS
// item cache that flush() walks again. On the 1M-line bench that was ~40% of ingest CPU (GC 20%).
// Here each column goes into its vector with one native copy of its values and one of its validity
// mask. String columns become DuckDB string_t slots (duckdb.h duckdb_string_t: a uint32 length,
// then up to 12 bytes inline, else a 4-byte prefix and a pointer): built in JS, copied at once.
// The bytes of the strings longer than 12 bytes are copied into the vector's string heap with one
// native call per column (the column's whole UTF-8 buffer, encoded by columns.ts, possibly on
// another thread), and their slots point into that copy. Measured on one thread this costs the
// same as one vector_assign_string_element per string (the UTF-8 bytes are the cost, ≈1 ns/byte,
// not the calls); what it buys is that the strings can be encoded where the records are, and only
// bytes cross threads. The raw binding (@duckdb/node-bindings, the exact version @duckdb/node-api
// pins) is used only for these copies. Assumes a little-endian machine with 64-bit pointers.

import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import type { ColumnType, TableSpec } from '../schema.js';
import {
  CHUNK_ROWS,
  ChunkEncoder,
  VALUE_BYTES,
  validityBytes,
  type ColumnChunk,
} from '../columns.js';

export { CHUNK_ROWS } from '../columns.js';

const TWO_32 = 2 ** 32;
/** string_t keeps strings of at most this many bytes inline. */
const INLINE_BYTES = 12;

export class ChunkWriter<R> {
  private readonly kinds: ColumnType[];
  private readonly encoder: ChunkEncoder<R>;
  /** The vector's 16-byte string_t slots of one string column. */
  private readonly slots = new ArrayBuffer(16 * CHUNK_ROWS);
  private readonly slotU8 = new Uint8Array(this.slots);
  private readonly slotU32 = new Uint32Array(this.slots);

  constructor(
    readonly spec: TableSpec<R>,
    private readonly types: readonly DuckDBType[],
  ) {
    this.kinds = spec.columns.map((c) => c.type);
    this.encoder = new ChunkEncoder(spec);
  }

  /** Append `batch` to `appender` in chunks of at most CHUNK_ROWS rows. */
  append(appender: DuckDBAppender, batch: readonly R[], inputId: number | null): void {
    for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, batch.length - start);
      this.write(appender, this.encoder.encode(batch, start, n, inputId, false));
    }
  }

  /** Append one encoded chunk (of this writer's spec). */
  write(appender: DuckDBAppender, e: ColumnChunk): void {
    const n = e.rows;
    if (n === 0) return;
    // A fresh chunk per append: the appender copies it, but reuse is not documented as safe.
    const chunk = DuckDBDataChunk.create(this.types, n);
    for (let c = 0; c < this.kinds.length; c++) {
      const col = e.columns[c]!;
      const vec = duckdb.data_chunk_get_vector(chunk.chunk, c);
      const kind = this.kinds[c]!;
      if (col.nulls < 0) {
        duckdb.vector_reference_value(vec, duckdb.create_varchar(col.constant ?? ''));
        continue;
      }
      if (kind === 'text' || kind === 'json') this.writeStrings(vec, e, col.dataAt, col.bytesAt, n);
      else duckdb.copy_data_to_vector(vec, 0, e.fixed, col.dataAt, VALUE_BYTES[kind] * n);
      if (col.nulls > 0) {
        duckdb.vector_ensure_validity_writable(vec);
        duckdb.copy_data_to_vector_validity(vec, 0, e.fixed, col.validAt, validityBytes(n));
      }
    }
    appender.appendDataChunk(chunk);
  }

  private writeStrings(
    vec: duckdb.Vector,
    e: ColumnChunk,
    dataAt: number,
    bytesAt: number,
    n: number,
  ): void {
    const off = new Int32Array(e.fixed, dataAt, n + 1);
    const total = off[n]!;
    const src = new Uint8Array(e.bytes, bytesAt, total);
    let heapLo = 0;
    let heapHi = 0;
    for (let i = 0; i < n; i++) {
      if (off[i + 1]! - off[i]! > INLINE_BYTES) {
        // Longer than 12 bytes, so the copy goes to the heap; slot 0 is rewritten below.
        duckdb.vector_assign_string_element_len(vec, 0, src);
        const d = duckdb.vector_get_data(vec, 16);
        const s0 = new DataView(d.buffer, d.byteOffset, 16);
        heapLo = s0.getUint32(8, true);
        heapHi = s0.getUint32(12, true);
        break;
      }
    }
    const u8 = this.slotU8;
    const u32 = this.slotU32;
    u32.fill(0, 0, 4 * n);
    for (let i = 0; i < n; i++) {
      const a = off[i]!;
      const len = off[i + 1]! - a;
      if (len === 0) continue;
      const o = 16 * i;
      u32[o >>> 2] = len;
      if (len <= INLINE_BYTES) {
        for (let k = 0; k < len; k++) u8[o + 4 + k] = src[a + k]!;
        continue;
      }
      u8[o + 4] = src[a]!;
      u8[o + 5] = src[a + 1]!;
      u8[o + 6] = src[a + 2]!;
      u8[o + 7] = src[a + 3]!;
      let lo = heapLo + a;
      let hi = heapHi;
      if (lo >= TWO_32) {
        lo -= TWO_32;
        hi++;
      }
      u32[(o >>> 2) + 2] = lo;
      u32[(o >>> 2) + 3] = hi;
    }
    duckdb.copy_data_to_vector(vec, 0, this.slots, 0, 16 * n);
  }
}
