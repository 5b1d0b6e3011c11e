// JSON-lines logs with any field names (nginx `escape=json` access logs, structlog/python-json-
// logger, pino/bunyan, zap, TGI tracing JSON…). Fields are mapped by name and value shape in
// fields.ts; nested objects are flattened into dotted, typed attributes.
//
// Hot path: flat objects (the nginx/app access-log case) are scanned in place — keys and string
// values are sliced, never copied, and only strings holding a backslash go through JSON.parse.
// Measured on a 313-byte nginx JSON line (Node 20, this machine): JSON.parse + field walk
// ≈ 450k lines/s; the scanner ≈ 3× that. Nested values fall back to JSON.parse + flatten.

import type { AttrValue, LogRecord } from '../../model/records.js';
import {
  applyField,
  applyFieldCls,
  classifyKey,
  finishKv,
  newRecord,
  type Cls,
  type Ctx,
} from './fields.js';
import { parseTimestampValue } from './time.js';

const MAX_DEPTH = 8;
const MAX_ARRAY_CHARS = 1024;

function skipWs(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10) i++;
    else return i;
  }
}

/**
 * s has `key"` at i. A slice + `===` (a native compare) beat both `startsWith(key, i)` and a
 * charCodeAt loop here (they measured 30% and 26% of the scanner's time).
 */
function sameAt(s: string, i: number, key: string): boolean {
  const n = key.length;
  return s.charCodeAt(i + n) === 34 && s.slice(i, i + n) === key;
}

/** 1 = parsed, 0 = needs the general path (nested value, escaped key), -1 = not valid JSON. */
function scanFlat(s: string, r: LogRecord, ctx: Ctx): number {
  const len = s.length;
  let i = skipWs(s, 0);
  if (s.charCodeAt(i) !== 123) return -1;
  i = skipWs(s, i + 1);
  if (s.charCodeAt(i) === 125) return skipWs(s, i + 1) === len ? 1 : -1;
  let bs = s.indexOf('\\');
  if (bs < 0) bs = len;
  const keys = ctx.shapeKeys;
  const classes = ctx.shapeCls;
  let slot = 0;
  for (;;) {
    if (s.charCodeAt(i) !== 34) return -1;
    const ks = i + 1;
    // Lines of one log share their key order: compare with the key of this slot on the previous
    // line instead of slicing and hashing it (classification lookups were 11% of the profile).
    let key: string;
    let cls: Cls;
    let ke: number;
    const prev = keys[slot];
    if (prev !== undefined && sameAt(s, ks, prev)) {
      key = prev;
      cls = classes[slot]!;
      ke = ks + prev.length;
    } else {
      ke = s.indexOf('"', ks);
      if (ke < 0) return -1;
      if (bs < ke) {
        if (bs < ks) {
          bs = s.indexOf('\\', ks);
          if (bs < 0) bs = len;
        }
        if (bs < ke) return 0;
      }
      key = s.slice(ks, ke);
      cls = classifyKey(key);
      if (slot < 64) {
        // an internalized copy: stored as a property name on every record, it then needs no
        // string-table lookup per store
        key = Object.keys({ [key]: 0 })[0] ?? key;
        keys[slot] = key;
        classes[slot] = cls;
      }
    }
    slot++;
    if (s.charCodeAt(ke + 1) === 58) {
      i = ke + 2;
      if (s.charCodeAt(i) === 32) i = skipWs(s, i); // python json.dumps: ", " and ": "
    } else {
      i = skipWs(s, ke + 1);
      if (s.charCodeAt(i) !== 58) return -1;
      i = skipWs(s, i + 1);
    }
    const c = s.charCodeAt(i);
    let v: AttrValue;
    if (c === 34) {
      const vs = i + 1;
      let e = s.indexOf('"', vs);
      if (e < 0) return -1;
      if (bs < vs) {
        bs = s.indexOf('\\', vs);
        if (bs < 0) bs = len;
      }
      if (bs < e) {
        // escapes inside: find the real closing quote, then let JSON.parse unescape
        while (e >= 0) {
          let k = e - 1;
          while (s.charCodeAt(k) === 92) k--;
          if ((e - 1 - k) % 2 === 0) break;
          e = s.indexOf('"', e + 1);
        }
        if (e < 0) return -1;
        try {
          v = JSON.parse(s.slice(i, e + 1)) as string;
        } catch {
          return -1;
        }
        bs = s.indexOf('\\', e + 1);
        if (bs < 0) bs = len;
      } else v = s.slice(vs, e);
      i = e + 1;
    } else if (c === 123 || c === 91) {
      return 0;
    } else if (c === 116) {
      if (!s.startsWith('true', i)) return -1;
      v = true;
      i += 4;
    } else if (c === 102) {
      if (!s.startsWith('false', i)) return -1;
      v = false;
      i += 5;
    } else if (c === 110) {
      if (!s.startsWith('null', i)) return -1;
      v = null;
      i += 4;
    } else {
      const ns = i;
      // Plain non-negative integers (status codes, sizes, counts) are read as they are scanned;
      // anything else (sign, fraction, exponent, 16+ digits) goes through Number().
      let n = 0;
      let plain = true;
      for (;;) {
        const d = s.charCodeAt(i);
        if (d >= 48 && d <= 57) {
          n = n * 10 + (d - 48);
          i++;
        } else if (d === 45 || d === 43 || d === 46 || d === 101 || d === 69) {
          plain = false;
          i++;
        } else break;
      }
      if (i === ns) return -1;
      // JSON forbids leading zeros ("007"); Number() decides what such a value is, as before
      if (plain && i - ns < 16 && (s.charCodeAt(ns) !== 48 || i - ns === 1)) v = n;
      else {
        v = Number(s.slice(ns, i));
        if (Number.isNaN(v)) return -1;
      }
    }
    applyFieldCls(r, key, cls, v, ctx);
    let sep = s.charCodeAt(i);
    if (sep === 32 || sep === 9 || sep === 13 || sep === 10) {
      i = skipWs(s, i);
      sep = s.charCodeAt(i);
    }
    if (sep === 44) {
      i++;
      if (s.charCodeAt(i) !== 34) i = skipWs(s, i);
      continue;
    }
    if (sep === 125) {
      i++;
      break;
    }
    return -1;
  }
  return skipWs(s, i) === len ? 1 : -1;
}

