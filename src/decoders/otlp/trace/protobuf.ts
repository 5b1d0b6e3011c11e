// OTLP traces, protobuf encoding: ExportTraceServiceRequest → Span records
// (opentelemetry/proto/collector/trace/v1/trace_service.proto, trace/v1/trace.proto).
// Pure: bytes in, spans out. A span with a bad id is rejected (counted, partial success); a body
// that is not valid protobuf stops with `error` (the receiver answers 400).

import type { Quality } from '../../../model/quality.js';
import {
  SPAN_KIND_BY_NUMBER,
  SPAN_STATUS_BY_NUMBER,
  type Span,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type SpanStatus,
} from '../../../model/span.js';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader } from '../wire.js';
import {
  readAttribute,
  readResource,
  readScopeName,
  serviceOf,
  type Attrs,
} from '../common/protobuf.js';
import { OutcomeCounter, type DecodeOutcome } from '../outcome.js';

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * ExportTraceServiceRequest { 1 resource_spans repeated ResourceSpans }
 */
export function decodeTraceRequestProto(bytes: Uint8Array, out: Span[], q: Quality): DecodeOutcome {
  const r = new WireReader(bytes);
  const c = new OutcomeCounter(q);
  const end = bytes.length;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.len(end);
      if (e < 0) break;
      readResourceSpans(r, e, out, c);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
  return c.finish(r.err, r.errAt);
}

/**
 * ResourceSpans { 1 resource Resource; 2 scope_spans repeated ScopeSpans; 3 schema_url string }
 * The resource may come after the scopes on the wire, so scopes are located first and decoded once
 * the resource is known.
 */
function readResourceSpans(r: WireReader, end: number, out: Span[], c: OutcomeCounter): void {
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
  if (r.err !== null) return;
  const service = serviceOf(resource);
  for (let i = 0; i < scopes.length && r.err === null; i += 2) {
    r.pos = scopes[i]!;
    readScopeSpans(r, scopes[i + 1]!, resource, service, out, c);
  }
  r.pos = end;
}

/** ScopeSpans { 1 scope InstrumentationScope; 2 spans repeated Span; 3 schema_url string } */
function readScopeSpans(
  r: WireReader,
  end: number,
  resource: Attrs,
  service: string | null,
  out: Span[],
  c: OutcomeCounter,
): void {
  let scope: string | null = null;
  const spans: number[] = [];
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (wt === WIRE_LEN && (f === 1 || f === 2)) {
      const e = r.len(end);
      if (e < 0) return;
      if (f === 1) scope = readScopeName(r, e);
      else spans.push(r.pos, e);
      r.pos = e;
    } else r.skip(wt, end);
  }
  for (let i = 0; i < spans.length && r.err === null; i += 2) {
    const at = spans[i]!;
    r.pos = at;
    const s = readSpan(r, spans[i + 1]!, resource, service, scope);
    if (r.err !== null) return;
    const bad = invalidSpan(s);
    if (bad) c.reject(bad, at, `span '${s.name}' trace ${s.traceId} span ${s.spanId}`);
    else {
      out.push(s);
      c.ok();
    }
  }
}

export function invalidSpan(s: Span): string | null {
  if (s.traceId.length !== 32 || s.traceId === ZERO_TRACE) return 'invalid-trace-id';
  if (s.spanId.length !== 16 || s.spanId === ZERO_SPAN) return 'invalid-span-id';
  if (s.parentSpanId !== null && s.parentSpanId.length !== 16) return 'invalid-parent-span-id';
  if (!Number.isFinite(s.startUs) || !Number.isFinite(s.endUs)) return 'invalid-timestamp';
  return null;
}

/**
 * Span { 1 trace_id bytes; 2 span_id bytes; 3 trace_state string; 4 parent_span_id bytes;
 *   16 flags fixed32; 5 name string; 6 kind enum; 7 start_time_unix_nano fixed64;
 *   8 end_time_unix_nano fixed64; 9 attributes repeated KeyValue; 10 dropped_attributes_count;
 *   11 events repeated Event; 12 dropped_events_count; 13 links repeated Link;
 *   14 dropped_links_count; 15 status Status }
 */
