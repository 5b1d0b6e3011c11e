// Reads one capture input (file, .gz/.zst, stdin) through the capture engine, streaming.

import { readChunksReused, type InputRef } from '../sources/files.js';
import { CaptureEngine, type CaptureEngineOptions } from '../decoders/capture/engine.js';
import { ErrorCode, InputError } from '../util/errors.js';

export interface CaptureRun {
  engine: CaptureEngine;
  /** The one-line error if the capture could not be read to its end (what came before counts). */
  error: InputError | null;
}

export interface AnalyzeOptions extends Omit<CaptureEngineOptions, 'source'> {
  /**
   * Awaited (when it returns a promise) after each chunk: a consumer's backpressure, e.g. until
   * stdout drains, so output the consumer has not read yet does not pile up in memory.
   */
  between?: () => Promise<void> | null;
}

export async function analyzeCapture(ref: InputRef, opts: AnalyzeOptions): Promise<CaptureRun> {
  const { between, ...engineOpts } = opts;
  const engine = new CaptureEngine({ ...engineOpts, source: ref.name });
  let error: InputError | null = null;
  try {
    for await (const chunk of readChunksReused(ref)) {
      engine.push(chunk);
      if (engine.failure) break;
      const wait = between?.();
      if (wait) await wait;
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    error = err;
  }
  engine.end();
  const f = engine.failure;
  if (!error && f) {
    error = new InputError(ErrorCode.INPUT_FORMAT, ref.name, f.message, { offset: f.offset });
  } else if (!error && engine.cutShort) {
    error = new InputError(
      ErrorCode.INPUT_TRUNCATED,
      ref.name,
      'the capture is cut short in the middle of a packet; the packets before it were analysed',
      { offset: engine.offset },
    );
  }
  if (error) engine.quality.error = error.message;
  return { engine, error };
}
