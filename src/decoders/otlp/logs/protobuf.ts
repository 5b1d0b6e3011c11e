// OTLP logs, protobuf encoding: ExportLogsServiceRequest → LogRecord
// (opentelemetry/proto/collector/logs/v1/logs_service.proto, logs/v1/logs.proto).

import type { Quality } from '../../../model/quality.js';
import type { LogRecord } from '../../../model/records.js';
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader } from '../wire.js';
import { readAnyValueInto, readAttribute, readResource, type Attrs } from '../common/protobuf.js';
import { OutcomeCounter, type DecodeOutcome } from '../outcome.js';
import { toLogRecord, type OtlpLogFields } from './map.js';

/** ExportLogsServiceRequest { 1 resource_logs repeated ResourceLogs } */
export function decodeLogsRequestProto(
  bytes: Uint8Array,
  out: LogRecord[],
  q: Quality,
  file = 'otlp',
): DecodeOutcome {
  const r = new WireReader(bytes);
  const c = new OutcomeCounter(q);
  const end = bytes.length;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.len(end);
      if (e < 0) break;
      readResourceLogs(r, e, out, c, file);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
  return c.finish(r.err, r.errAt);
}

/** ResourceLogs { 1 resource Resource; 2 scope_logs repeated ScopeLogs; 3 schema_url string } */
function readResourceLogs(
  r: WireReader,
  end: number,
  out: LogRecord[],
  c: OutcomeCounter,
  file: string,
): void {
  let resource: Attrs = {};
  const scopes: number[] = [];
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (wt === WIRE_LEN && (f === 1 || f === 2)) {
      const e = r.len(end);
      if (e < 0) return;
      if (f === 1) resource = readResource(r, e);
      else scopes.push(r.pos, e);
      r.pos = e;
    } else r.skip(wt, end);
  }
  for (let i = 0; i < scopes.length && r.err === null; i += 2) {
    // ScopeLogs { 1 scope InstrumentationScope; 2 log_records repeated LogRecord; 3 schema_url }
    const se = scopes[i + 1]!;
    r.pos = scopes[i]!;
    while (r.pos < se && r.err === null) {
      const tag = r.varint(se);
      if (tag === ((2 << 3) | WIRE_LEN)) {
        const e = r.len(se);
        if (e < 0) return;
        const at = r.pos;
        const f = readLogRecord(r, e, resource);
        r.pos = e;
        if (r.err !== null) return;
        if (f.traceId !== null && f.traceId.length !== 32)
          c.reject('invalid-trace-id', at, `trace id '${f.traceId}'`);
        else if (f.spanId !== null && f.spanId.length !== 16)
          c.reject('invalid-span-id', at, `span id '${f.spanId}'`);
        else {
          out.push(toLogRecord(f, file, c.accepted + c.rejected + 1, 'otlp-proto'));
          c.ok();
        }
      } else r.skip(tag & 7, se);
    }
  }
  r.pos = end;
}

/**
 * LogRecord { 1 time_unix_nano fixed64; 11 observed_time_unix_nano fixed64; 2 severity_number enum;
 *   3 severity_text string; 5 body AnyValue; 6 attributes repeated KeyValue;
 *   7 dropped_attributes_count; 8 flags fixed32; 9 trace_id bytes; 10 span_id bytes;
 *   12 event_name string }
 */
function readLogRecord(r: WireReader, end: number, resource: Attrs): OtlpLogFields {
  let tsUs = 0;
  let observedUs = 0;
  let severityNumber = 0;
  let severityText: string | null = null;
  let body = '';
  const attributes: Attrs = {};
  let traceId: string | null = null;
  let spanId: string | null = null;
  let eventName: string | null = null;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === WIRE_FIXED64) tsUs = r.fixed64NanosToUs(end);
    else if (f === 11 && wt === WIRE_FIXED64) observedUs = r.fixed64NanosToUs(end);
    else if (f === 2 && wt === WIRE_VARINT) severityNumber = r.int32(end);
    else if (f === 3 && wt === WIRE_LEN) severityText = r.string(end) || null;
    else if (f === 5 && wt === WIRE_LEN) {
      const e = r.len(end);
      if (e < 0) break;
      const tmp: Attrs = {};
      readAnyValueInto(r, e, tmp, 'body', 0);
      r.pos = e;
      body = bodyText(tmp);
    } else if (f === 6 && wt === WIRE_LEN) readAttribute(r, end, attributes);
    else if (f === 9 && wt === WIRE_LEN) traceId = r.hex(end) || null;
    else if (f === 10 && wt === WIRE_LEN) spanId = r.hex(end) || null;
    else if (f === 12 && wt === WIRE_LEN) eventName = r.string(end) || null;
    else r.skip(wt, end);
  }
  const t = tsUs || observedUs;
  return {
    tsUs: t === 0 ? null : t,
    severityNumber,
    severityText,
    body,
    attributes,
    traceId,
    spanId,
    resource,
    eventName,
  };
}

/** A body decoded under the key 'body': a scalar is its text, a kvlist a JSON object. */
export function bodyText(tmp: Attrs): string {
  const keys = Object.keys(tmp);
  if (keys.length === 1 && keys[0] === 'body') {
    const v = tmp['body'];
    return v === null || v === undefined ? '' : String(v);
  }
  const o: Attrs = {};
  for (const k of keys) o[k.slice(5)] = tmp[k]!;
  return JSON.stringify(o);
}
