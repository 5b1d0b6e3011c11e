// HTTP access and error logs of web servers:
//  - NCSA common / combined (nginx, apache, gunicorn's default access format
//    `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`), with a vhost or an
//    X-Forwarded-For list before the client, and extra fields appended after the user agent:
//    `rt=0.123 uct="0.001" urt=0.120 rid=abc` or further quoted strings;
//  - uvicorn access lines `INFO:     1.2.3.4:5000 - "GET /x HTTP/1.1" 200 OK` (level optional,
//    as gunicorn's UvicornWorker writes them);
//  - nginx error log `2024/01/01 12:00:00 [error] 12#12: *3 msg, client: …, request: "…"`;
//  - apache error log `[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] msg`.

import type { LogRecord } from '../../model/records.js';
import {
  applyField,
  applyRequestLine,
  intern,
  newRecord,
  secondsToMs,
  stripPort,
  TIME_IS_START,
  type Ctx,
} from './fields.js';
import { normalizeSeverity } from './severity.js';
import { readCtime, readSlashDate, readTimeLocal, tsEnd } from './time.js';
import { readLevel, lvlEnd, skipSpaces } from './text.js';

function isIpLike(t: string): boolean {
  if (t.length < 2 || t.length > 64) return false;
  const c = t.charCodeAt(0);
  if (c >= 48 && c <= 57) return /^\d{1,3}(\.\d{1,3}){3}(:\d+)?$/.test(t);
  return t.includes(':') && /^\[?[0-9a-fA-F:.]+\]?(:\d+)?$/.test(t);
}

/** Reads a `"…"` string at i (backslash escapes kept verbatim); sets qEnd past the quote. */
let qEnd = 0;
function readQuoted(s: string, i: number): string | null {
  if (s.charCodeAt(i) !== 34) return null;
  let e = i + 1;
  for (;;) {
    e = s.indexOf('"', e);
    if (e < 0) return null;
    if (s.charCodeAt(e - 1) === 92 && s.charCodeAt(e - 2) !== 92) {
      e++;
      continue;
    }
    break;
  }
  qEnd = e + 1;
  return s.slice(i + 1, e);
}

/** `… [dd/Mon/yyyy:hh:mm:ss +zzzz] "request" status bytes …` */
export function parseAccessLine(s: string, p: number, ctx: Ctx, label?: string): LogRecord | null {
  const lb = s.indexOf(' [', p);
  if (lb < 0 || lb > 400) return null;
  const ts = readTimeLocal(s, lb + 2, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 93 || s.charCodeAt(tsEnd + 1) !== 32) return null;
  let q = tsEnd + 2;
  const req = readQuoted(s, q);
  if (req === null) return null;
  q = qEnd;
  if (s.charCodeAt(q) !== 32) return null;
  q++;
  let st = 0;
  const q0 = q;
  while (q < s.length && s.charCodeAt(q) >= 48 && s.charCodeAt(q) <= 57)
    st = st * 10 + s.charCodeAt(q++) - 48;
  if (q - q0 !== 3) return null;
  // the part before the time: [vhost] client ident user, client possibly an XFF list
  const head = s.slice(p, lb);
  const sp2 = head.lastIndexOf(' ');
  const sp1 = sp2 > 0 ? head.lastIndexOf(' ', sp2 - 1) : -1;
  if (sp1 < 0) return null;
  const user = head.slice(sp2 + 1);
  const clientPart = head.slice(0, sp1).trim();
  const r = newRecord(ctx, label ?? 'common', '');
  r.tsUs = ts;
  r.httpStatus = st;
  if (req.length > 0 && !applyRequestLine(r, req)) r.attributes['http.request'] = req;
  r.body = req;
  // client: last address-like token; what precedes it is a vhost or an X-Forwarded-For list
  const lastSp = clientPart.lastIndexOf(' ');
  const client = lastSp < 0 ? clientPart : clientPart.slice(lastSp + 1);
  r.clientIp = intern(client.replace(/^"|"$/g, '').replace(/,$/, ''));
  if (lastSp >= 0) {
    const before = clientPart.slice(0, lastSp).trim();
    if (before.includes(',') || before.startsWith('"') || isIpLike(before.replace(/,$/, ''))) {
      r.attributes['x_forwarded_for'] = before.replace(/^"|"$/g, '');
    } else r.attributes['vhost'] = intern(before);
  }
  if (user !== '-') r.attributes['user'] = user;
  // bytes
  q = skipSpaces(s, q);
  const bs = q;
  while (q < s.length && s.charCodeAt(q) !== 32) q++;
  const bytesTok = s.slice(bs, q);
  if (bytesTok !== '-' && bytesTok !== '') {
    const n = Number(bytesTok);
    r.attributes['bytes'] = Number.isFinite(n) ? n : bytesTok;
  }
  // combined: "referer" "user agent"
  q = skipSpaces(s, q);
  const ref = readQuoted(s, q);
  if (ref !== null) {
    q = skipSpaces(s, qEnd);
    const ua = readQuoted(s, q);
    if (ua !== null) {
      q = qEnd;
      if (ref !== '-') r.attributes['referer'] = ref;
      r.attributes['user_agent'] = intern(ua);
      if (label === undefined) r.format = 'nginx-combined';
    } else {
      r.attributes['extra.1'] = ref;
    }
  }
  parseExtras(s, q, r, ctx);
  if (r.httpMethod !== null) r.body = `${r.httpMethod} ${r.httpPath ?? ''} ${st}`;
  return r;
}

