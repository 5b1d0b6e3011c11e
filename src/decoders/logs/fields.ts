// Field mapping shared by every key/value format (JSON, logfmt, nginx extras, custom nginx
// formats): a field name (any spelling: `request_id`, `requestId`, `X-Request-ID`, `rid`) is
// classified once (cached) and its value lands in the well-known LogRecord field, converted
// (durations to ms, timestamps to UTC µs, levels normalised) — or in `attributes`, typed.

import type { AttrValue, LogRecord } from '../../model/records.js';
import type { Quality } from '../../model/quality.js';
import { normalizeSeverity, severityFromNumber } from './severity.js';
import { epochToUs, parseTimestampValue, type TimeOpts } from './time.js';
import type { W3cState } from './w3c.js';

/** Per-file decoding context. `lineNo` is updated by the parser for every line. */
export interface Ctx extends TimeOpts {
  file: string;
  lineNo: number;
  service: string | null;
  host: string | null;
  quality: Quality;
  /** Scratch per record: rank of the field that set tsUs / durationMs / body (lower wins). */
  tsRank: number;
  /** The field the record's timestamp came from (JSON, logfmt), or null. */
  tsKey: string | null;
  durRank: number;
  msgRank: number;
  /** JSON scanner: the key seen at each field slot of the previous line, with its class. */
  shapeKeys: string[];
  shapeCls: Cls[];
  /** Last timestamp text parsed and its value. */
  lastTsText: string;
  lastTsUs: number;
  /** Unit-less duration keys (`duration`, `latency`…): ms per unit, decided on the first value. */
  autoDurUnit: Map<string, number>;
  /** W3C extended log: the columns of the last `#Fields:` directive (null before any). */
  w3c: W3cState | null;
}

export function newCtx(
  file: string,
  quality: Quality,
  o: {
    tzOffsetMinutes?: number;
    referenceYear?: number;
    service?: string | null;
    host?: string | null;
  },
): Ctx {
  return {
    file,
    lineNo: 0,
    service: o.service ?? null,
    host: o.host ?? null,
    quality,
    tzOffsetMinutes: o.tzOffsetMinutes ?? 0,
    referenceYear: o.referenceYear ?? 1970,
    tsRank: 99,
    tsKey: null,
    durRank: 99,
    msgRank: 99,
    shapeKeys: [],
    shapeCls: [],
    lastTsText: '',
    lastTsUs: NaN,
    autoDurUnit: new Map(),
    w3c: null,
  };
}

/** Unit-less duration keys remembered per input (hostile inputs: many keys). */
const MAX_AUTO_DUR_KEYS = 64;

/**
 * ms per unit of a unit-less duration key (`duration`, `latency`, `elapsed`…), decided once per
 * input from the first value: a fraction below 100 is seconds — Python's time differences, Go
 * zap's production encoder, Caddy's access log all write float seconds (0.842) — anything else
 * is ms, the unit of integer timings (Java, Node's Date.now differences). pino/Fastify's
 * `responseTime` is ms whatever its shape.
 */
/** Unit-less duration fields known to be nanoseconds whatever their first value (Traefik). */
const NS_DURATION_KEYS = new Set(['Duration', 'OriginDuration']);
/** autoDurationUnit's answer for nanoseconds (divided by 1e6: a 1e-6 factor leaves float noise). */
const UNIT_NS = 0;

function autoDurationUnit(ctx: Ctx, key: string, v: AttrValue): number {
  let unit = ctx.autoDurUnit.get(key);
  if (unit !== undefined) return unit;
  const n = numOf(v);
  if (Number.isNaN(n)) return 1; // not numeric (a string with a unit is parsed as such)
  // Unit-less numbers: a float under 100 is seconds (nginx, Python, zap, Caddy), pino's
  // `responseTime` stays ms; an integer of 1e7 or more is nanoseconds (Go's time.Duration, as
  // Traefik's and logrus' JSON write it: 1e7 ms would be a request of 2.8 hours); others ms.
  if (key === 'responseTime') unit = 1;
  else if (!Number.isInteger(n)) unit = Math.abs(n) < 100 ? 1000 : 1;
  else unit = Math.abs(n) >= 1e7 || NS_DURATION_KEYS.has(key) ? UNIT_NS : 1;
  if (ctx.autoDurUnit.size < MAX_AUTO_DUR_KEYS) ctx.autoDurUnit.set(key, unit);
  return unit;
}

