// Span and metric-point tables for the DuckDB store (DESIGN.md "Normalized model": spans, points).
// An extension kept beside duckdb-store.ts until store.ts / schema.ts grow `appendSpans` /
// `appendPoints` (see the report to the lead): the table specs below are meant to move into
// schema.ts (RECORD_TABLES) and the writer into DuckDbStore. Appends go through data chunks and an
// Appender like the other tables, never row-by-row INSERTs.

import {
  DuckDBDataChunk,
  timestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBVector,
} from '@duckdb/node-api';
import type { AttrValue } from '../../model/records.js';
import type {
  MetricPoint,
  Span,
  SpanEvent,
  SpanKind,
  SpanLink,
  SpanStatus,
} from '../../model/span.js';
import type { ColumnType, ColumnValue, TableSpec } from '../schema.js';
import { StoreError } from '../store.js';
import type { DuckDbStore } from './duckdb-store.js';

/** Resource objects are shared by every span of a ResourceSpans: serialise each once. */
const resourceJson = new WeakMap<object, string | null>();
function resourceOf(r: Record<string, AttrValue>): string | null {
  let s = resourceJson.get(r);
  if (s === undefined) {
    s = jsonOrNull(r);
    resourceJson.set(r, s);
  }
  return s;
}

function jsonOrNull(a: Record<string, unknown>): string | null {
  for (const _ in a) return JSON.stringify(a);
  return null;
}

