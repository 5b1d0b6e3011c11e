// Reads one capture input (file, .gz/.zst, stdin) through the capture engine, streaming.

import { readChunks, type InputRef } from '../sources/files.js';
import { CaptureEngine, type CaptureEngineOptions } from '../decoders/capture/engine.js';
import { CaptureFormatError } from '../decoders/capture/capture-reader.js';
import { ErrorCode, InputError } from '../util/errors.js';

export interface CaptureRun {
  engine: CaptureEngine;
  /** The one-line error if the capture could not be read to its end (what came before counts). */
  error: InputError | null;
}

export async function analyzeCapture(
  ref: InputRef,
  opts: Omit<CaptureEngineOptions, 'source'>,
): Promise<CaptureRun> {
  const engine = new CaptureEngine({ ...opts, source: ref.name });
  let error: InputError | null = null;
  try {
    for await (const chunk of readChunks(ref)) engine.push(chunk);
    engine.end();
    if (engine.quality.report().skippedByReason['truncated-record']) {
      error = new InputError(
        ErrorCode.INPUT_TRUNCATED,
        ref.name,
        'the capture is cut short in the middle of a packet; packets before it were analysed',
        { offset: engine.offset },
      );
    }
  } catch (err) {
    engine.finish();
    if (err instanceof CaptureFormatError) {
      error = new InputError(ErrorCode.INPUT_FORMAT, ref.name, err.message, { offset: err.offset });
    } else if (err instanceof InputError) {
      error = err;
    } else throw err;
  }
  if (error) engine.quality.error = error.message;
  return { engine, error };
}
