// `mlscope logs <inputs…> [--where "<SQL predicate>"] [--since T] [--until T] [--limit N]
// [--format F] [--json]`: parse log inputs into an in-memory store and print the matching
// records in time order. --where is a SQL predicate over the `logs` table's columns (ts, ts_us,
// severity, body, request_id, trace_id, span_id, http_method, http_path, http_status,
// duration_ms, client_ip, service, host, file, line_no, format, attributes, template_id — the
// id `mlscope templates` gives the record's first line), and the short names people type first:
// status, method, path, message, level.

import {
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { expandInputs } from '../../sources/files.js';
import type { QualityReport } from '../../model/quality.js';
import { openStore } from '../../store/open.js';
import { QueryError, type Cell, type QueryResult, type Store } from '../../store/store.js';
import { appendLogInput, checkLogFormat } from './log-input.js';
import { renderTable, sanitizeCell } from './render.js';
import { isoMs } from '../../util/iso.js';
import { basename } from 'node:path';

const DEFAULT_LIMIT = 1000;
const USAGE =
  'mlscope logs <inputs…> [--where "<SQL predicate>"] [--since T] [--until T] [--limit N] [--format F] [--json]';

const UNIT_US: Record<string, number> = {
  us: 1,
  ms: 1e3,
  s: 1e6,
  sec: 1e6,
  m: 60e6,
  min: 60e6,
  h: 3600e6,
  d: 86400e6,
  w: 7 * 86400e6,
};

/**
 * A --since/--until value as UTC µs: an ISO 8601 time (zone-less means UTC), 'now', or a duration
 * before `nowMs` ('15m', '-2h', '1d ago'; units us ms s m h d w).
 */
export function parseTimeFlag(flag: string, v: string, nowMs: number): number {
  const s = v.trim();
  if (s === 'now') return nowMs * 1000;
  const rel = /^-?(\d+(?:\.\d+)?)\s*(us|ms|sec|s|min|m|h|d|w)(?:\s+ago)?$/.exec(s);
  if (rel) return nowMs * 1000 - Number(rel[1]) * UNIT_US[rel[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    // Zone-less ISO times are UTC (Date.parse would take them as local time).
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) || /^\d{4}-\d{2}-\d{2}$/.test(s);
    const ms = Date.parse(hasZone ? s : `${s.replace(' ', 'T')}Z`);
    if (Number.isFinite(ms)) {
      // Keep sub-millisecond digits Date.parse drops.
      const frac = /\.\d{3}(\d{1,3})/.exec(s);
      const extraUs = frac ? Number(frac[1]!.padEnd(3, '0')) : 0;
      return ms * 1000 + extraUs;
    }
  }
  throw new UsageError(
    `logs: --${flag} expects an ISO time (2024-05-01T12:00:00Z), 'now' or a duration ago (15m, 2h, 1d); got '${v}'`,
  );
}

export function isoFromUs(us: number): string | null {
  const ms = Math.floor(us / 1000);
  const subUs = Math.round(us - ms * 1000);
  const iso = isoMs(ms); // …sss Z
  if (iso === null) return null;
  return subUs ? `${iso.slice(0, -1)}${String(subUs).padStart(3, '0')}Z` : iso;
}

export const logsCommand: Command = {
  name: 'logs',
  summary: 'parse logs and show matching records in time order (SQL --where, --since/--until)',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('logs', argv, {
      where: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length === 0) throw new UsageError('logs: no inputs given');
    const format = checkLogFormat('logs', values.format);
    const limit = numberFlag('logs', 'limit', values.limit) ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit)) throw new UsageError(`logs: --limit expects a whole number`);
    const now = Date.now();
    const sinceUs = values.since === undefined ? null : parseTimeFlag('since', values.since, now);
    const untilUs = values.until === undefined ? null : parseTimeFlag('until', values.until, now);

    const conds: string[] = [];
    if (values.where !== undefined) {
      if (values.where.trim() === '') throw new UsageError('logs: --where is empty');
      conds.push(`(${values.where}\n)`);
    }
    if (sinceUs !== null) conds.push(`ts_us >= ${Math.trunc(sinceUs)}`);
    if (untilUs !== null) conds.push(`ts_us < ${Math.trunc(untilUs)}`);
    const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';

    let exit: number = ExitCode.OK;
    const onError = (e: InputError): void => {
      exit = ExitCode.INPUT_ERROR;
      io.stderr.write(`mlscope: ${sanitizeCell(e.message)}\n`);
    };
    const store = await openStore(':memory:');
    try {
      // Check the predicate before reading anything: a typo should not cost a parse of every input.
      await checkWhere(store, where);
      const refs = await expandInputs(positionals, onError);
      const quality: QualityReport[] = [];
      let inputId = 0;
      for (const ref of refs) {
        const r = await appendLogInput(store, ref, ++inputId, { format, templates: true });
        if (r.templates) await store.resolveTemplates(inputId, r.templates);
        quality.push(r.report);
        if (r.error) onError(r.error);
      }
      const matched = Number(
        (await userQuery(store, `SELECT count(*) FROM ${LOGS_VIEW} ${where}`)).rows[0]?.[0] ?? 0,
      );
      const rows = (
        await userQuery(
          store,
          `SELECT ts_us, severity, service, host, body, request_id, trace_id, span_id, http_method,
                  http_path, http_status, duration_ms, client_ip, file, line_no, format, attributes,
                  template_id
           FROM ${LOGS_VIEW} ${where}
           ORDER BY ts_us NULLS LAST, input_id, line_no
           LIMIT ${limit}`,
        )
      ).rows;

      if (values.json) {
        writeJson(io, {
          matched,
          shown: rows.length,
          records: rows.map(recordJson),
          dataQuality: quality.map((q) => ({
            source: q.source,
            format: q.format,
            records: q.decoded,
            skipped: q.skipped,
            skippedByReason: q.skippedByReason,
            error: q.error,
          })),
        });
      } else {
        // as a log viewer shows lines: where each came from (its service, else file:line), the
        // request id column only when some line has one, blanks for what a line does not say
        const withIds = rows.some((r) => r[5] !== null && r[5] !== undefined);
        const header = ['ts', 'severity', 'source', ...(withIds ? ['request id'] : []), 'message'];
        io.stdout.write(
          renderTable(
            header,
            rows.map((r) => [
              r[0] === null ? null : isoFromUs(Number(r[0])),
              r[1] ?? null,
              r[2] ?? `${basename(typeof r[13] === 'string' ? r[13] : '')}:${Number(r[14] ?? 0)}`,
              ...(withIds ? [r[5] ?? null] : []),
              r[4] ?? null,
            ]),
            {
              maxWidthByColumn: { ts: 24, source: 28, 'request id': 36, message: 120 },
              alignRight: header.map(() => false),
              nullText: '',
            },
          ),
        );
        const skipped = quality.reduce((a, q) => a + q.skipped, 0);
        const parts = [`${rows.length} of ${matched} matching records`];
        if (skipped) parts.push(`${skipped} lines skipped (use --json for reasons)`);
        io.stderr.write(`(${parts.join('; ')})\n`);
      }
    } finally {
      await store.close();
    }
    return exit;
  },
};

