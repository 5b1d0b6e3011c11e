// When was each model server saturated? From the app logs' inference times (a line written when
// a request's inference ended, saying how long it took): each server's concurrency over time, its
// capacity (the most inferences it ever ran at once: 1 for a blocking worker, more for an async
// server or several workers), and the intervals when it ran at capacity — in that server's own
// clock. Used where the wait before inference cannot be measured on the wire (logs only): a
// request that waited while its server had a free slot did not wait in that server's queue — the
// time went to the network (or the proxy) between them. Pure.

import type { LogRecord } from '../../model/records.js';

/** A server at capacity: disjoint intervals [starts[i], ends[i]] in µs, sorted. */
export interface BusyTimeline {
  /** The most inferences seen running at once. */
  capacity: number;
  starts: Float64Array;
  ends: Float64Array;
}

/** Fewer inference lines than this on a server: its capacity is not known well enough. */
const MIN_LINES = 5;

/** Which server a log line speaks for: its file, and its host/server name when it gives one. */
export function serverKeyOf(r: LogRecord): string {
  const s = r.attributes['server'];
  return `${r.file}\u0000${r.host ?? ''}\u0000${typeof s === 'string' ? s : ''}`;
}

/**
 * Saturation timelines per server from every record with an inference time (`inferenceOf` gives
 * it in ms, or null); a record's timestamp is taken as the end of its inference.
 */
export function busyTimelines(
  logs: readonly LogRecord[],
  inferenceOf: (r: LogRecord) => number | null,
): Map<string, BusyTimeline> {
  const raw = new Map<string, number[]>();
  for (const r of logs) {
    if (r.tsUs === null) continue;
    const ms = inferenceOf(r);
    if (ms === null || !(ms > 0)) continue;
    const k = serverKeyOf(r);
    let l = raw.get(k);
    if (!l) raw.set(k, (l = []));
    // events: start (+1) and end (−1); at equal times ends first (back-to-back is not overlap)
    l.push(r.tsUs - ms * 1000, 1, r.tsUs, -1);
  }
  const out = new Map<string, BusyTimeline>();
  for (const [k, flat] of raw) {
    if (flat.length / 4 < MIN_LINES) continue;
    const ev: [number, number][] = [];
    for (let i = 0; i < flat.length; i += 2) ev.push([flat[i]!, flat[i + 1]!]);
    ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let n = 0;
    let capacity = 0;
    for (const [, d] of ev) capacity = Math.max(capacity, (n += d));
    const starts: number[] = [];
    const ends: number[] = [];
    n = 0;
    for (const [t, d] of ev) {
      const was = n;
      n += d;
      if (was < capacity && n >= capacity) {
        // back to capacity right where the last saturated interval ended: extend it
        if (ends.length > 0 && ends[ends.length - 1] === t) ends.pop();
        else starts.push(t);
      } else if (was >= capacity && n < capacity) ends.push(t);
    }
    out.set(k, { capacity, starts: Float64Array.from(starts), ends: Float64Array.from(ends) });
  }
  return out;
}

/** µs of [from, to] during which the server ran at capacity. */
export function busyWithin(t: BusyTimeline, from: number, to: number): number {
  if (!(to > from)) return 0;
  // first interval that ends after `from`
  let lo = 0;
  let hi = t.ends.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (t.ends[m]! <= from) lo = m + 1;
    else hi = m;
  }
  let busy = 0;
  for (let i = lo; i < t.starts.length && t.starts[i]! < to; i++) {
    busy += Math.min(to, t.ends[i]!) - Math.max(from, t.starts[i]!);
  }
  return busy;
}