const HEADERS_PARENT = /headers$/i;

function flatten(
  r: LogRecord,
  prefix: string,
  o: Record<string, unknown>,
  ctx: Ctx,
  depth: number,
): void {
  for (const key in o) {
    const v = o[key];
    const name = prefix === '' ? key : prefix + '.' + key;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      applyField(r, name, v, ctx);
    } else if (
      Array.isArray(v) &&
      v.length === 1 &&
      typeof v[0] === 'string' &&
      HEADERS_PARENT.test(prefix)
    ) {
      // a header map of value lists (Caddy, Go's http.Header): one value is the header's value
      applyField(r, name, v[0], ctx);
    } else if (Array.isArray(v) || depth >= MAX_DEPTH) {
      let j = JSON.stringify(v);
      if (j.length > MAX_ARRAY_CHARS) j = j.slice(0, MAX_ARRAY_CHARS) + '…';
      r.attributes[name] = j;
    } else if (typeof v === 'object') {
      flatten(r, name, v as Record<string, unknown>, ctx, depth + 1);
    }
  }
}

/** Parses a JSON object line. Returns null when the line is not a JSON object. */
export function parseJsonLine(s: string, ctx: Ctx, format: string): LogRecord | null {
  let r = newRecord(ctx, format, '');
  const rc = scanFlat(s, r, ctx);
  if (rc < 0) return null;
  if (rc === 0) {
    let o: unknown;
    try {
      o = JSON.parse(s);
    } catch {
      return null;
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
    r = newRecord(ctx, format, '');
    flatten(r, '', o as Record<string, unknown>, ctx, 0);
  }
  finishJson(r, ctx);
  return r;
}

/** Parse an already-decoded object (docker `log` payloads that are JSON, tests). */
export function recordFromObject(o: Record<string, unknown>, ctx: Ctx, format: string): LogRecord {
  const r = newRecord(ctx, format, '');
  flatten(r, '', o, ctx, 0);
  finishJson(r, ctx);
  return r;
}

function finishJson(r: LogRecord, ctx: Ctx): void {
  if (r.tsUs === null) {
    // No timestamp under a known name: take a value shaped like one under a time-ish key.
    for (const k in r.attributes) {
      const v = r.attributes[k];
      if (typeof v === 'string' && v.length >= 10 && v.length <= 40) {
        const lk = k.toLowerCase();
        if (
          lk.includes('time') ||
          lk.includes('date') ||
          (v.charCodeAt(4) === 45 && v.charCodeAt(10) === 84)
        ) {
          const t = parseTimestampValue(v, ctx);
          if (!Number.isNaN(t)) {
            r.tsUs = t;
            ctx.tsKey = k;
            break;
          }
        }
      }
    }
  }
  finishKv(r, ctx);
}
