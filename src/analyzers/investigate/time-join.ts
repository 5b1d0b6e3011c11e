// Logs only, and the app's lines carry no request id: join each app line that says how long a
// request's inference took to the proxy's access line of that request by time. The app writes its
// line when inference ends, just before it answers; the proxy's line says when its upstream
// answered (its end minus the total, plus the upstream header time). The two clocks may differ:
// the offset of each app source is the mode of (expected answer time − app line time) over pairs
// close in time — a sharp peak above the even spread of unrelated pairs when the lines are the
// same requests (else nothing is joined). Lines are then paired greedily, closest first, within
// a few ms of that offset. A proxy hop that delays answers by a varying amount (a relay, a slow
// link back) spreads them beyond that window: those requests stay unjoined.
// Pure.

import type { LogRecord } from '../../model/records.js';
import { TIME_IS_START } from '../../decoders/logs/fields.js';
import { accessEndUs, type JoinedRequest } from './join.js';
import { lowerBound, upperBound } from '../../util/search.js';

/** Pairs considered for the offset: at most this many app lines per source… */
const OFFSET_SAMPLE = 2000;
/** …and access lines within this distance of each (µs). */
const OFFSET_WINDOW_US = 2_000_000;
/** A match may miss the offset by this much (µs): ms timestamps, the answer's way back. */
const TOLERANCE_US = 3000;
/** The offset's peak must hold at least this share of the sampled app lines. */
const MIN_PEAK_SHARE = 0.3;
const MIN_PEAK = 5;

export interface TimeJoinResult {
  /** App lines joined to a request. */
  joined: number;
  /** Per app source: the offset found (ms), or null when its lines did not line up. */
  offsets: Map<string, number | null>;
}

/** When the request's upstream answered, in the proxy's clock (µs), or null. */
function answeredAt(a: LogRecord): number | null {
  const end = accessEndUs(a);
  if (end === null) return null;
  const total = a.durationMs;
  if (total === null) return end;
  const uht = a.attributes['upstream_header_ms'];
  const urt = a.attributes['upstream_response_ms'];
  // upstream times run from when the proxy started on the upstream: after its own queue (HAProxy)
  const queue = a.attributes['queue_ms'];
  const start = end - total * 1000 + (typeof queue === 'number' ? queue * 1000 : 0);
  if (typeof uht === 'number') return start + uht * 1000;
  if (typeof urt === 'number') return start + urt * 1000;
  return end;
}

/**
 * The upstream an access line names: nginx's address (`upstream_addr`), else the proxy's name
 * for it (HAProxy's `backend/server`), which tells servers apart as well.
 */
function upstreamOf(a: LogRecord): string | null {
  const ua = a.attributes['upstream_addr'] ?? a.attributes['upstream'];
  return typeof ua === 'string' ? ua : null;
}

/**
 * Where the proxy sent a request when its log names no upstream (Apache's combined + %D, Caddy's
 * default): its path — a proxy routes by path, so the requests of one path go to one server's log.
 */
function routeOf(a: LogRecord): string | null {
  return a.httpPath === null ? null : `path ${a.httpPath}`;
}

/** Share of a source's lines whose closest access line must name one upstream for it to count. */
const DOMINANT_SHARE = 0.7;
/** A count assignment must explain the app lines this closely (share of them). */
const COUNT_MISMATCH = 0.1;
/** Count assignments tried at most: (sources + 1) ^ addresses (4 app logs × 6 paths: 15 625). */
const MAX_ASSIGNMENTS = 65_536;

/** The upstream address most candidate access lines name, if it is most of them. */
function dominantUpstream(
  access: readonly LogRecord[],
  key: (a: LogRecord) => string | null = upstreamOf,
): string | null {
  const n = new Map<string, number>();
  let named = 0;
  for (const a of access) {
    const ua = key(a);
    if (ua === null) continue;
    named++;
    n.set(ua, (n.get(ua) ?? 0) + 1);
  }
  for (const [ua, c] of n) if (named >= MIN_PEAK && c >= DOMINANT_SHARE * named) return ua;
  return null;
}

