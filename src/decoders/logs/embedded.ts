// Lines inside lines, and ids inside messages.
//
// Wrappers: a collector or a system logger often carries the application's own line as the
// message of its record — journald's `MESSAGE` (journalctl -o json), CloudWatch's and Cloud
// Logging's `message`/`textPayload`, Fluent Bit's `log`, rsyslog's `tag: {"level":…}`, Heroku's
// router writing logfmt through syslog. The inner line is parsed by its own format (parser.ts
// calls parseAuto on it) and merged here: the application's fields and message win, the wrapper
// keeps its clock, host and service (it stamped them; the inner line may lack a year or a zone).
//
// Ids in prose: `… request_id=ab12 …`, `trace_id: 4bf9…` inside a free-text message fill the
// record's request and trace ids when no field gave them, so application lines written as text
// join their access lines like structured ones.
//
// Fields in prose: `prediction request_id=ab12 inference_ms=43.5 status=200` (Python's logging
// with key=value messages, structlog's console renderer, Go's log with kv pairs, Rails' lograge
// in a text line) gives the same typed fields as the JSON or logfmt line it stands for: the pairs
// go through the field classifier (fields.ts), filling only what the line's own header did not.

import type { LogRecord } from '../../model/records.js';
import { applyFieldCls, classifyKey, K, traceIdOf, typedValue, type Ctx } from './fields.js';
import { isKeyChar as isLogfmtKeyChar } from './logfmt.js';

/** Longest message tried as an inner line. */
const MAX_INNER_CHARS = 16 * 1024;

/**
 * What an inner log line opens with: a digit (timestamps, access lines' addresses), `{` (JSON),
 * `[` or `<` (bracketed times and levels, syslog PRI), `(` (Ray/vLLM process prefixes), a level
 * word, glog's `I0315 `, or a logfmt key. Other messages ("request completed") are prose: one
 * test, no parser tried.
 */
