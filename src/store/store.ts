// The store interface analyzers and commands talk to (DESIGN.md "Store"). Only store/ backends
// import a database client; everything else sees this file. Backends: duckdb/ (embedded, a file
// or in memory); clickhouse/ later. Every backend passes the conformance suite in store.case.ts.

import type { Connection, Exchange, LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import type { FlowRecord } from '../model/flow.js';
import type { InputRow, TailPosition } from './schema.js';
import type { ColumnChunk } from './columns.js';

export type { InputRow, TailPosition } from './schema.js';

/** A query result cell as JSON: BIGINTs become numbers when exact, else decimal strings. */
export type Cell = string | number | boolean | null | Cell[] | { [key: string]: Cell };

export interface ColumnInfo {
  name: string;
  /** The backend's type name, e.g. 'VARCHAR', 'BIGINT', 'TIMESTAMP'. */
  type: string;
}

export interface QueryResult {
  columns: ColumnInfo[];
  rows: Cell[][];
  /** True when `maxRows` cut the result short. */
  truncated: boolean;
}

export interface QueryOptions {
  /** Stop reading after this many rows (the result says `truncated`). */
  maxRows?: number;
}

export interface TableInfo {
  name: string;
  rows: number;
}

/** What the ingester knows about an input before reading it (see inputs.ts). */
export type NewInput = Omit<InputRow, 'id' | 'records' | 'skipped' | 'status' | 'error'>;

export interface InputStats {
  records: number;
  skipped: number;
  error: string | null;
  /** The format found while reading (kept as given at beginInput when absent). */
  format?: string;
}

/**
 * Log template ids for one input's rows. While an input is read, the templates it is mined into
 * still generalise, so each row is written with a provisional key in `logs.template_id`
 * (PROVISIONAL_TEMPLATE_PREFIX + a number, never a valid id: ids are 12 hex digits) and the final
 * ids are set when the input ends, in one transaction (finishInput / resolveTemplates).
 */
export interface InputTemplates {
  /** Every provisional key written to the input's rows, with its final template id. */
  keys: readonly { key: string; id: string }[];
  /** The templates those ids name: id, template text, an example line. */
  templates: readonly { id: string; template: string; example: string }[];
}

/** Provisional template keys start with this character (see InputTemplates). */
export const PROVISIONAL_TEMPLATE_PREFIX = '~';

/** A query the backend refused (syntax, unknown column, type error…): one line, no stack. */
export class QueryError extends Error {
  readonly code = 'E_QUERY';
  readonly sql: string;
  constructor(message: string, sql: string) {
    super(message);
    this.name = 'QueryError';
    this.sql = sql;
  }
}

/** The store could not be opened or written (locked file, wrong schema version, disk full…). */
export class StoreError extends Error {
  readonly code = 'E_STORE';
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface RowSink {
  columns(columns: QueryResult['columns']): void;
  rows(rows: Cell[][]): Promise<void> | null;
}

export interface StreamedQuery {
  rows: number;
  /** More rows than opts.maxRows were there. */
  truncated: boolean;
}

export interface Store {
  readonly backend: string;

  /**
   * Append records. Batches of any size; the backend buffers them into columnar chunks and makes
   * them visible to `query` at the latest when `query`, `flush` or `close` is called.
   * `inputId` ties rows to an `inputs` row (null for records not from a tracked input).
   */
  appendLogs(batch: readonly LogRecord[], inputId?: number | null): Promise<void>;
  appendConnections(batch: readonly Connection[], inputId?: number | null): Promise<void>;
  appendExchanges(batch: readonly Exchange[], inputId?: number | null): Promise<void>;
  appendSpans(batch: readonly Span[], inputId?: number | null): Promise<void>;
  appendPoints(batch: readonly MetricPoint[], inputId?: number | null): Promise<void>;
  appendFlows(batch: readonly FlowRecord[], inputId?: number | null): Promise<void>;
  /**
   * Append log rows already encoded column by column (columns.ts ChunkEncoder over LOGS, their
   * `input_id` encoded with them): how a worker thread that parses hands rows over.
   */
  appendLogChunks(chunks: readonly ColumnChunk[]): Promise<void>;
  flush(): Promise<void>;

  /** Every stored span of one trace, by start time (then span id); [] for an unknown trace. */
  traceSpans(traceId: string): Promise<Span[]>;

  /** Run SQL (the backend's dialect); the last statement's rows. Throws QueryError. */
  query(sql: string, opts?: QueryOptions): Promise<QueryResult>;
  /**
   * Run SQL and hand its rows over batch by batch, in bounded memory (exports of any size).
   * `sink.rows` may return a promise (the consumer's backpressure), awaited before the next
   * batch. Throws QueryError (also part-way, after some rows were handed over).
   */
  queryStream(sql: string, sink: RowSink, opts?: QueryOptions): Promise<StreamedQuery>;
  /**
   * Check that `sql` parses and binds without running it (for user predicates such as
   * `logs --where`). Throws QueryError.
   */
  validate(sql: string): Promise<void>;
  /** User tables with row counts, sorted by name. */
  tables(): Promise<TableInfo[]>;

  /** Inputs recorded so far, by id. */
  inputs(): Promise<InputRow[]>;
  /** Record an input about to be ingested (status 'ingesting'); returns its id. */
  beginInput(input: NewInput): Promise<number>;
  /**
   * Mark an input done with its counts. With `templates`, its log rows' provisional template keys
   * are replaced by the final ids and the `templates` table updated in the same transaction: rows
   * of a 'done' input never carry a provisional key (one left unmapped becomes NULL).
   */
  finishInput(id: number, stats: InputStats, templates?: InputTemplates | null): Promise<void>;
  /**
   * The same template fix-up for rows not tied to an `inputs` row (`mlscope logs`, in memory):
   * the log rows with this `input_id` (null: those without one).
   */
  resolveTemplates(inputId: number | null, templates: InputTemplates): Promise<void>;
  /**
   * Delete an input and every row it produced; returns the number of record rows deleted. The
   * `templates` table follows: counts drop by the rows removed, templates left with none go.
   */
  removeInput(id: number): Promise<number>;

  /** Saved positions of files tailed by `mlscope serve` (schema.ts TailPosition), by path. */
  tailPositions(): Promise<TailPosition[]>;
  /**
   * One transaction: run `appends` (append* calls), make every row appended so far durable, and
   * replace the saved positions of each path in `positions` with the rows given. Rows and positions
   * are kept together or not at all (then it throws StoreError), so a saved position is never
   * ahead of the stored rows and no row is stored past its saved position.
   */
  commitWithPositions(
    appends: () => Promise<void>,
    positions: ReadonlyMap<string, readonly TailPosition[]>,
  ): Promise<void>;

  close(): Promise<void>;
}
