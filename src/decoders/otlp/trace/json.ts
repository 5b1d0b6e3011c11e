// OTLP traces, JSON encoding: an ExportTraceServiceRequest document (already JSON.parse'd) → Spans.
// A wrong-typed container (resourceSpans not an array…) is a malformed body (`error`, 400); a span
// with a bad id or timestamp is rejected alone (partial success).

import type { Quality } from '../../../model/quality.js';
import type { AttrValue } from '../../../model/records.js';
import {
  SPAN_KIND_BY_NUMBER,
  SPAN_STATUS_BY_NUMBER,
  type Span,
  type SpanEvent,
  type SpanLink,
} from '../../../model/span.js';
import {
  arrayField,
  attributes,
  checkedAttributes,
  enumValue,
  field,
  hexId,
  isObject,
  nanosToUs,
  type JsonObject,
} from '../common/json.js';
import { serviceOf } from '../common/protobuf.js';
import { OutcomeCounter, type DecodeOutcome } from '../outcome.js';
import { invalidSpan } from './protobuf.js';

const KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

export function decodeTraceRequestJson(doc: unknown, out: Span[], q: Quality): DecodeOutcome {
  const c = new OutcomeCounter(q);
  const err = walk(doc, out, c);
  return c.finish(err, -1);
}

function walk(doc: unknown, out: Span[], c: OutcomeCounter): string | null {
  if (!isObject(doc)) return 'the request is not a JSON object';
  const rss = arrayField(doc, 'resourceSpans');
  if (rss === null) return 'resourceSpans is not an array';
  for (let i = 0; i < rss.length; i++) {
    const rs = rss[i];
    if (!isObject(rs)) return `resourceSpans[${i}] is not an object`;
    const res = field(rs, 'resource');
    const resource = checkedAttributes(isObject(res) ? field(res, 'attributes') : undefined);
    if (resource === null)
      return `resourceSpans[${i}].resource.attributes is not a list of key/values`;
    const service = serviceOf(resource);
    const sss = arrayField(rs, 'scopeSpans');
    if (sss === null) return `resourceSpans[${i}].scopeSpans is not an array`;
    for (let j = 0; j < sss.length; j++) {
      const ss = sss[j];
      if (!isObject(ss)) return `resourceSpans[${i}].scopeSpans[${j}] is not an object`;
      const sc = field(ss, 'scope');
      const scopeName = isObject(sc) && typeof sc['name'] === 'string' ? sc['name'] : null;
      const spans = arrayField(ss, 'spans');
      if (spans === null) return `resourceSpans[${i}].scopeSpans[${j}].spans is not an array`;
      for (let k = 0; k < spans.length; k++) {
        const at = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        const sp = spans[k];
        if (!isObject(sp)) {
          c.reject('invalid-span', at, 'not an object');
          continue;
        }
        const s = spanOf(sp, resource, service, scopeName);
        const bad = typeof s === 'string' ? s : invalidSpan(s);
        if (bad !== null || typeof s === 'string')
          c.reject(bad ?? 'invalid-span', at, JSON.stringify(sp).slice(0, 160));
        else {
          out.push(s);
          c.ok();
        }
      }
    }
  }
  return null;
}

function spanOf(
  o: JsonObject,
  resource: Record<string, AttrValue>,
  service: string | null,
  scope: string | null,
): Span | string {
  const traceId = hexId(field(o, 'traceId'), 16);
  if (traceId === null || traceId === '') return 'invalid-trace-id';
  const spanId = hexId(field(o, 'spanId'), 8);
  if (spanId === null || spanId === '') return 'invalid-span-id';
  const parent = hexId(field(o, 'parentSpanId'), 8);
  if (parent === null) return 'invalid-parent-span-id';
  const kindN = enumValue(field(o, 'kind'), KIND_NAMES);
  const st = field(o, 'status');
  let statusN: number | null = 0;
  let statusMessage: string | null = null;
  if (isObject(st)) {
    statusN = enumValue(st['code'], STATUS_NAMES);
    statusMessage = typeof st['message'] === 'string' && st['message'] ? st['message'] : null;
  }
  if (statusN === null) return 'invalid-status';
  const startUs = nanosToUs(field(o, 'startTimeUnixNano'));
  const endUs = nanosToUs(field(o, 'endTimeUnixNano'));
  const events: SpanEvent[] = [];
  const evs = field(o, 'events');
  if (Array.isArray(evs))
    for (const e of evs) {
      if (!isObject(e)) return 'invalid-event';
      const tsUs = nanosToUs(field(e, 'timeUnixNano'));
      if (Number.isNaN(tsUs)) return 'invalid-event-timestamp';
      events.push({
        tsUs,
        name: typeof e['name'] === 'string' ? e['name'] : '',
        attributes: attributes(e['attributes']),
      });
    }
  const links: SpanLink[] = [];
  const lks = field(o, 'links');
  if (Array.isArray(lks))
    for (const l of lks) {
      if (!isObject(l)) return 'invalid-link';
      const t = hexId(field(l, 'traceId'), 16);
      const s = hexId(field(l, 'spanId'), 8);
      if (!t) return 'invalid-link-trace-id';
      if (!s) return 'invalid-link-span-id';
      links.push({ traceId: t, spanId: s, attributes: attributes(l['attributes']) });
    }
  const name = o['name'];
  return {
    traceId,
    spanId,
    parentSpanId: parent === '' ? null : parent,
    service,
    name: typeof name === 'string' ? name : '',
    kind: SPAN_KIND_BY_NUMBER[kindN ?? 0] ?? 'unspecified',
    startUs,
    endUs,
    status: SPAN_STATUS_BY_NUMBER[statusN] ?? 'unset',
    statusMessage,
    attributes: attributes(o['attributes']),
    events,
    links,
    resource,
    scope,
    format: 'otlp-json',
  };
}
