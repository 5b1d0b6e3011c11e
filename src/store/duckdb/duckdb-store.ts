// The embedded DuckDB store (@duckdb/node-api): a database file, or ':memory:' for one-shot runs.
// Appends go column by column into data chunks of DuckDB's vector size (2048 rows) handed to an
// Appender — never row-by-row INSERTs. The schema comes from ../schema.ts.

import {
  DuckDBInstance,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  timestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBValue,
  type DuckDBValueConverter,
} from '@duckdb/node-api';
import type { AttrValue, Connection, Exchange, LogRecord } from '../../model/records.js';
import type {
  MetricPoint,
  Span,
  SpanEvent,
  SpanKind,
  SpanLink,
  SpanStatus,
} from '../../model/span.js';
import type { FlowRecord } from '../../model/flow.js';
import {
  CONNECTIONS,
  EXCHANGES,
  FLOWS,
  INPUTS,
  LOGS,
  POINTS,
  RECORD_TABLES,
  SPANS,
  SCHEMA_VERSION,
  TABLES_ADDED_IN,
  TAIL_POSITIONS,
  TEMPLATES,
  type ColumnType,
  type ColumnValue,
  type InputRow,
  type TableSpec,
  type TailPosition,
} from '../schema.js';
import {
  PROVISIONAL_TEMPLATE_PREFIX,
  QueryError,
  StoreError,
  type Cell,
  type InputStats,
  type InputTemplates,
  type NewInput,
  type QueryOptions,
  type QueryResult,
  type RowSink,
  type Store,
  type StreamedQuery,
  type TableInfo,
} from '../store.js';
import { ChunkWriter } from './chunk-writer.js';
import type { ColumnChunk } from '../columns.js';

