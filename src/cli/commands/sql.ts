// `mlscope sql "<query>" --db FILE [--json|--csv] [--parquet FILE] [--max-rows N]`: run SQL
// against an ingested database. Tables for humans (values sanitized), CSV, or one JSON document;
// `--parquet FILE` writes the query's result as Parquet instead (DuckDB COPY).

import { existsSync } from 'node:fs';
import {
  drained,
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { ErrorCode, InputError, UsageError } from '../../util/errors.js';
import { openStore as openStoreBackend, quoteString } from '../../store/open.js';
import {
  QueryError,
  StoreError,
  type Cell,
  type QueryResult,
  type Store,
} from '../../store/store.js';
import { renderCsvHeader, renderCsvRows, renderTable, sanitizeCell } from './render.js';

/** Rows a human table shows by default; CSV and JSON print everything unless --max-rows. */
const TABLE_MAX_ROWS = 1000;

const USAGE = 'mlscope sql "<query>" --db FILE [--json | --csv | --parquet FILE] [--max-rows N]';

export const sqlCommand: Command = {
  name: 'sql',
  summary:
    'run SQL over an ingested database (tables: logs, templates, connections, exchanges, flows, spans, points, inputs)',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('sql', argv, {
      db: { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      parquet: { type: 'string' },
      'max-rows': { type: 'string' },
    });
    if (positionals.length !== 1)
      throw new UsageError(
        `sql: expected one quoted query, got ${positionals.length} arguments (quote the whole query)`,
      );
    const sql = positionals[0]!;
    if (!values.db) throw new UsageError('sql: --db FILE is required');
    const modes = [values.json, values.csv, values.parquet !== undefined].filter(Boolean).length;
    if (modes > 1 && !(values.json && values.parquet !== undefined))
      throw new UsageError('sql: choose one of --json, --csv, --parquet');
    const maxRowsFlag = numberFlag('sql', 'max-rows', values['max-rows']);
    if (!existsSync(values.db))
      throw new InputError(
        ErrorCode.INPUT_UNREADABLE,
        values.db,
        'no such database file (create it with mlscope ingest)',
      );

    const store = await openStore(values.db);
    try {
      if (values.parquet !== undefined) {
        const stmt = sql.trim().replace(/;\s*$/, '');
        const r = await runQuery(
          store,
          `COPY (${stmt}) TO ${quoteString(values.parquet)} (FORMAT parquet)`,
        );
        const rows = Number(r.rows[0]?.[0] ?? 0);
        if (values.json) writeJson(io, { parquet: values.parquet, rows });
        else io.stdout.write(`wrote ${rows} rows to ${sanitizeCell(values.parquet)}\n`);
        return ExitCode.OK;
      }
      const human = !values.json && !values.csv;
      const maxRows =
        maxRowsFlag === undefined ? (human ? TABLE_MAX_ROWS : undefined) : maxRowsFlag || undefined;
      if (!human) {
        await streamQuery(store, sql, maxRows, values.json === true, io);
        return ExitCode.OK;
      }
      const r = await runQuery(store, sql, maxRows);
      const header = r.columns.map((c) => c.name);
      {
        if (r.columns.length > 0) io.stdout.write(renderTable(header, r.rows, { maxWidth: 80 }));
        const note = r.truncated
          ? `${r.rows.length} rows shown; more not shown (use --max-rows N, --csv or --json)`
          : `${r.rows.length} row${r.rows.length === 1 ? '' : 's'}`;
        io.stderr.write(`(${note})\n`);
      }
      return ExitCode.OK;
    } finally {
      await store.close();
    }
  },
};

/** Open a store; a store that cannot be opened is an unreadable input (exit 1). */
export async function openStore(path: string): Promise<Store> {
  try {
    return await openStoreBackend(path);
  } catch (err) {
    if (err instanceof StoreError)
      throw new InputError(ErrorCode.INPUT_UNREADABLE, path, err.message.replace(`${path}: `, ''));
    throw err;
  }
}

/**
 * CSV or JSON of a query of any size: rows are written batch by batch as DuckDB produces them,
 * waiting for stdout to drain (memory stays bounded: an export of millions of rows held them all
 * before). JSON keeps its document shape with one row object per line.
 */
async function streamQuery(
  store: Store,
  sql: string,
  maxRows: number | undefined,
  json: boolean,
  io: Io,
): Promise<void> {
  let header: string[] = [];
  let first = true;
  try {
    const r = await store.queryStream(
      sql,
      {
        columns(cols) {
          header = cols.map((c) => c.name);
          if (json) io.stdout.write(`{\n  "columns": ${JSON.stringify(cols)},\n  "rows": [`);
          else io.stdout.write(renderCsvHeader(header));
        },
        rows(rows) {
          if (json) {
            let out = '';
            for (const row of rows) {
              out += (first ? '\n    ' : ',\n    ') + JSON.stringify(rowObject(header, row));
              first = false;
            }
            io.stdout.write(out);
          } else io.stdout.write(renderCsvRows(header, rows));
          return drained(io.stdout);
        },
      },
      maxRows === undefined ? {} : { maxRows },
    );
    if (json)
      io.stdout.write(
        `${first ? '' : '\n  '}],\n  "rowCount": ${r.rows},\n  "truncated": ${r.truncated}\n}\n`,
      );
  } catch (err) {
    if (err instanceof QueryError) throw new UsageError(`sql: ${err.message}`);
    throw err;
  }
}

/** A refused query is the user's to fix: a one-line usage error. */
async function runQuery(store: Store, sql: string, maxRows?: number): Promise<QueryResult> {
  try {
    return await store.query(sql, maxRows === undefined ? {} : { maxRows });
  } catch (err) {
    if (err instanceof QueryError) throw new UsageError(`sql: ${err.message}`);
    throw err;
  }
}

/** A row as an object; repeated column names get a suffix (`x`, `x_1`) so none is lost. */
function rowObject(header: readonly string[], row: readonly Cell[]): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  header.forEach((h, i) => {
    let k = h;
    for (let n = 1; Object.hasOwn(out, k); n++) k = `${h}_${n}`;
    out[k] = row[i] ?? null;
  });
  return out;
}
