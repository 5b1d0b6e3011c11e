// Log ingestion: inputs (files, directories, stdin; .gz/.zst) → lines → LogRecords, one quality
// report per file. Streams in chunks (sources/files.ts), splits lines itself (util/lines.ts),
// and yields records in batches (one per input chunk) so a consumer can append them columnar.
//
//   for await (const ev of readLogInputs(['logs/'], { referenceYear: 2026 })) {
//     if (ev.kind === 'records') store.append(ev.records);
//     else if (ev.kind === 'file') reports.push(ev.quality);   // after the file's last batch
//     else errors.push(ev.error);                               // unreadable input (exit 1)
//   }

import type { LogRecord } from '../model/records.js';
import { Quality, type QualityReport } from '../model/quality.js';
import { expandInputs, readChunks, type InputRef } from '../sources/files.js';
import { InputError, ErrorCode, errorMessage } from '../util/errors.js';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type Line } from '../util/lines.js';
import { createLogParser } from '../decoders/logs/index.js';
import type { LogFormat, LogParseOptions } from '../decoders/logs/index.js';

export interface LogIngestOptions extends LogParseOptions {
  /** Lines longer than this are cut (and counted as 'truncated-line'). */
  maxLineBytes?: number;
  /** Year for year-less timestamps; default: the current UTC year from `now`. */
  referenceYear?: number;
  /** Injected clock (ms), only used to default `referenceYear`. */
  now?: () => number;
}

export type LogIngestEvent =
  | { kind: 'records'; source: string; format: LogFormat; records: LogRecord[] }
  | { kind: 'file'; source: string; format: LogFormat; lines: number; quality: QualityReport }
  | { kind: 'error'; source: string; error: InputError };

/** Expand the arguments (directories walked) and read every input in turn. */
export async function* readLogInputs(
  args: readonly string[],
  opts: LogIngestOptions = {},
): AsyncGenerator<LogIngestEvent> {
  const errors: InputError[] = [];
  const refs = await expandInputs(args, (e) => errors.push(e));
  for (const e of errors) yield { kind: 'error', source: e.file, error: e };
  for (const ref of refs) yield* readLogInput(ref, opts);
}

/** Read one input. An unreadable/corrupt input ends with its quality report and an error event. */
export async function* readLogInput(
  ref: InputRef,
  opts: LogIngestOptions = {},
): AsyncGenerator<LogIngestEvent> {
  const referenceYear = opts.referenceYear ?? new Date((opts.now ?? Date.now)()).getUTCFullYear();
  const quality = new Quality(ref.name, 'auto');
  const parser = createLogParser(ref.name, quality, { ...opts, referenceYear });
  const splitter = new LineSplitter(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  let batch: LogRecord[] = [];
  let lines = 0;
  const emit = (r: LogRecord): void => {
    batch.push(r);
  };
  const onLine = (l: Line): void => {
    lines++;
    parser.push(l, emit);
  };
  let error: InputError | null = null;
  try {
    for await (const chunk of readChunks(ref)) {
      splitter.push(chunk, onLine);
      if (batch.length > 0) {
        yield { kind: 'records', source: ref.name, format: parser.format, records: batch };
        batch = [];
      }
    }
  } catch (err) {
    error =
      err instanceof InputError
        ? err
        : new InputError(ErrorCode.INPUT_UNREADABLE, ref.name, errorMessage(err));
    quality.error = error.message;
  }
  splitter.end(onLine);
  parser.end(emit);
  if (batch.length > 0)
    yield { kind: 'records', source: ref.name, format: parser.format, records: batch };
  yield { kind: 'file', source: ref.name, format: parser.format, lines, quality: quality.report() };
  if (error !== null) yield { kind: 'error', source: ref.name, error };
}
