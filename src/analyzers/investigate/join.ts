// Joins the records of one request across hops and sources: HTTP exchanges of every hop
// (client → proxy → … → model server) by request id, else by time containment through a proxy
// address; log lines by request id. Pure.

import type { Exchange, LogRecord } from '../../model/records.js';
import type { Trace } from '../traces/tree.js';
import { TIME_IS_START } from '../../decoders/logs/fields.js';

/** One request as the client saw it, with everything joined to it. */
export interface JoinedRequest {
  requestId: string | null;
  /** Exchanges from the client-facing one (index 0) inward. Empty when known from logs only. */
  hops: Exchange[];
  /** The front proxy's access-log record, if any. */
  access: LogRecord | null;
  /** Other log records carrying the same request id (app logs, error logs). */
  logs: LogRecord[];
  /** Known from its trace alone (no capture, no access log): the trace. */
  trace?: Trace;
}

const ACCESS_FORMAT = /nginx|apache|combined|common|access|envoy|haproxy|alb|w3c/;
const PROXY_FORMAT = /nginx|apache|combined|common|envoy|haproxy|alb/;
/** Attributes only a proxy's access log has (nginx $upstream_*, HAProxy, Envoy, ALB). */
const PROXY_ATTRS = ['upstream_response_ms', 'upstream_connect_ms', 'upstream_addr', 'upstream'];

/**
 * One line per request with status and path: a known access-log format, or any structured line
 * shaped like one — method, path, status and a duration (nginx or Caddy JSON, Cloud Run request
 * logs, Traefik JSON, an app's own "request done" line).
 */
export function isAccessRecord(r: LogRecord): boolean {
  if (r.httpStatus === null || r.httpPath === null) return false;
  return ACCESS_FORMAT.test(r.format) || (r.httpMethod !== null && r.durationMs !== null);
}

/**
 * When the request ended, per its access line: the line's time, plus its duration when the format
 * stamps the request's start (Envoy, HAProxy, the Classic ELB, a JSON `start_time`: TIME_IS_START).
 */
export function accessEndUs(r: LogRecord): number | null {
  if (r.tsUs === null) return null;
  return r.attributes[TIME_IS_START] === true && r.durationMs !== null
    ? r.tsUs + r.durationMs * 1000
    : r.tsUs;
}

/** An access line of a proxy-log format (not an app server's own account of its request). */
export function isProxyFormatAccess(r: LogRecord): boolean {
  return r.httpStatus !== null && r.httpPath !== null && ACCESS_FORMAT.test(r.format);
}

/**
 * Rank access logs: the front proxy (a proxy format, or a line with upstream timings) first; a
 * line without a duration (nginx's default `combined` has none) after any line that has one, so
 * an app's own timed line stands for the request rather than an untimed proxy line.
 */
function accessRank(r: LogRecord): number {
  return (r.durationMs === null ? 2 : 0) + (isProxyLine(r) ? 0 : 1);
}

/** A proxy's line: a proxy format, or upstream timings only a proxy logs. */
export function isProxyLine(r: LogRecord): boolean {
  if (PROXY_FORMAT.test(r.format)) return true;
  for (const k of PROXY_ATTRS) if (r.attributes[k] !== undefined) return true;
  return false;
}

/** End of an exchange's window; an exchange without a response is open-ended (the capture may
 * have ended, or the server never answered), so later hops still nest inside it. */
const end = (x: Exchange): number => x.respLastUs ?? Infinity;
const start = (x: Exchange): number => x.reqFirstUs ?? x.respFirstUs ?? 0;

const SCAN_LIMIT = 256;

/** `x` (starting at or after `outer`) fits in `outer`'s window; an unanswered `x` only needs to
 * have started before `outer` ended. */
function within(x: Exchange, outer: Exchange): boolean {
  return x.respLastUs === null ? start(x) <= end(outer) : end(x) <= end(outer) + 1000;
}

