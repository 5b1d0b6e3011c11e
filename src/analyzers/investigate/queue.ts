// Queueing at a server seen only on the wire (no app log says when inference started). Each
// request's arrival (its last request byte) and answer (first response byte) at the server are
// known; the server is modelled as C slots served first come, first served: a request starts when
// fewer than C of the requests that arrived before it are still unanswered. C is not known: it is
// the smallest capacity the capture is consistent with. Answers in arrival order fit one slot, so
// consistency also asks that a request the model holds in the queue still gets a plausible
// processing time once started: at least half of what requests that found the server empty
// usually take (their 10th percentile). A blocking worker comes out at 1; an async server, or
// several workers, at the concurrency they really ran. The wait (start − arrival) is queueing;
// the rest of the server time is processing. Pure.
//
// A single worker need not serve in arrival order: behind HAProxy (a new server connection per
// client connection) a blocked uvicorn worker serves the connections it already holds before new
// ones. So one slot in answer order is tried first: each request starts at the previous answer
// (or its arrival, if later) — exactly what one worker does, whatever order it took requests in.
// Any answers fit that model, so it is believed only when it holds at least MIN_HELD requests
// and leaves each held one at least half its route's usual processing time (the median of the
// route's requests that found the server empty): an async server answering several at once
// leaves most of them far less — 20–80 % of held requests on the labs' async servers, none on the
// blocking one — and when it starts a request on arrival, no earlier arrival answered later may
// have been waiting (a worker does not idle with work queued; on an async server short requests
// overtake long ones). Otherwise C slots in arrival order, as above.

import type { Exchange } from '../../model/records.js';
import { upperBound } from '../../util/search.js';

export interface QueueEstimate {
  /** The capacity the server's requests are consistent with. */
  capacity: number;
  /** Estimated wait in the server's queue per exchange, µs. */
  waitUs: Map<Exchange, number>;
}

/** Share of requests allowed to contradict a capacity (clock jitter, out-of-order answers). */
const TOLERATED = 0.05;
/** An answer this much before the modelled start still counts as consistent (µs). */
const SLACK_US = 1000;
/** Fewer answered requests than this at a server: no estimate. */
const MIN_REQUESTS = 8;
/** Servers seen running more requests at once than this are not modelled as slots. */
const MAX_MODELLED_SLOTS = 64;
/** Requests that found the server empty needed to know its usual processing time. */
const MIN_ALONE = 5;

interface Item {
  x: Exchange;
  a: number;
  d: number;
  /** The request's route (path without the query): processing times are compared within it. */
  route: string;
}

/** Requests the one-slot, answer-order model must hold in the queue before it is believed. */
const MIN_HELD = 5;
/** Requests of a route that found the server empty needed to know the route's usual time. */
const MIN_ALONE_ROUTE = 3;

/**
 * One slot serving in the order it answered (items sorted by answer): a request starts at its
 * arrival or at the previous answer, whichever is later — whatever order requests arrived in
 * (a worker that serves the connections it holds before new ones, a proxy that opens a new
 * connection per request). Returns how many requests it held and how many it contradicts: held,
 * then left less than half their route's usual processing time (an async server answering
 * several at once); or started on arrival after the slot sat idle while an earlier arrival,
 * answered later, was waiting (one worker does not idle with work queued: an async server lets
 * short requests overtake a long one).
 */
function simulateAnswerOrder(
  byAnswer: readonly Item[],
  usualUs: ReadonlyMap<string, number>,
  starts: Map<Exchange, number> | null,
): { held: number; bad: number } {
  // the earliest arrival among requests answered from each position on
  const firstLater = new Float64Array(byAnswer.length + 1).fill(Infinity);
  for (let i = byAnswer.length - 1; i >= 0; i--)
    firstLater[i] = Math.min(firstLater[i + 1]!, byAnswer[i]!.a);
  let held = 0;
  let bad = 0;
  let prev = -Infinity;
  for (let i = 0; i < byAnswer.length; i++) {
    const it = byAnswer[i]!;
    const start = Math.max(it.a, prev);
    if (start > it.a) {
      held++;
      if (it.d - start < 0.5 * usualUs.get(it.route)! - SLACK_US) bad++;
    } else if (it.a > prev + SLACK_US && firstLater[i + 1]! < it.a - SLACK_US) bad++;
    starts?.set(it.x, start);
    prev = it.d;
  }
  return { held, bad };
}

/**
 * Each route's usual processing time: the median of its requests that found the server empty
 * (`alone`; the server's median when the route has too few); null when the server has too few.
 */
