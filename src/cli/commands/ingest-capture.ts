// The hook `mlscope ingest` calls for packet captures (pcap/pcapng). The lead wires the capture
// pipeline in here: decode the input, append its connections and exchanges with
// `store.appendConnections(batch, inputId)` / `store.appendExchanges(batch, inputId)`, and return
// the counts. Until then a capture is reported as an input that cannot be ingested (exit 1).

import type { InputRef } from '../../sources/files.js';
import type { InputStats, Store } from '../../store/store.js';
import { ErrorCode, InputError } from '../../util/errors.js';

export interface CaptureIngest {
  /** Format name recorded in `inputs.format` ('pcap' | 'pcapng'). */
  format: string;
  stats: InputStats;
}

export function ingestCapture(
  ref: InputRef,
  _store: Store,
  _inputId: number | null,
  format: 'pcap' | 'pcapng',
): Promise<CaptureIngest> {
  return Promise.reject(
    new InputError(ErrorCode.INPUT_FORMAT, ref.name, `${format} captures cannot be ingested yet`),
  );
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_SHB = 0x0a0d0d0a;

/** Recognise a capture from its first (decompressed) bytes. */
export function sniffCapture(head: Uint8Array): 'pcap' | 'pcapng' | null {
  if (head.length < 4) return null;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (PCAP_MAGICS.has(be)) return 'pcap';
  if (be === PCAPNG_SHB) return 'pcapng';
  return null;
}