/** Index of the first entry with t > v in a list sorted by t. */
function upperBoundBy(l: readonly { t: number }[], v: number): number {
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (l[m]!.t <= v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/**
 * How unlikely `inner` is to be the exchange whose handling sent `x` (lower is likelier; µs-like
 * units): the time between their starts and between their ends, plus a penalty for each thing a
 * forwarder normally keeps and they do not share — the path (a relay or a rewrite may change it),
 * the request body's size, the response body's size. Sizes tell apart concurrent requests that
 * timing alone would swap when a relay adds jitter.
 */
function nestScore(x: Exchange, inner: Exchange): number {
  let score = start(x) - start(inner);
  if (x.respLastUs !== null && inner.respLastUs !== null)
    score += Math.max(0, inner.respLastUs - x.respLastUs);
  if (inner.path !== x.path) score += 2e8;
  if (inner.reqBodyBytes !== x.reqBodyBytes) score += 4e8;
  if (x.respLastUs !== null && inner.respLastUs !== null && inner.respBodyBytes !== x.respBodyBytes)
    score += 4e8;
  return score;
}

/** Group exchanges into per-request hop chains. */
export function joinExchanges(exchanges: readonly Exchange[]): Exchange[][] {
  const byId = new Map<string, Exchange[]>();
  const noId: Exchange[] = [];
  for (const x of exchanges) {
    // nothing parsed (a broken message), unless it is a request timed inside TLS (tls-timing.ts)
    if (x.method === null && x.status === null && !x.protocol.startsWith('TLS')) continue;
    // The request id, else the W3C trace id: both follow a request across hops.
    const key = x.requestId ?? traceIdOf(x.traceparent);
    if (key) {
      let g = byId.get(key);
      if (!g) byId.set(key, (g = []));
      g.push(x);
    } else noId.push(x);
  }
  const chains: Exchange[][] = [];
  for (const g of byId.values()) {
    g.sort((a, b) => start(a) - start(b) || end(b) - end(a));
    // A client that reuses one id for several requests: split where an exchange is not inside
    // the first one's window.
    let cur: Exchange[] = [];
    for (const x of g) {
      const outer = cur[0];
      if (outer && start(x) >= start(outer) && within(x, outer)) cur.push(x);
      else {
        if (cur.length) chains.push(cur);
        cur = [x];
      }
    }
    if (cur.length) chains.push(cur);
  }
  // Exchanges without an id: nest them in a chain whose innermost server address is their client
  // address (they were sent by that proxy) and whose window contains theirs.
  const proxyIps = new Set<string>();
  for (const x of exchanges) proxyIps.add(x.server.ip);
  const parents = chains.slice();
  const orphans: Exchange[] = [];
  noId.sort((a, b) => start(a) - start(b));
  const standalone: Exchange[][] = [];
  for (const x of noId) {
    if (!proxyIps.has(x.client.ip)) {
      standalone.push([x]);
      continue;
    }
    orphans.push(x);
  }
  // Candidate chains by the address of their innermost server, in start order; an orphan is
  // matched against the chains that started before it (at most SCAN_LIMIT back: the proxy's
  // concurrency), so the join stays O(n log n).
  const byInnerIp = new Map<string, { t: number; ch: Exchange[] }[]>();
  const addCandidate = (ch: Exchange[]): void => {
    const inner = ch[ch.length - 1]!;
    let l = byInnerIp.get(inner.server.ip);
    if (!l) byInnerIp.set(inner.server.ip, (l = []));
    l.push({ t: start(inner), ch });
  };
  const insertCandidate = (ch: Exchange[]): void => {
    const inner = ch[ch.length - 1]!;
    let l = byInnerIp.get(inner.server.ip);
    if (!l) byInnerIp.set(inner.server.ip, (l = []));
    l.splice(upperBoundBy(l, start(inner)), 0, { t: start(inner), ch });
  };
  for (const ch of parents) addCandidate(ch);
  for (const ch of standalone) addCandidate(ch);
  for (const l of byInnerIp.values()) l.sort((a, b) => a.t - b.t);
  for (const x of orphans) {
    const l = byInnerIp.get(x.client.ip);
    let best: Exchange[] | null = null;
    let bestScore = Infinity;
    if (l) {
      let i = upperBoundBy(l, start(x)) - 1;
      for (let n = 0; i >= 0 && n < SCAN_LIMIT; i--, n++) {
        const ch = l[i]!.ch;
        const inner = ch[ch.length - 1]!;
        if (inner.server.ip !== x.client.ip) continue;
        if (start(x) < start(inner) || !within(x, inner)) continue;
        const score = nestScore(x, inner);
        if (score < bestScore) {
          bestScore = score;
          best = ch;
        }
      }
    }
    if (best) {
      best.push(x);
      // the chain now ends at x's server: a hop that server sent on (a relay's, a second proxy's)
      // nests under it (orphans come in start order, so parents are placed before their hops)
      insertCandidate(best);
    } else standalone.push([x]);
  }
  // A client-facing exchange without an id (its response, which would echo the id, is missing)
  // is the outer hop of the chain its proxy started right after it.
  const proxyClientIps = new Set<string>();
  for (const x of exchanges) proxyClientIps.add(x.client.ip);
  const byFirstClient = new Map<string, { t: number; ch: Exchange[] }[]>();
  for (const ch of chains) {
    const first = ch[0]!;
    let l = byFirstClient.get(first.client.ip);
    if (!l) byFirstClient.set(first.client.ip, (l = []));
    l.push({ t: start(first), ch });
  }
  for (const l of byFirstClient.values()) l.sort((a, b) => a.t - b.t);
  const taken = new Set<Exchange[]>();
  const rest: Exchange[][] = [];
  for (const st of standalone) {
    const x = st[0]!;
    const l = byFirstClient.get(x.server.ip);
    if (st.length > 1 || x.requestId || !proxyClientIps.has(x.server.ip) || !l) {
      rest.push(st);
      continue;
    }
    let best: Exchange[] | null = null;
    // the proxy forwards once it has the request and answers after its upstream did: the first
    // chain not yet taken that starts after this request arrived and ends inside its window
    const from = (x.reqLastUs ?? start(x)) - 1000;
    for (let i = upperBoundBy(l, start(x) - 1), n = 0; i < l.length && n < SCAN_LIMIT; i++, n++) {
      const ch = l[i]!.ch;
      const first = ch[0]!;
      if (taken.has(ch)) continue;
      if (start(first) > end(x) + 1000) break;
      if (start(first) < from || !within(first, x)) continue;
      best = ch;
      break;
    }
    if (best && !best.some((h) => h.client.ip === x.client.ip && h.server.ip === x.server.ip)) {
      best.unshift(x);
      taken.add(best);
    } else rest.push(st);
  }
  return chains.concat(rest).sort((a, b) => start(a[0]!) - start(b[0]!));
}

/** The trace id of a W3C `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`), or null. */
export function traceIdOf(traceparent: string | null): string | null {
  if (!traceparent) return null;
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/i.exec(traceparent.trim());
  return m && !/^0+$/.test(m[1]!) ? m[1]!.toLowerCase() : null;
}

/** Index log records by request id. */
export function logsById(logs: readonly LogRecord[]): Map<string, LogRecord[]> {
  const m = new Map<string, LogRecord[]>();
  for (const r of logs) {
    if (!r.requestId) continue;
    let g = m.get(r.requestId);
    if (!g) m.set(r.requestId, (g = []));
    g.push(r);
  }
  return m;
}

/** Build the requests: from captures when there are exchanges, else from the front access log. */
export function joinRequests(
  exchanges: readonly Exchange[],
  logs: readonly LogRecord[],
): JoinedRequest[] {
  const ids = logsById(logs);
  const out: JoinedRequest[] = [];
  const pick = (id: string | null): { access: LogRecord | null; rest: LogRecord[] } => {
    const g = id ? ids.get(id) : undefined;
    if (!g) return { access: null, rest: [] };
    let access: LogRecord | null = null;
    const rest: LogRecord[] = [];
    for (const r of g) {
      if (isAccessRecord(r) && (access === null || accessRank(r) < accessRank(access))) {
        if (access) rest.push(access);
        access = r;
      } else rest.push(r);
    }
    return { access, rest };
  };
  const chains = joinExchanges(exchanges);
  if (chains.length > 0) {
    for (const ch of chains) {
      const id = ch.find((x) => x.requestId)?.requestId ?? null;
      const { access, rest } = pick(id);
      out.push({ requestId: id, hops: ch, access, logs: rest });
    }
    return out;
  }
  // Logs only: one request per request id seen on an access line, its best-ranked line in front;
  // lines without an id cannot be joined, so only the front layer's count (the proxy's when there
  // is one, else the app's), or a request would be counted once per layer.
  const access = logs.filter(isAccessRecord);
  const proxyLayer = access.some(isProxyLine);
  const seen = new Set<string>();
  for (const r of access) {
    if (r.requestId !== null) {
      if (seen.has(r.requestId)) continue;
      seen.add(r.requestId);
      const { access: front, rest } = pick(r.requestId);
      out.push({ requestId: r.requestId, hops: [], access: front ?? r, logs: rest });
    } else if (!proxyLayer || isProxyLine(r)) {
      out.push({ requestId: null, hops: [], access: r, logs: [] });
    }
  }
  return out;
}
