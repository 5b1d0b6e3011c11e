// Ground truth for a slow-endpoint run: joins what the client saw with the front proxy's access
// log (nginx's, or HAProxy's read into the same fields), the
// apps' JSON logs, the fault ledgers and the capture's retransmissions, then labels each request
// with the rules of the lab README:
//   5xx or no response → upstream-error; fast → none; model time ≥ 60% of client time →
//   inference; the injected network fault visibly hit it (relayed route, or retransmissions /
//   a slow connect on its connections) → network; a long server-side wait → queueing.
// Anything slow that fits none of these gets the largest component and `weak_label: true`.
// Pure: no I/O.

export const CAUSES = ['none', 'network', 'inference', 'queueing', 'upstream-error'] as const;
export type Cause = (typeof CAUSES)[number];

export interface ClientResult {
  i: number;
  route: string;
  phase: number;
  conc: number;
  n_inputs: number;
  req_bytes: number;
  client_sent_request_id: boolean;
  sent_request_id: string | null;
  ts: string;
  t_send: number;
  t_end: number;
  client_ms: number;
  status: number;
  request_id: string | null;
  client_port: number | null;
  resp_bytes: number;
  error: string | null;
}

/** The front proxy's line for a request, in nginx's terms (ms; null where the stage was not reached). */
export interface ProxyLine {
  remoteAddr: string;
  method: string;
  path: string;
  status: number;
  requestTimeMs: number;
  connectMs: number | null;
  headerMs: number | null;
  responseMs: number | null;
  upstreamAddr: string;
  upstreamStatus: string;
  rid: string;
  msec: number;
  /** The client's port, when the proxy's log has it. */
  clientPort?: number;
}

const NGINX_RE =
  /^(\S+) \S+ \S+ \[[^\]]+\] "(\S+) (\S+)[^"]*" (\d{3}) \d+ "[^"]*" "[^"]*" rt=([\d.]+) uct="([^"]*)" uht="([^"]*)" urt="([^"]*)" ua="([^"]*)" us="([^"]*)" rid=(\S+) msec=([\d.]+)$/;

/** Sum of an upstream timing list ("0.010, 0.002" when nginx tried two upstreams), in ms. */
function upstreamMs(v: string): number | null {
  let sum = 0;
  let any = false;
  for (const part of v.split(/[,:]\s*/)) {
    const n = Number(part.trim());
    if (part.trim() !== '-' && part.trim() !== '' && Number.isFinite(n)) {
      sum += n;
      any = true;
    }
  }
  return any ? round(sum * 1000) : null;
}

export function parseNginxLine(line: string): ProxyLine | null {
  const m = NGINX_RE.exec(line);
  if (!m) return null;
  return {
    remoteAddr: m[1]!,
    method: m[2]!,
    path: m[3]!,
    status: Number(m[4]),
    requestTimeMs: round(Number(m[5]) * 1000),
    connectMs: upstreamMs(m[6]!),
    headerMs: upstreamMs(m[7]!),
    responseMs: upstreamMs(m[8]!),
    upstreamAddr: m[9]!,
    upstreamStatus: m[10]!,
    rid: m[11]!,
    msec: Number(m[12]),
  };
}

const HAPROXY_RE =
  /^(\S+):\d+ \[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d)\.(\d{3})\] \S+ (\S+)\/(\S+) (-?\d+)\/(-?\d+)\/(-?\d+)\/(-?\d+)\/\+?(-?\d+) (\d{3}) \+?\d+ \S+ \S+ \S{4} \S+ \S+ \{([^}|]*)[^}]*\} "(\S+) (\S+)/;
const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/**
 * The lab's HAProxy line (`option httplog` with the X-Request-ID captured first) in nginx's terms:
 * request time = Ta; upstream connect = Tc; upstream header = Tw + Tc + Tr (nginx's header time
 * runs from when it starts connecting; HAProxy's queue comes before that); upstream response =
 * Ta − TR (HAProxy streams the body, so the upstream's last byte is the client's). `servers` maps
 * `backend/server` to the server's address. The date is local time, as HAProxy writes it.
 */
