// Application-server logs in front of (or inside) model servers:
//  - Spring Boot / logback default console format (logback `defaults.xml` CONSOLE_LOG_PATTERN):
//    `%d %5p ${PID} --- ${APP_NAME:-}[%15.15t] ${LOG_CORRELATION_PATTERN:-}%-40.40logger{39} : %m`
//    Boot 2 `2026-11-20 10:15:30.123  INFO 12345 --- [nio-8080-exec-1] c.e.Foo   : msg`, Boot 3
//    `2026-11-20T10:15:30.123Z  INFO 12345 --- [model-api] [nio-8080-exec-1] c.e.Foo : msg`, with
//    an optional correlation group (`[traceId-spanId] `) and Sleuth's `INFO [app,trace,span] pid`;
//  - Go Gin's default access log (Ollama writes it):
//    `[GIN] 2006/01/02 - 15:04:05 | 200 |  812.345678ms |  127.0.0.1 | POST     "/path"` (status
//    and method possibly coloured), and `[GIN-debug] …` lines;
//  - uWSGI's default request log: `[pid: P|app: A|req: R/T] addr (user) {N vars in B bytes}
//    [ctime] METHOD uri => generated B bytes in N msecs|micros (PROTO STATUS) H headers in B bytes
//    (S switches on core C)`, optionally after a `--log-date` ctime prefix;
//  - BentoML: `ts [LEVEL] [component] msg`, access messages `client (scheme=…,method=…,path=…,
//    type=…,length=…) (status=…,type=…,length=…) 812.345ms (trace=…,span=…,sampled=…,
//    service.name=…)`;
//  - Tornado's LogFormatter (`[L yymmdd hh:mm:ss module:line] msg`, Jupyter's
//    `[L yyyy-mm-dd hh:mm:ss.fff Name] msg`), access messages `200 POST /uri (ip) 812.34ms`;
//  - Rust tracing-subscriber's fmt output (TGI's router, axum/tower-http services):
//    `ts LEVEL span{k=v …}:span2: target: [file:line: ]message k=v …` (level right-aligned in 5).
// Every parser rejects on its first characters before any scan, and bounds what it scans.

import type { LogRecord } from '../../model/records.js';
import {
  applyField,
  durationStringMs,
  intern,
  methodOf,
  newRecord,
  stripPort,
  traceIdOf,
  type Ctx,
} from './fields.js';
import { normalizeSeverity } from './severity.js';
import { lvlEnd, readLevel, skipSpaces, stripAnsi } from './text.js';
import { readCtime, readGinTime, readIso, readYymmddTime, tsEnd } from './time.js';

/** Longest stretch a parser scans for its own structure (messages may be longer). */
const MAX_HEAD = 512;
/** Key/value pairs read from one line (hostile input: a line of a million `a=b`). */
const MAX_PAIRS = 64;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentStart = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isIdent = (c: number): boolean => isIdentStart(c) || isDigit(c);

function setService(r: LogRecord, v: string): void {
  if (r.service === null && v !== '') r.service = intern(v);
}

// ---- Spring Boot ------------------------------------------------------------------------------

const HEX_TRACE_SPAN = /^([0-9a-fA-F]{16}|[0-9a-fA-F]{32})[-,]([0-9a-fA-F]{16})$/;

/** A correlation group: Boot 3's `traceId-spanId`, or Sleuth's `app,traceId,spanId[,export]`. */
function applyCorrelation(r: LogRecord, inner: string): void {
  const t = inner.trim();
  if (t === '') return;
  const m = HEX_TRACE_SPAN.exec(t);
  if (m) {
    r.traceId = m[1]!.toLowerCase();
    r.spanId = m[2]!.toLowerCase();
    return;
  }
  const parts = t.split(',');
  if (parts.length >= 3 && parts.length <= 4 && /^[0-9a-fA-F]{16,32}$/.test(parts[1]!)) {
    setService(r, parts[0]!);
    r.traceId = traceIdOf(parts[1]!);
    if (/^[0-9a-fA-F]{16}$/.test(parts[2]!)) r.spanId = parts[2]!.toLowerCase();
    return;
  }
  r.attributes['correlation'] = t;
}

