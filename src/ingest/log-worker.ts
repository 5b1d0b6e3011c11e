// The worker thread of a log input read in parallel (parallel-logs.ts): reads the input, parses
// it, mines its templates and encodes its rows column by column (store/columns.ts), while the
// thread that started it appends the rows already sent. Rows go in batches (read-logs.ts), each
// as ColumnChunks whose buffers are transferred, not copied; batches of at most `windowBytes` are
// unacknowledged at a time (always at least one), so memory stays bounded when the store is the
// slower side.
//
// Messages: worker → parent  { kind: 'chunks', chunks, records } … then { kind: 'end', … }
//           parent → worker  'ack' after each batch is appended

import { parentPort, workerData } from 'node:worker_threads';
import type { LogRecord } from '../model/records.js';
import { ChunkEncoder, CHUNK_ROWS, type ColumnChunk } from '../store/columns.js';
import { LOGS } from '../store/schema.js';
import { InputError, errorMessage } from '../util/errors.js';
import { readLogs } from './read-logs.js';
import type { LogWorkerEnd, LogWorkerTask, WorkerInputError } from './parallel-logs.js';

const task = workerData as LogWorkerTask;
const port = parentPort!;

/** Encoded bytes of the batches sent and not yet acknowledged, oldest first (acks come in order). */
const inFlight: number[] = [];
let inFlightBytes = 0;
let wake: (() => void) | null = null;
port.on('message', (m: unknown) => {
  if (m !== 'ack') return;
  inFlightBytes -= inFlight.shift() ?? 0;
  const w = wake;
  wake = null;
  w?.();
});

const encoder = new ChunkEncoder(LOGS);
const src = readLogs({ name: task.name, path: task.path }, task.opts);
let records = 0;
let error: WorkerInputError | null = null;

async function send(batch: LogRecord[]): Promise<void> {
  const chunks: ColumnChunk[] = [];
  for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, batch.length - start);
    chunks.push(encoder.encode(batch, start, n, task.inputId, true));
  }
  let size = 0;
  for (const c of chunks) size += c.fixed.byteLength + c.bytes.byteLength;
  while (inFlight.length > 0 && inFlightBytes + size > task.windowBytes)
    await new Promise<void>((resolve) => (wake = resolve));
  inFlight.push(size);
  inFlightBytes += size;
  records += batch.length;
  port.postMessage(
    { kind: 'chunks', chunks, records: batch.length },
    chunks.flatMap((c) => [c.fixed, c.bytes]),
  );
}

try {
  for await (const batch of src.batches) await send(batch);
} catch (err) {
  error =
    err instanceof InputError
      ? { code: err.code, file: err.file, message: err.message, offset: err.offset, line: err.line }
      : {
          code: 'E_INPUT_UNREADABLE',
          file: task.name,
          message: `${task.name}: ${errorMessage(err)}`,
          offset: null,
          line: null,
        };
}
const end: LogWorkerEnd = {
  kind: 'end',
  records,
  quality: src.quality(),
  templates: src.templates(),
  error,
};
port.postMessage(end);