/** A record with every field initialised in one order (one hidden class for all records). */
export function newRecord(ctx: Ctx, format: string, body: string): LogRecord {
  ctx.tsRank = 99;
  ctx.tsKey = null;
  ctx.durRank = 99;
  ctx.msgRank = 99;
  return {
    tsUs: null,
    severity: null,
    body,
    requestId: null,
    traceId: null,
    spanId: null,
    httpMethod: null,
    httpPath: null,
    httpStatus: null,
    durationMs: null,
    clientIp: null,
    attributes: {},
    service: ctx.service,
    host: ctx.host,
    file: ctx.file,
    lineNo: ctx.lineNo,
    format,
    templateId: null,
  };
}

// ---- interning -------------------------------------------------------------------------------

const INTERN_MAX = 50_000;
const internMap = new Map<string, string>();
/** Short repeated values (methods, paths, user agents, logger names) share one string. */
export function intern(s: string): string {
  const len = s.length;
  if (len > 96 || len === 0) return s;
  // A direct-mapped front cache keyed by cheap character probes: a hit costs one string compare
  // instead of hashing the (usually sliced) string for the Map (≈3× cheaper on access logs).
  const slot = (len * 31 + s.charCodeAt(len - 1) * 7 + s.charCodeAt(len >> 1)) & 1023;
  const front = internFront[slot];
  if (front === s) return front;
  let hit = internMap.get(s);
  if (hit === undefined) {
    if (internMap.size < INTERN_MAX) internMap.set(s, s);
    hit = s;
  }
  internFront[slot] = hit;
  return hit;
}
const internFront: Array<string | undefined> = new Array<string | undefined>(1024).fill(undefined);

// ---- classification --------------------------------------------------------------------------

export const K = {
  ATTR: 0,
  TS: 1,
  LEVEL: 2,
  MSG: 3,
  REQID: 4,
  TRACEID: 5,
  SPANID: 6,
  STATUS: 7,
  METHOD: 8,
  PATH: 9,
  REQUEST: 10,
  DUR_S: 11,
  DUR_MS: 12,
  DUR_US: 13,
  DUR_NS: 14,
  DUR_AUTO: 15,
  CLIENT: 16,
  SERVICE: 17,
  HOST: 18,
  UPSTREAM_S: 19,
  INFER_MS: 20,
  MODEL: 21,
  XFF: 22,
  TRACEPARENT: 23,
  SEVNUM: 24,
  URL: 25,
  LOGGER: 26,
  UPCONNECT_S: 27,
  UPHEADER_S: 28,
  /** A timing kept as a `<key>_ms` attribute that never stands for the request duration. */
  TIMING: 29,
} as const;
type KeyClass = (typeof K)[keyof typeof K];

export interface Cls {
  k: KeyClass;
  /** Lower wins among fields of the same class on one record. */
  rank: number;
  /** Canonical attribute name, when the field is also kept as an attribute. */
  attr: string | null;
  /** For timings: the attribute name of the value in ms. */
  durName?: string;
}