/** Spring Boot's (logback or log4j2) default console line. */
export function parseSpringBoot(s: string, p: number, ctx: Ctx): LogRecord | null {
  let c = s.charCodeAt(p);
  if (c === 27) {
    s = stripAnsi(s.slice(p));
    p = 0;
    c = s.charCodeAt(0);
  }
  // `yyyy-mm-dd hh:mm:ss.fff` or `yyyy-mm-ddThh:mm:ss.fff±zone`, then spaces and the level
  if (!isDigit(c) || s.charCodeAt(p + 4) !== 45 || s.charCodeAt(p + 19) !== 46) return null;
  const ts = readIso(s, p, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32) return null;
  let q = skipSpaces(s, tsEnd);
  const sev = readLevel(s, q);
  if (sev === null || s.charCodeAt(lvlEnd) !== 32) return null;
  q = lvlEnd + 1;
  let sleuth: string | null = null;
  if (s.charCodeAt(q) === 91) {
    // Sleuth (Boot 2): `INFO [app,traceId,spanId,exportable] pid ---`
    const close = s.indexOf('] ', q);
    if (close < 0 || close - q > 120) return null;
    sleuth = s.slice(q + 1, close);
    q = close + 2;
  }
  q = skipSpaces(s, q);
  const pidAt = q;
  while (isDigit(s.charCodeAt(q)) && q - pidAt < 10) q++;
  const pid = q > pidAt ? Number(s.slice(pidAt, q)) : null;
  q = skipSpaces(s, q);
  if (!s.startsWith('--- ', q)) return null;
  q += 4;
  // bracket groups: [app] [thread] [correlation], each optional but the thread
  const groups: string[] = [];
  while (groups.length < 4 && s.charCodeAt(q) === 91) {
    const close = s.indexOf(']', q + 1);
    if (close < 0 || close - q > 160) return null;
    groups.push(s.slice(q + 1, close));
    q = skipSpaces(s, close + 1);
  }
  if (groups.length === 0) return null;
  // the logger name (no spaces; padded to 40), then ` : ` and the message
  const ls = q;
  while (q < s.length && s.charCodeAt(q) !== 32 && q - ls < 200) q++;
  if (q === ls) return null;
  const logger = s.slice(ls, q);
  q = skipSpaces(s, q);
  if (s.charCodeAt(q) !== 58 || (q + 1 < s.length && s.charCodeAt(q + 1) !== 32)) return null;
  const r = newRecord(ctx, 'spring-boot', s.slice(Math.min(s.length, q + 2)));
  r.tsUs = ts;
  r.severity = sev;
  const a = r.attributes;
  if (pid !== null) a['pid'] = pid;
  // the application name is also kept as `app`: a --service given by the user wins the field
  // `%15.15t` pads or cuts the thread to exactly 15: a first group of another width is the
  // application name (Boot 3.2+), unless it is followed by nothing else
  let thread = 0;
  if (groups.length >= 2 && (groups[0]!.length !== 15 || groups[1]!.length === 15)) {
    setService(r, groups[0]!.trim());
    a['app'] = intern(groups[0]!.trim());
    thread = 1;
  }
  a['thread'] = intern(groups[thread]!.trim());
  for (let i = thread + 1; i < groups.length; i++) applyCorrelation(r, groups[i]!);
  if (sleuth !== null) applyCorrelation(r, sleuth);
  a['logger'] = intern(logger);
  return r;
}

// ---- Gin --------------------------------------------------------------------------------------

