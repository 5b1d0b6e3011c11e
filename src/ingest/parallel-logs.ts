// One log input read on two threads: a worker thread (log-worker.ts) reads, parses, mines templates
// and encodes rows column by column; this thread appends the encoded rows to the store as they
// come (the store's native appends — compression and writes into the file — are as much work as
// the parsing). Used for large regular files when a core is idle (useLogWorker); the rows, their
// order, the template ids and the reports are the same as reading on one thread (read-logs.ts).

import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { QualityReport } from '../model/quality.js';
import type { InputRef } from '../sources/files.js';
import type { ColumnChunk } from '../store/columns.js';
import type { InputTemplates } from '../store/store.js';
import { ErrorCode, InputError } from '../util/errors.js';
import type { ReadLogsOptions } from './read-logs.js';

/** Below this size one thread is as fast (a worker costs ≈0.1 s to start and load). */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;
/**
 * Encoded rows sent and not yet appended, at most. Large enough to ride out the store's bursts
 * (an appender flush compresses ~200k rows at once): measured on 1M JSON lines, with 3 batches in
 * flight the worker waited 1.6 s of its 5.9 s, with 16 0.9 s, with 64 (≈70 MB) not at all.
 */
const WINDOW_BYTES = 64 * 1024 * 1024;

/** The worker's young generation (see readLogsInWorker). */
const YOUNG_GENERATION_MB = 64;

export interface LogWorkerTask {
  name: string;
  path: string;
  opts: ReadLogsOptions;
  inputId: number | null;
  windowBytes: number;
}

/** An InputError as data (errors do not cross threads with their class). */
export interface WorkerInputError {
  code: string;
  file: string;
  message: string;
  offset: number | null;
  line: number | null;
}

export interface LogWorkerEnd {
  kind: 'end';
  records: number;
  quality: QualityReport;
  templates: InputTemplates | null;
  error: WorkerInputError | null;
}

interface LogWorkerChunks {
  kind: 'chunks';
  chunks: ColumnChunk[];
  records: number;
}

export interface ParallelLogsResult {
  records: number;
  quality: QualityReport;
  templates: InputTemplates | null;
  error: InputError | null;
}

/**
 * Whether to read `ref` on a worker thread: 'always', 'never', or 'auto' — a regular file of at
 * least PARALLEL_MIN_BYTES on a machine with two cores or more. Measured on the shared 2-core box
 * (1M JSON lines, 302 MiB, runs alternated): median 6.2 s on two threads against 7.0 s on one
 * under the usual load of ≈2.3 (5 runs of 6 faster), 5.4–6.0 s against 6.9–7.4 s when quiet, but
 * 8–10 s against 7.4–7.9 s when other jobs kept both cores busy (load 3–4); two threads take
 * ≈9.3 s of CPU against ≈7.4 s (a second heap, its GC). The 1-minute load average did not tell
 * these cases apart (a gate on it picked one thread where two were faster), so none is used.
 */
export function useLogWorker(ref: InputRef, mode: 'auto' | 'always' | 'never'): boolean {
  if (mode === 'never' || ref.path === null) return false;
  if (mode === 'always') return true;
  if (availableParallelism() < 2) return false;
  try {
    const st = statSync(ref.path);
    return st.isFile() && st.size >= PARALLEL_MIN_BYTES;
  } catch {
    return false;
  }
}

/**
 * Read one log input on a worker thread; `append` gets its rows, encoded, batch after batch (the
 * next batch is appended only after the previous one's promise settled). Resolves once every row
 * is appended; rejects when `append` throws (a store error: the worker is stopped) or the worker
 * dies (an internal error). Input errors are results, as with read-logs.ts.
 */
export function readLogsInWorker(
  ref: InputRef,
  opts: ReadLogsOptions,
  inputId: number | null,
  append: (chunks: readonly ColumnChunk[]) => Promise<void>,
): Promise<ParallelLogsResult> {
  // Built: dist/…/log-worker.js. From source (tests under tsx) a bootstrap registers the
  // TypeScript loader first: worker threads do not inherit loader hooks.
  const url = new URL(
    import.meta.url.endsWith('.ts') ? './log-worker.dev.mjs' : './log-worker.js',
    import.meta.url,
  );
  const task: LogWorkerTask = {
    name: ref.name,
    path: ref.path!,
    opts,
    inputId,
    windowBytes: WINDOW_BYTES,
  };
  // A larger young generation than V8's default: the parser's short-lived objects die in fewer
  // scavenges. Measured on the bench (1M JSON lines): worker GC 1.3 s → ≈0.8 s, ingest 6.8 → 6.0 s
  // wall (best of 2 each, 32/64/96/128 MB tried; 64 best), peak RSS unchanged within noise.
  const worker = new Worker(url, {
    workerData: task,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  return new Promise<ParallelLogsResult>((resolve, reject) => {
    let settled = false;
    /** The 'end' message came: the worker may exit before the last appends are done. */
    let ended = false;
    let appended: Promise<void> = Promise.resolve();
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    worker.on('message', (m: LogWorkerChunks | LogWorkerEnd) => {
      if (m.kind === 'chunks') {
        // After a failed append nothing more is appended (the worker is being stopped).
        appended = appended
          .then(() => (settled ? undefined : append(m.chunks)))
          .then(() => worker.postMessage('ack'), fail);
        return;
      }
      ended = true;
      void appended.then(() => {
        if (settled) return;
        settled = true;
        void worker.terminate();
        resolve({
          records: m.records,
          quality: m.quality,
          templates: m.templates,
          error: m.error ? inputError(m.error) : null,
        });
      });
    });
    worker.on('error', (err) => fail(new Error(`log worker for ${ref.name}: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!settled && !ended) fail(new Error(`log worker for ${ref.name} exited with ${code}`));
    });
  });
}

function inputError(e: WorkerInputError): InputError {
  const codes: readonly string[] = Object.values(ErrorCode);
  const code = codes.includes(e.code) ? (e.code as InputError['code']) : ErrorCode.INPUT_UNREADABLE;
  const where: { offset?: number; line?: number } = {};
  if (e.offset !== null) where.offset = e.offset;
  if (e.line !== null) where.line = e.line;
  const err = new InputError(code, e.file, '', where);
  err.message = e.message;
  return err;
}