const NAMES: Array<[string[], KeyClass, number, string | null]> = [
  [
    [
      'timestamp',
      'time',
      'ts',
      'datetime',
      'timelocal',
      'timeiso8601',
      '@timestamp',
      'eventtime',
      'logtime',
      'asctime',
      'date',
      'msec',
      't',
      'timeunixnano',
      'observedtimeunixnano',
      'created',
      'createdat',
      'timestampms',
      'epoch',
    ],
    K.TS,
    1,
    null,
  ],
  [
    [
      'level',
      'severity',
      'lvl',
      'loglevel',
      'levelname',
      'severitytext',
      'logseverity',
      'levelstr',
      'sev',
    ],
    K.LEVEL,
    1,
    null,
  ],
  [['severitynumber', 'levelno', 'levelnum', 'priority'], K.SEVNUM, 2, null],
  // journald (journalctl -o json): the origin's clock before the journal's; the monotonic clock
  // is time since boot, not a timestamp
  [['sourcerealtimetimestamp'], K.TS, 4, null],
  [['monotonictimestamp', 'sourcemonotonictimestamp'], K.ATTR, 99, null],
  [['msg', 'message', 'shortmessage', 'logmessage'], K.MSG, 1, null],
  [['event', 'text', 'body', 'log', 'fullmessage', 'description'], K.MSG, 2, null],
  [
    [
      'requestid',
      'reqid',
      'rid',
      'xrequestid',
      'httpxrequestid',
      'correlationid',
      'xcorrelationid',
      'requestuuid',
      'req',
      'sentxrequestid',
      'upstreamhttpxrequestid',
    ],
    K.REQID,
    1,
    null,
  ],
  [
    ['traceid', 'oteltraceid', 'ddtraceid', 'trace', 'xraytraceid', 'logginggoogleapiscom/trace'],
    K.TRACEID,
    1,
    null,
  ],
  [['spanid', 'otelspanid', 'ddspanid', 'span'], K.SPANID, 1, null],
  [
    [
      'status',
      'statuscode',
      'httpstatus',
      'httpstatuscode',
      'responsestatus',
      'responsecode',
      'httpresponsestatuscode',
      'code',
      'responsestatuscode',
      'downstreamstatus',
      'elbstatuscode',
    ],
    K.STATUS,
    1,
    null,
  ],
  [['method', 'requestmethod', 'httpmethod', 'verb', 'httprequestmethod'], K.METHOD, 1, null],
  [
    [
      'path',
      'uri',
      'requesturi',
      'urlpath',
      'route',
      'endpoint',
      'documenturi',
      'httptarget',
      'target',
      'httproute',
      'requestpath',
      'pathinfo',
    ],
    K.PATH,
    1,
    null,
  ],
  [['url', 'urlfull', 'httpurl', 'requesturl'], K.URL, 2, null],
  [['request', 'requestline', 'httprequest'], K.REQUEST, 1, null],
  [
    [
      'requesttime',
      'rt',
      'durationseconds',
      'durationsec',
      'durations',
      'elapsedseconds',
      'elapseds',
      'latencyseconds',
      'latencys',
      'responsetimeseconds',
      'totaltime',
      'requestduration',
    ],
    K.DUR_S,
    1,
    'request_time',
  ],
  [
    [
      'durationms',
      'latencyms',
      'elapsedms',
      'elapsedtimems',
      'responsetimems',
      'timems',
      'totalms',
      'totaltimems',
      'tookms',
      'requestdurationms',
      'took',
      'processingtimems',
      'responsems',
    ],
    K.DUR_MS,
    1,
    null,
  ],
  [
    ['durationus', 'durationmicros', 'latencyus', 'elapsedus', 'durationmicroseconds'],
    K.DUR_US,
    1,
    null,
  ],
  [['durationns', 'durationnanos', 'latencyns', 'elapsedns', 'eventduration'], K.DUR_NS, 1, null],
  // Traefik's time in the backend (ns, see NS_DURATION_KEYS): the upstream's share
  [['originduration'], K.DUR_AUTO, 9, 'upstream_response_ms'],
  // Envoy's %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%: the upstream's time, ms
  [['upstreamservicetime'], K.DUR_MS, 9, 'upstream_response_ms'],
  [
    ['duration', 'latency', 'elapsed', 'responsetime', 'elapsedtime', 'dur', 'processingtime'],
    K.DUR_AUTO,
    1,
    null,
  ],
  [['upstreamresponsetime', 'urt', 'upstreamtime'], K.UPSTREAM_S, 3, 'upstream_response_time'],
  [['upstreamconnecttime', 'uct'], K.UPCONNECT_S, 9, 'upstream_connect_time'],
  [['upstreamheadertime', 'uht'], K.UPHEADER_S, 9, 'upstream_header_time'],
  [
    ['inferencems', 'inferencetimems', 'modelms', 'predictms', 'predictionms', 'computems'],
    K.INFER_MS,
    4,
    null,
  ],
  [
    [
      'inferencetime',
      'queuetime',
      'validationtime',
      'timepertoken',
      'queueduration',
      'waittime',
      'ttft',
      'timetofirsttoken',
      'preprocesstime',
      'postprocesstime',
    ],
    K.TIMING,
    99,
    null,
  ],
  [
    [
      'remoteaddr',
      'clientip',
      'clientaddr',
      'client',
      'remoteip',
      'ip',
      'srcip',
      'sourceip',
      'realip',
      'clientaddress',
      'remote',
      'peer',
      'remotehost',
      'h',
      'sourceaddress',
      'clientip4',
      // pino / Node's `req.remoteAddress` (socket.remoteAddress)
      'remoteaddress',
      // Envoy's JSON access log, Traefik's
      'downstreamremoteaddress',
      'downstreamremoteaddresswithoutport',
      'clienthost',
    ],
    K.CLIENT,
    1,
    null,
  ],
  // Heroku's router names the client chain `fwd`
  [
    ['xforwardedfor', 'httpxforwardedfor', 'forwardedfor', 'xff', 'fwd'],
    K.XFF,
    1,
    'x_forwarded_for',
  ],
  [
    ['service', 'servicename', 'app', 'application', 'appname', 'syslogidentifier'],
    K.SERVICE,
    1,
    null,
  ],
  [['hostname', 'host', 'node', 'nodename'], K.HOST, 1, null],
  [['model', 'modelname', 'modelid', 'modelversion'], K.MODEL, 1, 'model'],
  [['traceparent', 'httptraceparent'], K.TRACEPARENT, 1, null],
  [['logger', 'loggername', 'name', 'logname'], K.LOGGER, 1, 'logger'],
];