/** A Go `%#v` string: `"…"` with backslash escapes. */
function goUnquote(v: string): string {
  if (v.length < 2 || v.charCodeAt(0) !== 34 || v.charCodeAt(v.length - 1) !== 34) return v;
  const inner = v.slice(1, -1);
  return inner.includes('\\') ? inner.replace(/\\(["\\])/g, '$1') : inner;
}

const GIN_ROUTE =
  /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|CONNECT|TRACE|Any)\s+(\/\S*)\s+--> (\S+)/;

/** `[GIN] …` access lines and `[GIN-debug] …` messages. */
export function parseGin(s: string, p: number, ctx: Ctx): LogRecord | null {
  if (s.charCodeAt(p) !== 91 || s.charCodeAt(p + 1) !== 71 || !s.startsWith('IN', p + 2))
    return null;
  const c4 = s.charCodeAt(p + 4);
  if (c4 === 45) {
    // [GIN-debug] [WARNING] msg / [GIN-debug] GET /x --> handler (3 handlers)
    const close = s.indexOf(']', p + 5);
    if (close < 0 || close - p > 16 || s.charCodeAt(close + 1) !== 32) return null;
    let q = close + 2;
    let sev = normalizeSeverity(s.slice(p + 5, close)) ?? 'DEBUG';
    if (s.charCodeAt(q) === 91) {
      const lv = readLevel(s, q);
      if (lv !== null) {
        sev = lv;
        q = skipSpaces(s, lvlEnd);
      }
    }
    const r = newRecord(ctx, 'gin', s.slice(q));
    r.severity = sev;
    const m = GIN_ROUTE.exec(r.body.length > MAX_HEAD ? r.body.slice(0, MAX_HEAD) : r.body);
    if (m) {
      r.attributes['gin.route'] = intern(`${m[1]!} ${m[2]!}`);
      r.attributes['gin.handler'] = intern(m[3]!);
    }
    return r;
  }
  if (c4 !== 93 || s.charCodeAt(p + 5) !== 32) return null;
  // `[GIN] 2026/11/20 - 10:15:30 | 200 |  812.345678ms |       127.0.0.1 | POST     "/api/x"`
  const ts = readGinTime(s, p + 6, ctx);
  if (Number.isNaN(ts)) return null;
  let rest = s.slice(tsEnd, tsEnd + 8192);
  if (rest.indexOf('\x1b') >= 0) rest = stripAnsi(rest);
  // ` | status | latency | client | METHOD "path"` (the path may hold a '|')
  const bars: number[] = [];
  for (let i = rest.indexOf('|'); i >= 0 && bars.length < 4; i = rest.indexOf('|', i + 1))
    bars.push(i);
  if (bars.length < 4 || rest.slice(0, bars[0]).trim() !== '') return null;
  const status = rest.slice(bars[0]! + 1, bars[1]).trim();
  if (!/^\d{3}$/.test(status)) return null;
  const tail = rest.slice(bars[3]! + 1).trim();
  const sp = tail.indexOf(' ');
  const method = sp < 0 ? tail : tail.slice(0, sp);
  if (method.length === 0 || method.length > 16) return null;
  const path = sp < 0 ? '' : goUnquote(tail.slice(sp).trim());
  const r = newRecord(ctx, 'gin', '');
  r.tsUs = ts;
  r.httpStatus = Number(status);
  const lat = rest.slice(bars[1]! + 1, bars[2]).trim();
  // Go's time.Duration text: `812.345678ms`, `1m2s`, `345.6µs` (rounded to ns: µs·1e-3 is inexact)
  const ms = lat.length <= 40 ? Math.round(durationStringMs(lat) * 1e6) / 1e6 : NaN;
  if (!Number.isNaN(ms)) {
    r.durationMs = ms;
    r.attributes['duration_ms'] = ms;
  }
  const client = rest.slice(bars[2]! + 1, bars[3]).trim();
  if (client !== '' && client.length <= 64) r.clientIp = client;
  r.httpMethod = methodOf(method);
  if (path !== '') r.httpPath = intern(path);
  r.body = `${r.httpMethod} ${path} ${status}`;
  return r;
}

// ---- uWSGI ------------------------------------------------------------------------------------

const UWSGI_RE =
  /^(\S+)(?: \(([^)]{0,256})\))?(?: \{(\d+) vars in (\d+) bytes\})? \[([^\]]{10,40})\] (\S{1,16}) (.{0,4096}?) => generated (\d+) bytes in (\d+) (msecs|micros) \(([^ )]{1,16}) (\d{3})\)(?: (\d+) headers in (\d+) bytes \((\d+) switches on core (\d+)\))?/;

