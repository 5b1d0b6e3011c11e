// Reads an incident bundle: any mix of captures and log files (directories walked, .gz/.zst
// decompressed), each routed by content (capture magic bytes, else text logs), into the records the
// investigation joins: HTTP exchanges, TCP connections, retransmission events and log records,
// with one data-quality entry per input.

import type { Connection, Exchange, LogRecord, RetransmissionEvent } from '../model/records.js';
import type { QualityReport } from '../model/quality.js';
import { expandInputs, readChunks, type InputRef } from '../sources/files.js';
import type { Span } from '../model/span.js';
import { Quality } from '../model/quality.js';
import { decodeTelemetryFile, emptyBatch } from '../decoders/otlp/index.js';
import { ErrorCode, InputError } from '../util/errors.js';
import { allRecognisers } from '../decoders/proto/registry.js';
import { analyzeCapture } from './capture.js';
import { readLogInput } from './logs.js';
import { detectFile } from './detect.js';
import { mergeKeyLogs, readKeyLog } from './keylog.js';
import type { TlsKeyLog } from '../decoders/proto/tls-decrypt.js';

export interface BundleData {
  exchanges: Exchange[];
  connections: Map<number, Connection>;
  retransmissions: RetransmissionEvent[];
  logs: LogRecord[];
  spans: Span[];
  /** Per input: what it was read as and what was kept or skipped. */
  quality: {
    source: string;
    format: string;
    records: number;
    skipped: number;
    report: QualityReport;
  }[];
  errors: InputError[];
  captures: string[];
  /** TLS sessions in the captures (ServerHellos), those decrypted with a key log, those it lacked. */
  tls: { sessions: number; decrypted: number; notInKeyLog: number };
}

export interface BundleOptions {
  /** Bytes of each HTTP body kept (prompts, inference payloads). */
  bodyCaptureBytes?: number;
  /** Cap on log records kept in memory. */
  maxLogRecords?: number;
  referenceYear?: number;
  /**
   * Drop each exchange's header maps once its request id, traceparent and content type are
   * extracted (what `investigate` needs), so memory per request stays small on large captures.
   */
  slimExchanges?: boolean;
  /** A TLS key log (--tls-keylog); key logs found among the inputs are added to it. */
  tlsKeys?: TlsKeyLog | null;
}

const DEFAULT_MAX_LOG_RECORDS = 2_000_000;
const MAX_TRACE_FILE_BYTES = 512 * 1024 * 1024;
const NO_HEADERS: Record<string, string> = Object.freeze({});
/** One shared `{ server }` object per Server header value (a capture has few; bounded). */
const SERVER_HEADERS = new Map<string, Record<string, string>>();
function serverHeaders(server: string): Record<string, string> {
  let h = SERVER_HEADERS.get(server);
  if (h === undefined) {
    h = Object.freeze({ server });
    if (SERVER_HEADERS.size < 1000) SERVER_HEADERS.set(server, h);
  }
  return h;
}

