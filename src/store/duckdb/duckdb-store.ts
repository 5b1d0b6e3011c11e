// The embedded DuckDB store (@duckdb/node-api): a database file, or ':memory:' for one-shot runs.
// Appends go column by column into data chunks of DuckDB's vector size (2048 rows) handed to an
// Appender — never row-by-row INSERTs. The schema comes from ../schema.ts.

import {
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  timestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type DuckDBVector,
} from '@duckdb/node-api';
import type { Connection, Exchange, LogRecord } from '../../model/records.js';
import {
  CONNECTIONS,
  EXCHANGES,
  INPUTS,
  LOGS,
  RECORD_TABLES,
  SCHEMA_VERSION,
  type ColumnType,
  type ColumnValue,
  type InputRow,
  type TableSpec,
} from '../schema.js';
import {
  QueryError,
  StoreError,
  type Cell,
  type InputStats,
  type NewInput,
  type QueryOptions,
  type QueryResult,
  type Store,
  type TableInfo,
} from '../store.js';

/** DuckDB's STANDARD_VECTOR_SIZE: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;
const META_TABLE = 'mlscope_meta';

const DDL_TYPE: Record<ColumnType, string> = {
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  text: 'VARCHAR',
  ts: 'TIMESTAMP',
  bool: 'BOOLEAN',
  json: 'JSON',
};

export interface DuckDbStoreOptions {
  /** DuckDB worker threads (default: DuckDB's choice, the core count). */
  threads?: number;
}

/** Open (creating if needed) a DuckDB store at `path`, or in memory for ':memory:'. */
export async function openDuckDbStore(
  path: string,
  opts: DuckDbStoreOptions = {},
): Promise<DuckDbStore> {
  const config: Record<string, string> = {};
  if (opts.threads !== undefined) config['threads'] = String(opts.threads);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, config);
  } catch (err) {
    throw new StoreError(`cannot open database ${path}: ${firstLine(err)}`);
  }
  let conn: DuckDBConnection;
  try {
    conn = await instance.connect();
    await ensureSchema(conn, path);
  } catch (err) {
    instance.closeSync();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open database ${path}: ${firstLine(err)}`);
  }
  return new DuckDbStore(instance, conn);
}

async function ensureSchema(conn: DuckDBConnection, path: string): Promise<void> {
  const existing = new Set(
    (
      await conn.runAndReadAll(
        `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'`,
      )
    )
      .getRows()
      .map((r) => String(r[0])),
  );
  if (existing.has(META_TABLE)) {
    const r = await conn.runAndReadAll(
      `SELECT value FROM ${META_TABLE} WHERE key = 'schema_version'`,
    );
    const v = r.getRows()[0]?.[0];
    if (String(v) !== String(SCHEMA_VERSION))
      throw new StoreError(
        `${path} has store schema version ${String(v)}, this mlscope writes version ${SCHEMA_VERSION}; ingest into a new --db file`,
      );
    return;
  }
  const ours = [...RECORD_TABLES, INPUTS].map((t) => t.name).filter((n) => existing.has(n));
  if (ours.length)
    throw new StoreError(
      `${path} is not an mlscope database (it has table ${ours[0]} but no ${META_TABLE}); use another --db file`,
    );
  const ddl = [
    `CREATE TABLE ${META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)`,
    `INSERT INTO ${META_TABLE} VALUES ('schema_version', '${SCHEMA_VERSION}')`,
    ...[...RECORD_TABLES, INPUTS].map(createTableSql),
  ];
  await conn.run(`BEGIN TRANSACTION; ${ddl.join(';\n')}; COMMIT`);
}