/** uWSGI's request log line (`[pid: …] …`), optionally after a `--log-date` prefix. */
export function parseUwsgi(s: string, p: number, ctx: Ctx): LogRecord | null {
  let c = s.charCodeAt(p);
  let q = p;
  let dateTs = NaN;
  if (c >= 65 && c <= 90) {
    // `--log-date`: `Fri Nov 20 10:15:30 2026 - [pid: …`
    dateTs = readCtime(s, p, ctx);
    if (Number.isNaN(dateTs) || !s.startsWith(' - ', tsEnd)) return null;
    q = tsEnd + 3;
    c = s.charCodeAt(q);
  }
  if (c !== 91 || !s.startsWith('[pid: ', q)) return null;
  const close = s.indexOf('] ', q + 6);
  if (close < 0 || close - q > 120) return null;
  const head = s.slice(q + 1, close);
  const line = s.slice(close + 2, close + 2 + 8192);
  const m = UWSGI_RE.exec(line);
  if (!m) return null;
  const ts = readCtime(m[5]!, 0, ctx);
  const r = newRecord(ctx, 'uwsgi', '');
  r.tsUs = Number.isNaN(ts) ? (Number.isNaN(dateTs) ? null : dateTs) : ts;
  const a = r.attributes;
  for (const part of head.split('|')) {
    const colon = part.indexOf(': ');
    if (colon < 0) continue;
    const k = part.slice(0, colon);
    const v = part.slice(colon + 2);
    if (v === '-' || v === '') continue;
    if (k === 'pid') a['pid'] = Number(v);
    else if (k === 'app' || k === 'worker') a[`uwsgi.${k}`] = Number(v);
    else if (k === 'req') {
      const [wr, tr] = v.split('/');
      if (wr !== undefined && /^\d+$/.test(wr)) a['uwsgi.worker_requests'] = Number(wr);
      if (tr !== undefined && /^\d+$/.test(tr)) a['uwsgi.requests'] = Number(tr);
    }
  }
  const addr = m[1]!;
  if (addr !== '-') r.clientIp = addr;
  if (m[2] !== undefined && m[2] !== '' && m[2] !== '-') a['user'] = m[2];
  if (m[3] !== undefined) a['uwsgi.vars'] = Number(m[3]);
  r.httpMethod = methodOf(m[6]!);
  r.httpPath = intern(m[7]!);
  a['bytes_sent'] = Number(m[8]);
  const n = Number(m[9]);
  r.durationMs = m[10] === 'micros' ? n / 1000 : n;
  a['duration_ms'] = r.durationMs;
  a['http.protocol'] = intern(m[11]!);
  r.httpStatus = Number(m[12]);
  if (m[13] !== undefined) {
    a['uwsgi.headers'] = Number(m[13]);
    a['uwsgi.header_bytes'] = Number(m[14]);
    a['uwsgi.switches'] = Number(m[15]);
    a['uwsgi.core'] = Number(m[16]);
  }
  const extra = line.slice(m[0].length).trim();
  if (extra !== '') a['uwsgi.extra'] = extra;
  r.body = `${r.httpMethod} ${r.httpPath} ${m[12]!}`;
  return r;
}

// ---- BentoML ----------------------------------------------------------------------------------

/** `k=v,k=v` (a value may hold a `, ` as in `type=text/plain; charset=utf-8`). */
function bentoPairs(inner: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | null = null;
  for (const part of inner.split(',', MAX_PAIRS)) {
    const eq = part.indexOf('=');
    if (eq > 0 && /^[\w.]+$/.test(part.slice(0, eq))) {
      last = part.slice(0, eq);
      out.set(last, part.slice(eq + 1));
    } else if (last !== null) out.set(last, `${out.get(last) ?? ''},${part}`);
  }
  return out;
}

