// Critical path of a trace (the chain of work that determined its end-to-end latency), the way
// Jaeger computes it: walk back from the end of a span; at each point pick the child that ends last
// at or before that point, give the gap after it to the parent, descend into the child (bounded by
// where it ended), then continue from the child's start. Overlapping siblings: only the one that
// ends last is on the path for the stretch it covers. Async children that outlive their parent are
// clamped to the parent's end (the parent did not wait for them past that point); children that
// start before the parent (clock skew) are clamped to the parent's start.

import type { Trace, TraceNode } from './tree.js';

export interface PathSegment {
  spanId: string;
  service: string | null;
  name: string;
  startUs: number;
  endUs: number;
}

export function criticalPath(trace: Trace, root?: TraceNode): PathSegment[] {
  const r = root ?? longestRoot(trace);
  if (!r) return [];
  const out: PathSegment[] = [];
  walk(r, r.span.startUs, r.span.endUs, out, 0);
  out.reverse();
  // Merge adjacent segments of the same span.
  const merged: PathSegment[] = [];
  for (const s of out) {
    const last = merged[merged.length - 1];
    if (last && last.spanId === s.spanId && last.endUs === s.startUs) last.endUs = s.endUs;
    else if (s.endUs > s.startUs) merged.push({ ...s });
  }
  return merged;
}

function longestRoot(t: Trace): TraceNode | undefined {
  let best: TraceNode | undefined;
  for (const r of t.roots)
    if (!best || r.span.endUs - r.span.startUs > best.span.endUs - best.span.startUs) best = r;
  return best;
}

const MAX_DEPTH = 512;

/** Appends segments in reverse time order for the window [lo, hi] of node `n`. */
function walk(n: TraceNode, lo: number, hi: number, out: PathSegment[], depth: number): void {
  const s = n.span;
  const seg = (a: number, b: number): void => {
    if (b > a)
      out.push({ spanId: s.spanId, service: s.service, name: s.name, startUs: a, endUs: b });
  };
  if (depth > MAX_DEPTH) {
    seg(lo, hi);
    return;
  }
  // Children clamped to the window, latest end first.
  const kids = n.children
    .map((c) => ({
      c,
      start: Math.max(c.span.startUs, lo),
      end: Math.min(c.span.endUs, hi),
    }))
    .filter((k) => k.end > k.start)
    .sort((a, b) => b.end - a.end || b.start - a.start);
  let cur = hi;
  let i = 0;
  while (cur > lo) {
    // The child that ends last at or before `cur`.
    while (i < kids.length && kids[i]!.end > cur) i++;
    if (i >= kids.length) break;
    const k = kids[i++]!;
    if (k.start >= cur) continue;
    seg(k.end, cur);
    walk(k.c, k.start, k.end, out, depth + 1);
    cur = k.start;
  }
  seg(lo, cur);
}

/** Time on the critical path per span id, µs. */
export function criticalTimeBySpan(path: readonly PathSegment[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of path) m.set(p.spanId, (m.get(p.spanId) ?? 0) + (p.endUs - p.startUs));
  return m;
}
