// W3C Extended Log File Format (https://www.w3.org/TR/WD-logfile.html): IIS, AWS CloudFront
// standard logs, and the CDNs and WAFs that export it. The file describes itself:
//
//   #Software: Microsoft Internet Information Services 10.0
//   #Version: 1.0
//   #Date: 2026-11-20 10:15:29
//   #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip
//            cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
//   2026-11-20 10:15:30 10.0.0.5 POST /api/predict - 443 - 192.0.2.10 Mozilla/5.0+(X11) - 200 0 0 812
//
// The last `#Fields:` directive decides how the lines after it split (a file may hold several
// header blocks: IIS writes one at every restart, concatenated files keep theirs), so the column
// layout lives in the per-file Ctx. Values are separated by spaces (IIS) or tabs (CloudFront,
// whose `#Fields:` line itself uses spaces); `-` is an empty value. Directive lines are no
// records: the parser counts them as `w3c-directive` notes.
//
// Columns → fields: date + time (UTC, as the spec says: no zone option applies) → tsUs, or the
// `#Date:` day for a layout with a time and no date; cs-method, cs-uri-stem (+ `?` cs-uri-query),
// sc-status, c-ip, x-edge-request-id (and request-id headers such as cs(X-Request-ID)) → the typed
// fields; time-taken → durationMs. time-taken is seconds in the spec and in CloudFront
// (`0.082`), but IIS writes integer milliseconds: a layout with CloudFront's `x-edge-*` columns,
// or a value with a decimal point, is seconds; an integer in any other layout is ms.
// cs(User-Agent) → `user_agent` (IIS writes `+` for spaces, CloudFront percent-encodes: decoded),
// cs(Host)/cs-host → `http.host` (CloudFront's x-host-header, the Host the viewer sent, wins),
// s-ip, s-port, sc-bytes, cs-bytes, c-port, x-forwarded-for, cs(Referer), cs-username,
// cs-version/cs-protocol-version → canonical attributes (numbers typed), time-to-first-byte
// (CloudFront, seconds) → `time_to_first_byte_ms`; any other column is an attribute under its
// own name, typed, absent when `-`.
//
// A line whose value count differs from the `#Fields:` list is still a record when its date and
// time columns (if the layout has them) hold a date and a time: values are taken by position —
// a short line (cut) lacks its last fields, a long one (an unencoded separator inside a value)
// keeps the surplus in `w3c.extra` — and the mismatch is noted (`w3c-short-line`,
// `w3c-long-line`). Without those anchors it is not claimed (the parser's usual fallback applies).

import type { LogRecord } from '../../model/records.js';
import {
  applyField,
  classifyKey,
  intern,
  K,
  methodOf,
  newRecord,
  readDecimal,
  secondsToMs,
  typedValue,
  type Ctx,
} from './fields.js';
import { d2, readClock, readIso, tsEnd } from './time.js';

/** What a column holds. */
const C = {
  OTHER: 0,
  DATE: 1,
  TIME: 2,
  METHOD: 3,
  STEM: 4,
  QUERY: 5,
  URI: 6,
  STATUS: 7,
  TIME_TAKEN: 8,
  CLIENT_IP: 9,
  REQUEST_ID: 10,
  USER_AGENT: 11,
  HOST: 12,
  VIEWER_HOST: 13,
  /** A canonical attribute name, numeric value. */
  NUMBER: 14,
  /** A canonical attribute name, string value. */
  TEXT: 15,
  /** Seconds → `<name>` in ms. */
  SECONDS: 16,
  /** A header column whose name maps to a LogRecord field (cs(X-Request-ID), cs(traceparent)). */
  FIELD: 17,
} as const;
type ColKind = (typeof C)[keyof typeof C];

export interface W3cColumn {
  kind: ColKind;
  /** Attribute name (the field as written for OTHER, a header name for FIELD). */
  name: string;
}

/** Per-file state: the layout of the last `#Fields:` directive. */
export interface W3cState {
  cols: W3cColumn[];
  /** CloudFront's layout (`x-edge-*` columns): time-taken is seconds, user agents %-encoded. */
  cloudfront: boolean;
  dateAt: number;
  timeAt: number;
  /** The `#Date:` directive's day (UTC µs at 00:00), for layouts with a time and no date. */
  dirDayUs: number;
  lastDate: string;
  lastDayUs: number;
}