/**
 * Which upstream addresses (the access lines' `upstream_addr`) each app source answers for. A
 * source writes one line per request it served and the proxy's line names the address each
 * request went to, so a source serves the addresses whose request counts add up to its line
 * count: a relay in front of a server is that server's too, and an address whose server left no
 * log is nobody's. The assignment that fits the counts best — ties broken by how often the
 * lines' best-fitting access lines (`best`) name its addresses — is taken when it explains the
 * lines within COUNT_MISMATCH. Else each source keeps the address most of its best fits name
 * (DOMINANT_SHARE), or is not filtered (null).
 */
function upstreamsBySource(
  lineCount: ReadonlyMap<string, number>,
  requestsByAddr: ReadonlyMap<string, number>,
  best: ReadonlyMap<string, readonly LogRecord[]>,
  key: (a: LogRecord) => string | null = upstreamOf,
): Map<string, Set<string> | null> {
  const out = new Map<string, Set<string> | null>();
  const fallback = (): Map<string, Set<string> | null> => {
    for (const [src, access] of best) {
      // a source serves several paths as a rule: one path standing for it would drop the others
      const ua = key === upstreamOf ? dominantUpstream(access, key) : null;
      out.set(src, ua === null ? null : new Set([ua]));
    }
    return out;
  };
  const sources = [...lineCount.keys()];
  const addrs = [...requestsByAddr.keys()];
  const s = sources.length;
  if (s === 0 || addrs.length === 0 || (s + 1) ** addrs.length > MAX_ASSIGNMENTS) return fallback();
  // picks[i][a]: how often source i's lines fit best a request to address a
  const picks = sources.map((src) => {
    const n = new Map<string, number>();
    for (const x of best.get(src) ?? []) {
      const ua = key(x);
      if (ua !== null) n.set(ua, (n.get(ua) ?? 0) + 1);
    }
    return addrs.map((a) => n.get(a) ?? 0);
  });
  const lines = sources.map((src) => lineCount.get(src)!);
  const reqs = addrs.map((a) => requestsByAddr.get(a)!);
  let bestCost = Infinity;
  let bestAgree = -1;
  let bestCode: number[] = [];
  const code = new Array<number>(addrs.length).fill(0);
  const got = new Array<number>(s).fill(0);
  for (let n = 0; n < (s + 1) ** addrs.length; n++) {
    // address a → source code[a], or none (code s)
    for (let a = 0, v = n; a < addrs.length; a++, v = Math.floor(v / (s + 1)))
      code[a] = v % (s + 1);
    got.fill(0);
    let agree = 0;
    for (let a = 0; a < addrs.length; a++)
      if (code[a]! < s) {
        got[code[a]!]! += reqs[a]!;
        agree += picks[code[a]!]![a]!;
      }
    let cost = 0;
    for (let i = 0; i < s; i++) cost += Math.abs(lines[i]! - got[i]!);
    if (cost < bestCost || (cost === bestCost && agree > bestAgree)) {
      bestCost = cost;
      bestAgree = agree;
      bestCode = code.slice();
    }
  }
  const total = lines.reduce((x, y) => x + y, 0);
  if (bestCost > COUNT_MISMATCH * total) return fallback();
  sources.forEach((src, i) => out.set(src, new Set(addrs.filter((_a, k) => bestCode[k] === i))));
  return out;
}

/** Whether an app line of a source serving `addrs` may join a request through access line `a`. */
function mayServe(
  addrs: Set<string> | null | undefined,
  a: LogRecord,
  key: (a: LogRecord) => string | null = upstreamOf,
): boolean {
  if (!addrs) return true;
  const ua = key(a);
  return ua === null || addrs.has(ua);
}

/** Requests by the upstream address their access line names (those that name one). */
function countByAddr(
  access: Iterable<LogRecord>,
  key: (a: LogRecord) => string | null = upstreamOf,
): Map<string, number> {
  const n = new Map<string, number>();
  for (const a of access) {
    const ua = key(a);
    if (ua !== null) n.set(ua, (n.get(ua) ?? 0) + 1);
  }
  return n;
}

/** Whole-second timestamps cannot be paired by time. */
function coarse(ts: readonly number[]): boolean {
  return ts.length > 0 && ts.every((t) => t % 1_000_000 === 0);
}

/**
 * Join app lines (`isApp`: lines with an inference time and no joined request) to the requests
 * known from access lines only. Adds each matched line to its request's `logs`.
 */