/** BentoML writes OpenTelemetry ids in hex, older versions as decimal integers. */
function otelId(v: string | undefined, hexLen: number): string | null {
  if (v === undefined || v === '' || v === '0') return null;
  if (/^[0-9a-fA-F]+$/.test(v) && v.length === hexLen) return v.toLowerCase();
  if (/^\d{1,39}$/.test(v)) {
    const n = BigInt(v);
    if (n === 0n || n >= 1n << BigInt(hexLen * 4)) return null;
    return n.toString(16).padStart(hexLen, '0');
  }
  return hexLen === 32 ? traceIdOf(v) : v.length <= 32 ? v : null;
}

const BENTO_ACCESS =
  /^(\S{1,64}) \(([^)]{0,2048})\) \(([^)]{0,2048})\) (\d{1,12}(?:\.\d{1,9})?)ms(?: \(([^)]{0,2048})\))?/;

/** `2026-11-20T10:15:30+0000 [INFO] [api_server:svc:1] msg`. */
export function parseBentoml(s: string, p: number, ctx: Ctx): LogRecord | null {
  if (!isDigit(s.charCodeAt(p)) || s.charCodeAt(p + 10) !== 84) return null;
  const ts = readIso(s, p, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32 || s.charCodeAt(tsEnd + 1) !== 91) return null;
  // `[LEVEL] [component] ` (TorchServe's `[INFO ] thread logger - ` has no second bracket)
  const lclose = s.indexOf(']', tsEnd + 2);
  if (lclose < 0 || lclose - tsEnd > 12 || !s.startsWith(' [', lclose + 1)) return null;
  const sev = normalizeSeverity(s.slice(tsEnd + 2, lclose));
  if (sev === null) return null;
  const cclose = s.indexOf(']', lclose + 3);
  if (cclose < 0 || cclose - lclose > 160) return null;
  const component = s.slice(lclose + 3, cclose);
  if (component === '' || component.includes(' ')) return null;
  const msg = s.slice(s.charCodeAt(cclose + 1) === 32 ? cclose + 2 : cclose + 1);
  const r = newRecord(ctx, 'bentoml', msg);
  r.tsUs = ts;
  r.severity = sev;
  const a = r.attributes;
  // `api_server:1`, `api_server:iris_classifier:1`, `runner:iris_clf:1`, `cli`
  const parts = component.split(':');
  a['bentoml.component'] = intern(parts[0]!);
  const last = parts[parts.length - 1]!;
  if (parts.length > 1 && /^\d+$/.test(last)) a['bentoml.worker'] = Number(last);
  if (parts.length === 3) a['bentoml.service'] = intern(parts[1]!);
  const m = BENTO_ACCESS.exec(msg.length > 8192 ? msg.slice(0, 8192) : msg);
  if (m) {
    if (m[1] !== '_') {
      r.clientIp = stripPort(m[1]!);
      if (r.clientIp !== m[1]) a['client'] = m[1]!;
    }
    const req = bentoPairs(m[2]!);
    const res = bentoPairs(m[3]!);
    const method = req.get('method');
    if (method) r.httpMethod = methodOf(method);
    const path = req.get('path');
    if (path) r.httpPath = intern(path);
    const scheme = req.get('scheme');
    if (scheme) a['http.scheme'] = intern(scheme);
    const reqType = req.get('type');
    if (reqType) a['http.request_content_type'] = intern(reqType);
    const reqLen = Number(req.get('length') || NaN);
    if (Number.isFinite(reqLen)) a['http.request_length'] = reqLen;
    const status = Number(res.get('status'));
    if (Number.isInteger(status) && status >= 100 && status <= 599) r.httpStatus = status;
    const resType = res.get('type');
    if (resType) a['http.response_content_type'] = intern(resType);
    const resLen = Number(res.get('length') || NaN);
    if (Number.isFinite(resLen)) a['bytes_sent'] = resLen;
    r.durationMs = Number(m[4]);
    a['duration_ms'] = r.durationMs;
    if (m[5] !== undefined) {
      const tr = bentoPairs(m[5]);
      r.traceId = otelId(tr.get('trace'), 32);
      r.spanId = otelId(tr.get('span'), 16);
      const sampled = tr.get('sampled');
      if (sampled !== undefined) a['trace.sampled'] = sampled === '1';
      const svc = tr.get('service.name');
      if (svc) setService(r, svc);
    }
    r.body = `${r.httpMethod ?? ''} ${r.httpPath ?? ''} ${r.httpStatus ?? ''}`;
  }
  if (parts.length === 3) setService(r, parts[1]!);
  return r;
}

