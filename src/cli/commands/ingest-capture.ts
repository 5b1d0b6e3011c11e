// The capture side of `mlscope ingest`: one pass over a pcap/pcapng input feeds two decoders with
// the same chunks: the capture engine (TCP connections and HTTP exchanges → `connections`,
// `exchanges`) and the flow decoder of `mlscope flows` (NetFlow/IPFIX export datagrams decoded as
// exports, every other packet counted into bidirectional flows → `flows`, via FlowStoreIngest).
// A capture of NetFlow export datagrams so gives the flows it carries (and no exchanges); an
// ordinary capture gives its connections and exchanges, and its packet flows too: they cost about
// 15% of the engine's time (0.2 s against 1.3 s on a 180 MB capture here) and a few rows per
// conversation, and they put UDP/DNS/ICMP traffic the engine does not model in the same table as
// flow logs. Appends happen between input chunks, so memory follows the batch size, not the capture.

import type { InputRef } from '../../sources/files.js';
import type { InputStats, Store } from '../../store/store.js';
import type { Connection, Exchange } from '../../model/records.js';
import { CaptureEngine } from '../../decoders/capture/engine.js';
import { allRecognisers } from '../../decoders/proto/registry.js';
import { ErrorCode, InputError } from '../../util/errors.js';
import type { FlowStoreIngest } from './ingest-flows.js';
import type { TlsKeyLog } from '../../decoders/proto/tls-decrypt.js';

export { sniffCapture } from '../../decoders/capture/capture-reader.js';

export interface CaptureIngest {
  /** Format name recorded in `inputs.format` ('pcap' | 'pcapng'). */
  format: string;
  /** Rows written per table. */
  rows: { connections: number; exchanges: number; flows: number };
  stats: InputStats;
  /** Packets the engine skipped (the flow decoder's bad frames are the same frames). */
  engineSkipped: number;
}

const BATCH = 4096;

/** The capture engine with its rows batched for the store. */
class CaptureRows {
  readonly engine: CaptureEngine;
  private conns: Connection[] = [];
  private xs: Exchange[] = [];
  connections = 0;
  exchanges = 0;

  constructor(
    ref: InputRef,
    private readonly store: Store,
    private readonly inputId: number | null,
    tlsKeys: TlsKeyLog | null = null,
  ) {
    this.engine = new CaptureEngine({
      source: ref.name,
      recognisers: allRecognisers(),
      protoLimits: { tlsKeys },
      sink: {
        connection: (c) => {
          this.conns.push(c);
        },
        exchange: (x) => {
          this.xs.push(x);
        },
      },
    });
  }

  push(chunk: Buffer): void {
    // After a structural failure the engine reads nothing more (as when it reads alone).
    if (!this.engine.failure) this.engine.push(chunk);
  }

  async flush(all: boolean): Promise<void> {
    if (this.conns.length >= BATCH || (all && this.conns.length)) {
      const b = this.conns;
      this.conns = [];
      this.connections += b.length;
      await this.store.appendConnections(b, this.inputId);
    }
    if (this.xs.length >= BATCH || (all && this.xs.length)) {
      const b = this.xs;
      this.xs = [];
      this.exchanges += b.length;
      await this.store.appendExchanges(b, this.inputId);
    }
  }
}

/**
 * Ingest one capture: connections, exchanges and flows. Never throws for bad input: `stats.error`
 * says why it stopped (the rows before it are kept). Store errors propagate.
 */
export async function ingestCapture(
  ref: InputRef,
  store: Store,
  inputId: number | null,
  format: 'pcap' | 'pcapng',
  flows: FlowStoreIngest,
  tlsKeys: TlsKeyLog | null = null,
): Promise<CaptureIngest> {
  const cap = new CaptureRows(ref, store, inputId, tlsKeys);
  const flowReport = await flows.read(ref, inputId, {
    chunk: (c) => cap.push(c),
    between: () => cap.flush(false),
  });
  const engine = cap.engine;
  engine.end();
  await cap.flush(true);
  const f = engine.failure;
  let error: string | null = null;
  if (f)
    error = new InputError(ErrorCode.INPUT_FORMAT, ref.name, f.message, { offset: f.offset })
      .message;
  else if (flowReport.error) error = flowReport.error;
  else if (engine.cutShort)
    error = new InputError(
      ErrorCode.INPUT_TRUNCATED,
      ref.name,
      'the capture is cut short in the middle of a packet; the packets before it were ingested',
      { offset: engine.offset },
    ).message;
  const q = engine.quality.report();
  const rows = {
    connections: cap.connections,
    exchanges: cap.exchanges,
    flows: flows.rows(inputId),
  };
  const fmt = engine.format ?? format;
  return {
    format: fmt,
    rows,
    engineSkipped: q.skipped,
    stats: {
      records: rows.connections + rows.exchanges + rows.flows,
      skipped: q.skipped + flows.recordsSkipped(inputId),
      error,
      format: fmt,
    },
  };
}
