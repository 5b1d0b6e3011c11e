// OTLP log record → the project's LogRecord (model/records.ts), shared by both encodings.
// Severity follows the OTLP SeverityNumber ranges (logs data model): 1–4 TRACE, 5–8 DEBUG,
// 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL; with no number, severity_text is mapped.

import type { LogRecord, Severity } from '../../../model/records.js';
import type { Attrs } from '../common/protobuf.js';

const BY_RANGE: readonly Severity[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

export function severityOf(num: number, text: string | null): Severity | null {
  if (num >= 1 && num <= 24) return BY_RANGE[Math.floor((num - 1) / 4)]!;
  if (!text) return null;
  const t = text.trim().toUpperCase();
  if (t.startsWith('TRACE')) return 'TRACE';
  if (t.startsWith('DEBUG')) return 'DEBUG';
  if (t.startsWith('INFO') || t === 'NOTICE') return 'INFO';
  if (t.startsWith('WARN')) return 'WARN';
  if (t.startsWith('ERR')) return 'ERROR';
  if (t.startsWith('FATAL') || t === 'CRITICAL' || t === 'EMERGENCY') return 'FATAL';
  return null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** Take a well-known attribute out of `a` (first name found), leaving the rest as attributes. */
function take(a: Attrs, names: readonly string[]): Attrs[string] | undefined {
  for (const n of names) {
    if (n in a) {
      const v = a[n];
      delete a[n];
      return v;
    }
  }
  return undefined;
}

export interface OtlpLogFields {
  tsUs: number | null;
  severityNumber: number;
  severityText: string | null;
  body: string;
  attributes: Attrs;
  traceId: string | null;
  spanId: string | null;
  resource: Attrs;
  eventName: string | null;
}

export function toLogRecord(
  f: OtlpLogFields,
  file: string,
  lineNo: number,
  format: string,
): LogRecord {
  const a = f.attributes;
  const status = take(a, ['http.response.status_code', 'http.status_code']);
  const dur = take(a, ['duration_ms']);
  const statusNum = typeof status === 'number' ? status : status != null ? Number(status) : NaN;
  if (f.eventName) a['event.name'] = f.eventName;
  return {
    tsUs: f.tsUs,
    severity: severityOf(f.severityNumber, f.severityText),
    body: f.body,
    requestId: str(take(a, ['request.id', 'request_id', 'http.request.id'])),
    traceId: f.traceId,
    spanId: f.spanId,
    httpMethod: str(take(a, ['http.request.method', 'http.method'])),
    httpPath: str(take(a, ['url.path', 'http.target', 'http.route'])),
    httpStatus: Number.isInteger(statusNum) ? statusNum : null,
    durationMs: typeof dur === 'number' ? dur : null,
    clientIp: str(take(a, ['client.address', 'net.peer.ip'])),
    attributes: a,
    service: str(f.resource['service.name']),
    host: str(f.resource['host.name']),
    file,
    lineNo,
    format,
    templateId: null,
  };
}