/** Columns per `#Fields:` directive, and values read per line beyond them (hostile input). */
const MAX_FIELDS = 128;
const MAX_EXTRA_VALUES = 16;
/** Characters of a directive read (a `#Fields:` list of 128 long names is ≈10 KiB). */
const MAX_DIRECTIVE_CHARS = 16 * 1024;
const DIRECTIVES = new Set([
  'Fields',
  'Version',
  'Date',
  'Software',
  'Start-Date',
  'End-Date',
  'Remark',
]);
const FIELD_RE = /^[A-Za-z][\w.-]{0,63}(?:\([^()\s]{1,64}\))?$/;
const VERSION_RE = /^\d{1,3}\.\d{1,3}$/;
const METHOD_RE = /^[A-Za-z][A-Za-z-]{0,15}$/;

const KNOWN: Record<string, [ColKind, string]> = {
  date: [C.DATE, ''],
  time: [C.TIME, ''],
  'cs-method': [C.METHOD, ''],
  'cs-uri-stem': [C.STEM, ''],
  'cs-uri-query': [C.QUERY, ''],
  'cs-uri': [C.URI, ''],
  'sc-status': [C.STATUS, ''],
  'time-taken': [C.TIME_TAKEN, ''],
  'c-ip': [C.CLIENT_IP, ''],
  'x-edge-request-id': [C.REQUEST_ID, ''],
  'cs(user-agent)': [C.USER_AGENT, 'user_agent'],
  'cs-host': [C.HOST, 'http.host'],
  'cs(host)': [C.HOST, 'http.host'],
  'x-host-header': [C.VIEWER_HOST, 'http.host'],
  's-ip': [C.TEXT, 'server_ip'],
  's-port': [C.NUMBER, 'server_port'],
  'c-port': [C.NUMBER, 'client_port'],
  'sc-bytes': [C.NUMBER, 'bytes_sent'],
  'cs-bytes': [C.NUMBER, 'bytes_received'],
  'x-forwarded-for': [C.TEXT, 'x_forwarded_for'],
  'cs(x-forwarded-for)': [C.TEXT, 'x_forwarded_for'],
  'cs(referer)': [C.TEXT, 'referer'],
  'cs(referrer)': [C.TEXT, 'referer'],
  'cs-username': [C.TEXT, 'user'],
  'cs-version': [C.TEXT, 'http.protocol'],
  'cs-protocol-version': [C.TEXT, 'http.protocol'],
  'time-to-first-byte': [C.SECONDS, 'time_to_first_byte_ms'],
};

function columnOf(field: string): W3cColumn {
  const lower = field.toLowerCase();
  const known = KNOWN[lower];
  if (known !== undefined) return { kind: known[0], name: known[1] || field };
  // a header column (`cs(X-Request-ID)`, `sc(traceparent)`): ids go to their LogRecord fields
  const open = field.indexOf('(');
  if (open > 0) {
    const header = field.slice(open + 1, -1);
    const k = classifyKey(header).k;
    if (k === K.REQID || k === K.TRACEID || k === K.TRACEPARENT)
      return { kind: C.FIELD, name: header };
  }
  return { kind: C.OTHER, name: field };
}

function state(ctx: Ctx): W3cState {
  let st = ctx.w3c;
  if (st === null) {
    st = {
      cols: [],
      cloudfront: false,
      dateAt: -1,
      timeAt: -1,
      dirDayUs: NaN,
      lastDate: '',
      lastDayUs: NaN,
    };
    ctx.w3c = st;
  }
  return st;
}

/** The columns of a `#Fields:` value; null when it is not a list of W3C field identifiers. */
function compileFields(v: string): W3cColumn[] | null {
  const cols: W3cColumn[] = [];
  let i = 0;
  const n = v.length;
  while (i < n) {
    while (i < n && (v.charCodeAt(i) === 32 || v.charCodeAt(i) === 9)) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && v.charCodeAt(j) !== 32 && v.charCodeAt(j) !== 9) j++;
    const f = v.slice(i, j);
    if (cols.length >= MAX_FIELDS || !FIELD_RE.test(f)) return null;
    cols.push(columnOf(f));
    i = j;
  }
  return cols.length > 0 ? cols : null;
}

/** `yyyy-mm-dd` → UTC µs at 00:00 (NaN if not exactly that). */
function dayUs(v: string): number {
  if (v.length !== 10) return NaN;
  const t = readIso(v, 0, UTC, true);
  return tsEnd === 10 ? t : NaN;
}
const UTC = { tzOffsetMinutes: 0, referenceYear: 1970 };

