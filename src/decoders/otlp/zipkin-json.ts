// Zipkin v2 JSON (https://zipkin.io/zipkin-api/ ListOfSpans): an array of spans with hex ids,
// `timestamp`/`duration` in µs, `localEndpoint.serviceName`, string `tags` and `annotations`.
// An `error` tag marks the span as failed (Zipkin's convention).

import type { Quality } from '../../model/quality.js';
import type { AttrValue } from '../../model/records.js';
import type { Span, SpanKind } from '../../model/span.js';
import { isObject, type JsonObject } from './common/json.js';
import { padId } from './jaeger-json.js';
import { invalidSpan } from './trace/protobuf.js';

const KINDS: Record<string, SpanKind> = {
  SERVER: 'server',
  CLIENT: 'client',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
};

export function isZipkinDocument(doc: unknown): boolean {
  return (
    Array.isArray(doc) &&
    doc.length > 0 &&
    isObject(doc[0]) &&
    typeof doc[0]['traceId'] === 'string' &&
    typeof doc[0]['id'] === 'string'
  );
}

export function decodeZipkinJson(doc: unknown, out: Span[], q: Quality): void {
  if (!Array.isArray(doc)) {
    q.skip('not-zipkin', 0, 'not a JSON array');
    return;
  }
  doc.forEach((sp, i) => {
    const s = isObject(sp) ? spanOf(sp) : null;
    const bad = s === null ? 'invalid-span' : invalidSpan(s);
    if (s === null || bad !== null)
      q.skip(bad ?? 'invalid-span', `[${i}]`, JSON.stringify(sp).slice(0, 160));
    else {
      out.push(s);
      q.ok();
    }
  });
}

function spanOf(o: JsonObject): Span | null {
  const traceId = padId(o['traceId'], 32);
  const spanId = padId(o['id'], 16);
  if (traceId === null || spanId === null) return null;
  const parentSpanId = o['parentId'] === undefined ? null : padId(o['parentId'], 16);
  if (o['parentId'] !== undefined && parentSpanId === null) return null;
  const attributes: Record<string, AttrValue> = {};
  if (isObject(o['tags']))
    for (const [k, v] of Object.entries(o['tags']))
      attributes[k] = typeof v === 'string' ? v : String(v);
  const local = isObject(o['localEndpoint']) ? o['localEndpoint'] : {};
  const remote = isObject(o['remoteEndpoint']) ? o['remoteEndpoint'] : null;
  if (remote && typeof remote['serviceName'] === 'string')
    attributes['peer.service'] = remote['serviceName'];
  const service = typeof local['serviceName'] === 'string' ? local['serviceName'] : null;
  const startUs = typeof o['timestamp'] === 'number' ? o['timestamp'] : NaN;
  const dur = typeof o['duration'] === 'number' ? o['duration'] : 0;
  const events = Array.isArray(o['annotations'])
    ? o['annotations'].filter(isObject).map((a) => ({
        tsUs: typeof a['timestamp'] === 'number' ? a['timestamp'] : startUs,
        name: typeof a['value'] === 'string' ? a['value'] : '',
        attributes: {},
      }))
    : [];
  const err = attributes['error'];
  return {
    traceId,
    spanId,
    parentSpanId,
    service,
    name: typeof o['name'] === 'string' ? o['name'] : '',
    kind: typeof o['kind'] === 'string' ? (KINDS[o['kind']] ?? 'unspecified') : 'unspecified',
    startUs,
    endUs: startUs + dur,
    status: err !== undefined ? 'error' : 'unset',
    statusMessage: typeof err === 'string' && err !== '' && err !== 'true' ? err : null,
    attributes,
    events,
    links: [],
    resource: service !== null ? { 'service.name': service } : {},
    scope: null,
    format: 'zipkin-json',
  };
}