export async function readBundle(
  args: readonly string[],
  opts: BundleOptions = {},
): Promise<BundleData> {
  const out: BundleData = {
    exchanges: [],
    connections: new Map(),
    retransmissions: [],
    logs: [],
    spans: [],
    quality: [],
    errors: [],
    captures: [],
    tls: { sessions: 0, decrypted: 0, notInKeyLog: 0 },
  };
  const refs = await expandInputs(args, (e) => out.errors.push(e));
  const maxLogs = opts.maxLogRecords ?? DEFAULT_MAX_LOG_RECORDS;
  // Key logs first (whatever their place among the inputs): every capture can use them.
  const kinds = new Map<InputRef, Awaited<ReturnType<typeof classify>>>();
  const keyLogs: TlsKeyLog[] = opts.tlsKeys ? [opts.tlsKeys] : [];
  for (const ref of refs) {
    const kind = await classify(ref);
    kinds.set(ref, kind);
    if (kind !== 'tls-keys') continue;
    const q = new Quality(ref.name, 'tls-keylog');
    try {
      const log = await readKeyLog(ref);
      keyLogs.push(log);
      for (let i = 0; i < log.used; i++) q.ok();
      for (let i = 0; i < log.rejected; i++) q.skip('not-a-key-log-line');
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      out.errors.push(err);
      q.error = err.message;
    }
    const report = q.report();
    out.quality.push({
      source: ref.name,
      format: 'tls-keylog',
      records: report.decoded,
      skipped: report.skipped,
      report,
    });
  }
  const tlsKeys = mergeKeyLogs(keyLogs);
  // Connection ids are per capture; offset them so several captures do not collide.
  let connIdBase = 0;
  for (const ref of refs) {
    const kind = kinds.get(ref)!;
    if (kind === 'tls-keys') continue;
    if (kind === 'traces') {
      await readTraces(ref, out);
    } else if (kind === 'flows') {
      // Flow records carry no request timing: investigate does not use them, and says so.
      const q = new Quality(ref.name, 'flows');
      q.note(
        'not-used-by-investigate',
        'file',
        'flow records (mlscope flows and ingest read them)',
      );
      out.quality.push({
        source: ref.name,
        format: 'flows',
        records: 0,
        skipped: 0,
        report: q.report(),
      });
    } else if (kind === 'capture') {
      out.captures.push(ref.name);
      const base = connIdBase;
      let maxId = 0;
      const run = await analyzeCapture(ref, {
        recognisers: allRecognisers(),
        protoLimits: { bodyCaptureBytes: opts.bodyCaptureBytes ?? 0, tlsKeys },
        sink: {
          exchange(x) {
            x.connId += base;
            if (opts.slimExchanges) {
              x.requestHeaders = NO_HEADERS;
              // the Server header alone: it tells a proxy from the app behind it
              const server = x.responseHeaders['server'];
              x.responseHeaders = server !== undefined ? serverHeaders(server) : NO_HEADERS;
            }
            out.exchanges.push(x);
          },
          connection(c) {
            c.id += base;
            maxId = Math.max(maxId, c.id);
            out.connections.set(c.id, c);
          },
          retransmission(e) {
            out.retransmissions.push({ ...e, connId: e.connId + base });
          },
        },
      });
      connIdBase = Math.max(maxId, connIdBase) + 1;
      if (run.error) out.errors.push(run.error);
      const counts = run.engine.counters();
      out.tls.sessions += counts['tls.serverHellos'] ?? 0;
      out.tls.decrypted += counts['tls.decryptedSessions'] ?? 0;
      out.tls.notInKeyLog += counts['tls.notInKeyLog'] ?? 0;
      const q = run.engine.quality.report();
      out.quality.push({
        source: ref.name,
        format: run.engine.format ?? 'capture',
        records: q.decoded,
        skipped: q.skipped,
        report: q,
      });
    } else {
      let format = 'log';
      for await (const ev of readLogInput(
        ref,
        opts.referenceYear !== undefined ? { referenceYear: opts.referenceYear } : {},
      )) {
        if (ev.kind === 'records') {
          format = ev.format;
          for (const r of ev.records) if (out.logs.length < maxLogs) out.logs.push(r);
        } else if (ev.kind === 'file') {
          out.quality.push({
            source: ref.name,
            format: ev.format,
            records: ev.quality.decoded,
            skipped: ev.quality.skipped,
            report: ev.quality,
          });
          format = ev.format;
        } else out.errors.push(ev.error);
      }
      void format;
    }
  }
  return out;
}

/**
 * What a bundle file is, by content (ingest/detect.ts, as `mlscope ingest` decides): captures,
 * telemetry (OTLP JSON/protobuf spans and logs, Jaeger, Zipkin), flow records, or logs.
 */
async function classify(
  ref: InputRef,
): Promise<'capture' | 'traces' | 'flows' | 'tls-keys' | 'log'> {
  if (ref.path === null) return 'log';
  try {
    const d = await detectFile(ref);
    return d.kind === 'capture'
      ? 'capture'
      : d.kind === 'telemetry'
        ? 'traces'
        : d.kind === 'flows'
          ? 'flows'
          : d.kind === 'tls-keys'
            ? 'tls-keys'
            : 'log';
  } catch {
    return 'log';
  }
}

/** Files of spans (OTLP JSON, Jaeger, Zipkin), read whole (bounded) and decoded. */
async function readTraces(ref: InputRef, out: BundleData): Promise<void> {
  const q = new Quality(ref.name, 'traces');
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of readChunks(ref)) {
      size += c.length;
      if (size > MAX_TRACE_FILE_BYTES) {
        throw new InputError(
          ErrorCode.LIMIT,
          ref.name,
          `trace file larger than ${MAX_TRACE_FILE_BYTES} bytes`,
        );
      }
      parts.push(c);
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    out.errors.push(err);
    q.error = err.message;
  }
  const batch = emptyBatch();
  const format = decodeTelemetryFile(Buffer.concat(parts), ref.name, batch, q);
  for (const sp of batch.spans) out.spans.push(sp);
  for (const r of batch.logs) out.logs.push(r);
  const report = q.report();
  out.quality.push({
    source: ref.name,
    format,
    records: report.decoded,
    skipped: report.skipped,
    report,
  });
}
