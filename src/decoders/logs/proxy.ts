// Access logs of the proxies that sit in front of inference servers: Envoy (and Istio, whose
// default is Envoy's with more fields) and HAProxy's HTTP log. Both carry what a slow or failing
// request needs: total time, the upstream's own time (≈ the model server), and why the proxy
// failed it (Envoy response flags such as UF/UT/UO, HAProxy termination states such as sC/SH).
//
// Envoy default format (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#default-format-string):
//   [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
//   %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
//   "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%"
//   "%UPSTREAM_HOST%"
// Istio inserts %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
// "%UPSTREAM_TRANSPORT_FAILURE_REASON%" after the flags and appends %UPSTREAM_CLUSTER%
// %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
// %REQUESTED_SERVER_NAME% %ROUTE_NAME%. The parser finds the four numbers (bytes in, bytes out,
// duration, upstream time) after the flags wherever they are, so both shapes (and others that
// keep this skeleton) parse.
//
// HAProxy HTTP log (https://docs.haproxy.org/2.8/configuration.html#8.2.3), raw or as the message
// of a syslog line:
//   client_ip:port [accept_date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes_read
//   captured_request_cookie captured_response_cookie termination_state
//   actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue {captured request headers}?
//   {captured response headers}? "request line"
// Timers are ms, -1 when the stage was not reached: TR receiving the request headers, Tw queued in
// HAProxy, Tc connecting to the server, Tr from the connection to the server's response headers,
// Ta the whole request (from its first byte — the date — to the response's last byte). In nginx's
// terms, which investigate reads: upstream connect = Tc, upstream header = Tc + Tr (nginx counts
// from when it starts connecting), upstream response = Ta − TR − Tw (the body streams through, so
// the server's last byte is the client's), queue = Tw. Captured headers (`http-request capture`,
// `capture request header`) are `|`-separated in config order with no names: a value shaped like
// a request id (X-Request-ID and kin, HAProxy's own unique id) gives the request id, a
// traceparent the trace id. A custom log-format that appends %ID after the request line (a bare
// last token) gives the id when no captured header does.
//
// AWS Application Load Balancer (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html):
//   type time elb client:port target:port request_processing_time target_processing_time
//   response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//   "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//   "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
//   "redirect_url" "error_reason" "target:port_list" "target_status_code_list" "classification"
//   "classification_reason" conn_trace_id
// and the Classic ELB's, which starts at `time` and ends after ssl_protocol. Times are seconds, -1
// when the stage was not reached (the target never answered); `time` is when the response began.

import type { LogRecord } from '../../model/records.js';
import {
  applyRequestLine,
  intern,
  newRecord,
  stripPort,
  TIME_IS_START,
  traceIdOf,
  type Ctx,
} from './fields.js';
import { readIso, readTimeLocal, tsEnd } from './time.js';

/** Tokens per line considered (hostile input: a line of a million spaces). */
const MAX_TOKENS = 64;

interface Tok {
  text: string;
  quoted: boolean;
}