/** `rt=0.123 uct="0.001" "quoted extra" token …` after the standard fields. */
function parseExtras(s: string, q: number, r: LogRecord, ctx: Ctx): void {
  // positional (not key=value) extras, in order; `extra.N` unless a known layout names them
  const pos: string[] = [];
  const quoted: boolean[] = [];
  for (let guard = 0; guard < 64; guard++) {
    q = skipSpaces(s, q);
    if (q >= s.length) break;
    if (s.charCodeAt(q) === 34) {
      const v = readQuoted(s, q);
      if (v === null) {
        r.attributes['extra.rest'] = s.slice(q);
        break;
      }
      q = qEnd;
      pos.push(v);
      quoted.push(true);
      continue;
    }
    let e = q;
    while (e < s.length && s.charCodeAt(e) !== 32 && s.charCodeAt(e) !== 61) e++;
    if (s.charCodeAt(e) === 61 && e > q) {
      const key = s.slice(q, e);
      let v: string;
      if (s.charCodeAt(e + 1) === 34) {
        const qv = readQuoted(s, e + 1);
        if (qv === null) {
          r.attributes['extra.rest'] = s.slice(q);
          break;
        }
        v = qv;
        q = qEnd;
      } else {
        let f = e + 1;
        while (f < s.length && s.charCodeAt(f) !== 32) f++;
        v = s.slice(e + 1, f);
        q = f;
      }
      applyField(r, key, v, ctx);
      continue;
    }
    while (e < s.length && s.charCodeAt(e) !== 32) e++;
    pos.push(s.slice(q, e));
    quoted.push(false);
    q = e;
  }
  if (pos.length === 0) return;
  if (applyIngressNginx(r, pos, quoted) || applyTraefikClf(r, pos, quoted)) return;
  takeTrailingId(r, pos, quoted);
  const keep = pos.length - applyTimingTail(r, pos, quoted);
  for (let n = 0; n < keep; n++) if (pos[n] !== '-') r.attributes[`extra.${n + 2}`] = pos[n]!;
}

/** A request id's shape: 16–128 characters of letters, digits and `-_.:@+`, with a digit and a
 * letter (UUIDs, Apache's UNIQUE_ID, `req-…` prefixes; not a number, an address or a word). */
const ID_SHAPED = /^(?=[^ ]*\d)(?=[^ ]*[A-Za-z])[A-Za-z0-9][\w.:@+-]{15,127}$/;