const EXACT = new Map<string, Cls>();
for (const [names, k, rank, attr] of NAMES) {
  for (const n of names) EXACT.set(n, { k, rank, attr });
}

function normKey(key: string): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c === 95 || c === 45 || c === 46 || c === 32) continue; // _ - . space
    if (c >= 65 && c <= 90) c += 32;
    out += String.fromCharCode(c);
  }
  return out;
}

const ATTR: Cls = { k: K.ATTR, rank: 99, attr: null };

function classifyUncached(key: string): Cls {
  const n = normKey(key);
  const exact = EXACT.get(n);
  if (exact) return exact;
  // Nested keys: classify by the last segment for the strong classes (TGI `fields.message`,
  // `span.total_time`, `http.status_code`…), with a worse rank than a top-level field.
  const dot = key.lastIndexOf('.');
  if (dot > 0 && dot < key.length - 1) {
    const last = EXACT.get(normKey(key.slice(dot + 1)));
    if (
      last &&
      last.k !== K.SERVICE &&
      last.k !== K.HOST &&
      last.k !== K.LOGGER &&
      last.k !== K.CLIENT
    ) {
      return { k: last.k, rank: last.rank + 5, attr: last.attr };
    }
    const parent = normKey(key.slice(0, dot));
    const leaf = normKey(key.slice(dot + 1));
    // the client of a request object (Caddy `request.remote_ip`, Cloud Logging
    // `httpRequest.remoteIp`, ECS `client.ip` / `source.address`)
    if (
      last?.k === K.CLIENT &&
      (parent.endsWith('request') || parent === 'req' || parent === 'client' || parent === 'source')
    )
      return { k: K.CLIENT, rank: last.rank + 5, attr: null };
    if (parent.endsWith('http') || parent === 'request' || parent === 'req') {
      if (leaf === 'method') return { k: K.METHOD, rank: 3, attr: null };
      if (leaf === 'url' || leaf === 'uri') return { k: K.URL, rank: 3, attr: null };
    }
  }
  // Shape by name: units from suffixes, ids, times.
  if (/(latency|duration|elapsed|responsetime|took|totaltime|processingtime)/.test(n)) {
    if (n.endsWith('ms') || n.endsWith('millis')) return { k: K.DUR_MS, rank: 6, attr: null };
    if (n.endsWith('us') || n.endsWith('micros')) return { k: K.DUR_US, rank: 6, attr: null };
    if (n.endsWith('ns') || n.endsWith('nanos')) return { k: K.DUR_NS, rank: 6, attr: null };
    if (n.endsWith('seconds') || n.endsWith('sec') || n.endsWith('secs'))
      return { k: K.DUR_S, rank: 6, attr: null };
    return { k: K.DUR_AUTO, rank: 7, attr: null };
  }
  if (n.endsWith('requestid') || n.endsWith('reqid')) return { k: K.REQID, rank: 3, attr: null };
  if (n.endsWith('traceid')) return { k: K.TRACEID, rank: 3, attr: null };
  if (n.endsWith('spanid') && !n.includes('parent')) return { k: K.SPANID, rank: 3, attr: null };
  if (n.endsWith('timestamp') || n === 'eventtimestamp') return { k: K.TS, rank: 5, attr: null };
  return ATTR;
}

const CLS_MAX = 10_000;
const clsCache = new Map<string, Cls>();
export function classifyKey(key: string): Cls {
  let c = clsCache.get(key);
  if (c === undefined) {
    c = { ...classifyUncached(key) };
    c.durName =
      c.attr === 'upstream_response_ms' || c.k === K.UPSTREAM_S
        ? 'upstream_response_ms'
        : c.k === K.UPCONNECT_S
          ? 'upstream_connect_ms'
          : c.k === K.UPHEADER_S
            ? 'upstream_header_ms'
            : c.k === K.DUR_MS || c.k === K.INFER_MS || /ms$/i.test(key)
              ? key
              : key + '_ms';
    if (clsCache.size < CLS_MAX) clsCache.set(key, c);
  }
  return c;
}

// ---- value conversion ------------------------------------------------------------------------

/**
 * Plain decimals (`200`, `-3`, `0.123`) read by hand: `Number(str)` on a sliced string measured
 * ≈10% of the JSON access-log path. NaN for anything else (the caller may fall back).
 */
export function readDecimal(v: string): number {
  const len = v.length;
  if (len === 0 || len > 15) return NaN;
  let i = 0;
  let neg = false;
  if (v.charCodeAt(0) === 45) {
    neg = true;
    i = 1;
    if (len === 1) return NaN;
  }
  let n = 0;
  let digits = 0;
  for (; i < len; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
    digits++;
  }
  if (i < len) {
    if (v.charCodeAt(i) !== 46 || i === len - 1) return NaN;
    let f = 0;
    let scale = 1;
    for (i++; i < len; i++) {
      const c = v.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return NaN;
      f = f * 10 + c;
      scale *= 10;
    }
    n += f / scale;
  } else if (digits === 0) return NaN;
  return neg ? -n : n;
}