export function parseHaproxyLine(line: string, servers: Record<string, string>): ProxyLine | null {
  const m = HAPROXY_RE.exec(line);
  if (!m) return null;
  const [tReq, tw, tc, tr, ta] = [m[11], m[12], m[13], m[14], m[15]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const mon = MONTHS.indexOf(m[3]!) / 3;
  const startMs = new Date(
    Number(m[4]),
    mon,
    Number(m[2]),
    Number(m[5]),
    Number(m[6]),
    Number(m[7]),
    Number(m[8]),
  ).getTime();
  const headerMs = tr >= 0 ? Math.max(0, tw) + Math.max(0, tc) + tr : null;
  const status = Number(m[16]);
  return {
    remoteAddr: m[1]!,
    method: m[18]!,
    path: m[19]!,
    status,
    requestTimeMs: Math.max(0, ta),
    connectMs: tc >= 0 ? tc : null,
    headerMs,
    responseMs: headerMs !== null && ta >= 0 ? Math.max(headerMs, ta - Math.max(0, tReq)) : null,
    upstreamAddr: servers[`${m[9]!}/${m[10]!}`] ?? '-',
    upstreamStatus: tr >= 0 ? String(status) : '-',
    rid: m[17]!,
    msec: (startMs + Math.max(0, ta)) / 1000,
  };
}

const APACHE_TRUTH_RE = /^(\d+) (\d+) (\d+) (-|\d+) (\d{3}) (\S+) (\d+) "(\S+) (\S+)[^"]*" (\S+)$/;

/**
 * The lab's truth-only Apache line (`%{begin:usec}t %{end:usec}t %D %^FB %>s %a %{remote}p
 * "%r" %{X-Request-ID}i`, written beside the operator's access log, never into the bundle) in nginx's
 * terms: request time = %D; upstream header ≈ time to first byte (%^FB: from reading the request
 * to the first response byte written, which for a proxied answer is when the upstream's head
 * came back); upstream response = %D (Apache streams the body); no connect time. `upstreams` maps
 * a route path to its server's address (the config's ProxyPassMatch).
 */
export function parseApacheTruthLine(
  line: string,
  upstreams: Record<string, string>,
): ProxyLine | null {
  const m = APACHE_TRUTH_RE.exec(line);
  if (!m) return null;
  const durUs = Number(m[3]);
  const ttfbUs = m[4] === '-' ? null : Number(m[4]);
  const status = Number(m[5]);
  const path = m[9]!;
  const upstreamAddr = upstreams[path] ?? '-';
  return {
    remoteAddr: m[6]!,
    clientPort: Number(m[7]),
    method: m[8]!,
    path,
    status,
    requestTimeMs: round(durUs / 1000),
    connectMs: null,
    headerMs: ttfbUs === null || upstreamAddr === '-' ? null : round(ttfbUs / 1000),
    responseMs: upstreamAddr === '-' ? null : round(durUs / 1000),
    upstreamAddr,
    upstreamStatus: upstreamAddr === '-' ? '-' : String(status),
    rid: m[10]!,
    msec: Number(m[2]) / 1e6,
  };
}

export interface AppRecord {
  request_id: string;
  inference_ms: number;
  status: number;
  peer?: string | null;
  server?: string;
  event?: string;
  error?: string;
}

export interface LedgerRecord {
  request_id: string;
  fault: string;
  ts?: string;
}

export interface RelayRecord {
  request_id: string;
  req_delay_ms: number;
  resp_delay_ms: number;
  peer: string;
}

