// Protobuf decoders for the messages every OTLP signal shares
// (opentelemetry/proto/common/v1/common.proto, resource/v1/resource.proto).
// AnyValue → AttrValue: scalars stay typed, kvlists are flattened with dots (like the log
// parsers flatten nested JSON), arrays and bytes become a JSON / base64 string.

import type { AttrValue } from '../../../model/records.js';
import { WIRE_LEN, type WireReader } from '../wire.js';

/** Nesting limit for AnyValue (arrays / kvlists inside each other) — hostile input. */
export const MAX_ANY_DEPTH = 16;

export type Attrs = Record<string, AttrValue>;

/**
 * KeyValue { 1 key string; 2 value AnyValue }
 * Stores the value under `prefix + key` in `into`.
 */
export function readKeyValue(
  r: WireReader,
  end: number,
  into: Attrs,
  prefix: string,
  depth: number,
): void {
  let key = '';
  let valStart = -1;
  let valEnd = -1;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === WIRE_LEN) key = r.string(end);
    else if (f === 2 && wt === WIRE_LEN) {
      valEnd = r.len(end);
      if (valEnd < 0) return;
      valStart = r.pos;
      r.pos = valEnd;
    } else r.skip(wt, end);
  }
  if (r.err !== null) return;
  const full = prefix + key;
  if (valStart < 0) {
    into[full] = null;
    return;
  }
  const save = r.pos;
  r.pos = valStart;
  readAnyValueInto(r, valEnd, into, full, depth);
  r.pos = save;
}

/**
 * AnyValue (oneof) { 1 string_value string; 2 bool_value bool; 3 int_value int64;
 *   4 double_value double; 5 array_value ArrayValue; 6 kvlist_value KeyValueList;
 *   7 bytes_value bytes }
 * Scalars go to `into[key]`; a kvlist spreads into `key.<k>`.
 */
export function readAnyValueInto(
  r: WireReader,
  end: number,
  into: Attrs,
  key: string,
  depth: number,
): void {
  let v: AttrValue = null;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    switch (f) {
      case 1:
        if (wt === WIRE_LEN) v = r.string(end);
        else r.skip(wt, end);
        break;
      case 2:
        if (wt === 0) v = r.bool(end);
        else r.skip(wt, end);
        break;
      case 3:
        if (wt === 0) v = r.int64(end);
        else r.skip(wt, end);
        break;
      case 4:
        if (wt === 1) v = r.double(end);
        else r.skip(wt, end);
        break;
      case 5: {
        if (wt !== WIRE_LEN) {
          r.skip(wt, end);
          break;
        }
        const e = r.len(end);
        if (e < 0) return;
        v = JSON.stringify(readArrayValue(r, e, depth + 1));
        r.pos = e;
        break;
      }
      case 6: {
        if (wt !== WIRE_LEN) {
          r.skip(wt, end);
          break;
        }
        const e = r.len(end);
        if (e < 0) return;
        if (depth >= MAX_ANY_DEPTH) r.fail('AnyValue nested too deeply');
        else readKeyValueList(r, e, into, key + '.', depth + 1);
        r.pos = e;
        return;
      }
      case 7: {
        if (wt !== WIRE_LEN) {
          r.skip(wt, end);
          break;
        }
        const e = r.len(end);
        if (e < 0) return;
        v = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, e - r.pos).toString('base64');
        r.pos = e;
        break;
      }
      default:
        r.skip(wt, end);
    }
  }
  into[key] = v;
}

/** KeyValueList { 1 values repeated KeyValue } */
function readKeyValueList(
  r: WireReader,
  end: number,
  into: Attrs,
  prefix: string,
  depth: number,
): void {
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.len(end);
      if (e < 0) return;
      readKeyValue(r, e, into, prefix, depth);
      r.pos = e;
    } else r.skip(tag & 7, end);
  }
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** ArrayValue { 1 values repeated AnyValue } → plain JSON values. */
function readArrayValue(r: WireReader, end: number, depth: number): JsonValue[] {
  const out: JsonValue[] = [];
  if (depth >= MAX_ANY_DEPTH) {
    r.fail('AnyValue nested too deeply');
    return out;
  }
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const e = r.len(end);
      if (e < 0) break;
      const tmp: Attrs = {};
      readAnyValueInto(r, e, tmp, '', depth);
      r.pos = e;
      // A scalar lands under '', a kvlist under '.k' keys: rebuild an object for those.
      if ('' in tmp && Object.keys(tmp).length === 1) out.push(tmp[''] ?? null);
      else {
        const o: { [k: string]: JsonValue } = {};
        for (const [k, v] of Object.entries(tmp)) o[k.startsWith('.') ? k.slice(1) : k] = v;
        out.push(o);
      }
    } else r.skip(tag & 7, end);
  }
  return out;
}

/** Repeated KeyValue fields (attributes) are read one element at a time by the callers. */
export function readAttribute(r: WireReader, end: number, into: Attrs): void {
  const e = r.len(end);
  if (e < 0) return;
  readKeyValue(r, e, into, '', 0);
  r.pos = e;
}

/** Resource { 1 attributes repeated KeyValue; 2 dropped_attributes_count uint32 } */
export function readResource(r: WireReader, end: number): Attrs {
  const attrs: Attrs = {};
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) readAttribute(r, end, attrs);
    else r.skip(tag & 7, end);
  }
  return attrs;
}

/** InstrumentationScope { 1 name string; 2 version string; 3 attributes; 4 dropped uint32 } → name */
export function readScopeName(r: WireReader, end: number): string | null {
  let name: string | null = null;
  while (r.pos < end && r.err === null) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) name = r.string(end);
    else r.skip(tag & 7, end);
  }
  return name;
}

export function serviceOf(resource: Attrs): string | null {
  const s = resource['service.name'];
  return typeof s === 'string' ? s : s === null || s === undefined ? null : String(s);
}