/** `hh:mm[:ss[.fff]]` → µs since 00:00 (NaN if not that). */
function timeOfDayUs(v: string): number {
  const n = v.length;
  if (n < 5 || n > 18 || v.charCodeAt(2) !== 58) return NaN;
  if (n === 5) {
    const h = d2(v, 0);
    const m = d2(v, 3);
    return h < 0 || h > 23 || m < 0 || m > 59 ? NaN : (h * 3600 + m * 60) * 1e6;
  }
  // seconds and a '.' fraction (not the ',' other logs use), nothing after
  if (v.charCodeAt(8) === 44) return NaN;
  const us = readClock(v, 0);
  return tsEnd === n ? Math.round(us) : NaN;
}

/**
 * A W3C directive line (`#Fields:`, `#Version:`, `#Software:`, `#Date:`, `#Start-Date:`,
 * `#End-Date:`, `#Remark:`): updates the file's state and returns true. `#Fields:` is always
 * taken (when its value is a field list); the others only when `claimAll` (the file is W3C) or a
 * `#Fields:` was seen — another format's comment line is not a directive.
 */
export function readW3cDirective(s: string, ctx: Ctx, claimAll: boolean): boolean {
  if (s.charCodeAt(0) !== 35) return false;
  let colon = 1;
  while (colon < 12 && s.charCodeAt(colon) !== 58) colon++;
  if (colon < 5 || colon > 11) return false;
  const name = s.slice(1, colon);
  if (!DIRECTIVES.has(name)) return false;
  const v = s.slice(colon + 1, colon + 1 + MAX_DIRECTIVE_CHARS).trim();
  if (name === 'Fields') {
    const cols = compileFields(v);
    if (cols === null) return false;
    const st = state(ctx);
    st.cols = cols;
    st.cloudfront = false;
    st.dateAt = -1;
    st.timeAt = -1;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      if (c.kind === C.DATE && st.dateAt < 0) st.dateAt = i;
      else if (c.kind === C.TIME && st.timeAt < 0) st.timeAt = i;
      if (c.name.startsWith('x-edge-')) st.cloudfront = true;
    }
    return true;
  }
  if (!claimAll && ctx.w3c === null) return false;
  switch (name) {
    case 'Version':
      if (!VERSION_RE.test(v)) return false;
      state(ctx);
      return true;
    case 'Date': {
      const day = dayUs(v.slice(0, 10));
      if (Number.isNaN(day)) return false;
      state(ctx).dirDayUs = day;
      return true;
    }
    case 'Software':
    case 'Start-Date':
    case 'End-Date':
    case 'Remark':
      state(ctx);
      return true;
    default:
      return false;
  }
}

/** `%XX` sequences decoded as UTF-8 (CloudFront's user agents); the text is kept if malformed. */
function percentDecode(v: string): string {
  let i = v.indexOf('%');
  if (i < 0) return v;
  let out = '';
  let from = 0;
  while (i >= 0 && i < v.length) {
    let j = i;
    let hex = '';
    while (v.charCodeAt(j) === 37 && isHex(v.charCodeAt(j + 1)) && isHex(v.charCodeAt(j + 2))) {
      hex += v.slice(j + 1, j + 3);
      j += 3;
    }
    if (j > i) {
      out += v.slice(from, i) + Buffer.from(hex, 'hex').toString('utf8');
      from = j;
      i = v.indexOf('%', j);
    } else i = v.indexOf('%', i + 1);
  }
  return out + v.slice(from);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
}