export function joinByTime(
  requests: JoinedRequest[],
  logs: readonly LogRecord[],
  isApp: (r: LogRecord) => boolean,
  sourceOf: (r: LogRecord) => string,
): TimeJoinResult {
  const offsets = new Map<string, number | null>();
  // requests that have no app line yet, by when their upstream answered
  const open: { t: number; j: JoinedRequest }[] = [];
  for (const j of requests) {
    if (j.hops.length > 0 || j.access === null || j.logs.some(isApp)) continue;
    const t = answeredAt(j.access);
    if (t !== null) open.push({ t, j });
  }
  open.sort((x, y) => x.t - y.t);
  const bySource = new Map<string, LogRecord[]>();
  for (const r of logs) {
    if (r.tsUs === null || r.requestId !== null || !isApp(r)) continue;
    const k = sourceOf(r);
    let l = bySource.get(k);
    if (!l) bySource.set(k, (l = []));
    l.push(r);
  }
  // whole-second access times; a whole-second start (Apache's %t) is one even after answeredAt
  // adds the duration to it (measured on the Apache lab: a time join there paired 49 of 84 right,
  // the join by value 73)
  const atOf = (o: { t: number; j: JoinedRequest }): number =>
    o.j.access!.attributes[TIME_IS_START] === true ? o.j.access!.tsUs! : o.t;
  if (open.length === 0 || bySource.size === 0 || coarse(open.map(atOf)))
    return { joined: 0, offsets };
  const times = Float64Array.from(open, (o) => o.t);
  const taken = new Set<number>();
  let joined = 0;
  for (const [src, lines] of bySource) {
    if (coarse(lines.map((r) => r.tsUs!))) {
      offsets.set(src, null);
      continue;
    }
    // the offset: the 1 ms bin of (answered − app time) that most sampled lines fall in
    const step = Math.max(1, Math.floor(lines.length / OFFSET_SAMPLE));
    const bins = new Map<number, number>();
    let sampled = 0;
    for (let i = 0; i < lines.length; i += step) {
      const t = lines[i]!.tsUs!;
      sampled++;
      for (let k = lowerBound(times, t - OFFSET_WINDOW_US); k < times.length; k++) {
        const d = times[k]! - t;
        if (d > OFFSET_WINDOW_US) break;
        const b = Math.round(d / 1000);
        bins.set(b, (bins.get(b) ?? 0) + 1);
      }
    }
    // the level noise alone gives a 3 ms window: every pair spread evenly over the bins
    let pairsSeen = 0;
    for (const n of bins.values()) pairsSeen += n;
    const noise3 = (3 * pairsSeen) / (2 * (OFFSET_WINDOW_US / 1000) + 1);
    let peak = 0;
    let peakBin = 0;
    for (const [b, n] of bins) {
      // a bin with its neighbours: a true offset spreads over ±1 ms
      const c = n + (bins.get(b - 1) ?? 0) + (bins.get(b + 1) ?? 0);
      if (c > peak) {
        peak = c;
        peakBin = b;
      }
    }
    // the lines line up when the peak stands above that noise by a good share of them
    if (peak - noise3 < Math.max(MIN_PEAK, MIN_PEAK_SHARE * sampled)) {
      offsets.set(src, null);
      continue;
    }
    const offsetUs = peakBin * 1000;
    offsets.set(src, offsetUs / 1000);
    // pairs within the tolerance, closest first, each side used once
    const pairs: { d: number; k: number; r: LogRecord }[] = [];
    for (const r of lines) {
      const want = r.tsUs! + offsetUs;
      for (let k = lowerBound(times, want - TOLERANCE_US); k < times.length; k++) {
        const d = times[k]! - want;
        if (d > TOLERANCE_US) break;
        pairs.push({ d: Math.abs(d), k, r });
      }
    }
    pairs.sort((x, y) => x.d - y.d);
    // One app source is one upstream: when its lines' closest access lines mostly name one
    // upstream address, access lines that name another are another server's requests.
    const closest = new Map<LogRecord, LogRecord>();
    for (const p of pairs) if (!closest.has(p.r)) closest.set(p.r, open[p.k]!.j.access!);
    const upstream = dominantUpstream([...closest.values()]);
    const used = new Set<LogRecord>();
    for (const p of pairs) {
      if (taken.has(p.k) || used.has(p.r)) continue;
      const ua = upstreamOf(open[p.k]!.j.access!);
      if (upstream !== null && ua !== null && ua !== upstream) continue;
      taken.add(p.k);
      used.add(p.r);
      open[p.k]!.j.logs.push(p.r);
      joined++;
    }
  }
  return { joined, offsets };
}

