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
// Every parser rejects on its first characters before any scan, and bounds what it scans.

import type { LogRecord } from '../../model/records.js';
import { durationStringMs, intern, methodOf, newRecord, traceIdOf, type Ctx } from './fields.js';
import { normalizeSeverity } from './severity.js';
import { lvlEnd, readLevel, skipSpaces, stripAnsi } from './text.js';
import { readCtime, readGinTime, readIso, tsEnd } from './time.js';

/** Longest stretch a parser scans for its own structure (messages may be longer). */
const MAX_HEAD = 512;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

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