export const SPANS: TableSpec<Span> = {
  name: 'spans',
  columns: [
    { name: 'ts', type: 'ts', get: (r) => r.startUs },
    { name: 'trace_id', type: 'text', get: (r) => r.traceId },
    { name: 'span_id', type: 'text', get: (r) => r.spanId },
    { name: 'parent_span_id', type: 'text', get: (r) => r.parentSpanId },
    { name: 'service', type: 'text', get: (r) => r.service },
    { name: 'name', type: 'text', get: (r) => r.name },
    { name: 'kind', type: 'text', get: (r) => r.kind },
    { name: 'start_us', type: 'bigint', get: (r) => r.startUs },
    { name: 'end_us', type: 'bigint', get: (r) => r.endUs },
    { name: 'duration_ms', type: 'double', get: (r) => (r.endUs - r.startUs) / 1000 },
    { name: 'status', type: 'text', get: (r) => r.status },
    { name: 'status_message', type: 'text', get: (r) => r.statusMessage },
    { name: 'attributes', type: 'json', get: (r) => jsonOrNull(r.attributes) },
    {
      name: 'events',
      type: 'json',
      get: (r) => (r.events.length ? JSON.stringify(r.events) : null),
    },
    { name: 'links', type: 'json', get: (r) => (r.links.length ? JSON.stringify(r.links) : null) },
    { name: 'resource', type: 'json', get: (r) => resourceOf(r.resource) },
    { name: 'scope', type: 'text', get: (r) => r.scope },
    { name: 'format', type: 'text', get: (r) => r.format },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

export const POINTS: TableSpec<MetricPoint> = {
  name: 'points',
  columns: [
    { name: 'ts', type: 'ts', get: (r) => r.tsUs },
    { name: 'ts_us', type: 'bigint', get: (r) => r.tsUs },
    { name: 'name', type: 'text', get: (r) => r.name },
    { name: 'labels', type: 'json', get: (r) => jsonOrNull(r.labels) },
    { name: 'value', type: 'double', get: (r) => r.value },
    { name: 'kind', type: 'text', get: (r) => r.kind },
    { name: 'temporality', type: 'text', get: (r) => r.temporality },
    { name: 'unit', type: 'text', get: (r) => r.unit },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

const DDL_TYPE: Record<ColumnType, string> = {
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  text: 'VARCHAR',
  ts: 'TIMESTAMP',
  bool: 'BOOLEAN',
  json: 'JSON',
};

const CHUNK_ROWS = 2048;
const INT32_MAX = 2 ** 31 - 1;
const INT64_LIMIT = 2 ** 63;
type Setter = (vec: DuckDBVector, row: number, v: ColumnValue) => void;
const SETTERS: Record<ColumnType, Setter> = {
  text: (vec, i, v) => vec.setItem(i, v === null ? null : typeof v === 'string' ? v : String(v)),
  json: (vec, i, v) => vec.setItem(i, typeof v === 'string' ? v : null),
  int: (vec, i, v) =>
    vec.setItem(
      i,
      typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= INT32_MAX ? v : null,
    ),
  double: (vec, i, v) => vec.setItem(i, typeof v === 'number' ? v : null),
  bigint: (vec, i, v) =>
    vec.setItem(
      i,
      typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < INT64_LIMIT
        ? BigInt(Math.trunc(v))
        : null,
    ),
  ts: (vec, i, v) =>
    vec.setItem(
      i,
      typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < INT64_LIMIT - 1
        ? timestampValue(BigInt(Math.trunc(v)))
        : null,
    ),
  bool: (vec, i, v) => vec.setItem(i, typeof v === 'boolean' ? v : null),
};

class Writer<R> {
  private appender: DuckDBAppender | null = null;
  private types: DuckDBType[] = [];
  private readonly setters: Setter[];
  rows = 0;
  constructor(
    private readonly conn: DuckDBConnection,
    readonly spec: TableSpec<R>,
  ) {
    this.setters = spec.columns.map((c) => SETTERS[c.type]);
  }
  async append(batch: readonly R[], inputId: number | null): Promise<void> {
    if (batch.length === 0) return;
    if (!this.appender) {
      this.appender = await this.conn.createAppender(this.spec.name);
      this.types = this.spec.columns.map((_, i) => this.appender!.columnType(i));
    }
    const cols = this.spec.columns;
    for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, batch.length - start);
      const chunk = DuckDBDataChunk.create(this.types, n);
      for (let c = 0; c < cols.length; c++) {
        const get = cols[c]!.get;
        const set = this.setters[c]!;
        const vec = chunk.getColumnVector(c);
        for (let i = 0; i < n; i++) set(vec, i, get(batch[start + i]!, inputId));
        vec.flush();
      }
      this.appender.appendDataChunk(chunk);
      this.rows += n;
    }
  }
  flush(): void {
    this.appender?.flushSync();
  }
  close(): void {
    if (this.appender) {
      this.appender.closeSync();
      this.appender = null;
    }
  }
}

/**
 * The DuckDbStore's connection. TEMPORARY: reaches into a private field until DuckDbStore exposes
 * span/point appends itself (then this file's writer moves there and this function goes away).
 */
export function connectionOf(store: DuckDbStore): DuckDBConnection {
  const conn = (store as unknown as { conn?: DuckDBConnection }).conn;
  if (!conn) throw new StoreError('duckdb store has no connection (store internals changed)');
  return conn;
}

/** Spans and points tables on a DuckDB connection (created if missing). */
export class DuckDbSpanTables {
  private readonly spans: Writer<Span>;
  private readonly points: Writer<MetricPoint>;

  private constructor(private readonly conn: DuckDBConnection) {
    this.spans = new Writer(conn, SPANS);
    this.points = new Writer(conn, POINTS);
  }

  static async open(conn: DuckDBConnection): Promise<DuckDbSpanTables> {
    for (const t of [SPANS, POINTS] as TableSpec<never>[]) {
      const cols = t.columns.map((c) => `"${c.name}" ${DDL_TYPE[c.type]}`);
      await conn.run(`CREATE TABLE IF NOT EXISTS ${t.name} (${cols.join(', ')})`);
    }
    return new DuckDbSpanTables(conn);
  }

  appendSpans(batch: readonly Span[], inputId: number | null = null): Promise<void> {
    return this.spans.append(batch, inputId);
  }
  appendPoints(batch: readonly MetricPoint[], inputId: number | null = null): Promise<void> {
    return this.points.append(batch, inputId);
  }
  flush(): void {
    this.spans.flush();
    this.points.flush();
  }
  close(): void {
    this.spans.close();
    this.points.close();
  }

  async count(table: 'spans' | 'points'): Promise<number> {
    this.flush();
    const r = await this.conn.runAndReadAll(`SELECT count(*) FROM ${table}`);
    return Number(r.getRows()[0]?.[0] ?? 0);
  }

  /** Every stored span of one trace, by start time. */
  async traceSpans(traceId: string): Promise<Span[]> {
    this.flush();
    const r = await this.conn.runAndReadAll(
      `SELECT trace_id, span_id, parent_span_id, service, name, kind, start_us, end_us, status,
              status_message, attributes::VARCHAR, events::VARCHAR, links::VARCHAR,
              resource::VARCHAR, scope, format
       FROM spans WHERE trace_id = $1 ORDER BY start_us, span_id`,
      [traceId],
    );
    return r.getRows().map((row) => ({
      traceId: String(row[0]),
      spanId: String(row[1]),
      parentSpanId: row[2] === null ? null : String(row[2]),
      service: row[3] === null ? null : String(row[3]),
      name: String(row[4]),
      kind: String(row[5]) as SpanKind,
      startUs: Number(row[6]),
      endUs: Number(row[7]),
      status: String(row[8]) as SpanStatus,
      statusMessage: row[9] === null ? null : String(row[9]),
      attributes: parse<Record<string, AttrValue>>(row[10], {}),
      events: parse<SpanEvent[]>(row[11], []),
      links: parse<SpanLink[]>(row[12], []),
      resource: parse<Record<string, AttrValue>>(row[13], {}),
      scope: row[14] === null ? null : String(row[14]),
      format: String(row[15]),
    }));
  }
}

function parse<T>(v: unknown, dflt: T): T {
  if (typeof v !== 'string') return dflt;
  try {
    return JSON.parse(v) as T;
  } catch {
    return dflt;
  }
}