/**
 * A request id logged last, after a bare timing, without a key — Apache's usual
 * `LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D %{X-Request-ID}i"`
 * (or `%{UNIQUE_ID}e`): taken as the request id (`-`: none), and dropped from the extras so the
 * timing before it is read.
 */
function takeTrailingId(r: LogRecord, pos: string[], quoted: boolean[]): void {
  const n = pos.length;
  if (n < 2 || quoted[n - 2] || !TIMING_TOKEN.test(pos[n - 2]!) || pos[n - 2] === '-') return;
  const id = pos[n - 1]!;
  if (id !== '-' && !ID_SHAPED.test(id)) return;
  if (id !== '-' && r.requestId === null) r.requestId = id;
  pos.pop();
  quoted.pop();
}

/**
 * Timings appended to the combined format without keys, the usual ways: nginx's
 * `$request_time [$upstream_response_time]` (seconds with a decimal point; the upstream value a
 * number, a `-`, or the last of a list), and Apache's `%D` (a lone integer: µs). Returns how many
 * trailing extras it took. Nothing when a key=value extra already gave the duration.
 */
function applyTimingTail(r: LogRecord, pos: string[], quoted: boolean[]): number {
  if (r.durationMs !== null) return 0;
  let i = pos.length;
  while (i > 0 && !quoted[i - 1] && TIMING_TOKEN.test(pos[i - 1]!)) i--;
  const n = pos.length - i;
  if (n === 0 || n > 2) return 0;
  const first = pos[i]!;
  const a = r.attributes;
  if (first.includes('.')) {
    r.durationMs = secondsToMs(Number(first));
    a['request_time_ms'] = r.durationMs;
    const up = pos[i + 1];
    if (up !== undefined && up !== '-') {
      if (!up.includes('.')) return 1;
      a['upstream_response_ms'] = secondsToMs(Number(up));
    }
    return n;
  }
  if (pos.length === 1 && first !== '-' && first.length <= 12) {
    // Apache's `LogFormat "… %D"`: the time taken to serve the request, µs; Apache's %t is
    // when the request was received (nginx, which cannot log µs, stamps its end)
    r.durationMs = Number(first) / 1000;
    a['request_time_us'] = Number(first);
    a[TIME_IS_START] = true;
    return 1;
  }
  return 0;
}

/** A bare timing value: an integer, a decimal, or `-`. */
const TIMING_TOKEN = /^(?:\d{1,12}(?:\.\d{1,9})?|-)$/;

const DECIMAL = /^\d{1,9}(?:\.\d{1,6})?$/;
/** One value of an nginx upstream variable: a number, `-`, or a list (`0.5, 0.3`, `0.5 : 0.3`). */
const UPSTREAM_LIST = /^[\w.:[\]-]+(?:(?:, | : )[\w.:[\]-]+)*$/;

/**
 * The ingress-nginx controller's default `log-format-upstream` (Kubernetes), after the user agent:
 * `$request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]
 * $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id`.
 * Upstream values are lists (`a, b`) when nginx tried several servers: the times are summed (the
 * upstream's share of the request), the last status and address are the ones that answered.
 */