const META_TABLE = 'mlscope_meta';
/** Temporary tables of a template fix-up (applyTemplates), in the connection's temp catalog. */
const TEMPLATE_KEYS = 'mlscope_template_keys';
const TEMPLATE_TEXTS = 'mlscope_template_texts';
const TEMPLATE_COUNTS = 'mlscope_template_counts';

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
  /**
   * Stage appends in memory and compress them into the file on DuckDB's threads (see
   * TableWriter). Off by default: it only pays with an idle core. Measured on the shared 2-core
   * box (1M JSON lines, load ≈ 3): 11.7 s CPU / 11.6 s wall staged vs 8.5 s / 8.6 s direct.
   */
  staged?: boolean;
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
  const staged = opts.staged ?? false;
  try {
    conn = await instance.connect();
    await ensureSchema(conn, path);
    if (staged) await conn.run(`ATTACH ':memory:' AS ${STAGE_DB}`);
  } catch (err) {
    instance.closeSync();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open database ${path}: ${firstLine(err)}`);
  }
  return new DuckDbStore(instance, conn, staged);
}

/** Every table a new database gets (besides META_TABLE), in creation order. */
const OWN_TABLES: readonly TableSpec<never>[] = [
  ...RECORD_TABLES,
  INPUTS,
  TAIL_POSITIONS,
  TEMPLATES,
];

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
    if (String(v) === String(SCHEMA_VERSION)) return;
    // An older file whose later versions only added tables: add them and move it forward.
    const from = Number(v);
    const added: TableSpec<never>[] = [];
    let upgradable = Number.isInteger(from) && from >= 2 && from < SCHEMA_VERSION;
    for (let k = from + 1; upgradable && k <= SCHEMA_VERSION; k++) {
      const t = TABLES_ADDED_IN[k];
      if (t === undefined) upgradable = false;
      else added.push(...t.filter((x) => !existing.has(x.name)));
    }
    if (!upgradable)
      throw new StoreError(
        `${path} has store schema version ${String(v)}, this mlscope writes version ${SCHEMA_VERSION}; ingest into a new --db file`,
      );
    const ddl = [
      ...added.map(createTableSql),
      `UPDATE ${META_TABLE} SET value = '${SCHEMA_VERSION}' WHERE key = 'schema_version'`,
    ];
    try {
      await conn.run(`BEGIN TRANSACTION; ${ddl.join(';\n')}; COMMIT`);
    } catch (err) {
      throw new StoreError(
        `${path} has store schema version ${String(v)} and could not be upgraded to ${SCHEMA_VERSION}: ${firstLine(err)}`,
      );
    }
    return;
  }
  const ours = OWN_TABLES.map((t) => t.name).filter((n) => existing.has(n));
  if (ours.length)
    throw new StoreError(
      `${path} is not an mlscope database (it has table ${ours[0]} but no ${META_TABLE}); use another --db file`,
    );
  const ddl = [
    `CREATE TABLE ${META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)`,
    `INSERT INTO ${META_TABLE} VALUES ('schema_version', '${SCHEMA_VERSION}')`,
    ...OWN_TABLES.map(createTableSql),
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

/**
 * Rows a staged writer collects in memory before moving them to the file table: one DuckDB row
 * group (122,880 rows), so each move writes whole row groups.
 */
const STAGE_ROWS = 122_880;
/** The in-memory database staged rows wait in (attached to the file database's instance). */
const STAGE_DB = 'mlscope_stage';

/**
 * One table's appender, fed through a ChunkWriter (chunk-writer.ts).
 *
 * Direct (the default): the appender writes the table itself.
 *
 * Staged (opt-in, `staged: true`, for file stores): an appender flush into a file table compresses and writes row groups
 * synchronously on the JS thread (≈2.5–3.5 µs/row for `logs`, as much as parsing the line). So the
 * appender fills an in-memory stage table instead (≈0.8 µs/row), and every STAGE_ROWS rows the
 * full stage is moved with `INSERT INTO t SELECT * FROM stage` on a second connection. That query
 * runs on DuckDB's threads, off the JS thread, while the next stage fills, so compression can
 * overlap parsing — given an idle core; with none it only adds the copy (see DuckDbStoreOptions).
 * Rows keep their order (stages are moved one after the other, in order).
 */
class TableWriter<R> {
  private appender: DuckDBAppender | null = null;
  private writer: ChunkWriter<R> | null = null;
  private pendingRows = 0;
  /** Staged mode: the stage being filled (a table in STAGE_DB), and its sequence number. */
  private stage: string | null = null;
  private stageSeq = 0;
  /** The move of the previous stage, running on `mover`; and the stage it reads (to drop). */
  private moving: Promise<void> | null = null;
  private movingStage: string | null = null;
  private moveError: unknown = null;

  constructor(
    private readonly conn: DuckDBConnection,
    readonly spec: TableSpec<R>,
    /** A second connection for moving stages; null writes the table directly. */
    private readonly mover: (() => Promise<DuckDBConnection>) | null = null,
  ) {}

  async append(batch: readonly R[], inputId: number | null): Promise<void> {
    if (batch.length === 0) return;
    this.throwMoveError();
    if (!this.appender || !this.writer) await this.open();
    this.writer!.append(this.appender!, batch, inputId);
    this.pendingRows += batch.length;
    if (this.mover && this.pendingRows >= STAGE_ROWS) await this.rotate();
  }

  /** Append chunks encoded with this table's spec (columns.ts). */
  async appendChunks(chunks: readonly ColumnChunk[]): Promise<void> {
    for (const e of chunks) {
      if (e.rows === 0) continue;
      this.throwMoveError();
      if (!this.appender || !this.writer) await this.open();
      this.writer!.write(this.appender!, e);
      this.pendingRows += e.rows;
      if (this.mover && this.pendingRows >= STAGE_ROWS) await this.rotate();
    }
  }

  private async open(): Promise<void> {
    let appender: DuckDBAppender;
    if (this.mover) {
      const name = `${this.spec.name}_${++this.stageSeq}`;
      await this.conn.run(
        `CREATE TABLE ${STAGE_DB}.${name} AS SELECT * FROM ${quoteIdent(this.spec.name)} LIMIT 0`,
      );
      this.stage = name;
      appender = await this.conn.createAppender(name, null, STAGE_DB);
    } else appender = await this.conn.createAppender(this.spec.name);
    const types = this.spec.columns.map((_, i) => appender.columnType(i));
    this.appender = appender;
    this.writer = new ChunkWriter(this.spec, types);
  }

  /** Close the full stage, wait for the previous move, start moving this one. */
  private async rotate(): Promise<void> {
    const full = this.stage!;
    this.appender!.closeSync();
    this.appender = null;
    this.pendingRows = 0;
    await this.settle();
    const mover = await this.mover!();
    this.movingStage = full;
    this.moving = mover
      .run(`INSERT INTO ${quoteIdent(this.spec.name)} SELECT * FROM ${STAGE_DB}.${full}`)
      .then(
        () => undefined,
        (err: unknown) => {
          this.moveError ??= err;
        },
      );
  }

  /** Wait for the move in flight (if any) and drop its stage. */
  private async settle(): Promise<void> {
    if (!this.moving) return;
    await this.moving;
    this.moving = null;
    const done = this.movingStage!;
    this.movingStage = null;
    await this.conn.run(`DROP TABLE IF EXISTS ${STAGE_DB}.${done}`);
    this.throwMoveError();
  }

  private throwMoveError(): void {
    if (this.moveError !== null) {
      const err = this.moveError;
      this.moveError = null;
      throw new StoreError(`cannot write ${this.spec.name}: ${firstLine(err)}`);
    }
  }

  /** Make every appended row visible in the table. */
  async flush(): Promise<void> {
    if (!this.mover) {
      if (this.appender && this.pendingRows > 0) {
        this.appender.flushSync();
        this.pendingRows = 0;
      }
      return;
    }
    if (this.appender && this.pendingRows > 0) await this.rotate();
    await this.settle();
  }

  /** Drop rows appended since the last flush (a rolled-back transaction's rows). */
  discard(): void {
    if (this.appender && this.pendingRows > 0) {
      this.appender.clear();
      this.pendingRows = 0;
    }
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      if (this.appender) {
        this.appender.closeSync();
        this.appender = null;
        this.pendingRows = 0;
      }
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
  private readonly spans: TableWriter<Span>;
  private readonly points: TableWriter<MetricPoint>;
  private readonly flows: TableWriter<FlowRecord>;
  private mover: Promise<DuckDBConnection> | null = null;
  private closed = false;
  private readonly staged: boolean;
  /** A commitWithPositions transaction in progress: queries wait for it (same connection). */
  private txn: Promise<void> | null = null;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    /** Stage appends in memory and move them on a second connection (file stores). */
    staged = false,
  ) {
    this.staged = staged;
    const mover = staged ? () => (this.mover ??= instance.connect()) : null;
    this.logs = new TableWriter(conn, LOGS, mover);
    this.connections = new TableWriter(conn, CONNECTIONS);
    this.exchanges = new TableWriter(conn, EXCHANGES);
    this.spans = new TableWriter(conn, SPANS, mover);
    this.points = new TableWriter(conn, POINTS, mover);
    this.flows = new TableWriter(conn, FLOWS, mover);
  }

  private get writers(): { flush(): Promise<void>; discard(): void; close(): Promise<void> }[] {
    return [this.logs, this.connections, this.exchanges, this.spans, this.points, this.flows];
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
  appendSpans(batch: readonly Span[], inputId: number | null = null): Promise<void> {
    return this.spans.append(batch, inputId);
  }
  appendPoints(batch: readonly MetricPoint[], inputId: number | null = null): Promise<void> {
    return this.points.append(batch, inputId);
  }

  appendFlows(batch: readonly FlowRecord[], inputId: number | null = null): Promise<void> {
    return this.flows.append(batch, inputId);
  }

  appendLogChunks(chunks: readonly ColumnChunk[]): Promise<void> {
    return this.logs.appendChunks(chunks);
  }

  async flush(): Promise<void> {
    for (const w of this.writers) await w.flush();
  }

  /** Wait until no commitWithPositions transaction is open on the connection. */
  private async idle(): Promise<void> {
    while (this.txn) await this.txn;
  }

  async traceSpans(traceId: string): Promise<Span[]> {
    await this.idle();
    await this.flush();
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
      attributes: parseJson<Record<string, AttrValue>>(row[10], {}),
      events: parseJson<SpanEvent[]>(row[11], []),
      links: parseJson<SpanLink[]>(row[12], []),
      resource: parseJson<Record<string, AttrValue>>(row[13], {}),
      scope: row[14] === null ? null : String(row[14]),
      format: String(row[15]),
    }));
  }

  async query(sql: string, opts: QueryOptions = {}): Promise<QueryResult> {
    await this.idle();
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

  async queryStream(sql: string, sink: RowSink, opts: QueryOptions = {}): Promise<StreamedQuery> {
    await this.idle();
    await this.flush();
    const max = opts.maxRows;
    try {
      const result = await this.conn.stream(sql);
      sink.columns(
        result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() })),
      );
      let n = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) return { rows: n, truncated: false };
        if (max !== undefined && n >= max) return { rows: n, truncated: true };
        let rows = chunk.convertRows<Cell>(cellConverter);
        const cut = max !== undefined && n + rows.length > max;
        if (cut) rows = rows.slice(0, max - n);
        n += rows.length;
        const wait = sink.rows(rows);
        if (wait) await wait;
        if (cut) return { rows: n, truncated: true };
      }
    } catch (err) {
      throw queryError(err, sql);
    }
  }

  async validate(sql: string): Promise<void> {
    await this.idle();
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

  async finishInput(
    id: number,
    stats: InputStats,
    templates: InputTemplates | null = null,
  ): Promise<void> {
    await this.transaction(`cannot finish input ${id}`, async () => {
      if (templates) await this.applyTemplates(id, templates);
      await this.conn.run(
        `UPDATE inputs SET records = $1, skipped = $2, error = $3, format = coalesce($4, format), status = 'done' WHERE id = $5`,
        [BigInt(stats.records), BigInt(stats.skipped), stats.error, stats.format ?? null, id],
      );
    });
  }

  async resolveTemplates(inputId: number | null, templates: InputTemplates): Promise<void> {
    await this.transaction('cannot set template ids', () =>
      this.applyTemplates(inputId, templates),
    );
  }

  /**
   * Inside a transaction: replace the provisional template keys of one input's log rows by their
   * final ids (a temporary key → id table and one UPDATE … FROM; ≈0.1 s per 1M rows here), set any
   * key left unmapped to NULL, then add the input's rows per id to `templates` (new ids are
   * inserted with their text, example and this input as the first seen).
   */
  private async applyTemplates(inputId: number | null, t: InputTemplates): Promise<void> {
    const c = this.conn;
    const ofInput = inputId === null ? 'input_id IS NULL' : `input_id = ${Math.trunc(inputId)}`;
    await c.run(
      `CREATE OR REPLACE TEMP TABLE ${TEMPLATE_KEYS} (key VARCHAR, template_id VARCHAR);
       CREATE OR REPLACE TEMP TABLE ${TEMPLATE_TEXTS} (template_id VARCHAR, template VARCHAR, example VARCHAR)`,
    );
    const keys = await c.createAppender(TEMPLATE_KEYS, 'main', 'temp');
    try {
      for (const k of t.keys) {
        keys.appendVarchar(k.key);
        keys.appendVarchar(k.id);
        keys.endRow();
      }
      keys.flushSync();
    } finally {
      keys.closeSync();
    }
    const texts = await c.createAppender(TEMPLATE_TEXTS, 'main', 'temp');
    try {
      for (const x of t.templates) {
        texts.appendVarchar(x.id);
        texts.appendVarchar(x.template);
        texts.appendVarchar(x.example);
        texts.endRow();
      }
      texts.flushSync();
    } finally {
      texts.closeSync();
    }
    const prefix = quoteString(PROVISIONAL_TEMPLATE_PREFIX);
    await c.run(
      `UPDATE logs SET template_id = k.template_id FROM temp.${TEMPLATE_KEYS} k
         WHERE logs.${ofInput} AND logs.template_id = k.key`,
    );
    await c.run(
      `UPDATE logs SET template_id = NULL WHERE ${ofInput} AND starts_with(template_id, ${prefix})`,
    );
    await c.run(
      `CREATE OR REPLACE TEMP TABLE ${TEMPLATE_COUNTS} AS
           SELECT template_id, count(*) AS n FROM logs
           WHERE ${ofInput} AND template_id IS NOT NULL GROUP BY template_id`,
    );
    await c.run(
      `UPDATE templates SET count = templates.count + n.n FROM temp.${TEMPLATE_COUNTS} n
         WHERE templates.template_id = n.template_id`,
    );
    await c.run(
      `INSERT INTO templates
           SELECT n.template_id, coalesce(x.template, ''), n.n, coalesce(x.example, ''), $1
           FROM temp.${TEMPLATE_COUNTS} n
           LEFT JOIN (SELECT DISTINCT ON (template_id) * FROM temp.${TEMPLATE_TEXTS}) x
             USING (template_id)
           WHERE n.template_id NOT IN (SELECT template_id FROM templates)`,
      [inputId],
    );
    // Temporary tables go with the transaction when it rolls back.
    await c.run(
      `DROP TABLE temp.${TEMPLATE_KEYS}; DROP TABLE temp.${TEMPLATE_TEXTS}; DROP TABLE temp.${TEMPLATE_COUNTS}`,
    );
  }

  /**
   * Run `fn` in a transaction on the connection (rows appended before are flushed first, outside
   * it); roll back and throw StoreError when it fails.
   */
  private async transaction(what: string, fn: () => Promise<void>): Promise<void> {
    await this.idle();
    await this.flush();
    let settle!: () => void;
    this.txn = new Promise((resolve) => (settle = resolve));
    try {
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await fn();
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        throw err instanceof StoreError ? err : new StoreError(`${what}: ${firstLine(err)}`);
      }
    } finally {
      this.txn = null;
      settle();
    }
  }

  async removeInput(id: number): Promise<number> {
    let deleted = 0;
    await this.transaction(`cannot remove input ${id}`, async () => {
      // Template counts drop by the rows removed; templates left with no row go, and those first
      // seen in this input move to the earliest input still holding them.
      await this.conn.run(
        `UPDATE templates SET count = templates.count - d.n
         FROM (SELECT template_id, count(*) AS n FROM logs
               WHERE input_id = $1 AND template_id IS NOT NULL GROUP BY template_id) d
         WHERE templates.template_id = d.template_id`,
        [id],
      );
      await this.conn.run(`DELETE FROM templates WHERE count <= 0`);
      for (const t of RECORD_TABLES) {
        const r = await this.conn.run(`DELETE FROM ${t.name} WHERE input_id = $1`, [id]);
        deleted += r.rowsChanged;
      }
      await this.conn.run(
        `UPDATE templates SET first_input_id =
           (SELECT min(l.input_id) FROM logs l WHERE l.template_id = templates.template_id)
         WHERE first_input_id = $1`,
        [id],
      );
      await this.conn.run(`DELETE FROM inputs WHERE id = $1`, [id]);
    });
    return deleted;
  }

  async tailPositions(): Promise<TailPosition[]> {
    const r = await this.query(
      `SELECT path, dev, ino, head_bytes, head_hash, byte_offset, line_no, epoch_us(updated) / 1000.0 FROM tail_positions ORDER BY path, updated DESC`,
    );
    return r.rows.map((row) => ({
      path: text(row[0]),
      dev: text(row[1]),
      ino: text(row[2]),
      headBytes: Number(row[3]),
      headHash: text(row[4]),
      offset: Number(row[5]),
      lineNo: Number(row[6]),
      updatedMs: Number(row[7]),
    }));
  }

  async commitWithPositions(
    appends: () => Promise<void>,
    positions: ReadonlyMap<string, readonly TailPosition[]>,
  ): Promise<void> {
    // Staged moves run on a second connection, outside this connection's transaction.
    if (this.staged) throw new StoreError('saving tail positions needs an unstaged store');
    await this.idle();
    let settle!: () => void;
    this.txn = new Promise((resolve) => (settle = resolve));
    try {
      // Rows appended outside a transaction before this call are not part of it.
      await this.flush();
      // Appender flushes (explicit, or automatic every ~200k rows) run in the connection's open
      // transaction, so the rows commit with the positions.
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await appends();
        for (const w of this.writers) await w.flush();
        const marks = TAIL_POSITIONS.columns.map((_, i) => `$${i + 1}`).join(', ');
        for (const [path, rows] of positions) {
          await this.conn.run(`DELETE FROM tail_positions WHERE path = $1`, [path]);
          for (const row of rows)
            await this.conn.run(
              `INSERT INTO tail_positions VALUES (${marks})`,
              TAIL_POSITIONS.columns.map((c) => sqlParam(c.type, c.get(row, null))),
            );
        }
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        for (const w of this.writers) w.discard();
        throw err instanceof StoreError ? err : new StoreError(`cannot commit: ${firstLine(err)}`);
      }
    } finally {
      this.txn = null;
      settle();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let error: StoreError | null = null;
    for (const w of this.writers) {
      try {
        await w.close();
      } catch (err) {
        error ??= err instanceof StoreError ? err : new StoreError(firstLine(err));
      }
    }
    if (this.mover) (await this.mover).closeSync();
    this.conn.closeSync();
    this.instance.closeSync();
    if (error !== null) throw error;
  }
}

/** A JSON column read back; the fallback when it is NULL or unreadable. */
function parseJson<T>(v: unknown, fallback: T): T {
  if (typeof v !== 'string') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
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
