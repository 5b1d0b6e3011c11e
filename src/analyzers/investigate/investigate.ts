// The investigation: per request, where the time went (network on each hop, server-side queueing,
// inference, other) and why, with evidence from frames, connections and log lines; findings that
// aggregate slow and failed requests into ranked statements. Pure: records in, result out.
//
// Latency model (capture present). The client-facing exchange spans the request: total = its
// response last byte − request first byte. The innermost hop's server time (its response first
// byte − request last byte) is spent at the model server: inference (the app's own timing from its
// log or span) and queueing (the rest). Everything else is transit: the client's upload and
// download, every proxy/relay hop (connect, forward, relay back) and the transfers between them,
// including retransmission stalls — the network share. Without a capture the front proxy's access
// log (request time, upstream connect/header/response times) gives the same split, coarser.

import {
  endpointText,
  type Connection,
  type Exchange,
  type LogRecord,
  type RetransmissionEvent,
} from '../../model/records.js';
import type { Span } from '../../model/span.js';
import { estimateQueueing, type QueueEstimate } from './queue.js';
import { joinByTime, joinByValue } from './time-join.js';
import { attributeTrace, httpOfSpan, INFERENCE_NAME, isGenAi } from './trace-attr.js';
import { buildTraces, type Trace } from '../traces/tree.js';
import { busyTimelines, busyWithin, serverKeyOf, type BusyTimeline } from './busy.js';
import {
  accessEndUs,
  isAccessRecord,
  isProxyFormatAccess,
  isProxyLine,
  joinRequests,
  logsById,
  traceIdOf,
  type JoinedRequest,
} from './join.js';
import { proxyReason } from '../../decoders/logs/proxy.js';
import { estimateSkew, type SkewEstimate, type SkewPair } from './skew.js';
import { isoMs } from '../../util/iso.js';
import { lowerBound, upperBound } from '../../util/search.js';

export type Cause = 'network' | 'inference' | 'queueing' | 'upstream-error' | 'client' | 'unknown';

export interface Breakdown {
  network: number;
  queueing: number;
  inference: number;
  other: number;
}

export interface RequestResult {
  requestId: string;
  path: string;
  method: string | null;
  status: number;
  totalMs: number;
  cause: Cause;
  breakdownMs: Breakdown;
  evidence: string[];
  /** ISO 8601; null when the capture's timestamp is outside what a date can hold. */
  startTime: string | null;
  failed: boolean;
  /** Internal facts the findings use (not part of the JSON contract, kept for the report). */
  facts: RequestFacts;
}

export interface RequestFacts {
  startUs: number;
  server: string | null;
  hops: string[];
  retransmissions: number;
  maxStallMs: number;
  synRetries: number;
  retransConns: string[];
  transitVia: { via: string; ms: number }[];
  inferenceMs: number | null;
  /**
   * The server time was split into queueing and processing from the capture alone (queue.ts):
   * no app log or span gave the inference time.
   */
  splitFromWire: boolean;
  /** With splitFromWire: the capacity the server's requests showed (requests served at once). */
  wireCapacity: number | null;
  serverMs: number | null;
  reqBytes: number | null;
  inFlight: number;
  errorLines: string[];
  failureKind: string | null;
  /** Why the cause differs from the largest part (set by the excess rule). */
  excessNote: string | null;
}

export interface Finding {
  title: string;
  cause: Cause;
  requests: number;
  confidence: number;
  evidence: string[];
}

export interface Investigation {
  requests: {
    total: number;
    slow: number;
    failed: number;
    slowMs: number;
    slowMsSource: 'given' | 'derived';
  };
  clockSkew: SkewEstimate[];
  slowRequests: RequestResult[];
  findings: Finding[];
  latency: {
    p50Ms: number | null;
    p90Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
  };
  unjoined: {
    exchangesWithoutRequestId: number;
    requestsWithoutLogs: number;
    logLinesWithoutRequest: number;
  };
  /** Every request's total and cause (for histograms and timelines in reports). */
  all: { startUs: number; totalMs: number; cause: Cause | 'none'; status: number; path: string }[];
  /** How the evidence was read where it was partial (estimates, joins by time), in words. */
  notes: string[];
}

export interface InvestigateInput {
  exchanges: readonly Exchange[];
  connections: ReadonlyMap<number, Connection>;
  retransmissions: readonly RetransmissionEvent[];
  logs: readonly LogRecord[];
  /** Spans (OTLP, Jaeger, Zipkin files in the bundle), joined to exchanges by traceparent. */
  spans?: readonly Span[];
}

export interface InvestigateOptions {
  slowMs?: number;
  /** Cap on slowRequests listed (all are counted). */
  maxListed?: number;
}

/**
 * An attribute holding the app's own inference time: a model-work word (`inference`, `predict`,
 * `forward`, `model`…) followed by a time word (`_time`, `_latency`, `_duration`, `_elapsed`) and/or
 * a unit (`_ms`, `_s`, `_us`); group 1 or 2 is the unit (ms when absent). A bare `prediction` or
 * `gpu` (a class label, a device index) is not a time.
 */
const INFERENCE_KEY = (() => {
  const core =
    '(?:model[_.]?)?(?:inference|infer|predict|prediction|generation|forward|compute|gpu)|model';
  const time = '(?:time|duration|latency|elapsed)';
  const unit = '(ms|millis|milliseconds|s|sec|secs|seconds|us|micros)';
  return new RegExp(`^(?:${core})(?:[_.]?${time}(?:[_.]?${unit})?|[_.]?${unit})$`, 'i');
})();

