// Jaeger JSON traces (the query API / UI format, jaeger model/json): either one trace
// `{traceID, spans, processes}` or an API response `{data: [trace, …]}`. Ids are hex without
// leading zeros and are left-padded to 32/16 digits; times are already µs; the parent is the first
// CHILD_OF reference within the same trace (else FOLLOWS_FROM, kept as a link otherwise).

import type { Quality } from '../../model/quality.js';
import type { AttrValue } from '../../model/records.js';
import type { Span, SpanEvent, SpanKind, SpanLink } from '../../model/span.js';
import { isObject, type JsonObject } from './common/json.js';
import { invalidSpan } from './trace/protobuf.js';

const HEX_RE = /^[0-9a-fA-F]{1,32}$/;

export function padId(v: unknown, digits: number): string | null {
  if (typeof v !== 'string' || !HEX_RE.test(v) || v.length > digits) return null;
  return v.toLowerCase().padStart(digits, '0');
}

export function isJaegerDocument(doc: unknown): boolean {
  if (!isObject(doc)) return false;
  if (Array.isArray(doc['data']))
    return doc['data'].every((t) => isObject(t) && Array.isArray(t['spans']));
  return Array.isArray(doc['spans']) && (isObject(doc['processes']) || 'traceID' in doc);
}

function tags(v: unknown): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  if (!Array.isArray(v)) return out;
  for (const t of v) {
    if (!isObject(t) || typeof t['key'] !== 'string') continue;
    const x = t['value'];
    out[t['key']] =
      typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? x : null;
  }
  return out;
}

const KINDS: Record<string, SpanKind> = {
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
  internal: 'internal',
};

export function decodeJaegerJson(doc: unknown, out: Span[], q: Quality): void {
  if (!isObject(doc)) {
    q.skip('not-jaeger', 0, 'not a JSON object');
    return;
  }
  const traces: unknown[] = Array.isArray(doc['data']) ? doc['data'] : [doc];
  for (let ti = 0; ti < traces.length; ti++) {
    const t = traces[ti];
    if (!isObject(t) || !Array.isArray(t['spans'])) {
      q.skip('invalid-trace', `data[${ti}]`, 'no spans array');
      continue;
    }
    const processes = isObject(t['processes']) ? t['processes'] : {};
    t['spans'].forEach((sp, si) => {
      const at = `data[${ti}].spans[${si}]`;
      const s = isObject(sp) ? spanOf(sp, processes) : null;
      const bad = s === null ? 'invalid-span' : invalidSpan(s);
      if (s === null || bad !== null)
        q.skip(bad ?? 'invalid-span', at, JSON.stringify(sp).slice(0, 160));
      else {
        out.push(s);
        q.ok();
      }
    });
  }
}

function spanOf(o: JsonObject, processes: JsonObject): Span | null {
  const traceId = padId(o['traceID'], 32);
  const spanId = padId(o['spanID'], 16);
  if (traceId === null || spanId === null) return null;
  let parent: string | null = null;
  const links: SpanLink[] = [];
  const refs = Array.isArray(o['references']) ? o['references'] : [];
  for (const ref of refs) {
    if (!isObject(ref)) continue;
    const rt = padId(ref['traceID'], 32);
    const rs = padId(ref['spanID'], 16);
    if (rt === null || rs === null) continue;
    if (parent === null && ref['refType'] === 'CHILD_OF' && rt === traceId) parent = rs;
    else
      links.push({
        traceId: rt,
        spanId: rs,
        attributes: { 'jaeger.ref_type': String(ref['refType']) },
      });
  }
  if (parent === null && typeof o['parentSpanID'] === 'string' && o['parentSpanID'] !== '0')
    parent = padId(o['parentSpanID'], 16);
  if (parent === null) {
    const ff = links.findIndex((l) => l.traceId === traceId);
    if (ff >= 0) parent = links.splice(ff, 1)[0]!.spanId;
  }
  const attributes = tags(o['tags']);
  const proc = typeof o['processID'] === 'string' ? processes[o['processID']] : o['process'];
  const resource = isObject(proc) ? tags(proc['tags']) : {};
  const service =
    isObject(proc) && typeof proc['serviceName'] === 'string' ? proc['serviceName'] : null;
  if (service !== null) resource['service.name'] = service;
  const kindTag = attributes['span.kind'];
  const kind = typeof kindTag === 'string' ? (KINDS[kindTag] ?? 'unspecified') : 'unspecified';
  const otelStatus = attributes['otel.status_code'];
  const status =
    attributes['error'] === true || attributes['error'] === 'true' || otelStatus === 'ERROR'
      ? 'error'
      : otelStatus === 'OK'
        ? 'ok'
        : 'unset';
  const startUs = typeof o['startTime'] === 'number' ? o['startTime'] : NaN;
  const durUs = typeof o['duration'] === 'number' ? o['duration'] : 0;
  const events: SpanEvent[] = [];
  if (Array.isArray(o['logs']))
    for (const l of o['logs']) {
      if (!isObject(l)) continue;
      const fields = tags(l['fields']);
      const name = typeof fields['event'] === 'string' ? fields['event'] : 'log';
      events.push({
        tsUs: typeof l['timestamp'] === 'number' ? l['timestamp'] : startUs,
        name,
        attributes: fields,
      });
    }
  const msg = attributes['otel.status_description'];
  return {
    traceId,
    spanId,
    parentSpanId: parent,
    service,
    name: typeof o['operationName'] === 'string' ? o['operationName'] : '',
    kind,
    startUs,
    endUs: startUs + durUs,
    status,
    statusMessage: typeof msg === 'string' ? msg : null,
    attributes,
    events,
    links,
    resource,
    scope: null,
    format: 'jaeger-json',
  };
}