function usualByRoute(items: readonly Item[], alone: readonly Item[]): Map<string, number> | null {
  if (alone.length < MIN_ALONE) return null;
  const aloneByRoute = new Map<string, number[]>();
  for (const it of alone) {
    let l = aloneByRoute.get(it.route);
    if (!l) aloneByRoute.set(it.route, (l = []));
    l.push(it.d - it.a);
  }
  const median = (l: number[]): number => l.sort((p, q) => p - q)[(l.length - 1) >> 1]!;
  const serverUs = median(alone.map((it) => it.d - it.a));
  const out = new Map<string, number>();
  for (const it of items) {
    if (out.has(it.route)) continue;
    const l = aloneByRoute.get(it.route);
    out.set(it.route, l && l.length >= MIN_ALONE_ROUTE ? median(l) : serverUs);
  }
  return out;
}

/**
 * Starts under capacity `c` (items sorted by arrival); returns how many requests contradict it:
 * held in the queue, then left less than `minProcUs` of processing.
 */
function simulate(
  items: readonly Item[],
  c: number,
  minProcUs: number,
  starts: Float64Array | null,
): number {
  // answer times of earlier arrivals still unanswered, ascending
  const pending: number[] = [];
  let bad = 0;
  for (let i = 0; i < items.length; i++) {
    const { a, d } = items[i]!;
    let drop = 0;
    while (drop < pending.length && pending[drop]! <= a) drop++;
    if (drop > 0) pending.splice(0, drop);
    const u = pending.length;
    const start = u < c ? a : pending[u - c]!;
    if (start > a && start > d - minProcUs + SLACK_US) bad++;
    if (starts) starts[i] = Math.min(start, d);
    // insert d, keeping the order
    pending.splice(upperBound(pending, d), 0, d);
  }
  return bad;
}

/** The queue estimate for the exchanges one server answered; null when too few. */
export function estimateQueueing(exchanges: readonly Exchange[]): QueueEstimate | null {
  const items: Item[] = [];
  for (const x of exchanges) {
    if (x.reqLastUs === null || x.respFirstUs === null || x.respFirstUs < x.reqLastUs) continue;
    const path = x.path ?? '';
    const q = path.indexOf('?');
    items.push({ x, a: x.reqLastUs, d: x.respFirstUs, route: q < 0 ? path : path.slice(0, q) });
  }
  if (items.length < MIN_REQUESTS) return null;
  items.sort((p, q) => p.a - q.a || p.d - q.d);
  // The most requests ever unanswered at an arrival: no capacity above it can make anyone wait,
  // and it bounds each simulation's work (a sorted list of at most that many answer times).
  const answers = Float64Array.from(items, (it) => it.d).sort();
  let maxPending = 0;
  for (let i = 0, j = 0; i < items.length; i++) {
    while (j < answers.length && answers[j]! <= items[i]!.a) j++;
    maxPending = Math.max(maxPending, i - j);
  }
  const waitUs = new Map<Exchange, number>();
  if (maxPending > MAX_MODELLED_SLOTS) {
    // a server answering this many at once is not a handful of slots: nothing is said to queue
    for (const it of items) waitUs.set(it.x, 0);
    return { capacity: maxPending + 1, waitUs };
  }
  const allowed = Math.floor(TOLERATED * items.length);
  // requests that found no earlier one unanswered (no queue, whatever C is)
  const aloneItems: Item[] = [];
  let lastAnswer = -Infinity;
  for (const it of items) {
    if (it.a >= lastAnswer) aloneItems.push(it);
    lastAnswer = Math.max(lastAnswer, it.d);
  }
  const alone = aloneItems.map((it) => it.d - it.a).sort((p, q) => p - q);
  const minProcUs =
    alone.length >= MIN_ALONE ? 0.5 * alone[Math.floor(0.1 * (alone.length - 1))]! : 0;
  // One slot serving in the order it answered, when the capture shows it (see the top): exact for
  // a single worker whatever order it took requests in, and the same as arrival order otherwise.
  const usual = usualByRoute(items, aloneItems);
  if (usual) {
    const byAnswer = [...items].sort((p, q) => p.d - q.d || p.a - q.a);
    const { held, bad } = simulateAnswerOrder(byAnswer, usual, null);
    if (held >= MIN_HELD && bad <= allowed) {
      const starts = new Map<Exchange, number>();
      simulateAnswerOrder(byAnswer, usual, starts);
      for (const it of items) waitUs.set(it.x, Math.max(0, starts.get(it.x)! - it.a));
      return { capacity: 1, waitUs };
    }
  }
  // inconsistency only falls as capacity grows: the smallest consistent one by bisection
  let lo = 1;
  let hi = maxPending + 1;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (simulate(items, m, minProcUs, null) <= allowed) hi = m;
    else lo = m + 1;
  }
  const starts = new Float64Array(items.length);
  simulate(items, lo, minProcUs, starts);
  for (let i = 0; i < items.length; i++)
    waitUs.set(items[i]!.x, Math.max(0, starts[i]! - items[i]!.a));
  return { capacity: lo, waitUs };
}