/** The app's own inference time for a request, from its log records (ms), or null. */
export function inferenceMsOf(
  logs: readonly LogRecord[],
  /** Else the duration an app line gives (its own request time, inference included). */
  durationFallback = true,
): number | null {
  for (const r of logs) {
    for (const k in r.attributes) {
      const v = r.attributes[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const m = INFERENCE_KEY.exec(k);
      if (!m) continue;
      const unit = (m[1] ?? m[2] ?? 'ms').toLowerCase();
      if (unit.startsWith('s')) return v * 1000;
      if (unit.startsWith('u') || unit === 'micros') return v / 1000;
      return v;
    }
  }
  if (!durationFallback) return null;
  for (const r of logs) if (!isProxyFormatAccess(r) && r.durationMs !== null) return r.durationMs;
  return null;
}

function pct(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Default slow threshold: twice the median latency, at least 100 ms, rounded to 1/2/2.5/3/5 × 10^k
 * ("slower than twice the typical request").
 */
export function deriveSlowMs(totals: readonly number[]): number {
  const xs = totals.filter((t) => t > 0).sort((a, b) => a - b);
  if (xs.length === 0) return 1000;
  const v = Math.max(100, 2 * pct(xs, 0.5)!);
  const mag = 10 ** Math.floor(Math.log10(v));
  const nice = [1, 2, 2.5, 3, 5, 10].map((m) => m * mag);
  return nice.reduce((best, n) => (Math.abs(n - v) < Math.abs(best - v) ? n : best), nice[0]!);
}

const ERROR_LINE =
  /traceback|exception|out of memory|oom|killed|sigkill|worker timeout|timed out|prematurely closed|connection refused|reset by peer|no live upstreams|error/i;
// gunicorn/uvicorn worker deaths, kernel OOM kills, segfaults, and what Kubernetes says of a
// restarted container (OOMKilled, a failed liveness probe, back-off) or a killed data loader
const CRASH_LINE =
  /worker timeout|was sent sigkill|terminated due to signal|worker \(pid:?\s*\d+\) (?:exited|was killed|died)|worker.*exited with code [1-9]|child process \[\d+\] died|oom-kill|oomkilled|out of memory: kill|killed process|is killed by signal|segmentation fault|core dumped|liveness probe failed|back-off restarting failed container|crashloopbackoff/i;
const LISTEN_LINE = /listening (?:at|on):?\s*(?:https?:\/\/)?(\[[0-9a-f:]+\]|[0-9.]+):(\d+)/i;

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const roundBreakdown = (bd: Breakdown): Breakdown => ({
  network: r3(bd.network),
  queueing: r3(bd.queueing),
  inference: r3(bd.inference),
  other: r3(bd.other),
});
const fmt = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
const ep = endpointText;
const where = (r: LogRecord): string => `${r.file}:${r.lineNo}`;

function errorText(r: LogRecord): string {
  const a = r.attributes;
  const extra = ['error', 'exception', 'exc_info', 'error.message', 'err', 'message']
    .map((k) => a[k])
    .find((v) => typeof v === 'string' && v.length > 0) as string | undefined;
  const body = r.body.split('\n');
  // For tracebacks, the last line names the exception.
  const last = body.length > 1 ? body[body.length - 1]!.trim() : '';
  const text = [body[0]!.trim(), extra ?? last].filter((s) => s).join(': ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

interface Ctx {
  conns: ReadonlyMap<number, Connection>;
  retransByConn: Map<number, RetransmissionEvent[]>;
  skewBySource: Map<string, number>;
  errorLogs: LogRecord[];
  crashEvents: { tsUs: number; server: string | null; rec: LogRecord }[];
  inFlightIndex: Map<string, { started: Float64Array; answered: Float64Array }>;
  spansByTrace: Map<string, Span[]>;
  /** Each server's busy time from app logs (busy.ts), built on first use. */
  busy: () => Map<string, BusyTimeline>;
  /** Each inner server's exchanges, and their queue estimate once asked for (queue.ts). */
  innerByServer: Map<string, Exchange[]>;
  queueByServer: Map<string, QueueEstimate | null>;
  /** When the next request on an exchange's connection began (µs), for exchanges followed by one. */
  nextOnConn: () => Map<Exchange, number>;
}

export function investigate(input: InvestigateInput, opts: InvestigateOptions = {}): Investigation {
  const joined = joinRequests(input.exchanges, input.logs);
  // Neither a capture nor an access log, but traces: one request per trace, its logs by trace id.
  if (joined.length === 0 && input.spans && input.spans.length > 0) {
    const logsByTrace = new Map<string, LogRecord[]>();
    for (const r of input.logs) {
      if (!r.traceId) continue;
      let l = logsByTrace.get(r.traceId);
      if (!l) logsByTrace.set(r.traceId, (l = []));
      l.push(r);
    }
    for (const t of buildTraces(input.spans))
      joined.push({
        requestId: t.traceId,
        hops: [],
        access: null,
        logs: logsByTrace.get(t.traceId) ?? [],
        trace: t,
      });
  }
  const notes: string[] = [];
  // Only the application's own logs (no capture, trace, or access line with a time — uvicorn's
  // and gunicorn's default access lines have none): each request id an app line gives a time or
  // an outcome for is a request as its server saw it.
  if (joined.every((j) => j.hops.length === 0 && !j.trace && (j.access?.tsUs ?? null) === null)) {
    const app: JoinedRequest[] = [];
    const n = appRequests(input.logs, app);
    if (n > 0) joined.splice(0, joined.length, ...app);
    if (n > 0)
      notes.push(
        `${n} requests are known from the application's own log lines only: their times are the server's (inference, its own handling); what happened before a request reached it — network, proxies, queues in front — is not in these logs`,
      );
  }
  // Logs only, app lines without request ids: join them to the access lines by time.
  if (input.exchanges.length === 0 && joined.some((j) => j.access !== null)) {
    const tj = joinByTime(
      joined,
      input.logs,
      (r) => !isAccessRecord(r) && inferenceMsOf([r], false) !== null,
      serverKeyOf,
    );
    if (tj.joined > 0)
      notes.push(
        `${tj.joined} app lines without a request id were joined to their access lines by time (clock offsets ${[
          ...tj.offsets,
        ]
          .filter(([, o]) => o !== null)
          .map(([k, o]) => `${k.split('\u0000')[0]} ${o! >= 0 ? '+' : ''}${o} ms`)
          .join(', ')})`,
      );
    // what the times alone could not pair: by each request's window and how its upstream time
    // fits the line's inference time
    const vj = joinByValue(
      joined,
      input.logs,
      (r) => !isAccessRecord(r) && inferenceMsOf([r], false) !== null,
      (r) => inferenceMsOf([r], false),
      serverKeyOf,
    );
    if (vj > 0)
      notes.push(
        `${vj} app lines without a request id were joined to the access line whose time window holds them and whose upstream time best fits their inference time (an estimate: requests to one server that ended in the same second can be swapped)`,
      );
    else if (tj.joined === 0 && [...tj.offsets.values()].some((o) => o === null))
      notes.push(
        'app lines without a request id could not be joined by time (whole-second timestamps, or times that do not line up)',
      );
  }
  const retransByConn = new Map<number, RetransmissionEvent[]>();
  for (const e of input.retransmissions) {
    let l = retransByConn.get(e.connId);
    if (!l) retransByConn.set(e.connId, (l = []));
    l.push(e);
  }

  // Clock skew of each log source against the capture, from requests joined by id.
  const pairsBySource = new Map<string, SkewPair[]>();
  const addPair = (src: string, logUs: number | null, anchorUs: number | null): void => {
    if (logUs === null || anchorUs === null) return;
    let l = pairsBySource.get(src);
    if (!l) pairsBySource.set(src, (l = []));
    l.push({ logUs, anchorUs });
  };
  for (const j of joined) {
    if (j.hops.length === 0) continue;
    const outer = j.hops[0]!;
    const inner = innermost(j.hops);
    if (j.access) addPair(j.access.file, accessEndUs(j.access), outer.respLastUs);
    for (const r of j.logs)
      addPair(r.file, r.tsUs, inner.respFirstUs ?? inner.respLastUs ?? inner.reqLastUs);
  }
  const clockSkew: SkewEstimate[] = [];
  const skewBySource = new Map<string, number>();
  for (const [src, pairs] of pairsBySource) {
    const s = estimateSkew(src, pairs);
    if (s) {
      clockSkew.push(s);
      skewBySource.set(src, s.offsetMs);
    }
  }
  clockSkew.sort((a, b) => a.source.localeCompare(b.source));

  // Error and crash lines (for failures), with each log file's server when it says where it listens.
  const serverOfFile = new Map<string, string>();
  for (const r of input.logs) {
    const m = LISTEN_LINE.exec(r.body);
    if (m && !serverOfFile.has(r.file))
      serverOfFile.set(r.file, `${m[1]!.replace(/^\[|\]$/g, '')}:${m[2]}`);
  }
  const errorLogs = input.logs.filter(
    (r) =>
      (r.severity === 'ERROR' ||
        r.severity === 'FATAL' ||
        (r.severity === null && ERROR_LINE.test(r.body))) &&
      !isAccessRecord(r),
  );
  const crashEvents = input.logs
    .filter((r) => r.tsUs !== null && CRASH_LINE.test(r.body))
    .map((r) => ({
      tsUs: r.tsUs! - (skewBySource.get(r.file) ?? 0) * 1000,
      server: serverOfFile.get(r.file) ?? null,
      rec: r,
    }));
  const innerByServer = new Map<string, Exchange[]>();
  for (const j of joined) {
    if (j.hops.length === 0) continue;
    const inner = innermost(j.hops);
    const k = ep(inner.server);
    let l = innerByServer.get(k);
    if (!l) innerByServer.set(k, (l = []));
    l.push(inner);
  }
  const inFlightIndex = new Map<string, { started: Float64Array; answered: Float64Array }>();
  for (const [k, l] of innerByServer) {
    const started = Float64Array.from(l.map((x) => x.reqLastUs ?? Infinity)).sort();
    const answered = Float64Array.from(l.map((x) => x.respFirstUs ?? Infinity)).sort();
    inFlightIndex.set(k, { started, answered });
  }

  const spansByTrace = new Map<string, Span[]>();
  for (const sp of input.spans ?? []) {
    let l = spansByTrace.get(sp.traceId);
    if (!l) spansByTrace.set(sp.traceId, (l = []));
    l.push(sp);
  }
  const ctx: Ctx = {
    conns: input.connections,
    retransByConn,
    skewBySource,
    errorLogs,
    crashEvents,
    inFlightIndex,
    spansByTrace,
    innerByServer,
    queueByServer: new Map(),
    busy: once(() => busyTimelines(input.logs, (r) => inferenceMsOf([r]))),
    nextOnConn: once(() => nextRequestOnConn(input.exchanges)),
  };
  const pairs: { j: JoinedRequest; r: RequestResult }[] = [];
  for (const j of joined) {
    const r = attribute(j, ctx, false);
    if (r) pairs.push({ j, r });
  }
  const results = pairs.map((p) => p.r);
  reattributeByExcess(results);
  const totals = results.map((r) => r.totalMs);
  const slowMs = opts.slowMs ?? deriveSlowMs(totals);
  for (const r of results) {
    if (!r.failed && r.totalMs < slowMs) r.cause = 'unknown';
  }
  const listed = results.filter((r) => r.failed || r.totalMs >= slowMs);
  // Evidence for the listed requests only (building it for every request costs memory).
  for (const p of pairs) {
    if (!(p.r.failed || p.r.totalMs >= slowMs)) continue;
    p.r.evidence = attribute(p.j, ctx, true)?.evidence ?? p.r.evidence;
    if (p.r.facts.excessNote) p.r.evidence.push(p.r.facts.excessNote);
  }
  const sorted = totals.slice().sort((a, b) => a - b);
  const loggedIds = new Set(
    joined.filter((j) => j.access || j.logs.length).map((j) => j.requestId),
  );
  const requestIds = new Set(joined.map((j) => j.requestId).filter((x) => x));
  const findings = buildFindings(listed, results, input, slowMs);
  return {
    requests: {
      total: results.length,
      slow: results.filter((r) => !r.failed && r.totalMs >= slowMs).length,
      failed: results.filter((r) => r.failed).length,
      slowMs,
      slowMsSource: opts.slowMs !== undefined ? 'given' : 'derived',
    },
    clockSkew,
    slowRequests: listed.sort((a, b) => b.totalMs - a.totalMs).slice(0, opts.maxListed ?? Infinity),
    findings,
    latency: {
      p50Ms: pct(sorted, 0.5),
      p90Ms: pct(sorted, 0.9),
      p99Ms: pct(sorted, 0.99),
      maxMs: sorted.length ? sorted[sorted.length - 1]! : null,
    },
    unjoined: {
      exchangesWithoutRequestId: input.exchanges.filter((x) => !x.requestId).length,
      requestsWithoutLogs: joined.filter((j) => !loggedIds.has(j.requestId)).length,
      logLinesWithoutRequest: input.logs.filter(
        (r) => r.requestId !== null && !requestIds.has(r.requestId),
      ).length,
    },
    notes: [...notes, ...partialNotes(results, joined)],
    all: results.map((r) => ({
      startUs: r.facts.startUs,
      totalMs: r.totalMs,
      cause: r.failed || r.totalMs >= slowMs ? r.cause : 'none',
      status: r.status,
      path: r.path,
    })),
  };
}

const PARTS = ['network', 'queueing', 'inference', 'other'] as const;

/**
 * Name the cause: a part that took ≥ 60 % of the time is the cause; otherwise the part that
 * made the request slower than usual — each part's excess over its usual value (medians over
 * successful requests; see below for which population). A
 * batch route whose inference always takes 250 ms and that waited 240 ms in a queue is slow
 * because of queueing, even though inference is the larger part.
 */
function reattributeByExcess(results: RequestResult[]): void {
  const ok = results.filter((r) => !r.failed);
  const medOf = (rs: RequestResult[]): Breakdown => {
    const m = { network: 0, queueing: 0, inference: 0, other: 0 };
    for (const k of PARTS) m[k] = median(rs.map((r) => r.breakdownMs[k]));
    return m;
  };
  const global = medOf(ok);
  // Inference cost belongs to the route (model, input sizes): its usual value is the route's.
  // Network, queueing and the rest should not depend on the route in a healthy service: their
  // usual values are the whole service's, so a fault that hits a whole route still stands out.
  const byRoute = new Map<string, Breakdown>();
  for (const [path, rs] of groupBy(ok, (r) => r.path)) {
    byRoute.set(path, {
      ...global,
      inference: rs.length >= 5 ? medOf(rs).inference : global.inference,
    });
  }
  for (const r of results) {
    if (r.failed || r.cause === 'client') continue;
    // A part that took most of the time (≥ 60 %) is the cause outright.
    const total = PARTS.reduce((a, k) => a + r.breakdownMs[k], 0);
    if (total > 0 && PARTS.some((k) => r.breakdownMs[k] >= 0.6 * total)) continue;
    const base = byRoute.get(r.path) ?? global;
    let best: (typeof PARTS)[number] | null = null;
    let bestExcess = 0;
    for (const k of PARTS) {
      const ex = r.breakdownMs[k] - base[k];
      if (ex > bestExcess) {
        bestExcess = ex;
        best = k;
      }
    }
    if (best === null) continue;
    const cause: Cause = best === 'other' ? 'unknown' : best;
    if (cause !== r.cause) {
      r.facts.excessNote = `${best} ${fmt(r.breakdownMs[best])} is ${fmt(bestExcess)} above the usual ${fmt(base[best])} for ${r.path || 'this route'}`;
      r.cause = cause;
    }
  }
}

/**
 * The inference span of a request: in the trace its exchanges carry (traceparent), the longest
 * span whose name (or `gen_ai.*`/`model` attributes) says inference, that is not a server/client
 * span of the whole request.
 */
function inferenceSpanOf(hops: readonly Exchange[], ctx: Ctx): Span | null {
  for (const h of hops) {
    const sp = inferenceSpanIn(traceIdOf(h.traceparent), ctx);
    if (sp) return sp;
  }
  return null;
}

/** The longest inference span of one trace (see inferenceSpanOf). */
function inferenceSpanIn(tid: string | null, ctx: Ctx): Span | null {
  const spans = tid ? ctx.spansByTrace.get(tid) : undefined;
  if (!spans) return null;
  let best: Span | null = null;
  for (const sp of spans) {
    if (sp.kind === 'server' || sp.kind === 'client') continue;
    if (!INFERENCE_NAME.test(sp.name) && !isGenAi(sp)) continue;
    if (!best || sp.endUs - sp.startUs > best.endUs - best.startUs) best = sp;
  }
  return best;
}

function innermost(hops: readonly Exchange[]): Exchange {
  for (let i = hops.length - 1; i >= 0; i--) if (hops[i]!.respFirstUs !== null) return hops[i]!;
  return hops[hops.length - 1]!;
}

function attribute(j: JoinedRequest, ctx: Ctx, withEvidence: boolean): RequestResult | null {
  if (j.trace) return attributeFromTrace(j, j.trace, withEvidence);
  return j.hops.length > 0 ? attributeFromCapture(j, ctx, withEvidence) : attributeFromLogs(j, ctx);
}

function newFacts(startUs: number): RequestFacts {
  return {
    startUs,
    server: null,
    hops: [],
    retransmissions: 0,
    maxStallMs: 0,
    synRetries: 0,
    retransConns: [],
    transitVia: [],
    inferenceMs: null,
    splitFromWire: false,
    wireCapacity: null,
    serverMs: null,
    reqBytes: null,
    inFlight: 0,
    errorLines: [],
    failureKind: null,
    excessNote: null,
  };
}

function attributeFromCapture(
  j: JoinedRequest,
  ctx: Ctx,
  withEvidence: boolean,
): RequestResult | null {
  const hops = j.hops;
  const outer = hops[0]!;
  const inner = innermost(hops);
  const startUs = outer.reqFirstUs ?? outer.respFirstUs;
  if (startUs === null) return null;
  const facts = newFacts(startUs);
  facts.hops = hops.map((h) => ep(h.server));
  facts.server = ep(hops[hops.length - 1]!.server);
  facts.reqBytes = inner.reqBodyBytes || outer.reqBodyBytes;
  // Evidence strings are only built for the requests that are listed (slow or failed).
  const evidence: string[] | null = withEvidence ? [] : null;
  // No response in the capture (it ended, or packets were lost) but the proxy logged one: trust
  // the proxy's status and time for this request.
  // A client-facing hop inside TLS without keys is timed from its records (tls-timing.ts): what
  // was asked and answered comes from the first hop in clear, or the access log.
  const opaque = isOpaque(outer);
  const plain = opaque ? (hops.find((h) => !isOpaque(h)) ?? null) : outer;
  const fromLog =
    !opaque && outer.status === null && j.access !== null && j.access.httpStatus !== null;
  const status = opaque
    ? (plain?.status ?? j.access?.httpStatus ?? 0)
    : (outer.status ?? (fromLog ? j.access!.httpStatus! : 0));
  // A response lost from the capture (a gap in the server's bytes, `truncated`): the server
  // answered, the capture did not keep it — not a failure. It ended before the next request on
  // its connection began, else by the last the capture saw of it.
  const lostAnswer = !opaque && outer.status === null && outer.state === 'truncated' && !fromLog;
  let endUs =
    outer.respLastUs ??
    (lostAnswer
      ? Math.min(ctx.nextOnConn().get(outer) ?? Infinity, lastSeenUs(hops, ctx))
      : lastSeenUs(hops, ctx));
  if (fromLog && j.access!.durationMs !== null)
    endUs = Math.max(endUs, startUs + j.access!.durationMs * 1000);
  let totalMs = Math.max(0, (endUs - startUs) / 1000);
  // Did the capture see the client-facing hop the proxy's access line describes? Not when its
  // first hop was sent by someone else than that line's client (tcpdump on a backend host).
  const backendOnly =
    j.access !== null &&
    !fromLog &&
    j.access.clientIp !== null &&
    j.access.clientIp !== outer.client.ip &&
    isProxyLine(j.access);
  /** The proxy's time for the request beyond the captured hops (backendOnly), ms. */
  let outsideMs = 0;
  if (backendOnly && j.access!.durationMs !== null && j.access!.durationMs - totalMs >= 1) {
    outsideMs = j.access!.durationMs - totalMs;
    totalMs = j.access!.durationMs;
  }
  if (fromLog)
    evidence?.push(
      `the capture has no response for it; status ${status} and ${fmt(totalMs)} are from the access log`,
    );

  // Network evidence: retransmissions on every hop's connection within the request's window,
  // and connections opened for this request (connect time, SYN retries).
  for (let i = 0; i < hops.length; i++) {
    const h = hops[i]!;
    const c = ctx.conns.get(h.connId);
    // (a connection the proxy opened for this request before the captured hop: its handshake,
    // SYN retries included, is part of the time outside the captured hops)
    const opened = i === 0 && c && c.firstUs < startUs && c.firstUs >= startUs - outsideMs * 1000;
    const from =
      i === 0
        ? opened
          ? c.firstUs
          : startUs
        : Math.max(startUs, c && c.firstUs >= startUs ? c.firstUs : (h.reqFirstUs ?? startUs));
    const to = h.respLastUs ?? endUs;
    const rs = (ctx.retransByConn.get(h.connId) ?? []).filter(
      (e) => e.tsUs >= Math.min(from, c && c.firstUs >= startUs ? c.firstUs : from) && e.tsUs <= to,
    );
    if (rs.length > 0) {
      facts.retransmissions += rs.length;
      const stall = Math.max(...rs.map((e) => e.stallMs));
      facts.maxStallMs = Math.max(facts.maxStallMs, stall);
      const syns = rs.filter((e) => e.syn).length;
      facts.synRetries += syns;
      facts.retransConns.push(`${h.client.ip}→${ep(h.server)}`);
      evidence?.push(
        `${rs.length} TCP retransmission${rs.length > 1 ? 's' : ''} on ${ep(h.client)}→${ep(h.server)}` +
          (syns ? ` (${syns} SYN retr${syns > 1 ? 'ies' : 'y'})` : '') +
          (stall > 0 ? `, RTO stall up to ${fmt(stall)}` : '') +
          ` (frames ${rs
            .slice(0, 5)
            .map((e) => e.frame)
            .join(', ')}${rs.length > 5 ? ', …' : ''})`,
      );
    }
    if (i > 0) {
      const p = hops[i - 1]!;
      const fwd = Math.max(0, (h.reqFirstUs ?? 0) - (p.reqLastUs ?? p.reqFirstUs ?? 0)) / 1000;
      const back =
        h.respFirstUs !== null && p.respFirstUs !== null
          ? Math.max(0, p.respFirstUs - h.respFirstUs) / 1000
          : 0;
      const connectMs =
        c && c.firstUs >= (p.reqFirstUs ?? 0) && h.reqFirstUs !== null
          ? (h.reqFirstUs - c.firstUs) / 1000
          : 0;
      if (fwd + back >= 1) facts.transitVia.push({ via: ep(p.server), ms: fwd + back });
      if (fwd + back >= 20) {
        evidence?.push(
          `${fmt(fwd + back)} in transit at ${ep(p.server)} → ${ep(h.server)} (forward ${fmt(fwd)}${connectMs >= 1 ? `, of which connect ${fmt(connectMs)}` : ''}, back ${fmt(back)})`,
        );
      }
    }
  }

  // Server side: the innermost hop's server time = queueing + inference.
  const serverMs = inner.serverTimeMs !== null ? Math.max(0, inner.serverTimeMs) : null;
  facts.serverMs = serverMs;
  let inf = inferenceMsOf(j.logs);
  let infSource =
    inf !== null ? where(j.logs.find((r) => inferenceMsOf([r]) !== null) ?? j.logs[0]!) : '';
  if (inf === null) {
    // Else the inference span of the request's trace (e.g. `model.inference`, `predict`).
    const sp = inferenceSpanOf(hops, ctx);
    if (sp) {
      inf = (sp.endUs - sp.startUs) / 1000;
      infSource = `span '${sp.name}'${sp.service ? ` (${sp.service})` : ''} of trace ${sp.traceId}`;
    }
  }
  facts.inferenceMs = inf;
  const bd: Breakdown = { network: 0, queueing: 0, inference: 0, other: 0 };
  if (serverMs !== null && inner.respFirstUs !== null) {
    let s = Math.min(serverMs, totalMs);
    // Request segments retransmitted after the request's last byte was first seen: the server
    // only had the whole request when the retransmission arrived — that wait is network.
    let lateMs = 0;
    for (const e of ctx.retransByConn.get(inner.connId) ?? []) {
      if (e.dir !== 0 || e.kind === 'spurious' || inner.reqLastUs === null) continue;
      if (e.tsUs > inner.reqLastUs && e.tsUs < inner.respFirstUs)
        lateMs = Math.max(lateMs, (e.tsUs - inner.reqLastUs) / 1000);
    }
    if (lateMs > 0) {
      lateMs = Math.min(lateMs, s);
      s -= lateMs;
      evidence?.push(
        `request to ${ep(inner.server)} completed only by a retransmission ${fmt(lateMs)} after its first last byte`,
      );
    }
    let split = '';
    /** Transit on the hop behind a proxy the capture did not see (from the proxy's log). */
    let behindProxy = 0;
    if (inf !== null) {
      bd.inference = Math.min(s, inf);
      bd.queueing = s - bd.inference;
      split = ` (inference ${fmt(inf)} per ${infSource}, queueing ${fmt(bd.queueing)})`;
      if (hops.length === 1 && j.access !== null && !backendOnly) {
        // The capture saw only the client's side of the proxy: the hop behind it is known from
        // the proxy's own log — its upstream time beyond inference was transit or the app's
        // queue, told apart by the app server's saturation (busy.ts), the rest the proxy's own.
        // A proxy that logs no upstream time (Apache's combined + %D, HAProxy without timers):
        // the proxy's server time on the captured hop holds its upstream time.
        const up = upstreamMsOf(j.access) ?? (isProxyLine(j.access) ? s : null);
        if (up !== null) {
          const wait = Math.min(Math.max(0, up - bd.inference), bd.queueing);
          const sp = wait >= 20 ? busySplit(j, ctx, inf, wait, evidence ?? []) : null;
          if (sp) {
            bd.queueing = sp.queueMs;
            behindProxy = sp.freeMs;
            bd.other += Math.max(0, s - bd.inference - wait);
            split = ` (inference ${fmt(inf)} per ${infSource}; of the proxy's ${fmt(up)} upstream time, queueing ${fmt(sp.queueMs)}, transit ${fmt(sp.freeMs)})`;
          }
        }
      }
    } else {
      // No app timing: the wait behind earlier requests, as the server's answers show it.
      const q = queueAt(ctx, ep(inner.server));
      const wait = Math.min(s, (q?.waitUs.get(inner) ?? 0) / 1000);
      bd.queueing = wait;
      // What the model server did with the rest is its processing — taken as inference when the
      // capture shows the hop into it, or the one hop's server is not a proxy by its Server
      // header (a proxy's server time includes the hops behind it the capture did not see).
      if (hops.length >= 2 || !isProxyServer(inner)) bd.inference = s - wait;
      else bd.other = s - wait;
      facts.splitFromWire = q !== null;
      facts.wireCapacity = q?.capacity ?? null;
      split = q
        ? ` (no app timing: queued ≈${fmt(wait)} behind earlier requests — it answers ${q.capacity} at a time, as its ${q.waitUs.size} requests show — and processing ${fmt(s - wait)})`
        : ' (no app timing to split queueing from inference)';
    }
    bd.network = Math.max(0, totalMs - s) + behindProxy;
    evidence?.push(`server time at ${ep(inner.server)} ${fmt(serverMs)}${split}`);
  } else {
    // No server time (the response is missing from the capture): what is known to be transit
    // (hop forwarding, connect retries, retransmission stalls) is network; the rest is unknown.
    if (lostAnswer)
      evidence?.push(
        'its response was lost from the capture (the server sent it; the capture kept no status line): status and server time unknown',
      );
    const transit = facts.transitVia.reduce((a, t) => a + t.ms, 0);
    bd.network = Math.min(totalMs, Math.max(transit, facts.maxStallMs));
    bd.other = totalMs - bd.network;
  }
  if (outsideMs > 0)
    evidence?.push(
      `${fmt(outsideMs)} of the proxy's ${fmt(totalMs)} for it (${where(j.access!)}) was spent outside the captured hops (connecting upstream, the client's transfers)`,
    );
  facts.inFlight = inFlightAt(ctx, inner);
  if (bd.queueing >= 20 && facts.inFlight > 1)
    evidence?.push(`${facts.inFlight} requests in flight at ${ep(inner.server)} when it arrived`);
  const clientUpMs =
    outer.reqLastUs !== null && outer.reqFirstUs !== null
      ? (outer.reqLastUs - outer.reqFirstUs) / 1000
      : 0;

  // Failures.
  const failure = fromLog
    ? status >= 500
      ? `http-${status}`
      : null
    : outer.state === 'reset'
      ? 'reset'
      : outer.state === 'no-response' || (outer.status === null && !opaque && !lostAnswer)
        ? 'no-response'
        : status >= 500
          ? `http-${status}`
          : grpcFailure(outer.grpcStatus);
  facts.failureKind = failure;
  if (failure) addFailureEvidence(j, ctx, hops, inner, evidence, facts, startUs, endUs);
  if (failure?.startsWith('grpc-')) {
    // the server's own words travel in the trailers (percent-encoded)
    const msg = outer.grpcMessage ? `: ${safeDecode(outer.grpcMessage).slice(0, 200)}` : '';
    const line = `${ep(outer.server)} grpc-status ${outer.grpcStatus} ${failure.slice(5)}${msg}`;
    facts.errorLines.unshift(line);
    evidence?.push(line);
  }
  const cause = failure ? 'upstream-error' : pickCause(bd, clientUpMs, facts);
  evidence?.unshift(
    (opaque
      ? `${plain?.method ?? j.access?.httpMethod ?? '?'} ${plain?.path ?? j.access?.httpPath ?? '?'} (in TLS: timed from its records) → ${status || failure || 'status unknown'}`
      : `${outer.method ?? '?'} ${outer.path ?? '?'} → ${outer.status ?? failure ?? 'no response'}`) +
      ` in ${fmt(totalMs)} via ${facts.hops.join(' → ')}` +
      (outer.reqFirstFrame !== null
        ? ` (frames ${outer.reqFirstFrame}–${outer.respLastFrame ?? '?'})`
        : ''),
  );
  if (j.access)
    evidence?.push(
      `access log ${where(j.access)}: ${j.access.httpStatus} in ${j.access.durationMs === null ? '?' : fmt(j.access.durationMs)}`,
    );
  return {
    requestId: j.requestId ?? `conn${outer.connId}@${outer.reqFirstFrame ?? 0}`,
    path: (opaque ? (plain?.path ?? j.access?.httpPath) : outer.path) ?? '',
    method: opaque ? (plain?.method ?? j.access?.httpMethod ?? null) : outer.method,
    status,
    totalMs: r3(totalMs),
    cause,
    breakdownMs: roundBreakdown(bd),
    evidence: evidence ?? [],
    startTime: isoMs(startUs / 1000),
    failed: failure !== null,
    facts,
  };
}

/** `make()` on the first call, its value after. */
function once<T>(make: () => T): () => T {
  let v: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      v = make();
      made = true;
    }
    return v as T;
  };
}

/** Servers with more answered requests than this get no queue estimate (its cost). */
const QUEUE_ESTIMATE_MAX = 200_000;

function queueAt(ctx: Ctx, server: string): QueueEstimate | null {
  let q = ctx.queueByServer.get(server);
  if (q === undefined) {
    const l = ctx.innerByServer.get(server) ?? [];
    q = l.length <= QUEUE_ESTIMATE_MAX ? estimateQueueing(l) : null;
    ctx.queueByServer.set(server, q);
  }
  return q;
}

/** What the listed results rest on when the evidence was partial. */
function partialNotes(
  results: readonly RequestResult[],
  joined: readonly JoinedRequest[],
): string[] {
  const out: string[] = [];
  const wire = results.filter((r) => r.facts.splitFromWire).length;
  if (wire > 0)
    out.push(
      `${wire} requests had no app timing: their queueing and inference are estimated from the capture (each server modelled as the slots its arrival and answer times allow)`,
    );
  const traces = joined.filter((j) => j.trace).length;
  if (traces > 0)
    out.push(`${traces} requests are known from their traces alone (critical path by span)`);
  return out;
}

/**
 * Requests from an application's own lines: per request id, the first timed line that gives a
 * duration, an inference time or a status stands in front (as an access line would). Returns how
 * many were added to `out`, in time order.
 */
function appRequests(logs: readonly LogRecord[], out: JoinedRequest[]): number {
  const added: JoinedRequest[] = [];
  for (const [id, g] of logsById(logs)) {
    const front = g.find(
      (r) =>
        r.tsUs !== null &&
        (r.durationMs !== null || r.httpStatus !== null || inferenceMsOf([r], false) !== null),
    );
    if (!front) continue;
    added.push({ requestId: id, hops: [], access: front, logs: g.filter((r) => r !== front) });
  }
  added.sort((a, b) => a.access!.tsUs! - b.access!.tsUs!);
  for (const j of added) out.push(j);
  return added.length;
}

/** A request known from its trace alone: the critical path split by what each span did. */
function attributeFromTrace(
  j: JoinedRequest,
  t: Trace,
  withEvidence: boolean,
): RequestResult | null {
  const at = attributeTrace(t);
  if (!at) return null;
  const root = at.root;
  const http = httpOfSpan(root);
  const facts = newFacts(root.startUs);
  facts.server = root.service;
  facts.hops = [...new Set(t.nodes.map((n) => n.span.service).filter((x) => x !== null))];
  const inf = at.inferenceSpan
    ? (at.inferenceSpan.endUs - at.inferenceSpan.startUs) / 1000
    : inferenceMsOf(j.logs);
  facts.inferenceMs = inf;
  const bd: Breakdown = { ...at.parts };
  // no inference span on the path, but the request's app log says how long inference took
  if (at.inferenceSpan === null && inf !== null && bd.other > 0) {
    const take = Math.min(bd.other, inf);
    bd.inference += take;
    bd.other -= take;
  }
  const status = http.status ?? 0;
  const failure =
    status >= 500
      ? `http-${status}`
      : (grpcFailure(http.grpcStatus) ??
        (root.status === 'error' && http.status === null ? 'span-error' : null));
  facts.failureKind = failure;
  const evidence: string[] = [];
  if (withEvidence) {
    evidence.push(
      `trace ${t.traceId}: ${root.service ? `${root.service}: ` : ''}${root.name} → ${http.status ?? (root.status === 'error' ? 'error' : 'ok')} in ${fmt(at.totalMs)} (${t.nodes.length} spans)`,
    );
    const parts = PARTS.filter((k) => bd[k] >= 1).map(
      (k) =>
        `${k === 'other' ? 'other' : k} ${fmt(bd[k])}` +
        (at.top[k].length
          ? ` (${at.top[k].map((x) => `'${x.name}' ${fmt(x.ms)}`).join(', ')})`
          : ''),
    );
    if (parts.length) evidence.push(`critical path: ${parts.join('; ')}`);
  }
  if (failure) {
    const msg = root.statusMessage ? `: ${root.statusMessage.slice(0, 200)}` : '';
    const line = `span '${root.name}'${root.service ? ` (${root.service})` : ''} ${failure}${msg}`;
    facts.errorLines.push(line);
    for (const n of t.nodes)
      if (n !== t.roots[0] && n.span.status === 'error' && n.span.statusMessage)
        facts.errorLines.push(`span '${n.span.name}': ${n.span.statusMessage.slice(0, 200)}`);
    for (const r of j.logs)
      if (r.severity === 'ERROR' || r.severity === 'FATAL')
        facts.errorLines.push(`${where(r)}: ${errorText(r)}`);
    if (withEvidence) evidence.push(...facts.errorLines.slice(0, 3));
  }
  return {
    requestId: j.requestId ?? t.traceId,
    path: http.path ?? root.name,
    method: http.method,
    status,
    totalMs: r3(at.totalMs),
    cause: failure ? 'upstream-error' : pickCause(bd, 0, facts),
    breakdownMs: roundBreakdown(bd),
    evidence,
    startTime: isoMs(root.startUs / 1000),
    failed: failure !== null,
    facts,
  };
}

/**
 * gRPC calls fail inside a 200 response: a grpc-status the server is responsible for (UNKNOWN,
 * DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, DATA_LOSS) is a failure like a
 * 5xx; the caller's own errors (INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED…) are not.
 */
const GRPC_SERVER_FAILURES: Record<number, string> = {
  2: 'UNKNOWN',
  4: 'DEADLINE_EXCEEDED',
  8: 'RESOURCE_EXHAUSTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
};

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function grpcFailure(code: number | null): string | null {
  const name = code === null ? undefined : GRPC_SERVER_FAILURES[code];
  return name ? `grpc-${name}` : null;
}

const PROXY_SERVER =
  /nginx|openresty|envoy|istio|haproxy|traefik|caddy|awselb|elb|cloudflare|apache|kong|varnish|squid|gateway/i;

/** The answering server says it is a proxy (its Server header), or cannot say (TLS). */
function isProxyServer(x: Exchange): boolean {
  if (isOpaque(x)) return true;
  return PROXY_SERVER.test(x.responseHeaders['server'] ?? '');
}

/** An exchange inside TLS that could not be decrypted: timing only (tls-timing.ts). */
function isOpaque(x: Exchange): boolean {
  return x.path === null && x.method === null && x.protocol.startsWith('TLS');
}

/** The proxy's time on its upstream (connect + first byte, else the response), from its log. */
function upstreamMsOf(a: LogRecord): number | null {
  const n = (k: string): number | null =>
    typeof a.attributes[k] === 'number' ? a.attributes[k] : null;
  const uht = n('upstream_header_ms') ?? n('upstream_response_ms');
  return uht === null ? null : uht + (n('upstream_connect_ms') ?? 0);
}

/** For each exchange followed by another on its connection: when that next request began. */
function nextRequestOnConn(exchanges: readonly Exchange[]): Map<Exchange, number> {
  const byConn = new Map<number, Exchange[]>();
  for (const x of exchanges) {
    if (x.reqFirstUs === null) continue;
    let l = byConn.get(x.connId);
    if (!l) byConn.set(x.connId, (l = []));
    l.push(x);
  }
  const out = new Map<Exchange, number>();
  for (const l of byConn.values()) {
    l.sort((a, b) => a.reqFirstUs! - b.reqFirstUs!);
    for (let i = 0; i + 1 < l.length; i++) out.set(l[i]!, l[i + 1]!.reqFirstUs!);
  }
  return out;
}

function lastSeenUs(hops: readonly Exchange[], ctx: Ctx): number {
  let t = 0;
  for (const h of hops) {
    t = Math.max(t, h.respLastUs ?? 0, h.reqLastUs ?? 0);
    const c = ctx.conns.get(h.connId);
    if (c && c.lastUs > t && h === hops[0]) t = Math.max(t, c.lastUs);
  }
  return t;
}

/** Requests in flight at a server when `x` arrived: started (request complete) minus answered. */
function inFlightAt(ctx: Ctx, x: Exchange): number {
  const idx = ctx.inFlightIndex.get(ep(x.server));
  if (!idx || x.reqLastUs === null) return 0;
  const t = x.reqLastUs;
  return upperBound(idx.started, t) - lowerBound(idx.answered, t);
}

function pickCause(bd: Breakdown, clientUpMs: number, f: RequestFacts): Cause {
  const parts: [Cause, number][] = [
    ['network', bd.network],
    ['queueing', bd.queueing],
    ['inference', bd.inference],
    ['unknown', bd.other],
  ];
  parts.sort((a, b) => b[1] - a[1]);
  const top = parts[0]!;
  if (
    top[0] === 'network' &&
    clientUpMs > 0.5 * bd.network &&
    f.retransmissions === 0 &&
    f.transitVia.every((t) => t.ms < clientUpMs)
  )
    return 'client';
  return top[1] > 0 ? top[0] : 'unknown';
}

function addFailureEvidence(
  j: JoinedRequest,
  ctx: Ctx,
  hops: readonly Exchange[],
  inner: Exchange,
  evidence: string[] | null,
  facts: RequestFacts,
  startUs: number,
  endUs: number,
): void {
  // The app's own error lines for this request.
  for (const r of j.logs) {
    if (r.severity === 'ERROR' || r.severity === 'FATAL' || (r.httpStatus ?? 0) >= 500) {
      const t = `${where(r)}: ${errorText(r)}`;
      facts.errorLines.push(t);
      evidence?.push(`app log ${t}`);
    }
  }
  // Proxy error lines (no request id): near the request's end, on the client's connection when
  // the line names it (Apache's `[client a:p]`: every line of that request, the reason first),
  // else with the same path.
  const path = hops[0]!.path ?? '';
  const client = ep(hops[0]!.client);
  const lo = startUs - 1.5e6;
  const hi = endUs + 1.5e6;
  let best: { r: LogRecord; d: number } | null = null;
  const onConn: LogRecord[] = [];
  for (const r of ctx.errorLogs) {
    if (r.requestId || r.tsUs === null) continue;
    const t = r.tsUs - (ctx.skewBySource.get(r.file) ?? 0) * 1000;
    if (t < lo || t > hi) continue;
    const named = r.attributes['client'];
    if (typeof named === 'string' && /:\d+$/.test(named)) {
      if (named === client && onConn.length < 3) onConn.push(r);
      continue;
    }
    if (path && r.httpPath !== path && !r.body.includes(path)) continue;
    const up =
      typeof r.attributes['upstream'] === 'string'
        ? `upstream: "${r.attributes['upstream']}"`
        : r.body;
    const upstream = /upstream: "?(?:https?:\/\/)?([^"/,\s]+)/.exec(up)?.[1];
    if (upstream && hops.length > 1 && !hops.some((h) => ep(h.server) === upstream)) continue;
    const d = Math.abs(t - endUs);
    if (!best || d < best.d) best = { r, d };
  }
  for (const r of onConn.length > 0 ? onConn : best ? [best.r] : []) {
    const t = `${where(r)}: ${errorText(r)}`;
    facts.errorLines.push(t);
    evidence?.push(`proxy log ${t}`);
  }
  // A worker crash on the innermost server while the request was in flight there.
  const deepest = hops[hops.length - 1]!;
  const server = ep(deepest.server);
  for (const c of ctx.crashEvents) {
    if (c.server !== null && c.server !== server) continue;
    const a = (deepest.reqFirstUs ?? startUs) - 1e6;
    const b = (deepest.respLastUs ?? endUs) + 1e6;
    if (c.tsUs >= a && c.tsUs <= b) {
      const t = `${where(c.rec)}: ${errorText(c.rec)}`;
      facts.errorLines.push(t);
      evidence?.push(`worker crash while in flight: ${t}`);
      break;
    }
  }
  if (inner.state === 'reset' || inner.state === 'no-response') {
    evidence?.push(
      `upstream ${server} ${inner.state === 'reset' ? 'reset the connection' : 'sent no response'}`,
    );
  }
}

