// Spans → traces: group by trace id, link parents and children, find roots. A span whose parent is
// missing (not exported, or dropped) is treated as a root and counted as an orphan. Duplicate span
// ids (re-sent batches) keep the first copy.

import type { Span } from '../../model/span.js';

export interface TraceNode {
  span: Span;
  parent: TraceNode | null;
  children: TraceNode[];
  depth: number;
}

export interface Trace {
  traceId: string;
  nodes: TraceNode[];
  roots: TraceNode[];
  byId: Map<string, TraceNode>;
  /** Spans whose parent id is not in the trace. */
  orphans: number;
  duplicates: number;
  startUs: number;
  endUs: number;
}

export function groupByTrace(spans: Iterable<Span>): Map<string, Span[]> {
  const m = new Map<string, Span[]>();
  for (const s of spans) {
    let l = m.get(s.traceId);
    if (!l) m.set(s.traceId, (l = []));
    l.push(s);
  }
  return m;
}

export function buildTrace(traceId: string, spans: readonly Span[]): Trace {
  const byId = new Map<string, TraceNode>();
  const nodes: TraceNode[] = [];
  let duplicates = 0;
  for (const s of spans) {
    if (byId.has(s.spanId)) {
      duplicates++;
      continue;
    }
    const n: TraceNode = { span: s, parent: null, children: [], depth: 0 };
    byId.set(s.spanId, n);
    nodes.push(n);
  }
  const roots: TraceNode[] = [];
  let orphans = 0;
  for (const n of nodes) {
    const pid = n.span.parentSpanId;
    const p = pid === null ? undefined : byId.get(pid);
    if (p && p !== n) {
      n.parent = p;
      p.children.push(n);
    } else {
      if (pid !== null) orphans++;
      roots.push(n);
    }
  }
  // A parent cycle (hostile input) leaves nodes unreachable from any root: make the earliest a root.
  const reached = new Set<TraceNode>();
  const visit = (start: TraceNode): void => {
    const stack: TraceNode[] = [start];
    start.depth = 0;
    while (stack.length) {
      const n = stack.pop()!;
      if (reached.has(n)) continue;
      reached.add(n);
      n.children.sort(byStart);
      for (const c of n.children) {
        c.depth = n.depth + 1;
        stack.push(c);
      }
    }
  };
  roots.sort(byStart);
  for (const r of roots) visit(r);
  if (reached.size < nodes.length) {
    for (const n of [...nodes].sort(byStart)) {
      if (reached.has(n)) continue;
      if (n.parent) n.parent.children.splice(n.parent.children.indexOf(n), 1);
      n.parent = null;
      roots.push(n);
      visit(n);
    }
  }
  let startUs = Infinity;
  let endUs = -Infinity;
  for (const n of nodes) {
    if (n.span.startUs < startUs) startUs = n.span.startUs;
    if (n.span.endUs > endUs) endUs = n.span.endUs;
  }
  return {
    traceId,
    nodes,
    roots,
    byId,
    orphans,
    duplicates,
    startUs: nodes.length ? startUs : 0,
    endUs: nodes.length ? endUs : 0,
  };
}

function byStart(a: TraceNode, b: TraceNode): number {
  return a.span.startUs - b.span.startUs || (a.span.spanId < b.span.spanId ? -1 : 1);
}

export function buildTraces(spans: Iterable<Span>): Trace[] {
  const out: Trace[] = [];
  for (const [id, list] of groupByTrace(spans)) out.push(buildTrace(id, list));
  return out;
}

/** Depth-first order (children by start time), for waterfalls. */
export function walkTrace(t: Trace): TraceNode[] {
  const out: TraceNode[] = [];
  const stack = [...t.roots].reverse();
  const seen = new Set<TraceNode>();
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}