function applyIngressNginx(r: LogRecord, pos: string[], quoted: boolean[]): boolean {
  if (pos.length < 9 || quoted.some(Boolean)) return false;
  const [reqLen, reqTime, name, alt] = pos as [string, string, string, string];
  if (!/^\d{1,12}$/.test(reqLen) || !DECIMAL.test(reqTime)) return false;
  if (!/^\[.*\]$/.test(name) || !/^\[.*\]$/.test(alt)) return false;
  // the last token is $req_id; the four upstream values between may each be a list
  const reqId = pos[pos.length - 1]!;
  const groups: string[] = [];
  let cur = '';
  for (let i = 4; i < pos.length - 1; i++) {
    const t = pos[i]!;
    cur = cur === '' ? t : `${cur} ${t}`;
    if (!t.endsWith(',') && t !== ':' && pos[i + 1] !== ':') {
      groups.push(cur);
      cur = '';
    }
  }
  if (cur !== '' || groups.length !== 4 || !groups.every((g) => UPSTREAM_LIST.test(g)))
    return false;
  const [addr, respLen, respTime, status] = groups as [string, string, string, string];
  const a = r.attributes;
  a['request_length'] = Number(reqLen);
  r.durationMs = Number(reqTime) * 1000;
  a['request_time_ms'] = r.durationMs;
  if (name.length > 2) a['ingress.upstream_name'] = intern(name.slice(1, -1));
  if (alt.length > 2) a['ingress.alternative_upstream_name'] = intern(alt.slice(1, -1));
  const list = (g: string): string[] => g.split(/, | : /).filter((x) => x !== '-' && x !== '');
  const addrs = list(addr);
  if (addrs.length > 0) a['upstream_addr'] = intern(addrs[addrs.length - 1]!);
  if (addrs.length > 1) a['upstream_addrs'] = addr;
  const times = list(respTime).map(Number);
  if (times.length > 0 && times.every(Number.isFinite))
    a['upstream_response_ms'] = Math.round(times.reduce((x, y) => x + y, 0) * 1e6) / 1e3;
  const lens = list(respLen).map(Number);
  if (lens.length > 0 && lens.every(Number.isFinite)) a['upstream_response_length'] = lens.at(-1)!;
  const statuses = list(status);
  if (statuses.length > 0) a['upstream_status'] = Number(statuses.at(-1)) || statuses.at(-1)!;
  if (reqId !== '-') r.requestId = reqId;
  return true;
}

/**
 * Traefik's common log format, after the user agent:
 * `<requests so far> "<router name>" "<backend URL>" <duration>ms`.
 */
