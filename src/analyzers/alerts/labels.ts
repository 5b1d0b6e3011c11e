// Labels of a log record, as the expression language sees them: every attribute by its own name,
// then the well-known LogRecord fields under Loki/Prometheus-style names (LANGUAGE.md "Labels").

import type { AttrValue, LogRecord, Severity } from '../../model/records.js';

/** Severities as label values (lower case), without a toLowerCase per record. */
const LEVEL_LABEL: Record<Severity, string> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
  FATAL: 'fatal',
};

/** Raw value of label `name` on a record (attributes win over well-known fields), or null. */
export function recordLabel(r: LogRecord, name: string): AttrValue {
  const a = r.attributes[name];
  if (a !== undefined) return a;
  switch (name) {
    case 'level':
    case 'severity':
    case 'detected_level':
      return r.severity === null ? null : LEVEL_LABEL[r.severity];
    case 'service':
    case 'service_name':
      return r.service;
    case 'job':
      return r.service;
    case 'host':
    case 'hostname':
      return r.host;
    case 'file':
    case 'filename':
      return r.file;
    case 'format':
      return r.format;
    case 'request_id':
      return r.requestId;
    case 'trace_id':
      return r.traceId;
    case 'span_id':
      return r.spanId;
    case 'method':
      return r.httpMethod;
    case 'path':
      return r.httpPath;
    case 'status':
      return r.httpStatus;
    case 'duration_ms':
      return r.durationMs;
    case 'client_ip':
      return r.clientIp;
    case 'template':
      return r.templateId;
    case 'line':
      return r.lineNo;
    default:
      return null;
  }
}

/** A label value as a string ('' when absent, like Prometheus). */
export function labelString(v: AttrValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  return String(v);
}

/** A label value as a number (NaN when absent or not numeric). */
export function labelNumber(v: AttrValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || v === '') return NaN;
  const n = Number(v);
  return n;
}

/**
 * The text line filters (`|=`, `|~`) see: the body, then ` key=value` for each attribute. Built
 * lazily once per record (most filters match the body or fail on it without this).
 */
export function recordLine(r: LogRecord): string {
  let s = r.body;
  for (const k in r.attributes) {
    const v = r.attributes[k];
    s += ` ${k}=${v === null ? '' : String(v)}`;
  }
  return s;
}

/**
 * Whether `recordLine(r)` contains `needle`, without building the line when the needle holds no
 * space and no '=': such a needle cannot straddle the separators, so it is in the line exactly
 * when it is in the body, an attribute name or an attribute value.
 */
export function lineIncludes(r: LogRecord, needle: string): boolean {
  if (r.body.includes(needle)) return true;
  if (needle.includes(' ') || needle.includes('=')) return recordLine(r).includes(needle);
  const a = r.attributes;
  for (const k in a) {
    if (k.includes(needle)) return true;
    const v = a[k];
    if (v === null || v === undefined) continue;
    if ((typeof v === 'string' ? v : String(v)).includes(needle)) return true;
  }
  return false;
}