/** Slack for an app line inside its request's window (µs): clocks and logging delays. */
const WINDOW_TOLERANCE_US = 50_000;
/** Candidates looked at per app line (the proxy's concurrency bounds real ones). */
const MAX_CANDIDATES = 512;
/**
 * Candidates kept per app line for the assignment, its best fits first: the right request may
 * fit worse than others (it waited in a queue, or a relay delayed it) and is found only once
 * those were taken — fewer (16) lost a fifth of the lab joins.
 */
const KEEP_CANDIDATES = 64;
/**
 * App lines joined by value at most: memory and time grow with KEEP_CANDIDATES pairs per line
 * (measured: 20k lines at 200 requests/s, 1.4 s; 100k, 7.8 s and 1.3 GB). Later lines stay
 * unjoined.
 */
const MAX_VALUE_LINES = 20_000;

/**
 * The second pass, for what the time join could not pair (whole-second access times, answers
 * delayed by a varying amount): an app line can belong to a request whose window contains it —
 * between the request's start and end per its access line (a whole-second time ends anywhere in
 * that second) — and whose upstream time can hold its inference. Among those, the pair whose
 * upstream time exceeds the inference by the usual margin (the median over all lines' closest
 * fits) is taken first: a request's inference time is nearly its upstream time when it did not
 * wait, which tells apart requests to one server that ended in the same second. Lines of one
 * source go only to the upstream addresses it serves (upstreamsBySource). Returns lines joined.
 */