const INNER_START =
  /^(?:[\d{[<(]|(?:INFO|WARN|WARNING|ERROR|DEBUG|TRACE|FATAL|CRITICAL|NOTICE)[\s:\]]|[IWEF]\d{4} |[A-Za-z_][\w.-]{0,30}=)/;

/** Whether `body` (a wrapper's message) may be a log line of its own. */
export function mayBeInnerLine(body: string): boolean {
  return body.length >= 8 && body.length <= MAX_INNER_CHARS && INNER_START.test(body);
}

/**
 * The application's record carried by a wrapper's: the inner record's fields, message and
 * attributes, with the wrapper's timestamp, host and service when it has them, its other fields
 * where the inner line has none, and its format kept as `log.wrapper`.
 */
export function mergeEmbedded(outer: LogRecord, inner: LogRecord): LogRecord {
  const attrs = inner.attributes;
  for (const k in outer.attributes) {
    const v = outer.attributes[k]!;
    // the wrapper's copy of the message (a rank-2 message field such as `log`) is the inner line
    if (v === outer.body || k in attrs) continue;
    attrs[k] = v;
  }
  attrs['log.wrapper'] = outer.format;
  // (an inner time of day without a year or zone is the weaker clock)
  if (outer.tsUs !== null) inner.tsUs = outer.tsUs;
  if (outer.host !== null) inner.host = outer.host;
  if (outer.service !== null) inner.service = outer.service;
  inner.severity ??= outer.severity;
  inner.requestId ??= outer.requestId;
  inner.traceId ??= outer.traceId;
  inner.spanId ??= outer.spanId;
  inner.httpMethod ??= outer.httpMethod;
  inner.httpPath ??= outer.httpPath;
  inner.httpStatus ??= outer.httpStatus;
  inner.durationMs ??= outer.durationMs;
  inner.clientIp ??= outer.clientIp;
  inner.lineNo = outer.lineNo;
  return inner;
}

/**
 * `request_id=…`, `req-id: …`, `x-request-id=…`, `correlation_id=…`, `trace_id=…`, `span_id=…`
 * (optionally quoted) after a word boundary. Bounded: ids of 4–128 characters.
 */
const ID_IN_TEXT =
  /(?:^|[\s[(,;{"'|])(x-request-id|request[_-]?id|req[_-]?id|requestid|correlation[_-]?id|trace[_-]?id|traceid|span[_-]?id|spanid)["']?\s?[=:]\s?["']?([\w.:/+-]{4,128})/gi;

/** Messages longer than this are not searched for ids (stack traces, dumps). */
const MAX_ID_SEARCH_CHARS = 4096;

/** Fill the request, trace and span ids a free-text message names (fields given win). */
export function idsFromMessage(r: LogRecord): void {
  const body = r.body;
  if (body.length < 8 || body.length > MAX_ID_SEARCH_CHARS) return;
  // cheap gate: every form needs "id" followed by one of = : " '
  if (!/id["']?\s?[=:]/i.test(body)) return;
  ID_IN_TEXT.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = ID_IN_TEXT.exec(body)) !== null) {
    const key = m[1]!.toLowerCase();
    const v = m[2]!.replace(/[.:,;]+$/, '');
    if (v.length < 4) continue;
    if (key.startsWith('trace')) {
      if (r.traceId === null && v.length >= 8) r.traceId = traceIdOf(v);
    } else if (key.startsWith('span')) {
      if (r.spanId === null && v.length >= 8 && v.length <= 32) r.spanId = v;
    } else if (r.requestId === null) r.requestId = v;
  }
}

/** Messages longer than this are searched for key=value pairs in their first this many chars. */
const MAX_KV_SEARCH_CHARS = 4096;
/** Pairs taken from one message (hostile input: a message of a thousand pairs). */
const MAX_KV_PAIRS = 32;
/** Longest key and bare value taken (longer ones are not pairs, or are cut: hostile input). */
const MAX_KEY_CHARS = 64;
const MAX_VALUE_CHARS = 1024;

/** A key character in prose: logfmt's but `/` (`GET /a/b=1` names no key `/a/b`). */
function isKeyChar(c: number): boolean {
  return c !== 47 && isLogfmtKeyChar(c);
}

/** What may stand before a key: the message start, white space, `[ ( , ; { |`. */
function isKeyBoundary(c: number): boolean {
  return (
    c === 32 ||
    c === 9 ||
    c === 10 ||
    c === 13 ||
    c === 91 ||
    c === 40 ||
    c === 44 ||
    c === 59 ||
    c === 123 ||
    c === 124
  );
}

/** Prose punctuation after a bare value (`took=12ms.`, `status=200)`). */
function isTrailingPunct(c: number): boolean {
  return c === 46 || c === 58 || c === 41 || c === 93 || c === 125;
}

/**
 * The key=value pairs of a free-text message as typed fields (see the top of this file): a key
 * (a letter, `_` or `@`, then key characters) after a word boundary, `=`, then a double-quoted
 * value with \ escapes or a bare one up to a space, comma or semicolon (`flags=0x1, tag=…`,
 * `ready=true,policy=3`: pairs in a list). Found from each `=` (indexOf: prose without one costs
 * one scan). The line's own clock, level and message stay (such pairs are kept as attributes, as
 * a JSON line's second message field is); a record field is filled only when empty; an
 * attribute already present wins.
 */
export function fieldsFromMessage(r: LogRecord, ctx: Ctx): void {
  const body = r.body;
  const len = Math.min(body.length, MAX_KV_SEARCH_CHARS);
  let pairs = 0;
  for (let eq = body.indexOf('='); eq > 0 && eq < len && pairs < MAX_KV_PAIRS;) {
    // the key: back from the `=` over key characters, to a boundary
    let k = eq;
    while (k > 0 && eq - k < MAX_KEY_CHARS && isKeyChar(body.charCodeAt(k - 1))) k--;
    const first = body.charCodeAt(k);
    const keyOk =
      k < eq &&
      (k === 0 || isKeyBoundary(body.charCodeAt(k - 1))) &&
      !(first >= 48 && first <= 57) &&
      first !== 46 &&
      first !== 45;
    // the value
    let v: string | null = null;
    let next = eq + 1;
    if (body.charCodeAt(eq + 1) === 34) {
      let e = eq + 2;
      let esc = false;
      for (; e < len && e - eq < MAX_VALUE_CHARS + 2; e++) {
        const c = body.charCodeAt(e);
        if (c === 92) {
          esc = true;
          e++;
        } else if (c === 34) break;
      }
      if (e < len && body.charCodeAt(e) === 34) {
        v = body.slice(eq + 2, e);
        if (esc) v = v.replace(/\\(.)/g, '$1');
        next = e + 1;
      }
    } else {
      let e = eq + 1;
      for (; e < len && e - eq <= MAX_VALUE_CHARS; e++) {
        const c = body.charCodeAt(e);
        if (c === 32 || c === 9 || c === 44 || c === 59 || c === 34 || c === 10 || c === 13) break;
      }
      let ve = e;
      while (ve > eq + 1 && isTrailingPunct(body.charCodeAt(ve - 1))) ve--;
      if (ve > eq + 1) v = body.slice(eq + 1, ve);
      next = e;
    }
    if (keyOk && v !== null && v !== '') {
      pairs++;
      const key = body.slice(k, eq);
      if (!(key in r.attributes)) {
        const cls = classifyKey(key);
        // a field the line already has (its header's time, level, message…) stays an attribute
        if (emptyFor(r, cls.k)) applyFieldCls(r, key, cls, v, ctx);
        else r.attributes[key] = typedValue(v);
      }
    }
    eq = body.indexOf('=', Math.max(next, eq + 1));
  }
}

/** Whether the record field a key class fills is still empty (the line's header wins). */
function emptyFor(r: LogRecord, k: number): boolean {
  switch (k) {
    case K.TS:
    case K.LEVEL:
    case K.SEVNUM:
    case K.MSG:
    case K.SERVICE:
    case K.HOST:
      return false;
    case K.REQID:
      return r.requestId === null;
    case K.TRACEID:
    case K.TRACEPARENT:
      return r.traceId === null;
    case K.SPANID:
      return r.spanId === null;
    case K.STATUS:
      return r.httpStatus === null;
    case K.METHOD:
      return r.httpMethod === null;
    case K.PATH:
    case K.URL:
    case K.REQUEST:
      return r.httpPath === null && r.httpMethod === null;
    case K.DUR_S:
    case K.DUR_MS:
    case K.DUR_US:
    case K.DUR_NS:
    case K.DUR_AUTO:
      return r.durationMs === null;
    case K.CLIENT:
    case K.XFF:
      return r.clientIp === null;
    default:
      return true;
  }
}