/** Values of a data line from `p`: tab-separated if it holds a tab, else space runs. */
function splitValues(s: string, p: number, max: number, out: string[]): number {
  out.length = 0;
  const n = s.length;
  if (s.indexOf('\t', p) >= 0) {
    let i = p;
    while (out.length < max) {
      const t = s.indexOf('\t', i);
      if (t < 0) {
        out.push(s.slice(i));
        return n;
      }
      out.push(s.slice(i, t));
      i = t + 1;
    }
    return i;
  }
  let i = p;
  while (out.length < max) {
    while (i < n && s.charCodeAt(i) === 32) i++;
    if (i >= n) return n;
    let j = i;
    while (j < n && s.charCodeAt(j) !== 32) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  while (i < n && s.charCodeAt(i) === 32) i++;
  return i;
}
const values: string[] = [];

/** A data line under the last `#Fields:` directive; null before any or when it does not fit. */
export function parseW3c(s: string, p: number, ctx: Ctx): LogRecord | null {
  const st = ctx.w3c;
  if (st === null || st.cols.length === 0) return null;
  const c0 = s.charCodeAt(p);
  if (c0 === 35 || c0 === 32 || c0 === 9 || Number.isNaN(c0)) return null;
  const cols = st.cols;
  const rest = splitValues(s, p, cols.length + MAX_EXTRA_VALUES, values);
  const n = values.length;
  // the date and time columns anchor the layout: a line without them there is not this one
  let day = NaN;
  let tod = NaN;
  if (st.dateAt >= 0) {
    const d = values[st.dateAt];
    if (d === undefined) return null;
    if (d === st.lastDate) day = st.lastDayUs;
    else {
      day = dayUs(d);
      if (Number.isNaN(day)) return null;
      st.lastDate = d;
      st.lastDayUs = day;
    }
  } else day = st.dirDayUs;
  if (st.timeAt >= 0) {
    const t = values[st.timeAt];
    if (t === undefined) return null;
    tod = timeOfDayUs(t);
    if (Number.isNaN(tod)) return null;
  }
  if (st.dateAt < 0 && st.timeAt < 0 && n !== cols.length) return null;
  const r = newRecord(ctx, 'w3c', '');
  if (!Number.isNaN(day) && st.timeAt >= 0) r.tsUs = day + tod;
  else if (st.dateAt >= 0) r.tsUs = day;
  const a = r.attributes;
  let stem: string | null = null;
  let query: string | null = null;
  const m = Math.min(n, cols.length);
  for (let i = 0; i < m; i++) {
    const v = values[i]!;
    if (v === '-' || v === '') continue;
    const col = cols[i]!;
    switch (col.kind) {
      case C.DATE:
      case C.TIME:
        break;
      case C.METHOD:
        if (METHOD_RE.test(v)) r.httpMethod = methodOf(v);
        else a['cs-method'] = v;
        break;
      case C.STEM:
        stem = v;
        break;
      case C.QUERY:
        query = v;
        break;
      case C.URI:
        if (stem === null) stem = v;
        break;
      case C.STATUS: {
        const code = readDecimal(v);
        if (Number.isInteger(code) && code >= 100 && code <= 599) r.httpStatus = code;
        else a['sc-status'] = v; // CloudFront writes 000 when the viewer left before a response
        break;
      }
      case C.TIME_TAKEN: {
        const t = readDecimal(v);
        if (Number.isNaN(t) || t < 0) break;
        const ms = st.cloudfront || v.includes('.') ? secondsToMs(t) : t;
        r.durationMs = ms;
        a['duration_ms'] = ms;
        break;
      }
      case C.CLIENT_IP:
        if (v.length <= 64) r.clientIp = v;
        break;
      case C.REQUEST_ID:
        r.requestId = v;
        break;
      case C.USER_AGENT:
        a['user_agent'] = intern(st.cloudfront ? percentDecode(v) : v.replace(/\+/g, ' '));
        break;
      case C.HOST:
        if (a['http.host'] === undefined) a['http.host'] = intern(v);
        break;
      case C.VIEWER_HOST:
        a['http.host'] = intern(v);
        break;
      case C.NUMBER: {
        const x = readDecimal(v);
        a[col.name] = Number.isNaN(x) ? v : x;
        break;
      }
      case C.TEXT:
        a[col.name] = v;
        break;
      case C.SECONDS: {
        const x = readDecimal(v);
        if (!Number.isNaN(x)) a[col.name] = secondsToMs(x);
        break;
      }
      case C.FIELD:
        applyField(r, col.name, v, ctx);
        break;
      case C.OTHER:
        a[col.name] = typedValue(v);
        break;
    }
  }
  if (stem !== null) {
    r.httpPath = intern(query !== null ? `${stem}?${query}` : stem);
  }
  if (n < cols.length) {
    ctx.quality.note(
      'w3c-short-line',
      `line ${ctx.lineNo}`,
      `${n} values for ${cols.length} fields`,
    );
  } else if (n > cols.length || rest < s.length) {
    const surplus = values.slice(cols.length).join(' ');
    a['w3c.extra'] = rest < s.length ? `${surplus} ${s.slice(rest, rest + 1024)}` : surplus;
    ctx.quality.note(
      'w3c-long-line',
      `line ${ctx.lineNo}`,
      `more values than ${cols.length} fields`,
    );
  }
  if (r.httpMethod !== null) {
    r.body = `${r.httpMethod} ${r.httpPath ?? ''}${r.httpStatus !== null ? ` ${r.httpStatus}` : ''}`;
  } else if (r.httpPath !== null) {
    r.body = r.httpStatus !== null ? `${r.httpPath} ${r.httpStatus}` : r.httpPath;
  } else r.body = p === 0 ? s : s.slice(p);
  return r;
}