/** Logs only: the front access log's times (request, upstream connect/header/response) and app timing. */
function attributeFromLogs(j: JoinedRequest, ctx: Ctx): RequestResult | null {
  const a = j.access;
  if (!a || a.tsUs === null) return null;
  // (an app's own line may give only its inference time)
  const total = a.durationMs ?? inferenceMsOf([a], false) ?? 0;
  const facts = newFacts(accessEndUs(a)! - total * 1000);
  // The upstream the proxy used, when its log says (nginx $upstream_addr and kin).
  const upstream = ['ua', 'upstream_addr', 'upstream', 'upstream.addr']
    .map((k) => a.attributes[k])
    .find((v) => typeof v === 'string');
  facts.server = typeof upstream === 'string' ? upstream.replace(/^https?:\/\//, '') : null;
  const attr = a.attributes;
  const num = (k: string): number | null => (typeof attr[k] === 'number' ? attr[k] : null);
  const uct = num('upstream_connect_ms');
  const uht = num('upstream_header_ms');
  const urt = num('upstream_response_ms');
  // time the proxy itself held the request in its queue (HAProxy's Tw)
  const proxyQueue = Math.min(total, num('queue_ms') ?? 0);
  // the request's other lines, else what the front line itself says of inference (an app's
  // line), else the inference span of the trace the access line names
  const span = inferenceSpanIn(a.traceId ?? j.logs.find((r) => r.traceId)?.traceId ?? null, ctx);
  const inf =
    inferenceMsOf(j.logs) ??
    inferenceMsOf([a], false) ??
    (span ? (span.endUs - span.startUs) / 1000 : null);
  facts.inferenceMs = inf;
  const bd: Breakdown = { network: 0, queueing: proxyQueue, inference: 0, other: 0 };
  const evidence = [
    a.httpPath === null
      ? `app log ${where(a)}: ${a.httpStatus ?? 'no status'} in ${a.durationMs === null ? 'a time it does not log' : fmt(total)} at the server`
      : `access log ${where(a)}: ${a.httpMethod ?? ''} ${a.httpPath} → ${a.httpStatus} in ${a.durationMs === null ? 'a time it does not log' : fmt(total)}`,
  ];
  if (proxyQueue > 0)
    evidence.push(`queued ${fmt(proxyQueue)} in the proxy before a server took it`);
  const reason = proxyReason(a);
  if (reason) evidence.push(`proxy: ${reason}`);
  const server = uht ?? urt;
  if (server !== null) {
    const s = Math.max(0, Math.min(total - proxyQueue, server - (uct ?? 0)));
    facts.serverMs = s;
    if (inf !== null) {
      bd.inference = Math.min(s, inf);
      bd.queueing += s - bd.inference;
    } else bd.other = s;
    bd.network = Math.max(0, total - proxyQueue - s);
    evidence.push(
      `upstream connect ${uct ?? '?'} ms, first byte ${uht ?? '?'} ms, response ${urt ?? '?'} ms` +
        (inf !== null ? `, inference ${fmt(inf)}` : ''),
    );
    const sp =
      inf !== null && bd.queueing >= 20 ? busySplit(j, ctx, inf, bd.queueing, evidence) : null;
    if (sp) {
      bd.queueing = sp.queueMs;
      bd.network += sp.freeMs;
    }
  } else if (inf !== null) {
    bd.inference = Math.min(total - proxyQueue, inf);
    // No upstream times: the rest was spent waiting at the server (while it was saturated) or in
    // transit; split as for the upstream wait when the server's saturation is known.
    const rest = total - proxyQueue - bd.inference;
    const sp = rest >= 20 ? busySplit(j, ctx, inf, rest, evidence) : null;
    if (sp) {
      bd.queueing += sp.queueMs;
      bd.network += sp.freeMs;
    } else bd.other = rest;
  } else bd.other = total - proxyQueue;
  const status = a.httpStatus ?? 0;
  const failed = status >= 500;
  if (failed) {
    facts.failureKind = `http-${status}`;
    // the proxy's account first: it names the failure when the app logged nothing
    if (reason) facts.errorLines.push(`${where(a)}: ${reason}`);
    // (an app's own line in front, with only the app's logs, may be the error line itself)
    for (const r of isProxyLine(a) ? j.logs : [a, ...j.logs]) {
      if (r.severity === 'ERROR' || r.severity === 'FATAL') {
        const t = `${where(r)}: ${errorText(r)}`;
        facts.errorLines.push(t);
        evidence.push(`app log ${t}`);
      }
    }
  }
  return {
    requestId: j.requestId ?? `${a.file}:${a.lineNo}`,
    path: a.httpPath ?? '',
    method: a.httpMethod,
    status,
    totalMs: r3(total),
    cause: failed ? 'upstream-error' : pickCause(bd, 0, facts),
    breakdownMs: roundBreakdown(bd),
    evidence,
    startTime: isoMs(facts.startUs / 1000),
    failed,
    facts,
  };
}

/**
 * Logs only: the wait between the proxy handing a request to its upstream and the request's
 * inference starting (`waitMs`) is queueing only while that server ran at capacity (see busy.ts);
 * while it had a free slot, the request was still on its way (a retransmission, a slow link) or in
 * the proxy. Returns the saturated share (queueing) and the rest (transit), or null when the
 * server's load is not known.
 */
function busySplit(
  j: JoinedRequest,
  ctx: Ctx,
  inf: number,
  waitMs: number,
  evidence: string[],
): { queueMs: number; freeMs: number } | null {
  const rec = j.logs.find((r) => r.tsUs !== null && inferenceMsOf([r]) !== null);
  const tl = rec ? ctx.busy().get(serverKeyOf(rec)) : undefined;
  if (!rec || !tl) return null;
  const infStart = rec.tsUs! - inf * 1000;
  const fullMs = Math.min(waitMs, busyWithin(tl, infStart - waitMs * 1000, infStart) / 1000);
  const freeMs = waitMs - fullMs;
  const slots = `${tl.capacity} request${tl.capacity > 1 ? 's' : ''} at once`;
  if (freeMs < 1) {
    evidence.push(
      `${rec.file} ran at capacity (${slots}) for all of the ${fmt(waitMs)} wait before inference`,
    );
    return { queueMs: waitMs, freeMs: 0 };
  }
  evidence.push(
    `of the ${fmt(waitMs)} between the proxy sending the request and inference starting, ` +
      `${rec.file} had a free slot for ${fmt(freeMs)} (its capacity: ${slots}; at capacity ` +
      `${fmt(fullMs)}): that time the request was in transit (network or proxy), not in the ` +
      `server's queue`,
  );
  return { queueMs: fullMs, freeMs };
}

// ---- findings ------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
}

function pearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 3) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** A finding's examples: its strongest cases first (largest `by`), at most `n`. */
function strongest<T>(xs: readonly T[], by: (x: T) => number, n = 5): T[] {
  return xs
    .map((x, i) => ({ x, v: by(x), i }))
    .sort((a, b) => b.v - a.v || a.i - b.i)
    .slice(0, n)
    .map((e) => e.x);
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(x);
  }
  return m;
}

function buildFindings(
  listed: RequestResult[],
  all: RequestResult[],
  input: InvestigateInput,
  slowMs: number,
): Finding[] {
  const out: Finding[] = [];
  const slowCount = listed.filter((r) => !r.failed).length;

  // Network: retransmissions, grouped by the connection pair that carried them.
  const net = listed.filter((r) => r.cause === 'network');
  const withRetrans = net.filter((r) => r.facts.retransmissions > 0);
  for (const [pair, rs] of groupBy(
    withRetrans,
    (r) => r.facts.retransConns[r.facts.retransConns.length - 1] ?? '',
  )) {
    const server = pair.split('→')[1] ?? pair;
    let pkts = 0;
    let retr = 0;
    for (const c of input.connections.values()) {
      if (ep(c.server) !== server) continue;
      pkts += c.packets[0] + c.packets[1];
      retr += c.retransmissions[0] + c.retransmissions[1];
    }
    const stalls = rs.map((r) => r.facts.maxStallMs).filter((x) => x > 0);
    const syn = rs.reduce((a, r) => a + r.facts.synRetries, 0);
    out.push({
      title:
        `${rs.length} of ${slowCount} slow requests: TCP retransmissions on ${pair}` +
        (pkts > 0
          ? ` (loss ≈ ${((100 * retr) / pkts).toFixed(1)} % of ${pkts} packets to ${server}`
          : ' (') +
        (stalls.length
          ? `, RTO stalls ${fmt(Math.min(...stalls))}–${fmt(Math.max(...stalls))}`
          : '') +
        (syn ? `, ${syn} SYN retries` : '') +
        ')',
      cause: 'network',
      requests: rs.length,
      confidence: r3(Math.min(0.95, 0.6 + 0.35 * (rs.length / Math.max(1, net.length)))),
      evidence: strongest(rs, (r) => r.facts.maxStallMs).map(
        (r) => `${r.requestId}: ${r.evidence.find((e) => e.includes('retransmission')) ?? ''}`,
      ),
    });
  }
  // Network: transit time through an intermediate hop (relay, WAN link, proxy).
  const transit = net.filter((r) => r.facts.retransmissions === 0);
  for (const [via, rs] of groupBy(
    transit,
    (r) => [...r.facts.transitVia].sort((a, b) => b.ms - a.ms)[0]?.via ?? 'client link',
  )) {
    const transitMs = (r: RequestResult): number =>
      r.facts.transitVia.find((t) => t.via === via)?.ms ?? r.breakdownMs.network;
    const ms = rs.map(transitMs);
    out.push({
      title: `${rs.length} of ${slowCount} slow requests: network transit ${via === 'client link' ? 'on the client link' : `through ${via}`} (median ${fmt(median(ms))}, up to ${fmt(Math.max(...ms))} per request)`,
      cause: 'network',
      requests: rs.length,
      confidence: r3(Math.min(0.9, 0.5 + 0.4 * (rs.length / Math.max(1, net.length)))),
      evidence: strongest(rs, transitMs).map(
        (r) =>
          `${r.requestId}: ${r.evidence.find((e) => e.includes('in transit')) ?? `network ${fmt(r.breakdownMs.network)} of ${fmt(r.totalMs)}`}`,
      ),
    });
  }

  // Inference: by route, with the input-size correlation over all requests of that route.
  for (const [path, rs] of groupBy(
    listed.filter((r) => r.cause === 'inference'),
    (r) => r.path,
  )) {
    const same = all.filter(
      (r) => r.path === path && r.facts.inferenceMs !== null && r.facts.reqBytes !== null,
    );
    const corr = pearson(
      same.map((r) => r.facts.reqBytes!),
      same.map((r) => r.facts.inferenceMs!),
    );
    const infs = rs.map((r) => r.breakdownMs.inference);
    out.push({
      title:
        `${path ? `${path}: ` : ''}${rs.length} slow requests spent most of their time in inference (${fmt(Math.min(...infs))}–${fmt(Math.max(...infs))}` +
        (rs.every((r) => r.facts.splitFromWire)
          ? ": the model server's processing, from the capture alone — no app log or span timed inference)"
          : ')') +
        (corr >= 0.7
          ? `; inference time grows with input size (r = ${corr.toFixed(2)} over ${same.length} requests)`
          : ''),
      cause: 'inference',
      requests: rs.length,
      confidence: r3(rs.every((r) => r.facts.splitFromWire) ? 0.6 : corr >= 0.7 ? 0.9 : 0.75),
      evidence: strongest(rs, (r) => r.breakdownMs.inference).map(
        (r) =>
          `${r.requestId}: inference ${fmt(r.breakdownMs.inference)} of ${fmt(r.totalMs)}, ${r.facts.reqBytes !== null ? `request body ${r.facts.reqBytes} B` : 'request size unknown'}`,
      ),
    });
  }

  // Queueing: by server.
  for (const [server, rs] of groupBy(
    listed.filter((r) => r.cause === 'queueing'),
    (r) => r.facts.server ?? '?',
  )) {
    const q = rs.map((r) => r.breakdownMs.queueing);
    const maxIn = Math.max(...rs.map((r) => r.facts.inFlight));
    const wire = rs.every((r) => r.facts.splitFromWire);
    const cap = rs[0]!.facts.wireCapacity;
    out.push({
      title:
        `${rs.length} slow requests queued at ${server} before inference (median wait ${fmt(median(q))}, up to ${fmt(Math.max(...q))}${maxIn > 1 ? `; up to ${maxIn} requests in flight` : ''})` +
        (wire && cap !== null
          ? `; estimated from the capture alone: it answers ${cap} request${cap > 1 ? 's' : ''} at a time`
          : ''),
      cause: 'queueing',
      requests: rs.length,
      confidence: r3(rs.every((r) => r.facts.splitFromWire) ? 0.6 : maxIn > 1 ? 0.85 : 0.65),
      evidence: strongest(rs, (r) => r.breakdownMs.queueing).map(
        (r) =>
          `${r.requestId}: waited ${fmt(r.breakdownMs.queueing)} (server time ${fmt(r.facts.serverMs ?? 0)}, ${r.facts.splitFromWire ? 'processing' : 'inference'} ${fmt(r.breakdownMs.inference)})${r.facts.inFlight > 0 ? `, ${r.facts.inFlight} in flight` : ''}`,
      ),
    });
  }

  // Failures: by status and the first error line's kind.
  const failed = listed.filter((r) => r.failed);
  for (const [key, rs] of groupBy(
    failed,
    (r) =>
      `${r.facts.failureKind?.startsWith('grpc-') ? r.facts.failureKind : r.status || r.facts.failureKind}|${r.facts.server ?? ''}|${errorKind(r.facts.errorLines[0] ?? '')}`,
  )) {
    const [st, server, kind] = key.split('|');
    const withLines = rs.filter((r) => r.facts.errorLines.length > 0);
    const crash = rs
      .flatMap((r) => r.evidence)
      .find((e) => e.startsWith('worker crash while in flight: '));
    out.push({
      title:
        `${rs.length} failed request${rs.length > 1 ? 's' : ''} (${st}${server ? ` from ${server}` : ''})${kind ? `: ${kind}` : ''}` +
        (crash
          ? `; a worker crashed while ${rs.length > 1 ? 'they were' : 'it was'} in flight (${crash.slice('worker crash while in flight: '.length).replace(/^.*?:\d+: /, '')})`
          : ''),
      cause: 'upstream-error',
      requests: rs.length,
      confidence: r3(0.5 + 0.45 * (withLines.length / rs.length)),
      evidence: rs
        .slice(0, 5)
        .map((r) => `${r.requestId}: ${r.facts.errorLines[0] ?? r.evidence[0] ?? ''}`),
    });
  }

  for (const [, rs] of groupBy(
    listed.filter((r) => r.cause === 'client' || r.cause === 'unknown'),
    (r) => r.cause,
  )) {
    const c = rs[0]!.cause;
    out.push({
      title:
        c === 'client'
          ? `${rs.length} slow requests were slow to arrive from the client (upload time dominates)`
          : `${rs.length} slow requests could not be attributed (server time without app timing, or missing data)`,
      cause: c,
      requests: rs.length,
      confidence: 0.4,
      evidence: rs.slice(0, 5).map((r) => `${r.requestId}: ${r.evidence[0] ?? ''}`),
    });
  }
  void slowMs;
  return out.sort((a, b) => b.requests * b.confidence - a.requests * a.confidence);
}

/**
 * The kind of failure an error line names: the exception and its message's first sentence (what
 * follows — sizes, addresses, counts — differs between occurrences of one failure), with numbers
 * masked so those occurrences group together.
 */
function errorKind(line: string): string {
  const m = /([A-Za-z_.]*(?:Error|Exception)[A-Za-z_.]*:[^,;]{0,80})/.exec(line);
  if (m)
    return m[1]!
      .trim()
      .split(/(?<=[.!])\s/)[0]!
      .replace(/\d+(?:\.\d+)?/g, 'N');
  const known =
    /(upstream timed out|upstream prematurely closed connection|connection refused|worker timeout|was sent SIGKILL[^,]*|out of memory|reset by peer|no live upstreams|(?:envoy|haproxy|alb) \S+: [^,;]{1,80})/i.exec(
      line,
    );
  return known ? known[1]! : '';
}
