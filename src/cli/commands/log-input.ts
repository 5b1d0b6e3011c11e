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
import type { InputTemplates, Store } from '../../store/store.js';
import { RecordTemplates } from '../../ingest/log-templates.js';

/** Records handed to the store per append: big enough to fill whole 2048-row chunks. */
export const LOG_BATCH_RECORDS = 8192;
/** Lines sampled for format detection. */
const DETECT_SAMPLE_LINES = 64;

export interface ReadLogsOptions {
  /** A format name, or undefined/'auto' to detect. */
  format?: string;
  /**
   * Mine log templates while reading (ingest/log-templates.ts): records carry provisional
   * template keys, and `templates()` maps them to final ids once iteration ends.
   */
  templates?: boolean;
}

/**
 * One input read as log records. Iterating `batches` reads the input; `quality()` is final once
 * iteration ends (also after it throws an InputError: records before the error stay valid), and
 * so is `templates()` (null unless asked for).
 */
export interface LogBatches {
  batches: AsyncIterable<LogRecord[]>;
  quality(): QualityReport;
  templates(): InputTemplates | null;
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
  const tpl = opts.templates === true ? new RecordTemplates(ref.name) : null;
  async function* batches(): AsyncGenerator<LogRecord[]> {
    const splitter = new LineSplitter();
    let parser: LogParser | null = null;
    const sample: Line[] = [];
    let out: LogRecord[] = [];
    const emit =
      tpl === null
        ? (r: LogRecord): void => {
            out.push(r);
          }
        : (r: LogRecord): void => {
            tpl.tag(r);
            // Only when its first line fell out of a full queue (log-templates.ts): no id.
            if (r.templateId === null) quality.note('template-line-dropped', `line ${r.lineNo}`);
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
      tpl?.line(l);
      if (parser) {
        parser.push(l, emit);
        tpl?.prune(parser);
      } else {
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
  return {
    batches: batches(),
    quality: () => quality.report(),
    templates: () => (tpl === null ? null : tpl.finish()),
  };
};

export interface IngestedLogs {
  records: number;
  report: QualityReport;
  /** The InputError that stopped this input early, if any. */
  error: InputError | null;
  /** Final ids for the provisional template keys the rows carry (when asked for). */
  templates: InputTemplates | null;
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
  return { records, report, error, templates: src.templates() };
}