function applyTraefikClf(r: LogRecord, pos: string[], quoted: boolean[]): boolean {
  if (pos.length !== 4 || quoted[0] || !quoted[1] || !quoted[2] || quoted[3]) return false;
  const m = /^(\d{1,12})ms$/.exec(pos[3]!);
  if (!m || !/^\d{1,15}$/.test(pos[0]!)) return false;
  const a = r.attributes;
  a['traefik.request_count'] = Number(pos[0]);
  if (pos[1] !== '-') a['traefik.router'] = intern(pos[1]!);
  if (pos[2] !== '-') a['upstream_addr'] = intern(pos[2]!.replace(/^https?:\/\//, ''));
  r.durationMs = Number(m[1]);
  a['duration_ms'] = r.durationMs;
  return true;
}

/** uvicorn: `[LEVEL:   ]client:port - "METHOD path HTTP/x" status [reason]`. */
export function parseUvicornAccess(s: string, p: number, ctx: Ctx): LogRecord | null {
  let q = p;
  const sev = readLevel(s, q);
  if (sev !== null) {
    if (s.charCodeAt(lvlEnd) !== 58) return null;
    q = skipSpaces(s, lvlEnd + 1);
  }
  const dash = s.indexOf(' - "', q);
  if (dash < 0 || dash - q > 64) return null;
  const client = s.slice(q, dash);
  if (!isIpLike(client) && !/^[\w.-]+:\d+$/.test(client)) return null;
  const req = readQuoted(s, dash + 3);
  if (req === null) return null;
  q = qEnd;
  if (s.charCodeAt(q) !== 32) return null;
  q++;
  let st = 0;
  const q0 = q;
  while (q < s.length && s.charCodeAt(q) >= 48 && s.charCodeAt(q) <= 57)
    st = st * 10 + s.charCodeAt(q++) - 48;
  if (q - q0 !== 3) return null;
  const r = newRecord(ctx, 'uvicorn-access', req);
  r.severity = sev;
  r.httpStatus = st;
  r.clientIp = intern(stripPort(client));
  r.attributes['client'] = client;
  applyRequestLine(r, req);
  const reason = s.slice(q).trim();
  if (reason) r.attributes['http.reason'] = intern(reason);
  if (r.httpMethod !== null) r.body = `${r.httpMethod} ${r.httpPath ?? ''} ${st}`;
  return r;
}

/** nginx error log. */
export function parseNginxError(s: string, p: number, ctx: Ctx): LogRecord | null {
  const ts = readSlashDate(s, p, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32 || s.charCodeAt(tsEnd + 1) !== 91) return null;
  const close = s.indexOf(']', tsEnd + 2);
  if (close < 0 || close - tsEnd > 12) return null;
  const sev = normalizeSeverity(s.slice(tsEnd + 2, close));
  let q = close + 1;
  const m = /^ (\d+)#(\d+): (?:\*(\d+) )?/.exec(s.slice(q, q + 40));
  if (!m) return null;
  q += m[0].length;
  const msg = s.slice(q);
  const r = newRecord(ctx, 'nginx-error', msg);
  r.tsUs = ts;
  r.severity = sev;
  r.attributes['pid'] = Number(m[1]);
  if (m[3] !== undefined) r.attributes['connection'] = Number(m[3]);
  // trailing ", client: 1.2.3.4, server: x, request: "GET / HTTP/1.1", upstream: "…", host: "…""
  const ci = msg.indexOf(', client: ');
  if (ci >= 0) {
    r.body = msg.slice(0, ci);
    const re = /, (\w+): ("(?:[^"\\]|\\.)*"|[^,]*)/g;
    re.lastIndex = ci;
    let mm: RegExpExecArray | null;
    while ((mm = re.exec(msg)) !== null) {
      const k = mm[1]!;
      const v = mm[2]!.startsWith('"') ? mm[2]!.slice(1, -1) : mm[2]!;
      if (k === 'client') r.clientIp = intern(v);
      else if (k === 'request') {
        if (!applyRequestLine(r, v)) r.attributes['request'] = v;
      } else if (v !== '') r.attributes[k] = v;
    }
  }
  return r;
}

/** apache error log: `[Www Mon dd hh:mm:ss[.u] yyyy] [module:level] [pid N] [client a:p] msg`. */
export function parseApacheError(s: string, p: number, ctx: Ctx): LogRecord | null {
  if (s.charCodeAt(p) !== 91) return null;
  const ts = readCtime(s, p + 1, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 93) return null;
  let q = tsEnd + 1;
  const r = newRecord(ctx, 'apache-error', '');
  r.tsUs = ts;
  for (let i = 0; i < 4; i++) {
    q = skipSpaces(s, q);
    if (s.charCodeAt(q) !== 91) break;
    const close = s.indexOf(']', q);
    if (close < 0) break;
    const inner = s.slice(q + 1, close);
    q = close + 1;
    if (inner.startsWith('client ')) {
      // 2.4 logs the client's port too: it names the connection, which a path cannot
      r.clientIp = intern(stripPort(inner.slice(7)));
      r.attributes['client'] = inner.slice(7);
    } else if (inner.startsWith('pid ')) r.attributes['pid'] = inner.slice(4);
    else if (r.severity === null) {
      const colon = inner.lastIndexOf(':');
      const sev = normalizeSeverity(colon >= 0 ? inner.slice(colon + 1) : inner);
      if (sev === null) {
        q = close - inner.length - 1;
        break;
      }
      r.severity = sev;
      if (colon > 0) r.attributes['module'] = inner.slice(0, colon);
    }
  }
  if (r.severity === null) return null;
  r.body = s.slice(skipSpaces(s, q));
  if (r.clientIp === null) {
    // 2.4's default ErrorLogFormat puts the status (`(70007)The timeout specified has expired: `)
    // before `[client a:p]`
    const m = /^(\([-\d]+\)[^[]{0,200}?: )\[client ([^\]\s]{1,64})\] /.exec(r.body);
    if (m) {
      r.clientIp = intern(stripPort(m[2]!));
      r.attributes['client'] = m[2]!;
      r.body = m[1]! + r.body.slice(m[0].length);
    }
  }
  return r;
}
