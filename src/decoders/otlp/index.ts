// Telemetry documents (files or request bodies) → spans, log records and metric points.
// Layout follows OpenTelemetry JS's otlp-transformer: {trace,logs,metrics}/{protobuf,json}.ts plus
// Jaeger and Zipkin JSON. Formats are recognised by content, not by file name:
//   - JSON object with resourceSpans / resourceLogs / resourceMetrics (camel or snake case): OTLP/JSON
//   - one such object per line (the Collector's file exporter): OTLP/JSON lines
//   - {data:[…]} or {traceID, spans, processes}: Jaeger; [{traceId, id, …}]: Zipkin v2
//   - anything else: an ExportTraceServiceRequest in protobuf (a `.binpb` dump)

import type { Quality } from '../../model/quality.js';
import type { LogRecord } from '../../model/records.js';
import type { MetricPoint, Span } from '../../model/span.js';
import { isObject } from './common/json.js';
import { decodeJaegerJson, isJaegerDocument } from './jaeger-json.js';
import { decodeLogsRequestJson } from './logs/json.js';
import { decodeMetricsRequestJson } from './metrics/json.js';
import { decodeTraceRequestJson } from './trace/json.js';
import { decodeTraceRequestProto } from './trace/protobuf.js';
import { decodeZipkinJson, isZipkinDocument } from './zipkin-json.js';

export { decodeTraceRequestProto } from './trace/protobuf.js';
export { decodeLogsRequestProto } from './logs/protobuf.js';
export { decodeMetricsRequestProto } from './metrics/protobuf.js';
export { decodeTraceRequestJson } from './trace/json.js';
export { decodeLogsRequestJson } from './logs/json.js';
export { decodeMetricsRequestJson } from './metrics/json.js';
export type { DecodeOutcome } from './outcome.js';

export interface TelemetryBatch {
  spans: Span[];
  logs: LogRecord[];
  points: MetricPoint[];
}

export function emptyBatch(): TelemetryBatch {
  return { spans: [], logs: [], points: [] };
}

export type TelemetryFormat =
  'otlp-json' | 'otlp-json-lines' | 'otlp-proto' | 'jaeger-json' | 'zipkin-json' | 'unknown';

function firstByte(b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}

/** Decode one parsed JSON document into `out`; returns its format or 'unknown'. */
export function decodeJsonDocument(
  doc: unknown,
  out: TelemetryBatch,
  q: Quality,
  file: string,
): TelemetryFormat {
  if (isZipkinDocument(doc)) {
    decodeZipkinJson(doc, out.spans, q);
    return 'zipkin-json';
  }
  if (!isObject(doc)) {
    q.skip('unknown-document', 0, 'not an OTLP, Jaeger or Zipkin document');
    return 'unknown';
  }
  let known = false;
  if ('resourceSpans' in doc || 'resource_spans' in doc) {
    decodeTraceRequestJson(doc, out.spans, q);
    known = true;
  }
  if ('resourceLogs' in doc || 'resource_logs' in doc) {
    decodeLogsRequestJson(doc, out.logs, q, file);
    known = true;
  }
  if ('resourceMetrics' in doc || 'resource_metrics' in doc) {
    decodeMetricsRequestJson(doc, out.points, q);
    known = true;
  }
  if (known) return 'otlp-json';
  if (isJaegerDocument(doc)) {
    decodeJaegerJson(doc, out.spans, q);
    return 'jaeger-json';
  }
  q.skip('unknown-document', 0, 'not an OTLP, Jaeger or Zipkin document');
  return 'unknown';
}

/** Decode a whole telemetry file (already decompressed). Never throws. */
export function decodeTelemetryFile(
  bytes: Uint8Array,
  file: string,
  out: TelemetryBatch,
  q: Quality,
): TelemetryFormat {
  const c = firstByte(bytes);
  if (c === -1) return 'unknown';
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    let doc: unknown;
    let parsed = true;
    try {
      doc = JSON.parse(text);
    } catch {
      parsed = false;
    }
    if (parsed) return decodeJsonDocument(doc, out, q, file);
    // JSON lines: one export request per line.
    let fmt: TelemetryFormat = 'unknown';
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      let d: unknown;
      try {
        d = JSON.parse(line);
      } catch (err) {
        q.skip('invalid-json', `line ${i + 1}`, err instanceof Error ? err.message : String(err));
        continue;
      }
      const f = decodeJsonDocument(d, out, q, file);
      if (f !== 'unknown') fmt = 'otlp-json-lines';
    }
    return fmt;
  }
  decodeTraceRequestProto(bytes, out.spans, q);
  return 'otlp-proto';
}
