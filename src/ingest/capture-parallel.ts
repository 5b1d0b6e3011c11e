// Capture summaries on several cores: every worker reads the whole file (from the page cache) and
// decodes every frame's headers, but runs TCP analysis and protocol parsing only for its share of
// the conversations (by a symmetric 4-tuple hash); the parent merges the counts. Used for
// summaries (`mlscope pcap`), where no exchange has to come out in order.

import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { InputRef } from '../sources/files.js';
import type { CaptureSummary } from '../decoders/capture/engine.js';
import type { QualityReport } from '../model/quality.js';
import type { WorstConnection } from '../analyzers/capture/worst.js';
import { ErrorCode, InputError } from '../util/errors.js';

export interface PartitionTask {
  name: string;
  path: string;
  index: number;
  count: number;
  top: number;
}

export interface PartitionResult {
  index: number;
  format: string | null;
  summary: CaptureSummary;
  rtts: number[];
  quality: QualityReport;
  worst: { score: number; row: WorstConnection }[];
  error: string | null;
}

export interface ParallelCaptureResult {
  format: string | null;
  summary: CaptureSummary;
  worst: WorstConnection[];
  error: InputError | null;
}

/** Below this size one thread is faster than starting workers. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;

/** Whether a parallel run is worth it for this input (a plain file, large, several cores). */
export function parallelWorthIt(ref: InputRef): boolean {
  if (ref.path === null || availableParallelism() < 2) return false;
  try {
    return statSync(ref.path).size >= PARALLEL_MIN_BYTES;
  } catch {
    return false;
  }
}

export async function analyzeCaptureParallel(
  ref: InputRef,
  top: number,
): Promise<ParallelCaptureResult> {
  const count = Math.min(availableParallelism(), 4);
  // Built: dist/…/capture-worker.js. From source (tests under tsx) a bootstrap registers the
  // TypeScript loader first: worker threads do not inherit loader hooks.
  const url = new URL(
    import.meta.url.endsWith('.ts') ? './capture-worker.dev.mjs' : './capture-worker.js',
    import.meta.url,
  );
  const parts = await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<PartitionResult>((resolve, reject) => {
          const task: PartitionTask = { name: ref.name, path: ref.path!, index, count, top };
          const w = new Worker(url, { workerData: task });
          w.once('message', (m: PartitionResult) => resolve(m));
          w.once('error', reject);
          w.once('exit', (code) => {
            if (code !== 0) reject(new Error(`capture worker ${index} exited with ${code}`));
          });
        }),
    ),
  );
  parts.sort((a, b) => a.index - b.index);
  const lead = parts[0]!;
  const s = structuredClone(lead.summary);
  const rtts: number[] = [];
  const skipped: Record<string, number> = {};
  for (const p of parts) {
    rtts.push(...p.rtts);
    for (const [k, v] of Object.entries(p.quality.skippedByReason))
      skipped[k] = (skipped[k] ?? 0) + v;
    if (p === lead) continue;
    const t = p.summary.tcp;
    s.tcp.connections += t.connections;
    s.tcp.packets += t.packets;
    s.tcp.retransmissions += t.retransmissions;
    s.tcp.fastRetransmissions += t.fastRetransmissions;
    s.tcp.spuriousRetransmissions += t.spuriousRetransmissions;
    s.tcp.duplicateAcks += t.duplicateAcks;
    s.tcp.zeroWindows += t.zeroWindows;
    s.tcp.outOfOrder += t.outOfOrder;
    s.tcp.resets += t.resets;
    s.http.requests += p.summary.http.requests;
    s.http.responses += p.summary.http.responses;
    s.http.exchanges += p.summary.http.exchanges;
    s.http2.streams += p.summary.http2.streams;
    s.tls.clientHellos += p.summary.tls.clientHellos;
    s.tls.sni = [...new Set([...s.tls.sni, ...p.summary.tls.sni])].sort();
  }
  rtts.sort((a, b) => a - b);
  s.tcp.handshakes = rtts.length;
  if (rtts.length) {
    const m = rtts.length >> 1;
    const med = rtts.length % 2 ? rtts[m]! : (rtts[m - 1]! + rtts[m]!) / 2;
    s.tcp.medianHandshakeRttMs = Math.round(med * 1e6) / 1e6;
  } else s.tcp.medianHandshakeRttMs = null;
  s.skipped = skipped;
  const worst = parts
    .flatMap((p) => p.worst)
    .sort((a, b) => b.score - a.score)
    .slice(0, top)
    .map((w) => w.row);
  const msg = parts.find((p) => p.error)?.error ?? null;
  // The worker's message already names the file and offset; keep it as it is.
  const error = msg
    ? Object.assign(new InputError(ErrorCode.INPUT_FORMAT, ref.name, ''), { message: msg })
    : null;
  return { format: lead.format, summary: s, worst, error };
}