/**
 * The `logs` table as --where sees it: its columns plus the names a user reaches for before
 * reading the schema (`--where "status >= 500"`, `level = 'ERROR'`, `message LIKE '%OOM%'`).
 */
const LOGS_VIEW = `(SELECT *, http_status AS status, http_method AS method, http_path AS path,
  body AS message, severity AS level FROM logs) AS logs`;

/** Queries built from --where: a refusal is the user's to fix (exit 2), never a stack trace. */
async function userQuery(store: Store, sql: string): Promise<QueryResult> {
  try {
    return await store.query(sql);
  } catch (err) {
    if (err instanceof QueryError) throw new UsageError(`logs: bad --where: ${err.message}`);
    throw err;
  }
}

async function checkWhere(store: Store, where: string): Promise<void> {
  if (!where) return;
  try {
    await store.validate(`SELECT 1 FROM ${LOGS_VIEW} ${where}`);
  } catch (err) {
    if (err instanceof QueryError) throw new UsageError(`logs: bad --where: ${err.message}`);
    throw err;
  }
}

const toNum = (v: Cell | undefined): number | null => (typeof v === 'number' ? v : null);
const toStr = (v: Cell | undefined): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);

function recordJson(r: readonly Cell[]): Record<string, unknown> {
  let attributes: unknown = {};
  if (typeof r[16] === 'string') {
    try {
      attributes = JSON.parse(r[16]);
    } catch {
      attributes = {};
    }
  }
  return {
    ts: r[0] === null || r[0] === undefined ? null : isoFromUs(Number(r[0])),
    tsUs: toNum(r[0]),
    severity: toStr(r[1]),
    service: toStr(r[2]),
    host: toStr(r[3]),
    message: toStr(r[4]),
    requestId: toStr(r[5]),
    traceId: toStr(r[6]),
    spanId: toStr(r[7]),
    httpMethod: toStr(r[8]),
    httpPath: toStr(r[9]),
    httpStatus: toNum(r[10]),
    durationMs: toNum(r[11]),
    clientIp: toStr(r[12]),
    file: toStr(r[13]),
    lineNo: toNum(r[14]),
    format: toStr(r[15]),
    templateId: toStr(r[17]),
    attributes,
  };
}
