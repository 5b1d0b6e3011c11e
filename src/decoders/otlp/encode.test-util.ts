// Test/benchmark encoders: Span / LogRecord-ish inputs → OTLP protobuf request bytes, written with
// ProtoWriter (field numbers as in the decoders' field maps). Not used by the product.

import type { AttrValue } from '../../model/records.js';
import { SPAN_KIND_BY_NUMBER, SPAN_STATUS_BY_NUMBER, type Span } from '../../model/span.js';
import { ProtoWriter } from './writer.js';

export function anyValue(v: AttrValue): ProtoWriter {
  const w = new ProtoWriter(32);
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'boolean') w.uint(2, v ? 1 : 0);
  else if (typeof v === 'number' && Number.isInteger(v)) w.int(3, v);
  else if (typeof v === 'number') w.double(4, v);
  return w;
}

export function keyValue(k: string, v: AttrValue): ProtoWriter {
  return new ProtoWriter(64).string(1, k).message(2, anyValue(v));
}

function attrs(w: ProtoWriter, field: number, a: Record<string, AttrValue>): void {
  for (const k in a) w.message(field, keyValue(k, a[k]!));
}

export function encodeSpan(s: Span): ProtoWriter {
  const w = new ProtoWriter(256);
  w.hex(1, s.traceId).hex(2, s.spanId);
  if (s.parentSpanId) w.hex(4, s.parentSpanId);
  w.string(5, s.name);
  w.uint(6, SPAN_KIND_BY_NUMBER.indexOf(s.kind));
  w.fixed64NanosFromUs(7, s.startUs).fixed64NanosFromUs(8, s.endUs);
  attrs(w, 9, s.attributes);
  for (const e of s.events) {
    const ew = new ProtoWriter(64).fixed64NanosFromUs(1, e.tsUs).string(2, e.name);
    attrs(ew, 3, e.attributes);
    w.message(11, ew);
  }
  for (const l of s.links) w.message(13, new ProtoWriter(64).hex(1, l.traceId).hex(2, l.spanId));
  const code = SPAN_STATUS_BY_NUMBER.indexOf(s.status);
  if (code > 0 || s.statusMessage) {
    const st = new ProtoWriter(32);
    if (s.statusMessage) st.string(2, s.statusMessage);
    st.uint(3, code);
    w.message(15, st);
  }
  return w;
}

/** ExportTraceServiceRequest with one ResourceSpans per service, one ScopeSpans each. */
export function encodeTraceRequest(spans: readonly Span[]): Uint8Array {
  const bySvc = new Map<string, Span[]>();
  for (const s of spans) {
    const k = s.service ?? '';
    let l = bySvc.get(k);
    if (!l) bySvc.set(k, (l = []));
    l.push(s);
  }
  const req = new ProtoWriter(4096);
  for (const [svc, list] of bySvc) {
    const res = new ProtoWriter(64);
    if (svc) res.message(1, keyValue('service.name', svc));
    const scope = new ProtoWriter(4096).message(1, new ProtoWriter(16).string(1, 'test'));
    for (const s of list) scope.message(2, encodeSpan(s));
    req.message(1, new ProtoWriter(4096).message(1, res).message(2, scope));
  }
  return req.finish();
}

export function span(p: Partial<Span> & { spanId: string; startUs: number; endUs: number }): Span {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    parentSpanId: null,
    service: 'svc',
    name: 'op',
    kind: 'internal',
    status: 'unset',
    statusMessage: null,
    attributes: {},
    events: [],
    links: [],
    resource: { 'service.name': p.service ?? 'svc' },
    scope: 'test',
    format: 'otlp-proto',
    ...p,
  };
}
