// Shared by `ingest` and `logs`: read log inputs and append their records to a store in batches,
// with a data-quality report per input. The reading itself is behind `ReadLogs` so the ingest
// pipeline (src/ingest/logs.ts) can replace the built-in reader without touching the commands.

import type { LogRecord } from '../../model/records.js';
import { Quality, type QualityReport } from '../../model/quality.js';
import type { InputRef } from '../../sources/files.js';
import { readChunks } from '../../sources/files.js';
import { LineSplitter, type Line } from '../../util/lines.js';
import { InputError, ErrorCode, UsageError, errorMessage } from '../../util/errors.js';
import {
  createLogParser,
  detectLogFormat,
  isLogFormat,
  LOG_FORMATS,
  type LogFormat,
  type LogParser,
} from '../../decoders/logs/index.js';
import type { Store } from '../../store/store.js';

/** Records handed to the store per append: big enough to fill whole 2048-row chunks. */
export const LOG_BATCH_RECORDS = 8192;
/** Lines sampled for format detection. */
const DETECT_SAMPLE_LINES = 64;

export interface ReadLogsOptions {
  /** A format name, or undefined/'auto' to detect. */
  format?: string;
}

/**
 * One input read as log records. Iterating `batches` reads the input; `quality()` is final once
 * iteration ends (also after it throws an InputError: records before the error stay valid).
 */
export interface LogBatches {
  batches: AsyncIterable<LogRecord[]>;
  quality(): QualityReport;
}

export type ReadLogs = (ref: InputRef, opts: ReadLogsOptions) => LogBatches;

/** Check a --format value; a UsageError lists the known formats. */
export function checkLogFormat(cmd: string, format: string | undefined): LogFormat | 'auto' {
  if (format === undefined || format === 'auto') return 'auto';
  if (!isLogFormat(format))
    throw new UsageError(
      `${cmd}: unknown --format '${format}' (one of: auto, ${LOG_FORMATS.join(', ')})`,
    );
  return format;
}

/** The built-in reader: chunks → lines → detected-format parser → batches. */
export const readLogs: ReadLogs = (ref, opts) => {
  const quality = new Quality(ref.name, opts.format ?? 'auto');
  async function* batches(): AsyncGenerator<LogRecord[]> {
    const splitter = new LineSplitter();
    let parser: LogParser | null = null;
    const sample: Line[] = [];
    let out: LogRecord[] = [];
    const emit = (r: LogRecord): void => {
      out.push(r);
    };
    const start = (): void => {
      const forced =
        opts.format && opts.format !== 'auto' && isLogFormat(opts.format) ? opts.format : null;
      const format =
        forced ??
        detectLogFormat(sample.filter((l) => l.text.trim() !== '').map((l) => l.text)).format;
      quality.format = format;
      const p = createLogParser(ref.name, quality, {
        format,
        referenceYear: new Date().getUTCFullYear(),
      });
      parser = p;
      for (const l of sample) p.push(l, emit);
      sample.length = 0;
    };
    const onLine = (l: Line): void => {
      if (parser) parser.push(l, emit);
      else {
        sample.push(l);
        if (sample.length >= DETECT_SAMPLE_LINES) start();
      }
    };
    try {
      for await (const chunk of readChunks(ref)) {
        splitter.push(chunk, onLine);
        if (out.length >= LOG_BATCH_RECORDS) {
          yield out;
          out = [];
        }
      }
      splitter.end(onLine);
      if (!parser) start();
      (parser as LogParser | null)?.end(emit);
    } catch (err) {
      // Flush what was parsed before the error, then let the caller report it.
      (parser as LogParser | null)?.end(emit);
      quality.error = errorMessage(err);
      if (out.length) yield out;
      throw err;
    }
    if (out.length) yield out;
  }
  return { batches: batches(), quality: () => quality.report() };
};

export interface IngestedLogs {
  records: number;
  report: QualityReport;
  /** The InputError that stopped this input early, if any. */
  error: InputError | null;
}

/** Read one input into the store. Never throws for a bad input: the error is returned. */
export async function appendLogInput(
  store: Store,
  ref: InputRef,
  inputId: number | null,
  opts: ReadLogsOptions,
  read: ReadLogs = readLogs,
): Promise<IngestedLogs> {
  const src = read(ref, opts);
  let records = 0;
  let error: InputError | null = null;
  const it = src.batches[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<LogRecord[]>;
    try {
      r = await it.next();
    } catch (err) {
      error =
        err instanceof InputError
          ? err
          : new InputError(ErrorCode.INPUT_UNREADABLE, ref.name, errorMessage(err));
      break;
    }
    if (r.done) break;
    // Store errors are not input errors: they propagate.
    await store.appendLogs(r.value, inputId);
    records += r.value.length;
  }
  const report = src.quality();
  if (error && !report.error) report.error = error.message;
  return { records, report, error };
}