/** A number from a number or a numeric string; NaN otherwise (`-` and '' are NaN). */
export function numOf(v: AttrValue): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.length === 0 || v.length > 32) return NaN;
  const c = v.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45 || c === 46)) return NaN;
  const d = readDecimal(v);
  return Number.isNaN(d) ? Number(v) : d;
}

/** nginx writes `0.010, 0.020 : 0.005` when it tried several upstreams: the sum is the wait. */
function sumList(v: string): number {
  let total = 0;
  let any = false;
  for (const part of v.split(/[,:]\s*/)) {
    const n = Number(part.trim());
    if (Number.isFinite(n) && part.trim() !== '') {
      total += n;
      any = true;
    }
  }
  return any ? total : NaN;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1e3,
  m: 60e3,
  h: 3600e3,
};

/** Go/Rust style duration strings: `1.5s`, `74.6ms`, `250µs`, `12ns`, `1m2.5s`, `1h`. → ms. */
export function durationStringMs(v: string): number {
  let total = 0;
  let i = 0;
  let any = false;
  const re = /(\d+(?:\.\d+)?)\s*(ns|us|µs|μs|ms|s|m|h)/y;
  while (i < v.length) {
    re.lastIndex = i;
    const m = re.exec(v);
    if (!m) return NaN;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    any = true;
    i = re.lastIndex;
  }
  return any ? total : NaN;
}

/** Seconds to ms at ns precision: 0.842107 s is 842.107 ms, not 842.1070000000001. */
export function secondsToMs(n: number): number {
  return Math.round(n * 1e9) / 1e6;
}

function durMs(v: AttrValue, k: KeyClass): number {
  let n = numOf(v);
  if (Number.isNaN(n) && typeof v === 'string') {
    const unit = durationStringMs(v);
    if (!Number.isNaN(unit)) return unit;
    n = sumList(v);
    if (Number.isNaN(n)) return NaN;
  }
  if (k === K.DUR_S || k === K.UPSTREAM_S || k === K.UPCONNECT_S || k === K.UPHEADER_S)
    return secondsToMs(n);
  if (k === K.DUR_US) return n / 1e3;
  if (k === K.DUR_NS) return n / 1e6;
  // DUR_MS, INFER_MS, TIMING and unit-less latency/duration/elapsed numbers: ms is the common
  // unit of hand-written service logs.
  return n;
}

/** Keep a typed attribute: numeric strings become numbers (nginx JSON quotes everything). */
export function typedValue(v: AttrValue): AttrValue {
  if (typeof v !== 'string') return v;
  const len = v.length;
  if (len === 0) return v;
  if (len === 1 && v === '-') return null;
  if (len > 17) return v;
  const c = v.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45)) return v;
  // leading zeros (ids, zip codes) stay strings
  if (c === 48 && len > 1 && v.charCodeAt(1) !== 46) return v;
  for (let i = 1; i < len; i++) {
    const d = v.charCodeAt(i);
    if (!((d >= 48 && d <= 57) || d === 46)) return v;
  }
  const n = readDecimal(v);
  return Number.isNaN(n) ? v : n;
}

/** Common methods as constants (no hashing); others interned. */
export function methodOf(v: string): string {
  switch (v) {
    case 'GET':
      return 'GET';
    case 'POST':
      return 'POST';
    case 'PUT':
      return 'PUT';
    case 'DELETE':
      return 'DELETE';
    case 'HEAD':
      return 'HEAD';
    case 'OPTIONS':
      return 'OPTIONS';
    case 'PATCH':
      return 'PATCH';
    default:
      return intern(v.toUpperCase());
  }
}

const STATUS_TEXT: string[] = [];
for (let i = 0; i < 600; i++) STATUS_TEXT.push(String(i));

function setPathFromUrl(r: LogRecord, v: string): void {
  let p = v;
  const scheme = v.indexOf('://');
  if (scheme > 0 && scheme < 10) {
    const slash = v.indexOf('/', scheme + 3);
    p = slash < 0 ? '/' : v.slice(slash);
  }
  r.httpPath = intern(p);
}