/** Space-separated tokens from `i`: bare runs or "quoted strings" (with \" escapes). */
function tokens(s: string, i: number): Tok[] | null {
  const out: Tok[] = [];
  const n = s.length;
  while (i < n && out.length < MAX_TOKENS) {
    while (i < n && s.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    if (s.charCodeAt(i) === 34) {
      let j = i + 1;
      let text = '';
      let from = j;
      for (;;) {
        if (j >= n) return null; // unterminated quote
        const c = s.charCodeAt(j);
        if (c === 92 && j + 1 < n) {
          text += s.slice(from, j);
          from = j + 1;
          j += 2;
          continue;
        }
        if (c === 34) break;
        j++;
      }
      text += s.slice(from, j);
      out.push({ text, quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < n && s.charCodeAt(j) !== 32) j++;
      out.push({ text: s.slice(i, j), quoted: false });
      i = j;
    }
  }
  return out;
}

const NUM_OR_DASH = /^(?:\d{1,15}|-)$/;
const numOrNull = (t: string): number | null => (t === '-' ? null : Number(t));
const dashNull = (t: string | undefined): string | null =>
  t === undefined || t === '-' || t === '' ? null : t;

/** Envoy / Istio access log line. */
export function parseEnvoyAccess(s: string, p: number, ctx: Ctx): LogRecord | null {
  if (s.charCodeAt(p) !== 91) return null; // [
  const ts = readIso(s, p + 1, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 93 || s.charCodeAt(tsEnd + 1) !== 32) return null;
  // the quoted request line comes next (else: some other "[time] …" log, not tokenised)
  if (s.charCodeAt(tsEnd + 2) !== 34) return null;
  const t = tokens(s, tsEnd + 2);
  if (t === null || t.length < 7) return null;
  const req = t[0]!;
  if (!req.quoted) return null;
  const status = t[1]!.text;
  if (t[1]!.quoted || !/^\d{1,3}$/.test(status)) return null;
  const flags = t[2]!;
  if (flags.quoted) return null;
  // bytes received, bytes sent, duration, upstream service time: four bare numbers (or -)
  let k = 3;
  while (
    k + 3 < t.length &&
    !(
      !t[k]!.quoted &&
      !t[k + 1]!.quoted &&
      !t[k + 2]!.quoted &&
      !t[k + 3]!.quoted &&
      /^\d{1,15}$/.test(t[k]!.text) &&
      /^\d{1,15}$/.test(t[k + 1]!.text) &&
      NUM_OR_DASH.test(t[k + 2]!.text) &&
      NUM_OR_DASH.test(t[k + 3]!.text)
    )
  ) {
    if (k > 6) return null; // Istio puts three tokens between the flags and the numbers
    k++;
  }
  if (k + 3 >= t.length) return null;
  const quoted = t.slice(k + 4).filter((x) => x.quoted);
  if (quoted.length < 2) return null;
  const r = newRecord(ctx, 'envoy', req.text);
  r.tsUs = ts;
  // %START_TIME%: when the request arrived (investigate adds the duration for its end)
  r.attributes[TIME_IS_START] = true;
  const st = Number(status);
  r.httpStatus = st === 0 ? null : st; // 0: no response was sent (downstream reset…)
  applyRequestLine(r, req.text);
  const a = r.attributes;
  if (flags.text !== '-') a['envoy.response_flags'] = intern(flags.text);
  for (let i = 3; i < k; i++) {
    const v = dashNull(t[i]!.text);
    if (v === null) continue;
    if (i === 3) a['envoy.response_code_details'] = intern(v);
    else if (i === 4) a['envoy.connection_termination_details'] = intern(v);
    else if (i === 5) a['envoy.upstream_transport_failure_reason'] = v;
  }
  const bytesIn = numOrNull(t[k]!.text);
  const bytesOut = numOrNull(t[k + 1]!.text);
  const duration = numOrNull(t[k + 2]!.text);
  const upstream = numOrNull(t[k + 3]!.text);
  if (bytesIn !== null) a['bytes_received'] = bytesIn;
  if (bytesOut !== null) a['bytes_sent'] = bytesOut;
  if (duration !== null) {
    r.durationMs = duration;
    a['duration_ms'] = duration;
  }
  // the upstream's own time: the model server's share of the request (the name nginx's
  // $upstream_response_time gets, in ms)
  if (upstream !== null) a['upstream_response_ms'] = upstream;
  const [xff, ua, reqId, authority, upstreamHost] = quoted.map((x) => dashNull(x.text));
  if (xff) {
    a['x_forwarded_for'] = xff;
    r.clientIp = intern(xff.split(',')[0]!.trim());
  }
  if (ua) a['user_agent'] = ua;
  if (reqId) r.requestId = reqId;
  if (authority) a['http.host'] = intern(authority);
  if (upstreamHost) a['upstream_addr'] = intern(upstreamHost);
  // Istio's bare tail: cluster, upstream local, downstream local, downstream remote, SNI, route
  const tail = t.slice(k + 4).filter((x) => !x.quoted);
  const cluster = dashNull(tail[0]?.text);
  if (cluster) a['envoy.upstream_cluster'] = intern(cluster);
  const remote = dashNull(tail[3]?.text);
  if (remote) {
    a['downstream_remote_address'] = remote;
    if (r.clientIp === null) r.clientIp = intern(stripPort(remote));
  }
  const route = dashNull(tail[5]?.text);
  if (route) a['envoy.route_name'] = intern(route);
  if (r.httpMethod !== null)
    r.body = `${r.httpMethod} ${r.httpPath ?? ''} ${status}${flags.text !== '-' ? ` ${flags.text}` : ''}`;
  return r;
}

const HAPROXY_RE =
  /^(\S+):(\d{1,5}) \[(\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d(?:\.\d+)?)\] (\S+) (\S+)\/(\S+) (-?\d+)\/(-?\d+)\/(-?\d+)\/(-?\d+)\/\+?(-?\d+) (\d{1,3}) \+?(\d+) (\S+) (\S+) (\S{4}) (\d+)\/(\d+)\/(\d+)\/(\d+)\/\+?(\d+) (\d+)\/(\d+) /;

/**
 * HAProxy's HTTP log fields into `r` from `msg` (the line, or a syslog message); false if `msg` is
 * not one. The accept date (ms precision, with the year) replaces a syslog timestamp.
 */
export function applyHaproxyHttp(r: LogRecord, msg: string, ctx: Ctx): boolean {
  const m = matchHaproxy(msg);
  if (!m) return false;
  fillHaproxy(r, m, msg, ctx);
  return true;
}

function matchHaproxy(msg: string): RegExpExecArray | null {
  return HAPROXY_RE.exec(msg.length > 4096 ? msg.slice(0, 4096) : msg);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** One token of id characters with a digit: not a host (dots), a path or agent (`/`), prose. */
const ID_RE = /^(?=[^.]*$)(?=\D*\d)[\w:=+-]{8,128}$/;
/** …but not a dotless `host:port`, nor a short number (a length, a count). */
const NOT_ID_RE = /^(?:[a-z][\w-]*:\d{1,5}|\d{1,15})$/i;
const TRACEPARENT_RE = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The value among captured headers that names the request: a UUID first, else an id-shaped one. */
function idAmong(values: readonly string[]): string | null {
  for (const v of values) if (UUID_RE.test(v)) return v;
  for (const v of values) if (ID_RE.test(v) && !NOT_ID_RE.test(v)) return v;
  return null;
}

function fillHaproxy(r: LogRecord, m: RegExpExecArray, msg: string, ctx: Ctx): void {
  const ts = readTimeLocal(m[3]!, 0, ctx);
  // HAProxy's date is when the request began (its first byte, after any keep-alive idle time)
  if (!Number.isNaN(ts)) {
    r.tsUs = ts;
    r.attributes[TIME_IS_START] = true;
  }
  const a = r.attributes;
  r.clientIp = intern(m[1]!);
  a['client_port'] = Number(m[2]);
  a['haproxy.frontend'] = intern(m[4]!);
  a['haproxy.backend'] = intern(m[5]!);
  a['haproxy.server'] = intern(m[6]!);
  a['upstream'] = intern(`${m[5]!}/${m[6]!}`);
  r.format = 'haproxy';
  const [tReq, tw, tc, tr, ta] = [m[7], m[8], m[9], m[10], m[11]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  // -1: the stage was never reached (no connection to a server, no response…)
  if (tReq >= 0) a['haproxy.request_ms'] = tReq;
  if (tw >= 0) a['queue_ms'] = tw;
  if (tc >= 0) a['upstream_connect_ms'] = tc;
  if (tr >= 0) {
    a['haproxy.response_ms'] = tr;
    a['upstream_header_ms'] = Math.max(0, tc) + tr;
    if (ta >= 0)
      a['upstream_response_ms'] = Math.max(
        Math.max(0, tc) + tr,
        ta - Math.max(0, tReq) - Math.max(0, tw),
      );
  }
  if (ta >= 0) {
    r.durationMs = ta;
    a['duration_ms'] = ta;
  }
  r.httpStatus = Number(m[12]);
  a['bytes_sent'] = Number(m[13]);
  a['haproxy.termination_state'] = intern(m[16]!);
  a['haproxy.retries'] = Number(m[21]);
  a['haproxy.srv_queue'] = Number(m[22]);
  a['haproxy.backend_queue'] = Number(m[23]);
  // captured headers: up to two {…} blocks (request, then response), then the request line
  let i = m[0].length;
  const captured: string[] = [];
  for (let k = 0; k < 2 && msg.charCodeAt(i) === 123; k++) {
    const close = msg.indexOf('}', i);
    if (close < 0) return;
    const block = msg.slice(i + 1, close);
    a[k === 0 ? 'haproxy.captured_request_headers' : 'haproxy.captured_response_headers'] = block;
    for (const v of block.split('|')) if (v !== '') captured.push(v);
    i = close + 1;
    if (msg.charCodeAt(i) === 32) i++;
  }
  let id = idAmong(captured);
  for (const v of captured) {
    const tp = TRACEPARENT_RE.exec(v);
    if (tp) {
      r.traceId = tp[1]!;
      break;
    }
  }
  if (msg.charCodeAt(i) === 34) {
    // the request line (HAProxy escapes a quote inside it as #22), then perhaps more fields
    const close = msg.indexOf('"', i + 1);
    if (close > i && applyRequestLine(r, msg.slice(i + 1, close)))
      r.body = `${r.httpMethod} ${r.httpPath ?? ''} ${r.httpStatus} ${m[16]!}`;
    // a log-format with %ID after the request line: its last bare token
    if (id === null && close > i) {
      const rest = msg.slice(close + 1).trim();
      const last = rest.slice(rest.lastIndexOf(' ') + 1);
      if (last !== '' && last !== '-' && (UUID_RE.test(last) || ID_RE.test(last))) id = last;
    }
  }
  if (id !== null) r.requestId = id;
}

/** A raw HAProxy HTTP log line (`log stdout format raw`, or a file written without syslog). */
export function parseHaproxyHttp(s: string, p: number, ctx: Ctx): LogRecord | null {
  const c = s.charCodeAt(p);
  if (!((c >= 48 && c <= 57) || c === 58 || (c >= 97 && c <= 102))) return null; // IPv4/IPv6 start
  const msg = p === 0 ? s : s.slice(p);
  const m = matchHaproxy(msg);
  if (!m) return null; // (matched before a record is made: most lines tried here are not HAProxy's)
  const r = newRecord(ctx, 'haproxy', msg);
  fillHaproxy(r, m, msg, ctx);
  r.service = intern('haproxy');
  return r;
}

const ALB_TYPES = new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']);
const ALB_SECONDS = /^-?\d{1,9}(?:\.\d{1,9})?$/;

/** An AWS ALB (or Classic ELB) access log line. */
export function parseAlb(s: string, p: number, ctx: Ctx): LogRecord | null {
  const c = s.charCodeAt(p);
  // `http …`, `https …`, `h2 …`, `grpcs …`, `ws …`, `wss …` (ALB) or `2024-…` (Classic ELB)
  if (!(c === 104 || c === 103 || c === 119 || (c >= 48 && c <= 57))) return null;
  const sp = s.indexOf(' ', p);
  if (sp < 0 || sp - p > 40) return null;
  const classic = c >= 48 && c <= 57;
  if (!classic && !ALB_TYPES.has(s.slice(p, sp))) return null;
  const tsAt = classic ? p : sp + 1;
  const ts = readIso(s, tsAt, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32) return null;
  const t = tokens(s, tsEnd + 1);
  // 0 elb, 1 client, 2 target, 3–5 the three times, 6 elb status, 7 target status, 8 bytes in,
  // 9 bytes out, 10 "request", 11 "user agent", 12 cipher, 13 protocol (Classic ELB ends here),
  // 14 target group, 15 "trace id", 16 "domain", 19 request creation time, 20 "actions",
  // 22 "error reason", 25 "classification"
  if (t === null || t.length < 14) return null;
  for (let i = 0; i < 10; i++) if (t[i]!.quoted) return null;
  if (!t[10]!.quoted || !t[11]!.quoted) return null;
  const [t1, t2, t3] = [t[3]!.text, t[4]!.text, t[5]!.text];
  if (!ALB_SECONDS.test(t1) || !ALB_SECONDS.test(t2) || !ALB_SECONDS.test(t3)) return null;
  const status = t[6]!.text;
  if (!/^(?:\d{3}|-)$/.test(status) || !/^(?:\d{1,15}|-)$/.test(t[9]!.text)) return null;
  const r = newRecord(ctx, 'aws-alb', t[10]!.text);
  r.tsUs = ts;
  const a = r.attributes;
  // the Classic ELB stamps when it received the request; the ALB when it answered
  if (classic) a[TIME_IS_START] = true;
  if (!classic) a['alb.type'] = intern(s.slice(p, sp));
  a['alb.name'] = intern(t[0]!.text);
  const client = t[1]!.text;
  if (client !== '-') {
    r.clientIp = intern(stripPort(client));
    const port = Number(client.slice(client.lastIndexOf(':') + 1));
    if (Number.isInteger(port)) a['client_port'] = port;
  }
  if (t[2]!.text !== '-') a['upstream_addr'] = intern(t[2]!.text);
  const [req, tgt, resp] = [Number(t1), Number(t2), Number(t3)];
  if (req >= 0) a['alb.request_processing_ms'] = round3(req * 1000);
  if (tgt >= 0) a['upstream_response_ms'] = round3(tgt * 1000);
  if (resp >= 0) a['alb.response_processing_ms'] = round3(resp * 1000);
  r.httpStatus = status === '-' ? null : Number(status);
  if (t[7]!.text !== '-') a['upstream_status'] = Number(t[7]!.text) || t[7]!.text;
  const rx = numOrNull(t[8]!.text);
  const tx = numOrNull(t[9]!.text);
  if (rx !== null) a['bytes_received'] = rx;
  if (tx !== null) a['bytes_sent'] = tx;
  if (applyRequestLine(r, t[10]!.text)) r.body = `${r.httpMethod} ${r.httpPath ?? ''} ${status}`;
  const ua = dashNull(t[11]!.text);
  if (ua) a['user_agent'] = intern(ua);
  const cipher = dashNull(t[12]!.text);
  if (cipher) a['tls.cipher'] = intern(cipher);
  const proto = dashNull(t[13]!.text);
  if (proto) a['tls.protocol'] = intern(proto);
  if (!classic) {
    const group = dashNull(t[14]?.text);
    if (group) a['alb.target_group'] = intern(group.slice(group.lastIndexOf(':') + 1));
    const trace = t[15]?.quoted ? dashNull(t[15].text) : null;
    if (trace) {
      a['alb.trace_id'] = trace;
      r.traceId = traceIdOf(trace);
    }
    const domain = t[16]?.quoted ? dashNull(t[16].text) : null;
    if (domain) a['http.host'] = intern(domain);
    const created = t[19] && !t[19].quoted ? readIso(t[19].text, 0, ctx) : NaN;
    const actions = t[20]?.quoted ? dashNull(t[20].text) : null;
    if (actions) a['alb.actions'] = intern(actions);
    const error = t[22]?.quoted ? dashNull(t[22].text) : null;
    if (error) a['alb.error_reason'] = intern(error);
    const cls = t[25]?.quoted ? dashNull(t[25].text) : null;
    if (cls) a['alb.classification'] = intern(cls);
    // the whole request: the three stages, or (a stage was not reached) since the request came
    if (req >= 0 && tgt >= 0 && resp >= 0) r.durationMs = round3((req + tgt + resp) * 1000);
    else if (!Number.isNaN(created) && created <= ts) r.durationMs = (ts - created) / 1000;
  } else if (req >= 0 && tgt >= 0 && resp >= 0) r.durationMs = round3((req + tgt + resp) * 1000);
  if (r.durationMs !== null) a['duration_ms'] = r.durationMs;
  r.service = intern(classic ? 'elb' : 'alb');
  return r;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Envoy response flags → what happened, in the words other logs use for the same failure. */
const ENVOY_FLAGS: Record<string, string> = {
  UH: 'no healthy upstream',
  UF: 'upstream connection failure',
  UO: 'upstream overflow (circuit breaker open)',
  NR: 'no route configured',
  URX: 'upstream retry limit exceeded',
  NC: 'upstream cluster not found',
  DT: 'downstream request timeout',
  UT: 'upstream request timeout',
  LR: 'connection local reset',
  UR: 'upstream remote reset',
  UC: 'upstream connection termination',
  DC: 'downstream connection termination',
  LH: 'local health check failed',
  RL: 'rate limited',
  UAEX: 'unauthorized (external authorization)',
  RLSE: 'rate limit service error',
  SI: 'stream idle timeout',
  DPE: 'downstream protocol error',
  UPE: 'upstream protocol error',
  UMSDR: 'upstream max stream duration reached',
  OM: 'overload manager',
};

const HAPROXY_WHO: Record<string, string> = {
  C: 'the client aborted',
  S: 'the server aborted or refused',
  P: 'the proxy refused',
  L: 'the proxy answered locally',
  R: 'a proxy resource ran out',
  I: 'the proxy hit an internal error',
  D: 'the server was marked down',
  K: 'the session was killed by an admin',
  U: 'the session was killed when the server was shut down',
  c: 'client-side timeout',
  s: 'server-side timeout',
};
const HAPROXY_WHEN: Record<string, string> = {
  R: 'waiting for the request',
  Q: 'queued for a server connection slot',
  C: 'connecting to the server',
  H: 'waiting for the response headers',
  D: 'in the data phase',
  L: 'sending the last data',
  T: 'tarpitted',
};

/**
 * The proxy's own account of a request that went wrong (Envoy response flags, HAProxy termination
 * state), in words; null for a request that ended normally or a record that is not a proxy's.
 */
export function proxyReason(r: LogRecord): string | null {
  const flags = r.attributes['envoy.response_flags'];
  if (typeof flags === 'string' && flags !== '-') {
    const words = flags
      .split(',')
      .map((f) => ENVOY_FLAGS[f] ?? f)
      .join(', ');
    return `envoy ${flags}: ${words}`;
  }
  if (r.format === 'aws-alb' && (r.httpStatus ?? 0) >= 500) {
    const error = r.attributes['alb.error_reason'];
    if (typeof error === 'string') return `alb ${r.httpStatus}: ${error}`;
    if (r.attributes['upstream_status'] === undefined) {
      if (r.attributes['upstream_addr'] === undefined)
        return `alb ${r.httpStatus}: no target took the request (none registered or healthy)`;
      // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
      if (r.httpStatus === 504) return 'alb 504: the target did not answer before the idle timeout';
      return `alb ${r.httpStatus}: the target sent no valid response (it closed or reset the connection, or refused it)`;
    }
  }
  const term = r.attributes['haproxy.termination_state'];
  if (typeof term === 'string' && term.length >= 2 && term[0] !== '-') {
    const who = HAPROXY_WHO[term[0]!];
    const when = HAPROXY_WHEN[term[1]!];
    if (who) return `haproxy ${term}: ${who}${when ? ` while ${when}` : ''}`;
  }
  return null;
}