function readSpan(
  r: WireReader,
  end: number,
  resource: Attrs,
  service: string | null,
  scope: string | null,
): Span {
  let traceId = '';
  let spanId = '';
  let parentSpanId: string | null = null;
  let name = '';
  let kind: SpanKind = 'unspecified';
  let startUs = 0;
  let endUs = 0;
  const attributes: Attrs = {};
  const events: SpanEvent[] = [];
  const links: SpanLink[] = [];
  let status: SpanStatus = 'unset';
  let statusMessage: string | null = null;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    switch (f) {
      case 1:
        if (wt === WIRE_LEN) traceId = r.hex(end);
        else r.skip(wt, end);
        break;
      case 2:
        if (wt === WIRE_LEN) spanId = r.hex(end);
        else r.skip(wt, end);
        break;
      case 4:
        if (wt === WIRE_LEN) {
          const p = r.hex(end);
          parentSpanId = p === '' ? null : p;
        } else r.skip(wt, end);
        break;
      case 5:
        if (wt === WIRE_LEN) name = r.string(end);
        else r.skip(wt, end);
        break;
      case 6:
        if (wt === WIRE_VARINT) kind = SPAN_KIND_BY_NUMBER[r.int32(end)] ?? 'unspecified';
        else r.skip(wt, end);
        break;
      case 7:
        if (wt === WIRE_FIXED64) startUs = r.fixed64NanosToUs(end);
        else r.skip(wt, end);
        break;
      case 8:
        if (wt === WIRE_FIXED64) endUs = r.fixed64NanosToUs(end);
        else r.skip(wt, end);
        break;
      case 9:
        if (wt === WIRE_LEN) readAttribute(r, end, attributes);
        else r.skip(wt, end);
        break;
      case 11:
        if (wt === WIRE_LEN) {
          const e = r.len(end);
          if (e < 0) break;
          events.push(readEvent(r, e));
          r.pos = e;
        } else r.skip(wt, end);
        break;
      case 13:
        if (wt === WIRE_LEN) {
          const e = r.len(end);
          if (e < 0) break;
          links.push(readLink(r, e));
          r.pos = e;
        } else r.skip(wt, end);
        break;
      case 15:
        if (wt === WIRE_LEN) {
          const e = r.len(end);
          if (e < 0) break;
          // Status { 2 message string; 3 code enum }  (field 1 was deprecated_code)
          while (r.pos < e && r.err === null) {
            const t = r.varint(e);
            if (t === ((2 << 3) | WIRE_LEN)) statusMessage = r.string(e) || null;
            else if (t === ((3 << 3) | WIRE_VARINT))
              status = SPAN_STATUS_BY_NUMBER[r.int32(e)] ?? 'unset';
            else r.skip(t & 7, e);
          }
          r.pos = e;
        } else r.skip(wt, end);
        break;
      case 16:
        if (wt === WIRE_FIXED32) r.fixed32(end);
        else r.skip(wt, end);
        break;
      default:
        r.skip(wt, end);
    }
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    service,
    name,
    kind,
    startUs,
    endUs,
    status,
    statusMessage,
    attributes,
    events,
    links,
    resource,
    scope,
    format: 'otlp-proto',
  };
}

/** Span.Event { 1 time_unix_nano fixed64; 2 name string; 3 attributes; 4 dropped_attributes_count } */
function readEvent(r: WireReader, end: number): SpanEvent {
  const ev: SpanEvent = { tsUs: 0, name: '', attributes: {} };
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_FIXED64)) ev.tsUs = r.fixed64NanosToUs(end);
    else if (tag === ((2 << 3) | WIRE_LEN)) ev.name = r.string(end);
    else if (tag === ((3 << 3) | WIRE_LEN)) readAttribute(r, end, ev.attributes);
    else r.skip(tag & 7, end);
  }
  return ev;
}

/**
 * Span.Link { 1 trace_id bytes; 2 span_id bytes; 3 trace_state string; 4 attributes;
 *   5 dropped_attributes_count; 6 flags fixed32 }
 */
function readLink(r: WireReader, end: number): SpanLink {
  const l: SpanLink = { traceId: '', spanId: '', attributes: {} };
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) l.traceId = r.hex(end);
    else if (tag === ((2 << 3) | WIRE_LEN)) l.spanId = r.hex(end);
    else if (tag === ((4 << 3) | WIRE_LEN)) readAttribute(r, end, l.attributes);
    else r.skip(tag & 7, end);
  }
  return l;
}