function createTableSql(t: TableSpec<never>): string {
  const cols = t.columns.map((c) => `${quoteIdent(c.name)} ${DDL_TYPE[c.type]}`);
  return `CREATE TABLE ${t.name} (${cols.join(', ')})`;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

/** DuckDB errors are multi-line (LINE n: … with a caret); keep the first line and the hint. */
function queryError(err: unknown, sql: string): QueryError {
  const msg = (err instanceof Error ? err.message : String(err)).replace(
    /^Failed to (extract statements|prepare statement|execute prepared statement): /i,
    '',
  );
  const lines = msg.split('\n').map((l) => l.trim());
  let text = lines[0] ?? 'query failed';
  const hint = lines.find((l) => /^(Candidate bindings|Did you mean)/i.test(l));
  if (hint) text += ` (${hint})`;
  return new QueryError(text, sql);
}

// ---- appends -------------------------------------------------------------------------------------

const INT32_MAX = 2 ** 31 - 1;
/** Numbers at or above 2^63 do not fit a BIGINT; they are stored as NULL. */
const INT64_LIMIT = 2 ** 63;

type Setter = (vec: DuckDBVector, row: number, v: ColumnValue) => void;

// Each setter narrows a loose JS value to the column's type; anything that does not fit becomes
// NULL rather than an exception (records come from hostile input).
const SETTERS: Record<ColumnType, Setter> = {
  text: (vec, i, v) => vec.setItem(i, v === null ? null : typeof v === 'string' ? v : String(v)),
  json: (vec, i, v) => vec.setItem(i, typeof v === 'string' ? v : null),
  int: (vec, i, v) =>
    vec.setItem(
      i,
      typeof v === 'number' && Number.isInteger(v) && v <= INT32_MAX && v >= -INT32_MAX ? v : null,
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

/** One table's appender and the reusable chunk it is fed from. */
class TableWriter<R> {
  private appender: DuckDBAppender | null = null;
  private types: DuckDBType[] = [];
  private readonly setters: Setter[];
  private pendingRows = 0;

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
      // A fresh chunk per append: reusing one after appendDataChunk is not documented as safe.
      const chunk = DuckDBDataChunk.create(this.types, n);
      for (let c = 0; c < cols.length; c++) {
        const get = cols[c]!.get;
        const set = this.setters[c]!;
        const vec = chunk.getColumnVector(c);
        for (let i = 0; i < n; i++) set(vec, i, get(batch[start + i]!, inputId));
        vec.flush();
      }
      this.appender.appendDataChunk(chunk);
      this.pendingRows += n;
    }
  }

  flush(): void {
    if (this.appender && this.pendingRows > 0) {
      this.appender.flushSync();
      this.pendingRows = 0;
    }
  }

  close(): void {
    if (this.appender) {
      this.appender.closeSync();
      this.appender = null;
      this.pendingRows = 0;
    }
  }
}

// ---- query results -------------------------------------------------------------------------------

const BIG_INTEGER_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

/** DuckDB's JSON converter, except that 64-bit and wider integers become numbers when exact. */
const cellConverter: DuckDBValueConverter<Cell> = (value, type, converter) => {
  if (typeof value === 'bigint' && BIG_INTEGER_TYPES.has(type.typeId)) {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  return JsonDuckDBValueConverter(value, type, converter);
};

// ---- the store -----------------------------------------------------------------------------------

export class DuckDbStore implements Store {
  readonly backend = 'duckdb';
  private readonly logs: TableWriter<LogRecord>;
  private readonly connections: TableWriter<Connection>;
  private readonly exchanges: TableWriter<Exchange>;
  private closed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {
    this.logs = new TableWriter(conn, LOGS);
    this.connections = new TableWriter(conn, CONNECTIONS);
    this.exchanges = new TableWriter(conn, EXCHANGES);
  }

  private get writers(): TableWriter<never>[] {
    return [this.logs, this.connections, this.exchanges] as TableWriter<never>[];
  }

  appendLogs(batch: readonly LogRecord[], inputId: number | null = null): Promise<void> {
    return this.logs.append(batch, inputId);
  }
  appendConnections(batch: readonly Connection[], inputId: number | null = null): Promise<void> {
    return this.connections.append(batch, inputId);
  }
  appendExchanges(batch: readonly Exchange[], inputId: number | null = null): Promise<void> {
    return this.exchanges.append(batch, inputId);
  }

  flush(): Promise<void> {
    for (const w of this.writers) w.flush();
    return Promise.resolve();
  }

  async query(sql: string, opts: QueryOptions = {}): Promise<QueryResult> {
    await this.flush();
    try {
      const max = opts.maxRows;
      const reader =
        max === undefined
          ? await this.conn.runAndReadAll(sql)
          : await this.conn.streamAndReadUntil(sql, max + 1);
      const names = reader.columnNames();
      const columns = names.map((name, i) => ({ name, type: reader.columnType(i).toString() }));
      let rows: Cell[][] = reader.convertRows<Cell>(cellConverter);
      let truncated = false;
      if (max !== undefined && rows.length > max) {
        rows = rows.slice(0, max);
        truncated = true;
      }
      return { columns, rows, truncated };
    } catch (err) {
      throw queryError(err, sql);
    }
  }

  async validate(sql: string): Promise<void> {
    await this.flush();
    try {
      const extracted = await this.conn.extractStatements(sql);
      if (extracted.count !== 1)
        throw new Error(`expected one SQL statement, got ${extracted.count}`);
      const prepared = await extracted.prepare(0);
      prepared.destroySync();
    } catch (err) {
      throw queryError(err, sql);
    }
  }

  async tables(): Promise<TableInfo[]> {
    const r = await this.query(
      `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT internal AND table_name <> '${META_TABLE}' ORDER BY table_name`,
    );
    const out: TableInfo[] = [];
    for (const [name] of r.rows) {
      const n = text(name);
      const c = await this.query(`SELECT count(*) FROM ${quoteIdent(n)}`);
      out.push({ name: n, rows: Number(c.rows[0]?.[0] ?? 0) });
    }
    return out;
  }

  async inputs(): Promise<InputRow[]> {
    const r = await this.query(
      `SELECT id, path, size_bytes, epoch_us(mtime) / 1000.0 AS mtime_ms, head_hash, tail_hash, window_bytes, kind, format, records, skipped, status, error FROM inputs ORDER BY id`,
    );
    return r.rows.map((row) => ({
      id: Number(row[0]),
      path: text(row[1]),
      sizeBytes: Number(row[2]),
      mtimeMs: Number(row[3]),
      headHash: text(row[4]),
      tailHash: text(row[5]),
      windowBytes: Number(row[6]),
      kind: text(row[7]),
      format: row[8] === null ? null : text(row[8]),
      records: Number(row[9]),
      skipped: Number(row[10]),
      status: row[11] === 'done' ? 'done' : 'ingesting',
      error: row[12] === null ? null : text(row[12]),
    }));
  }

  async beginInput(input: NewInput): Promise<number> {
    await this.flush();
    const r = await this.conn.runAndReadAll(`SELECT coalesce(max(id), 0) + 1 FROM inputs`);
    const id = Number(r.getRows()[0]?.[0] ?? 1);
    const row: InputRow = {
      ...input,
      id,
      records: 0,
      skipped: 0,
      status: 'ingesting',
      error: null,
    };
    const values = INPUTS.columns.map((c) => sqlParam(c.type, c.get(row, null)));
    const marks = values.map((_, i) => `$${i + 1}`).join(', ');
    await this.conn.run(`INSERT INTO inputs VALUES (${marks})`, values);
    return id;
  }

  async finishInput(id: number, stats: InputStats): Promise<void> {
    await this.flush();
    await this.conn.run(
      `UPDATE inputs SET records = $1, skipped = $2, error = $3, format = coalesce($4, format), status = 'done' WHERE id = $5`,
      [BigInt(stats.records), BigInt(stats.skipped), stats.error, stats.format ?? null, id],
    );
  }

  async removeInput(id: number): Promise<number> {
    await this.flush();
    let deleted = 0;
    await this.conn.run('BEGIN TRANSACTION');
    try {
      for (const t of RECORD_TABLES) {
        const r = await this.conn.run(`DELETE FROM ${t.name} WHERE input_id = $1`, [id]);
        deleted += r.rowsChanged;
      }
      await this.conn.run(`DELETE FROM inputs WHERE id = $1`, [id]);
      await this.conn.run('COMMIT');
    } catch (err) {
      await this.conn.run('ROLLBACK');
      throw new StoreError(`cannot remove input ${id}: ${firstLine(err)}`);
    }
    return deleted;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    try {
      for (const w of this.writers) w.close();
    } finally {
      this.conn.closeSync();
      this.instance.closeSync();
    }
    return Promise.resolve();
  }
}

function text(v: Cell | undefined): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

/** A JS value as a bound SQL parameter of the column's type. */
function sqlParam(type: ColumnType, v: ColumnValue): DuckDBValue {
  if (v === null) return null;
  if (type === 'bigint' && typeof v === 'number') return BigInt(Math.trunc(v));
  if (type === 'ts' && typeof v === 'number') return timestampValue(BigInt(Math.trunc(v)));
  return v;
}