// ---- Tornado ----------------------------------------------------------------------------------

const TORNADO_ACCESS =
  /^(\d{3}) ([A-Z]{1,16}) (\S{1,4096}) \(([^)\s]{1,64})\) (\d{1,12}(?:\.\d{1,6})?)ms(?: referer=(\S*))?/;

/** `[I 201120 10:15:30 web:2239] msg` (Tornado) or `[I 2026-11-20 10:15:30.123 Name] msg`. */
export function parseTornado(s: string, p: number, ctx: Ctx): LogRecord | null {
  let c = s.charCodeAt(p);
  if (c === 27) {
    s = stripAnsi(s.slice(p));
    p = 0;
    c = s.charCodeAt(0);
  }
  if (c !== 91 || s.charCodeAt(p + 2) !== 32 || !isDigit(s.charCodeAt(p + 3))) return null;
  const l = s.charCodeAt(p + 1);
  // D I W E C (logging's levelname cut to one letter)
  if (!(l === 73 || l === 87 || l === 69 || l === 68 || l === 67)) return null;
  let ts = readYymmddTime(s, p + 3, ctx);
  if (Number.isNaN(ts)) ts = readIso(s, p + 3, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32) return null;
  const close = s.indexOf(']', tsEnd + 1);
  if (close < 0 || close - tsEnd > 120) return null;
  const where = s.slice(tsEnd + 1, close);
  if (where === '' || where.includes(' ')) return null;
  const msg = s.slice(s.charCodeAt(close + 1) === 32 ? close + 2 : close + 1);
  const r = newRecord(ctx, 'tornado', msg);
  r.tsUs = ts;
  r.severity = normalizeSeverity(s[p + 1]!);
  const colon = where.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(where.slice(colon + 1))) r.attributes['source'] = intern(where);
  else r.attributes['logger'] = intern(where);
  const c0 = msg.charCodeAt(0);
  if (c0 >= 49 && c0 <= 53) {
    const m = TORNADO_ACCESS.exec(msg);
    if (m) {
      r.httpStatus = Number(m[1]);
      r.httpMethod = methodOf(m[2]!);
      r.httpPath = intern(m[3]!);
      r.clientIp = m[4]!;
      r.durationMs = Number(m[5]);
      r.attributes['duration_ms'] = r.durationMs;
      if (m[6] !== undefined && m[6] !== '') r.attributes['referer'] = m[6];
      r.body = `${r.httpMethod} ${r.httpPath} ${m[1]!}`;
    }
  }
  return r;
}

// ---- Rust tracing -----------------------------------------------------------------------------

/** End of a tracing value starting at i (bounded by `end`): a quoted string, or text up to the
 * next ` key=` outside quotes and brackets. */
let valEnd = 0;
function readValue(s: string, i: number, end: number): string {
  if (s.charCodeAt(i) === 34) {
    let j = i + 1;
    let esc = false;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === 92) {
        esc = true;
        j += 2;
        continue;
      }
      if (c === 34) break;
      j++;
    }
    if (j < end) {
      valEnd = j + 1;
      const v = s.slice(i + 1, j);
      return esc ? v.replace(/\\(.)/g, (_m, ch: string) => (ch === 'n' ? '\n' : ch)) : v;
    }
    // unterminated: the rest, as text
  }
  const j = nextKey(s, i, end);
  valEnd = j;
  return s.slice(i, j).trimEnd();
}