export interface RetransFrame {
  tsS: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

export interface TruthRecord {
  request_id: string | null;
  route: string;
  client_ms: number;
  status: number;
  slow: boolean;
  cause: Cause;
  weak_label: boolean;
  ts: string;
  phase: number;
  conc: number;
  n_inputs: number;
  req_bytes: number;
  client_sent_request_id: boolean;
  route_fault: string | null;
  model_ms: number | null;
  queue_ms: number | null;
  net_delay_ms: number | null;
  upstream_retrans: number;
  client_retrans: number;
  nginx_ms: number | null;
  upstream_connect_ms: number | null;
  upstream_header_ms: number | null;
  upstream_addr: string | null;
  upstream_status: string | null;
  other_ms: number | null;
  app_fault: string | null;
  error: string | null;
}

export interface TruthInputs {
  slowMs: number;
  routeFaults: Record<string, string>;
  proxyAddr: string;
  clients: ClientResult[];
  /** The front proxy's access lines. */
  proxyLog: ProxyLine[];
  app: AppRecord[];
  ledger: LedgerRecord[];
  relay: RelayRecord[];
  retrans: RetransFrame[];
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function countOnConn(
  frames: RetransFrame[],
  a: string,
  aPort: number,
  b: string,
  bPort: number,
  fromS: number,
  toS: number,
): number {
  let n = 0;
  for (const f of frames) {
    if (f.tsS < fromS || f.tsS > toS) continue;
    const fwd = f.src === a && f.srcPort === aPort && f.dst === b && f.dstPort === bPort;
    const rev = f.src === b && f.srcPort === bPort && f.dst === a && f.dstPort === aPort;
    if (fwd || rev) n++;
  }
  return n;
}

function splitAddr(s: string): [string, number] | null {
  const i = s.lastIndexOf(':');
  if (i < 0) return null;
  const port = Number(s.slice(i + 1));
  return Number.isInteger(port) ? [s.slice(0, i), port] : null;
}

/** A server-side wait counts as long from this share of the client time. */
export const QUEUE_SHARE = 0.3;
/** Model time explains a slow request from this share of the client time. */
export const MODEL_SHARE = 0.6;

export function label(r: {
  status: number;
  slow: boolean;
  clientMs: number;
  modelMs: number | null;
  queueMs: number | null;
  networkFault: boolean;
  networkMs: number;
}): { cause: Cause; weak: boolean } {
  if (r.status === 0 || r.status >= 500) return { cause: 'upstream-error', weak: false };
  if (!r.slow) return { cause: 'none', weak: false };
  const model = r.modelMs ?? 0;
  if (model >= MODEL_SHARE * r.clientMs) return { cause: 'inference', weak: false };
  if (r.networkFault) return { cause: 'network', weak: false };
  const queue = r.queueMs ?? 0;
  if (queue >= QUEUE_SHARE * r.clientMs) return { cause: 'queueing', weak: false };
  const parts: [Cause, number][] = [
    ['inference', model],
    ['queueing', queue],
    ['network', r.networkMs],
  ];
  parts.sort((x, y) => y[1] - x[1]);
  return { cause: parts[0]![0], weak: true };
}

export function buildTruth(inp: TruthInputs): TruthRecord[] {
  const nginxByRid = new Map<string, ProxyLine>();
  for (const l of inp.proxyLog) nginxByRid.set(l.rid, l);
  const appByRid = new Map<string, AppRecord>();
  for (const a of inp.app)
    if (a.request_id && !appByRid.has(a.request_id)) appByRid.set(a.request_id, a);
  const ledgerByRid = new Map<string, string>();
  for (const l of inp.ledger) ledgerByRid.set(l.request_id, l.fault);
  const relayByRid = new Map<string, RelayRecord>();
  for (const r of inp.relay) relayByRid.set(r.request_id, r);

  const sorted = [...inp.clients].sort((a, b) => a.t_send - b.t_send || a.i - b.i);
  const unanswered = unansweredIds(sorted, inp.ledger, inp.proxyLog);
  return sorted.map((c) => {
    const rid = c.request_id ?? unanswered.get(c) ?? null;
    const ngx = rid ? nginxByRid.get(rid) : undefined;
    const app = rid ? appByRid.get(rid) : undefined;
    const relay = rid ? relayByRid.get(rid) : undefined;
    const fromS = c.t_send - 0.005;
    const toS = c.t_end + 0.005;
    const routeFault = inp.routeFaults[c.route] ?? null;

    // Retransmissions on this request's own connections during its lifetime.
    const clientRetrans =
      c.client_port !== null
        ? countOnConn(inp.retrans, '10.10.0.5', c.client_port, inp.proxyAddr, 8080, fromS, toS)
        : 0;
    let upstreamRetrans = 0;
    const upPeer = relay?.peer ?? app?.peer ?? null;
    const upAddr = ngx ? splitAddr(ngx.upstreamAddr.split(/[,:]\s/)[0] ?? '') : null;
    const peer = upPeer ? splitAddr(upPeer) : null;
    if (peer && upAddr)
      upstreamRetrans = countOnConn(
        inp.retrans,
        peer[0],
        peer[1],
        upAddr[0],
        upAddr[1],
        fromS,
        toS,
      );

    const modelMs = app ? app.inference_ms : null;
    const netDelayMs = relay ? round(relay.req_delay_ms + relay.resp_delay_ms, 1) : null;
    let queueMs: number | null = null;
    if (ngx && ngx.headerMs !== null)
      queueMs = round(Math.max(0, ngx.headerMs - (modelMs ?? 0) - (netDelayMs ?? 0)), 3);
    const slow = c.client_ms >= inp.slowMs;
    const connectMs = ngx?.connectMs ?? null;
    const networkFault =
      (routeFault === 'delay' && (netDelayMs ?? 0) > 0) ||
      upstreamRetrans > 0 ||
      clientRetrans > 0 ||
      (routeFault === 'loss' && (connectMs ?? 0) >= 200);
    // Time outside nginx, in the relay, connecting, and between the upstream's first and last
    // response byte (a lost body segment waits for a retransmission there).
    const transferMs =
      ngx && ngx.responseMs !== null && ngx.headerMs !== null ? ngx.responseMs - ngx.headerMs : 0;
    const networkMs = Math.max(
      0,
      c.client_ms -
        (ngx?.requestTimeMs ?? c.client_ms) +
        (netDelayMs ?? 0) +
        (connectMs ?? 0) +
        transferMs,
    );
    const { cause, weak } = label({
      status: c.status,
      slow,
      clientMs: c.client_ms,
      modelMs,
      queueMs,
      networkFault,
      networkMs,
    });
    const otherMs = round(c.client_ms - (modelMs ?? 0) - (queueMs ?? 0), 3);
    return {
      request_id: rid,
      route: c.route,
      client_ms: c.client_ms,
      status: c.status,
      slow,
      cause,
      weak_label: weak,
      ts: c.ts,
      phase: c.phase,
      conc: c.conc,
      n_inputs: c.n_inputs,
      req_bytes: c.req_bytes,
      client_sent_request_id: c.client_sent_request_id,
      route_fault: routeFault,
      model_ms: modelMs,
      queue_ms: queueMs,
      net_delay_ms: netDelayMs,
      upstream_retrans: upstreamRetrans,
      client_retrans: clientRetrans,
      nginx_ms: ngx?.requestTimeMs ?? null,
      upstream_connect_ms: connectMs,
      upstream_header_ms: ngx?.headerMs ?? null,
      upstream_addr: ngx?.upstreamAddr ?? null,
      upstream_status: ngx?.upstreamStatus ?? null,
      other_ms: otherMs,
      app_fault: rid ? (ledgerByRid.get(rid) ?? null) : null,
      error: c.error,
    };
  });
}

/**
 * The id of each request the client got no answer to (so saw no X-Request-ID): the one it sent,
 * else the proxy's own, found in the fault ledger — an injected fault written during the request
 * under an id no answered request has (HAProxy closes the client's connection without an answer
 * or a log line when a server dies on a reused connection, so the client can retry), or the
 * proxy's line for the client's port that ended during the request (Apache logs such a request,
 * with a 502, and also closes the client's connection without an answer).
 */
function unansweredIds(
  clients: ClientResult[],
  ledger: LedgerRecord[],
  proxyLog: ProxyLine[] = [],
): Map<ClientResult, string> {
  const out = new Map<ClientResult, string>();
  const seen = new Set<string>();
  for (const c of clients) if (c.request_id) seen.add(c.request_id);
  for (const c of clients) {
    if (c.request_id) continue;
    if (c.sent_request_id) {
      out.set(c, c.sent_request_id);
      continue;
    }
    const line = proxyLog.find(
      (l) =>
        l.clientPort !== undefined &&
        l.clientPort === c.client_port &&
        !seen.has(l.rid) &&
        l.msec >= c.t_send - 0.005 &&
        l.msec <= c.t_end + 0.05,
    );
    if (line) {
      out.set(c, line.rid);
      seen.add(line.rid);
      continue;
    }
    for (const l of ledger) {
      const t = l.ts ? Date.parse(l.ts) / 1000 : NaN;
      if (seen.has(l.request_id) || !(t >= c.t_send - 0.005 && t <= c.t_end + 0.005)) continue;
      out.set(c, l.request_id);
      seen.add(l.request_id);
      break;
    }
  }
  return out;
}

function quantile(xs: number[], q: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return round(s[lo]! + (s[hi]! - s[lo]!) * (pos - lo), 1);
}

export function summarize(truth: TruthRecord[], slowMs: number): Record<string, unknown> {
  const byCause: Record<string, number> = {};
  const med: Record<string, number | null> = {};
  const p90: Record<string, number | null> = {};
  for (const c of CAUSES) {
    const xs = truth.filter((t) => t.cause === c).map((t) => t.client_ms);
    byCause[c] = xs.length;
    med[c] = quantile(xs, 0.5);
    p90[c] = quantile(xs, 0.9);
  }
  const byRoute: Record<string, Record<string, number>> = {};
  const status: Record<string, number> = {};
  const faults: Record<string, number> = {};
  for (const t of truth) {
    const r = (byRoute[t.route] ??= {});
    r[t.cause] = (r[t.cause] ?? 0) + 1;
    status[String(t.status)] = (status[String(t.status)] ?? 0) + 1;
    if (t.app_fault) faults[t.app_fault] = (faults[t.app_fault] ?? 0) + 1;
  }
  const queue = truth.map((t) => t.queue_ms).filter((x): x is number => x !== null);
  return {
    slow_ms: slowMs,
    n_requests: truth.length,
    n_slow: truth.filter((t) => t.slow).length,
    counts_by_cause: byCause,
    median_client_ms_by_cause: med,
    p90_client_ms_by_cause: p90,
    counts_by_route_and_cause: byRoute,
    status_counts: status,
    error_kinds: faults,
    weak_labels: truth.filter((t) => t.weak_label).length,
    missing_request_id: truth.filter((t) => !t.request_id).length,
    requests_with_upstream_retrans: truth.filter((t) => t.upstream_retrans > 0).length,
    queue_ms_p50_p90_max: [quantile(queue, 0.5), quantile(queue, 0.9), quantile(queue, 1)],
  };
}
