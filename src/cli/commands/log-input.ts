// Shared by `ingest` and `logs`: read log inputs and append their records to a store in batches,
// with a data-quality report per input. The reading itself is behind `ReadLogs`
// (ingest/read-logs.ts); a large file is read on a worker thread while this one appends
// (ingest/parallel-logs.ts).

import type { LogRecord } from '../../model/records.js';
import type { QualityReport } from '../../model/quality.js';
import type { InputRef } from '../../sources/files.js';
import { InputError, ErrorCode, UsageError, errorMessage } from '../../util/errors.js';
import { isLogFormat, LOG_FORMATS, type LogFormat } from '../../decoders/logs/index.js';
import type { InputTemplates, Store } from '../../store/store.js';
import { readLogs, type ReadLogs, type ReadLogsOptions } from '../../ingest/read-logs.js';
import { readLogsInWorker, useLogWorker } from '../../ingest/parallel-logs.js';

export interface AppendLogsOptions extends ReadLogsOptions {
  /**
   * Read on a worker thread while this one appends: 'auto' (default) for a large regular file
   * with a second core, 'always' (any regular file; tests), 'never'.
   */
  worker?: 'auto' | 'always' | 'never';
}

/** Check a --format value; a UsageError lists the known formats. */
export function checkLogFormat(cmd: string, format: string | undefined): LogFormat | 'auto' {
  if (format === undefined || format === 'auto') return 'auto';
  if (!isLogFormat(format))
    throw new UsageError(
      `${cmd}: unknown --format '${format}' (one of: auto, ${LOG_FORMATS.join(', ')})`,
    );
  return format;
}

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
  opts: AppendLogsOptions,
  read: ReadLogs = readLogs,
): Promise<IngestedLogs> {
  const { worker, ...readOpts } = opts;
  if (read === readLogs && useLogWorker(ref, worker ?? 'auto')) {
    const r = await readLogsInWorker(ref, readOpts, inputId, (chunks) =>
      store.appendLogChunks(chunks),
    );
    if (r.error && !r.quality.error) r.quality.error = r.error.message;
    return { records: r.records, report: r.quality, error: r.error, templates: r.templates };
  }
  const src = read(ref, readOpts);
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