/** Position of the next ` key=` at depth 0 (outside quotes and brackets) from i, or `end`. */
function nextKey(s: string, i: number, end: number): number {
  let depth = 0;
  let quoted = false;
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (quoted) {
      if (c === 92) j++;
      else if (c === 34) quoted = false;
      continue;
    }
    if (c === 34) quoted = true;
    else if (c === 123 || c === 40 || c === 91) depth++;
    else if ((c === 125 || c === 41 || c === 93) && depth > 0) depth--;
    else if (c === 32 && depth === 0 && isIdentStart(s.charCodeAt(j + 1))) {
      let k = j + 2;
      while (k < end && (isIdent(s.charCodeAt(k)) || s.charCodeAt(k) === 46)) k++;
      if (k < end && s.charCodeAt(k) === 61) return j;
    }
  }
  return end;
}

/** `key=value key="quoted" …` from i to end into the record (tracing's field syntax). */
function applyPairs(r: LogRecord, s: string, i: number, end: number, ctx: Ctx): void {
  for (let n = 0; n < MAX_PAIRS && i < end; n++) {
    while (i < end && s.charCodeAt(i) === 32) i++;
    const k0 = i;
    while (i < end && (isIdent(s.charCodeAt(i)) || s.charCodeAt(i) === 46)) i++;
    if (i === k0 || s.charCodeAt(i) !== 61 || i >= end) return;
    const key = s.slice(k0, i);
    const v = readValue(s, i + 1, end);
    i = valEnd;
    applyField(r, key, v, ctx);
  }
}

/** End of a `{…}` group opened at i (quotes and nesting respected), or -1. */
function closeBrace(s: string, i: number, limit: number): number {
  let depth = 0;
  let quoted = false;
  const end = Math.min(s.length, i + limit);
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (quoted) {
      if (c === 92) j++;
      else if (c === 34) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 123) depth++;
    else if (c === 125 && --depth === 0) return j;
  }
  return -1;
}

const TRACING_LEVELS = [' INFO', ' WARN', 'ERROR', 'DEBUG', 'TRACE'];
const MODULE_PATH = /^[a-z_][a-z0-9_]*(?:::[a-z0-9_]+)*$/;
const SOURCE_FILE = /^[\w./\\-]{1,200}:\d{1,7}$/;

/** One `name:` or `name{fields}:` of a span chain, or a target; fields as offsets in the line. */
interface Seg {
  name: string;
  fieldsFrom: number;
  fieldsTo: number;
}

/** Reads `seg:seg{…}:…: ` at i into segs; returns the position after the `: ` or -1. */
function readSegments(s: string, i: number, segs: Seg[]): number {
  for (let n = 0; n < 16; n++) {
    const n0 = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (isIdent(c) || c === 45 || c === 46) i++;
      else if (c === 58 && s.charCodeAt(i + 1) === 58 && isIdent(s.charCodeAt(i + 2))) i += 2;
      else break;
      if (i - n0 > 200) return -1;
    }
    if (i === n0) return -1;
    const seg: Seg = { name: s.slice(n0, i), fieldsFrom: -1, fieldsTo: -1 };
    if (s.charCodeAt(i) === 123) {
      const e = closeBrace(s, i, 16384);
      if (e < 0) return -1;
      seg.fieldsFrom = i + 1;
      seg.fieldsTo = e;
      i = e + 1;
    }
    if (s.charCodeAt(i) !== 58) return -1;
    segs.push(seg);
    i++;
    const c = s.charCodeAt(i);
    if (c === 32) return i + 1;
    if (Number.isNaN(c)) return i;
  }
  return -1;
}

