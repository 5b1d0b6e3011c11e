// Helpers for the OTLP/JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// field names in lowerCamelCase (the proto snake_case names are accepted too, as the protobuf JSON
// mapping requires), trace/span ids as hex strings, 64-bit integers as decimal strings or numbers,
// enums as integers or their names.

import type { AttrValue } from '../../../model/records.js';
import { MAX_ANY_DEPTH, type Attrs } from './protobuf.js';

export type Json = unknown;
export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `o[camel]`, else `o[snake]` (derived from camel when not given). */
export function field(o: JsonObject, camel: string): unknown {
  const v = o[camel];
  if (v !== undefined) return v;
  return o[snakeOf(camel)];
}

const snakeCache = new Map<string, string>();
function snakeOf(camel: string): string {
  let s = snakeCache.get(camel);
  if (s === undefined) {
    s = camel.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    snakeCache.set(camel, s);
  }
  return s;
}

/** An array field: undefined/null → [], a non-array → null (a structural error). */
export function arrayField(o: JsonObject, camel: string): unknown[] | null {
  const v = field(o, camel);
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : null;
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** A hex id of `bytes` bytes, lower-cased; '' when absent; null when malformed. */
export function hexId(v: unknown, bytes: number): string | null {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || v.length !== bytes * 2 || !HEX_RE.test(v)) return null;
  return v.toLowerCase();
}

/** A uint64 nanosecond time (string or number) → µs; 0 when absent; NaN when malformed. */
export function nanosToUs(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v / 1000) : NaN;
  if (typeof v !== 'string' || !/^\d{1,20}$/.test(v)) return NaN;
  // Exact to the µs: drop the last three digits instead of dividing a > 2^53 number.
  return v.length <= 3 ? 0 : Number(v.slice(0, -3));
}

/** An int64 / uint64 (string or number) → number; null when malformed. */
export function int64(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return Number(v);
  return null;
}

/** A double that may come as a number or as a string ("NaN", "Infinity", "1.5"). */
export function double(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    return v.trim() !== '' && Number.isFinite(n) ? n : null;
  }
  return null;
}

/** An enum given as a number or by name (`names[i]` is the name of value i). */
export function enumValue(v: unknown, names: readonly string[]): number | null {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  if (typeof v === 'string') {
    const i = names.indexOf(v);
    if (i >= 0) return i;
    // Short forms some senders use ("OK", "SERVER"): the name after the enum's prefix.
    const j = names.findIndex((n) => n.endsWith('_' + v));
    if (j >= 0 && v !== '') return j;
    if (/^\d+$/.test(v)) return Number(v);
  }
  return null;
}

/** Attributes that must be an array when present: null when they are something else. */
export function checkedAttributes(v: unknown): Attrs | null {
  if (v === undefined || v === null) return {};
  if (!Array.isArray(v)) return null;
  for (const kv of v) {
    if (!isObject(kv) || typeof kv['key'] !== 'string') return null;
    const val = kv['value'];
    if (val !== undefined && val !== null && !isObject(val)) return null;
  }
  return attributes(v);
}

/** [{key, value: AnyValue}] → flat attributes (kvlists with dots). Non-arrays yield {}. */
export function attributes(v: unknown, into: Attrs = {}, prefix = '', depth = 0): Attrs {
  if (!Array.isArray(v)) return into;
  for (const kv of v) {
    if (!isObject(kv) || typeof kv['key'] !== 'string') continue;
    anyValueInto(kv['value'], into, prefix + kv['key'], depth);
  }
  return into;
}

/** AnyValue JSON → `into[key]` (kvlist spreads into `key.<k>`). */
export function anyValueInto(v: unknown, into: Attrs, key: string, depth: number): void {
  if (!isObject(v)) {
    into[key] = null;
    return;
  }
  let s: unknown;
  if ((s = field(v, 'stringValue')) !== undefined)
    into[key] =
      typeof s === 'string'
        ? s
        : typeof s === 'number' || typeof s === 'boolean'
          ? String(s)
          : null;
  else if ((s = field(v, 'boolValue')) !== undefined) into[key] = s === true || s === 'true';
  else if ((s = field(v, 'intValue')) !== undefined) into[key] = int64(s);
  else if ((s = field(v, 'doubleValue')) !== undefined) into[key] = double(s);
  else if ((s = field(v, 'bytesValue')) !== undefined) into[key] = typeof s === 'string' ? s : null;
  else if ((s = field(v, 'arrayValue')) !== undefined)
    into[key] = JSON.stringify(depth < MAX_ANY_DEPTH ? arrayValue(s, depth + 1) : []);
  else if ((s = field(v, 'kvlistValue')) !== undefined) {
    if (depth < MAX_ANY_DEPTH && isObject(s))
      attributes(field(s, 'values'), into, key + '.', depth + 1);
  } else into[key] = null;
}

function arrayValue(v: unknown, depth: number): unknown[] {
  if (!isObject(v)) return [];
  const vals = field(v, 'values');
  if (!Array.isArray(vals)) return [];
  return vals.map((x) => {
    const tmp: Attrs = {};
    anyValueInto(x, tmp, '', depth);
    if ('' in tmp && Object.keys(tmp).length === 1) return tmp[''] ?? null;
    const o: Record<string, AttrValue> = {};
    for (const [k, val] of Object.entries(tmp)) o[k.startsWith('.') ? k.slice(1) : k] = val;
    return o;
  });
}