/** `GET /path HTTP/1.1` → method, path, protocol attribute. Returns false if not that shape. */
const ABSOLUTE_URL = /^https?:\/\/([^/?#\s]{1,255})(?=[/?#]|$)/i;

export function applyRequestLine(r: LogRecord, v: string): boolean {
  const sp = v.indexOf(' ');
  if (sp <= 0 || sp > 16) return false;
  r.httpMethod = methodOf(v.slice(0, sp));
  const sp2 = v.lastIndexOf(' ');
  let target: string;
  if (sp2 > sp && v.startsWith('HTTP/', sp2 + 1)) {
    target = v.slice(sp + 1, sp2);
    r.attributes['http.protocol'] = intern(v.slice(sp2 + 1));
  } else target = v.slice(sp + 1);
  // absolute form (load balancers, forward proxies): the path, as servers and captures see it
  const abs = ABSOLUTE_URL.exec(target);
  if (abs) {
    r.attributes['http.host'] ??= intern(abs[1]!);
    target = target.slice(abs[0].length) || '/';
  }
  r.httpPath = intern(target);
  return true;
}

/** `1.2.3.4:5678`, `[::1]:80`, `::1` → the address part. */
export function stripPort(v: string): string {
  if (v.charCodeAt(0) === 91) {
    const e = v.indexOf(']');
    return e > 0 ? v.slice(1, e) : v;
  }
  const c = v.indexOf(':');
  if (c > 0 && v.indexOf(':', c + 1) < 0) return v.slice(0, c);
  return v;
}

const XRAY_RE = /(?:^|Root=)1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})(?:;|$)/;
const GCP_TRACE_RE = /^projects\/[^/]+\/traces\/([0-9a-fA-F]{32})$/;

/**
 * A trace id as the W3C/OTLP form other sources use (32 lowercase hex), so logs join spans and
 * captured `traceparent` headers: hex ids lowercased, AWS X-Ray `1-5759e988-bd86…` (also inside
 * `Root=…;Parent=…`) joined as OpenTelemetry maps it, Cloud Logging's
 * `projects/P/traces/ID` reduced to the id. Anything else is kept as written.
 */
export function traceIdOf(v: string): string {
  if (v.length <= 64 && (isHexId(v, 32) || isHexId(v, 16))) return v.toLowerCase();
  const x = XRAY_RE.exec(v);
  if (x) return (x[1]! + x[2]!).toLowerCase();
  const g = GCP_TRACE_RE.exec(v);
  if (g) return g[1]!.toLowerCase();
  return v.length <= 64 ? v : v.slice(0, 64);
}