/** tracing-subscriber's fmt line: `ts LEVEL [spans: ][target: ][file:line: ]message k=v…`. */
export function parseRustTracing(s: string, p: number, ctx: Ctx): LogRecord | null {
  let c = s.charCodeAt(p);
  if (c === 27) {
    s = stripAnsi(s.slice(p));
    p = 0;
    c = s.charCodeAt(0);
  }
  if (!isDigit(c) || s.charCodeAt(p + 10) !== 84) return null;
  const ts = readIso(s, p, ctx);
  // `.` fractions only (log4j's ISO8601 uses `,`), one space, the level right-aligned in 5
  if (Number.isNaN(ts) || s.charCodeAt(p + 19) === 44 || s.charCodeAt(tsEnd) !== 32) return null;
  const lv = s.slice(tsEnd + 1, tsEnd + 6);
  if (!TRACING_LEVELS.includes(lv) || s.charCodeAt(tsEnd + 6) !== 32) return null;
  let q = tsEnd + 7;
  // Spring Boot's `INFO 12345 --- [` shares the prefix
  if (isDigit(s.charCodeAt(q)) && /^\d+ +---/.test(s.slice(q, q + 20))) return null;
  const r = newRecord(ctx, 'rust-tracing', '');
  r.tsUs = ts;
  r.severity = normalizeSeverity(lv.trim());
  const a = r.attributes;
  if (s.startsWith('ThreadId(', q)) {
    const e = s.indexOf(') ', q);
    if (e > 0 && e - q < 24) {
      a['thread'] = intern(s.slice(q, e + 1));
      q = e + 2;
    }
  }
  // spans, then the target: `a{…}:b: target: msg`, `target: msg`, `span: target: msg`
  const g1: Seg[] = [];
  const after1 = readSegments(s, q, g1);
  if (after1 >= 0) {
    const g2: Seg[] = [];
    const after2 = readSegments(s, after1, g2);
    const single1 = g1.length === 1 && g1[0]!.fieldsFrom < 0;
    const g2Target = after2 >= 0 && g2.length === 1 && g2[0]!.fieldsFrom < 0;
    let target: string | null = null;
    if (single1 && g1[0]!.name.includes('::')) {
      target = g1[0]!.name;
      q = after1;
    } else if (single1 && !(g2Target && MODULE_PATH.test(g2[0]!.name))) {
      if (MODULE_PATH.test(g1[0]!.name) || g1[0]!.name.includes('-')) {
        target = g1[0]!.name;
        q = after1;
      }
    } else {
      const spans: string[] = [];
      for (const seg of g1) {
        spans.push(seg.name);
        if (seg.fieldsFrom >= 0) applyPairs(r, s, seg.fieldsFrom, seg.fieldsTo, ctx);
      }
      a['spans'] = intern(spans.join(':'));
      q = after1;
      if (g2Target && MODULE_PATH.test(g2[0]!.name)) {
        target = g2[0]!.name;
        q = after2;
      }
    }
    if (target !== null) a['target'] = intern(target);
  }
  // `router/src/server.rs:2311: `
  const colon = s.indexOf(': ', q);
  if (colon > q && colon - q <= 208 && SOURCE_FILE.test(s.slice(q, colon))) {
    a['source'] = intern(s.slice(q, colon));
    q = colon + 2;
  }
  // the message, then ` k=v` fields
  const end = Math.min(s.length, q + 65536);
  let k = q;
  while (k < end && (isIdent(s.charCodeAt(k)) || s.charCodeAt(k) === 46)) k++;
  // fields only (no message) when the text opens with `key=`
  const split =
    k > q && isIdentStart(s.charCodeAt(q)) && s.charCodeAt(k) === 61 ? q - 1 : nextKey(s, q, end);
  const msg = s.slice(q, Math.max(q, split));
  applyPairs(r, s, split + 1, end, ctx);
  if (ctx.msgRank === 99) r.body = msg !== '' ? msg : s.slice(q);
  return r;
}
