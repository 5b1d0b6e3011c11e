// The capture side of `mlscope ingest`: decodes a pcap/pcapng input with the capture engine and
// appends its TCP connections and HTTP exchanges to the store in batches, streaming (batches are
// flushed between input chunks, so memory follows the batch size, not the capture).

import { readChunks, type InputRef } from '../../sources/files.js';
import type { InputStats, Store } from '../../store/store.js';
import type { Connection, Exchange } from '../../model/records.js';
import { CaptureEngine } from '../../decoders/capture/engine.js';
import { allRecognisers } from '../../decoders/proto/registry.js';
import { ErrorCode, InputError } from '../../util/errors.js';

export { sniffCapture } from '../../decoders/capture/capture-reader.js';

export interface CaptureIngest {
  /** Format name recorded in `inputs.format` ('pcap' | 'pcapng'). */
  format: string;
  stats: InputStats;
}

const BATCH = 4096;

export async function ingestCapture(
  ref: InputRef,
  store: Store,
  inputId: number | null,
  format: 'pcap' | 'pcapng',
): Promise<CaptureIngest> {
  let conns: Connection[] = [];
  let xs: Exchange[] = [];
  let records = 0;
  const engine = new CaptureEngine({
    source: ref.name,
    recognisers: allRecognisers(),
    sink: {
      connection: (c) => {
        conns.push(c);
      },
      exchange: (x) => {
        xs.push(x);
      },
    },
  });
  const flush = async (all: boolean): Promise<void> => {
    if (conns.length >= BATCH || (all && conns.length)) {
      const b = conns;
      conns = [];
      records += b.length;
      await store.appendConnections(b, inputId);
    }
    if (xs.length >= BATCH || (all && xs.length)) {
      const b = xs;
      xs = [];
      records += b.length;
      await store.appendExchanges(b, inputId);
    }
  };
  let error: string | null = null;
  try {
    for await (const chunk of readChunks(ref)) {
      engine.push(chunk);
      if (engine.failure) break;
      await flush(false);
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    error = err.message;
  }
  engine.end();
  await flush(true);
  const f = engine.failure;
  if (!error && f)
    error = new InputError(ErrorCode.INPUT_FORMAT, ref.name, f.message, { offset: f.offset })
      .message;
  else if (!error && engine.cutShort) {
    error = new InputError(
      ErrorCode.INPUT_TRUNCATED,
      ref.name,
      'the capture is cut short in the middle of a packet; the packets before it were ingested',
      { offset: engine.offset },
    ).message;
  }
  const q = engine.quality.report();
  return {
    format: engine.format ?? format,
    stats: { records, skipped: q.skipped, error, format: engine.format ?? format },
  };
}