function isHexId(v: string, len: number): boolean {
  if (v.length !== len) return false;
  for (let i = 0; i < len; i++) {
    const c = v.charCodeAt(i) | 32;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Put one key/value on the record: a well-known field, or a typed attribute. */
export function applyField(r: LogRecord, key: string, v: AttrValue, ctx: Ctx): void {
  applyFieldCls(r, key, classifyKey(key), v, ctx);
}

/** applyField with the key already classified (the JSON scanner caches it per field slot). */
export function applyFieldCls(r: LogRecord, key: string, cls: Cls, v: AttrValue, ctx: Ctx): void {
  if (cls.k === K.ATTR) {
    r.attributes[key] = typeof v === 'string' ? typedValue(v) : v;
    return;
  }
  if (v === null || v === '' || v === '-') {
    if (cls.k !== K.MSG) r.attributes[key] = null;
    return;
  }
  switch (cls.k) {
    case K.TS: {
      if (cls.rank > ctx.tsRank) break;
      if (cls.rank === ctx.tsRank) {
        // a second time field of the same rank: taken only when it is the same second, finer
        // (nginx JSON with both `$time_iso8601` and `$msec`)
        if (!(r.tsUs !== null && r.tsUs % 1_000_000 === 0)) break;
        const t =
          typeof v === 'string'
            ? parseTimestampValue(v, ctx)
            : typeof v === 'number'
              ? epochToUs(v)
              : NaN;
        if (t % 1_000_000 !== 0 && Math.floor(t / 1e6) * 1e6 === r.tsUs) {
          r.tsUs = t;
          return;
        }
        break;
      }
      let t: number;
      if (typeof v === 'string') {
        // consecutive lines of a busy log share their (second-resolution) timestamp text
        if (v === ctx.lastTsText) t = ctx.lastTsUs;
        else {
          t = parseTimestampValue(v, ctx);
          ctx.lastTsText = v;
          ctx.lastTsUs = t;
        }
      } else t = typeof v === 'number' ? epochToUs(v) : NaN;
      if (!Number.isNaN(t)) {
        r.tsUs = t;
        ctx.tsRank = cls.rank;
        ctx.tsKey = key;
        return;
      }
      if (cls.rank === 1 && ctx.tsRank === 99)
        ctx.quality.note('bad-timestamp', `line ${ctx.lineNo}`, `${key}=${String(v)}`);
      break;
    }
    case K.LEVEL: {
      const s =
        typeof v === 'string'
          ? normalizeSeverity(v)
          : typeof v === 'number'
            ? severityFromNumber(v, 'auto')
            : null;
      if (s !== null) {
        if (r.severity === null) r.severity = s;
        return;
      }
      break;
    }
    case K.SEVNUM: {
      const n = numOf(v);
      if (r.severity === null && Number.isInteger(n)) {
        // journald's PRIORITY is syslog's 0 (emerg) … 7 (debug); a lower-case `priority` may be
        // anything (a task's), so only the journal's spelling is read as a level
        if (key === 'PRIORITY') {
          if (n >= 0 && n <= 7) {
            r.severity = severityFromNumber(n, 'syslog');
            return;
          }
          break;
        }
        const s = key.toLowerCase().includes('severity')
          ? severityFromNumber(n, 'otel')
          : n % 10 === 0 && n <= 50
            ? ((['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const)[n / 10] ?? null)
            : null;
        if (s !== null) {
          r.severity = s;
          return;
        }
      }
      break;
    }
    case K.MSG:
      if (typeof v === 'string') {
        // A rank-1 message (`msg`, `message`) is the body; weaker ones (`event`, `text`) stay
        // attributes too, and only fill the body while no better message was seen.
        if (cls.rank < ctx.msgRank) {
          r.body = v;
          ctx.msgRank = cls.rank;
          if (cls.rank === 1) return;
        }
        r.attributes[key] = v;
        return;
      }
      break;
    case K.REQID:
      if (r.requestId === null && (typeof v === 'string' || typeof v === 'number')) {
        r.requestId = String(v);
        return;
      }
      break;
    case K.TRACEID:
      if (r.traceId === null && typeof v === 'string' && v.length >= 8 && v.length <= 160) {
        r.traceId = traceIdOf(v);
        return;
      }
      break;
    case K.SPANID:
      if (r.spanId === null && typeof v === 'string' && v.length >= 8 && v.length <= 32) {
        r.spanId = v;
        return;
      }
      break;
    case K.TRACEPARENT:
      if (typeof v === 'string' && v.length >= 55 && v.charCodeAt(2) === 45) {
        // 00-<32 hex trace>-<16 hex span>-<flags>
        const t = v.slice(3, 35);
        const s = v.slice(36, 52);
        if (isHexId(t, 32) && isHexId(s, 16)) {
          if (r.traceId === null) r.traceId = t;
          if (r.spanId === null) r.spanId = s;
          return;
        }
      }
      break;
    case K.STATUS: {
      const n = numOf(v);
      if (r.httpStatus === null && Number.isInteger(n) && n >= 100 && n <= 599) {
        r.httpStatus = n;
        return;
      }
      break;
    }
    case K.METHOD:
      if (r.httpMethod === null && typeof v === 'string' && v.length <= 16) {
        r.httpMethod = methodOf(v);
        return;
      }
      break;
    case K.PATH:
      if (typeof v === 'string' && r.httpPath === null) {
        if (v.charCodeAt(0) === 47 || v.includes('://')) {
          setPathFromUrl(r, v);
          return;
        }
        // "target" in tracing logs is a module path, not a URL path: keep as attribute; TGI's
        // router and launcher name themselves there
        if (v.startsWith('text_generation')) r.format = 'tgi';
      }
      break;
    case K.URL:
      if (
        typeof v === 'string' &&
        r.httpPath === null &&
        (v.charCodeAt(0) === 47 || v.includes('://'))
      ) {
        setPathFromUrl(r, v);
        r.attributes[key] = v;
        return;
      }
      break;
    case K.REQUEST:
      if (typeof v === 'string' && r.httpMethod === null && applyRequestLine(r, v)) return;
      break;
    case K.DUR_S:
    case K.DUR_MS:
    case K.DUR_US:
    case K.DUR_NS:
    case K.DUR_AUTO:
    case K.UPSTREAM_S:
    case K.UPCONNECT_S:
    case K.UPHEADER_S:
    case K.TIMING:
    case K.INFER_MS: {
      let ms = durMs(v, cls.k);
      if (Number.isNaN(ms)) break;
      // unit-less durations and timings (`inference_time: 0.84`, Python's float seconds)
      if (
        (cls.k === K.DUR_AUTO || cls.k === K.TIMING) &&
        (typeof v === 'number' || !/[a-zµ]/i.test(v as string))
      ) {
        const unit = autoDurationUnit(ctx, key, v);
        ms = unit === UNIT_NS ? ms / 1e6 : unit === 1000 ? secondsToMs(ms) : ms * unit;
      }
      if (cls.rank < ctx.durRank) {
        r.durationMs = ms;
        ctx.durRank = cls.rank;
      }
      // Keep every timing as a typed attribute in ms under a canonical or `<key>_ms` name.
      const name = cls.durName ?? key;
      r.attributes[name] = ms;
      return;
    }
    case K.CLIENT:
      if (r.clientIp === null && typeof v === 'string' && v.length <= 64) {
        // not interned: client addresses are many and hashing them costs more than it saves
        r.clientIp = stripPort(v);
        if (r.clientIp !== v) r.attributes[key] = v;
        return;
      }
      break;
    case K.XFF:
      if (typeof v === 'string') {
        r.attributes['x_forwarded_for'] = v;
        return;
      }
      break;
    case K.SERVICE:
      // Heroku's router: `service=1830ms` is the time the app took, not a name
      if (typeof v === 'string' && DURATION_VALUE.test(v)) {
        r.attributes[key + '_ms'] = durationStringMs(v);
        return;
      }
      if (typeof v === 'string' && r.service === null) {
        r.service = intern(v);
        return;
      }
      break;
    case K.HOST:
      if (typeof v === 'string' && r.host === null) {
        r.host = intern(v);
        return;
      }
      break;
    case K.MODEL:
    case K.LOGGER:
      if (typeof v === 'string') {
        r.attributes[cls.attr ?? key] = intern(v);
        return;
      }
      break;
  }
  r.attributes[key] = typeof v === 'string' ? typedValue(v) : v;
}

/** A number with a time unit (`1830ms`, `0.5s`): a duration wherever it appears. */
const DURATION_VALUE = /^\d{1,12}(?:\.\d{1,9})?(?:ms|s|us|µs|ns)$/;

/**
 * Heroku's router line (`at=info method=POST path="/x" … fwd="1.2.3.4" dyno=web.1 connect=1ms
 * service=1830ms status=200`): the request took connect + service, of which service is the app's
 * (the upstream's) share; the client is the first address of `fwd`.
 */
function herokuRouter(r: LogRecord): void {
  const a = r.attributes;
  const service = a['service_ms'];
  if (a['dyno'] === undefined || a['at'] === undefined || typeof service !== 'number') return;
  const connect = typeof a['connect'] === 'string' ? durationStringMs(a['connect']) : NaN;
  if (!Number.isNaN(connect)) a['connect_ms'] = connect;
  a['upstream_response_ms'] = service;
  r.durationMs ??= (Number.isNaN(connect) ? 0 : connect) + service;
  const fwd = a['x_forwarded_for'];
  if (r.clientIp === null && typeof fwd === 'string' && fwd !== '') {
    const first = fwd.split(',')[0]!.trim();
    if (first.length <= 64) r.clientIp = first;
  }
}

/** The systemd unit names the service when the journal record has no SYSLOG_IDENTIFIER. */
function journaldService(r: LogRecord): void {
  const unit = r.attributes['_SYSTEMD_UNIT'];
  if (r.service === null && typeof unit === 'string' && unit.length <= 256)
    r.service = intern(unit.endsWith('.service') ? unit.slice(0, -8) : unit);
}

/**
 * Attribute set on records whose timestamp is when the request started (Envoy's %START_TIME%,
 * HAProxy's accept date, the Classic ELB's, a JSON `start_time`/`StartUTC`), not when it was
 * logged at its end: investigate adds the duration for the request's end.
 */
export const TIME_IS_START = 'log.time_is_start';

/** A timestamp field named for the request's start (`start_time`, `StartUTC`); the last key asked
 * is remembered (a file's lines share theirs). */
function isStartKey(key: string): boolean {
  if (key !== lastTsKey) {
    lastTsKey = key;
    lastTsKeyIsStart = /start/i.test(key);
  }
  return lastTsKeyIsStart;
}
let lastTsKey = '';
let lastTsKeyIsStart = false;

/** After all fields: a body for records that had no message (access logs). */
export function finishKv(r: LogRecord, ctx: Ctx): void {
  if (ctx.tsKey !== null && r.durationMs !== null && isStartKey(ctx.tsKey))
    r.attributes[TIME_IS_START] = true;
  // Envoy's JSON access log (Istio's default) names the upstream it used `upstream_host`
  const uh = r.attributes['upstream_host'];
  if (typeof uh === 'string' && r.attributes['upstream_addr'] === undefined)
    r.attributes['upstream_addr'] = uh;
  if (r.attributes['dyno'] !== undefined) herokuRouter(r);
  if (r.service === null && r.attributes['_SYSTEMD_UNIT'] !== undefined) journaldService(r);
  if (ctx.msgRank === 99 && r.body === '' && r.httpMethod !== null) {
    const m = r.httpMethod + ' ' + (r.httpPath ?? '');
    r.body = r.httpStatus !== null ? m + ' ' + (STATUS_TEXT[r.httpStatus] ?? '') : m;
  }
}