export function joinByValue(
  requests: JoinedRequest[],
  logs: readonly LogRecord[],
  isApp: (r: LogRecord) => boolean,
  inferenceOf: (r: LogRecord) => number | null,
  sourceOf: (r: LogRecord) => string,
): number {
  const joinedLines = new Set<LogRecord>();
  const coarseFile = new Map<string, boolean>();
  const accessByFile = new Map<string, number[]>();
  for (const j of requests) {
    for (const r of j.logs) joinedLines.add(r);
    const a = j.access;
    if (a === null || a.tsUs === null) continue;
    let l = accessByFile.get(a.file);
    if (!l) accessByFile.set(a.file, (l = []));
    l.push(a.tsUs);
  }
  for (const [f, ts] of accessByFile) coarseFile.set(f, coarse(ts));
  const open: { lo: number; hi: number; upMs: number; j: JoinedRequest }[] = [];
  for (const j of requests) {
    const a = j.access;
    if (j.hops.length > 0 || a === null || a.durationMs === null || j.logs.some(isApp)) continue;
    const end = accessEndUs(a);
    if (end === null) continue;
    const attr = a.attributes;
    const up =
      typeof attr['upstream_response_ms'] === 'number'
        ? attr['upstream_response_ms']
        : a.durationMs;
    // a whole-second time of the end: the request ended somewhere in that second
    // (a whole-second time of the start — Apache's %t — makes the end as uncertain)
    const hiEnd = coarseFile.get(a.file) === true ? end + 1e6 : end;
    open.push({
      lo: end - a.durationMs * 1000 - WINDOW_TOLERANCE_US,
      hi: hiEnd + WINDOW_TOLERANCE_US,
      upMs: up,
      j,
    });
  }
  if (open.length === 0) return 0;
  open.sort((x, y) => x.lo - y.lo);
  let maxSpan = 0;
  for (const o of open) maxSpan = Math.max(maxSpan, o.hi - o.lo);
  const los = Float64Array.from(open, (o) => o.lo);
  // app lines still without a request, with their source and inference time
  const lines: { r: LogRecord; f: number; src: string }[] = [];
  for (const r of logs) {
    if (r.tsUs === null || r.requestId !== null || joinedLines.has(r) || !isApp(r)) continue;
    const f = inferenceOf(r);
    if (f === null) continue;
    if (lines.length >= MAX_VALUE_LINES) break;
    lines.push({ r, f, src: sourceOf(r) });
  }
  /** Calls `each(k, slack)` for every request whose window holds the line and can hold it. */
  const candidates = (r: LogRecord, f: number, each: (k: number, slack: number) => void): void => {
    const t = r.tsUs!;
    for (let k = upperBound(los, t) - 1, n = 0; k >= 0 && n < MAX_CANDIDATES; k--, n++) {
      const o = open[k]!;
      if (o.lo < t - maxSpan) break;
      if (t > o.hi || f > o.upMs + 1) continue;
      each(k, o.upMs - f);
    }
  };
  // the usual margin between a request's upstream time and its inference: the median of every
  // line's closest fit
  const best: number[] = [];
  for (const { r, f } of lines) {
    let b = Infinity;
    candidates(r, f, (_k, slack) => {
      if (slack < b) b = slack;
    });
    if (b !== Infinity) best.push(b);
  }
  if (best.length === 0) return 0;
  best.sort((a, b) => a - b);
  const margin = best[best.length >> 1]!;
  // each line's few best-fitting requests (bounded memory), by source
  const bySource = new Map<string, { r: LogRecord; ks: number[]; scores: number[] }[]>();
  for (const { r, f, src } of lines) {
    const ks: number[] = [];
    const scores: number[] = [];
    candidates(r, f, (k, slack) => {
      const score = Math.abs(slack - margin);
      let i = scores.length;
      while (i > 0 && scores[i - 1]! > score) i--;
      if (i >= KEEP_CANDIDATES) return;
      ks.splice(i, 0, k);
      scores.splice(i, 0, score);
      if (ks.length > KEEP_CANDIDATES) {
        ks.pop();
        scores.pop();
      }
    });
    if (ks.length === 0) continue;
    let l = bySource.get(src);
    if (!l) bySource.set(src, (l = []));
    l.push({ r, ks, scores });
  }
  // every kept pair, in three parallel arrays (no object per pair), taken best-fitting first
  const pairScore: number[] = [];
  const pairK: number[] = [];
  const pairLine: LogRecord[] = [];
  // the upstream addresses each source answers for
  // By path when the proxy's lines name no upstream and time none of it (Apache's combined + %D,
  // Caddy's default): a request's window is then its whole time at the proxy, which lines of any
  // server fit, and the route is what tells servers apart (Apache lab, all faults: 49 → 73 of 84
  // right without app ids). With an upstream time the fit already tells them apart (nginx labs:
  // filtering by path cost 3 of 84 and 2 of 36 relayed requests).
  const key = open.some(
    (o) =>
      upstreamOf(o.j.access!) !== null ||
      typeof o.j.access!.attributes['upstream_response_ms'] === 'number' ||
      typeof o.j.access!.attributes['upstream_header_ms'] === 'number',
  )
    ? upstreamOf
    : routeOf;
  const serves = upstreamsBySource(
    new Map([...bySource].map(([src, l]) => [src, l.length])),
    countByAddr(
      open.map((o) => o.j.access!),
      key,
    ),
    new Map([...bySource].map(([src, l]) => [src, l.map((x) => open[x.ks[0]!]!.j.access!)])),
    key,
  );
  for (const [src, l] of bySource) {
    const addrs = serves.get(src);
    for (const { r, ks, scores } of l)
      for (let i = 0; i < ks.length; i++) {
        if (!mayServe(addrs, open[ks[i]!]!.j.access!, key)) continue;
        pairScore.push(scores[i]!);
        pairK.push(ks[i]!);
        pairLine.push(r);
      }
  }
  const order = Uint32Array.from(pairScore.keys()).sort((x, y) => pairScore[x]! - pairScore[y]!);
  const takenReq = new Set<number>();
  const takenLine = new Set<LogRecord>();
  let joined = 0;
  for (const i of order) {
    const k = pairK[i]!;
    const r = pairLine[i]!;
    if (takenReq.has(k) || takenLine.has(r)) continue;
    takenReq.add(k);
    takenLine.add(r);
    open[k]!.j.logs.push(r);
    joined++;
  }
  return joined;
}
