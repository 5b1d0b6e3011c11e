// Telemetry files for `mlscope ingest`: OTLP JSON / JSON lines / protobuf, Jaeger and Zipkin JSON
// → spans, log records and metric points, handed to the caller in batches. The decoders are the
// ones `mlscope traces` uses (decoders/otlp). Two readings:
//   - JSON lines (the Collector's file exporter: one export request per line; what grows to
//     millions of spans): streamed line by line, records handed out after every input chunk;
//   - one document (OTLP JSON or protobuf, Jaeger, Zipkin): the decoders need it whole, so it is
//     read whole up to MAX_TELEMETRY_DOCUMENT_BYTES (the limit `mlscope traces` applies) and its
//     records are handed out in batches.
// A read error (corrupt .gz, truncated file) keeps what was decoded before it and is returned.

import type { LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import { Quality, type QualityReport } from '../model/quality.js';
import { readChunks, type InputRef } from '../sources/files.js';
import { ErrorCode, InputError, errorMessage } from '../util/errors.js';
import { LineSplitter, type Line } from '../util/lines.js';
import {
  decodeJsonDocument,
  decodeTelemetryFile,
  emptyBatch,
  type TelemetryFormat,
} from '../decoders/otlp/index.js';

/** A whole telemetry document is held in memory: refuse absurd sizes (as `mlscope traces`). */
export const MAX_TELEMETRY_DOCUMENT_BYTES = 512 << 20;
/** One line of OTLP JSON lines (one export request). */
const MAX_TELEMETRY_LINE_BYTES = 64 << 20;
/** Records handed out per call. */
export const TELEMETRY_BATCH_RECORDS = 8192;

/** Where decoded records go (e.g. the store's append methods). */
export interface TelemetryOut {
  spans(batch: Span[]): Promise<void>;
  logs(batch: LogRecord[]): Promise<void>;
  points(batch: MetricPoint[]): Promise<void>;
}

export interface TelemetryRows {
  spans: number;
  logs: number;
  points: number;
}

export interface TelemetryIngest {
  format: TelemetryFormat;
  rows: TelemetryRows;
  quality: QualityReport;
  /** Why the input stopped early (what came before it was handed out). */
  error: InputError | null;
}

/** Read one telemetry input and hand its records to `out`. Never throws for bad input. */
export async function readTelemetryInput(
  ref: InputRef,
  out: TelemetryOut,
  batchRecords = TELEMETRY_BATCH_RECORDS,
): Promise<TelemetryIngest> {
  const q = new Quality(ref.name, 'telemetry');
  const batch = emptyBatch();
  const rows: TelemetryRows = { spans: 0, logs: 0, points: 0 };
  /** Hand out `list` in batches when it holds at least `min` records; empties it in place. */
  async function drain<T>(
    list: T[],
    min: number,
    write: (b: T[]) => Promise<void>,
  ): Promise<number> {
    if (list.length < min || list.length === 0) return 0;
    let n = 0;
    for (let i = 0; i < list.length; i += batchRecords) {
      const part = list.slice(i, i + batchRecords);
      await write(part);
      n += part.length;
    }
    list.length = 0;
    return n;
  }
  const flush = async (all: boolean): Promise<void> => {
    const min = all ? 1 : batchRecords;
    rows.spans += await drain(batch.spans, min, (b) => out.spans(b));
    rows.logs += await drain(batch.logs, min, (b) => out.logs(b));
    rows.points += await drain(batch.points, min, (b) => out.points(b));
  };

  let format: TelemetryFormat = 'unknown';
  let mode: 'undecided' | 'lines' | 'whole' = 'undecided';
  const parts: Buffer[] = [];
  let size = 0;
  const splitter = new LineSplitter(MAX_TELEMETRY_LINE_BYTES);
  const onLine = (l: Line): void => {
    if (l.truncated) {
      q.skip('line-too-long', `line ${l.lineNo}`);
      return;
    }
    const t = l.text.trim();
    if (t === '') return;
    let d: unknown;
    try {
      d = JSON.parse(t);
    } catch (err) {
      q.skip('invalid-json', `line ${l.lineNo}`, errorMessage(err));
      return;
    }
    if (decodeJsonDocument(d, batch, q, ref.name) !== 'unknown') format = 'otlp-json-lines';
  };

  let error: InputError | null = null;
  try {
    for await (const c of readChunks(ref)) {
      if (mode === 'undecided') mode = isJsonLines(c) ? 'lines' : 'whole';
      if (mode === 'lines') {
        splitter.push(c, onLine);
        await flush(false);
        continue;
      }
      size += c.length;
      if (size > MAX_TELEMETRY_DOCUMENT_BYTES)
        throw new InputError(
          ErrorCode.LIMIT,
          ref.name,
          `telemetry document larger than ${MAX_TELEMETRY_DOCUMENT_BYTES} bytes (JSON lines are streamed; one document is read whole)`,
          { offset: MAX_TELEMETRY_DOCUMENT_BYTES },
        );
      parts.push(c);
    }
  } catch (err) {
    error =
      err instanceof InputError
        ? err
        : new InputError(ErrorCode.INPUT_UNREADABLE, ref.name, errorMessage(err));
  }
  if (mode === 'lines') {
    // After a read error the last line is cut: it is not a record.
    if (!error) splitter.end(onLine);
  } else if (error?.code !== ErrorCode.LIMIT && size > 0) {
    // What was read is decoded even after a read error: a cut protobuf keeps its whole spans.
    const doc = Buffer.concat(parts, size);
    parts.length = 0;
    format = decodeTelemetryFile(doc, ref.name, batch, q);
    if (format === 'unknown' && !error) error = undecodable(ref.name, doc);
  }
  await flush(true);
  q.format = format;
  if (error) q.error = error.message;
  return { format, rows, quality: q.report(), error };
}

/** A whole document none of the decoders could read: damaged, not merely a bad record. */
function undecodable(file: string, doc: Buffer): InputError {
  let offset = 0;
  let why = 'not an OTLP, Jaeger or Zipkin document';
  const first = doc.subarray(0, 64).toString('latin1').trimStart().charAt(0);
  if (first === '{' || first === '[') {
    // JSON.parse reports a character position: the byte offset for ASCII text.
    try {
      JSON.parse(doc.toString('utf8'));
    } catch (err) {
      const m = /position (\d+)/.exec(errorMessage(err));
      if (m) offset = Number(m[1]);
      why = `not valid JSON (${errorMessage(err)})`;
    }
  }
  return new InputError(ErrorCode.INPUT_FORMAT, file, `${why}; nothing was decoded`, { offset });
}

/** JSON lines: the first non-blank line of the first chunk is a complete JSON object. */
function isJsonLines(first: Buffer): boolean {
  let i = 0;
  while (
    i < first.length &&
    (first[i] === 32 || first[i] === 9 || first[i] === 10 || first[i] === 13)
  )
    i++;
  if (first[i] !== 0x7b) return false;
  const nl = first.indexOf(10, i);
  if (nl < 0) return false;
  try {
    const v: unknown = JSON.parse(first.toString('utf8', i, nl));
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}
