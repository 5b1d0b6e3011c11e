// Where a request's time went, from its trace alone (no capture, no access log): the trace's
// critical path (traces/critical-path.ts — the chain of work that set its end-to-end latency),
// each stretch given to what the span on the path was doing:
//  - inference: a span that says so by name (`model.forward`, `predict`, `generate`…) or by
//    OpenTelemetry GenAI attributes (`gen_ai.*`, also a CLIENT span calling a hosted model), and
//    everything under it;
//  - queueing: a span named for waiting (`queue`, `wait`, `schedule`, `pending`, `batch wait`…) and
//    everything under it;
//  - network: a CLIENT span's own time (the call was in flight, its server had not started or had
//    answered) — unless the called side is not in the trace and the call is to a model, which is
//    inference seen from the caller;
//  - other: the rest (the services' own code: parsing, pre/post-processing).
// Pure.

import type { Span } from '../../model/span.js';
import { criticalPath } from '../traces/critical-path.js';
import type { Trace, TraceNode } from '../traces/tree.js';

export type TracePart = 'network' | 'queueing' | 'inference' | 'other';

export interface TraceAttribution {
  root: Span;
  totalMs: number;
  parts: Record<TracePart, number>;
  /** The spans that took each part, longest first (name and ms), for evidence. */
  top: Record<TracePart, { name: string; ms: number }[]>;
  /** The longest inference span, if any. */
  inferenceSpan: Span | null;
}

export const INFERENCE_NAME = /infer|predict|generat|forward|model|llm|completion|embed/i;
const QUEUE_NAME = /queue|wait|schedul|pending|backlog|throttl|admission/i;

/** OpenTelemetry GenAI attributes (`gen_ai.*`): a span about a model call. */
export function isGenAi(s: Span): boolean {
  for (const k in s.attributes) if (k.startsWith('gen_ai.')) return true;
  return false;
}

/** What a span's own time on the critical path counts as, ignoring its ancestors. */
function ownPart(n: TraceNode): TracePart | null {
  const s = n.span;
  if (isGenAi(s)) return 'inference';
  if (s.kind === 'client') {
    const answered = n.children.some((c) => c.span.kind === 'server' || c.span.kind === 'consumer');
    return !answered && INFERENCE_NAME.test(s.name) ? 'inference' : 'network';
  }
  if (s.kind === 'server') return null;
  if (QUEUE_NAME.test(s.name)) return 'queueing';
  if (INFERENCE_NAME.test(s.name)) return 'inference';
  return null;
}

/** The part of each span: inference and queueing spans hand theirs down to their descendants. */
function partOf(n: TraceNode, memo: Map<TraceNode, TracePart>): TracePart {
  const known = memo.get(n);
  if (known !== undefined) return known;
  // inherited first: a client call inside a model span is still the model's time
  let inherited: TracePart | null = null;
  for (let p = n.parent, d = 0; p !== null && d < 512; p = p.parent, d++) {
    const own = ownPart(p);
    if (own === 'inference' || own === 'queueing') {
      inherited = own;
      break;
    }
  }
  const part = inherited ?? ownPart(n) ?? 'other';
  memo.set(n, part);
  return part;
}

function longestRoot(t: Trace): TraceNode | null {
  let best: TraceNode | null = null;
  for (const r of t.roots)
    if (!best || r.span.endUs - r.span.startUs > best.span.endUs - best.span.startUs) best = r;
  return best;
}

export function attributeTrace(t: Trace): TraceAttribution | null {
  const root = longestRoot(t);
  if (!root) return null;
  const parts: Record<TracePart, number> = { network: 0, queueing: 0, inference: 0, other: 0 };
  const bySpan = new Map<string, { name: string; part: TracePart; us: number }>();
  const memo = new Map<TraceNode, TracePart>();
  for (const seg of criticalPath(t, root)) {
    const n = t.byId.get(seg.spanId);
    if (!n) continue;
    const part = partOf(n, memo);
    const us = seg.endUs - seg.startUs;
    parts[part] += us / 1000;
    const e = bySpan.get(seg.spanId);
    if (e) e.us += us;
    else
      bySpan.set(seg.spanId, {
        name: `${n.span.service ? `${n.span.service}: ` : ''}${n.span.name}`,
        part,
        us,
      });
  }
  const top: TraceAttribution['top'] = { network: [], queueing: [], inference: [], other: [] };
  for (const e of [...bySpan.values()].sort((a, b) => b.us - a.us))
    if (top[e.part].length < 3) top[e.part].push({ name: e.name, ms: e.us / 1000 });
  let inferenceSpan: Span | null = null;
  for (const n of t.nodes) {
    if (partOf(n, memo) !== 'inference' || ownPart(n) !== 'inference') continue;
    const s = n.span;
    if (!inferenceSpan || s.endUs - s.startUs > inferenceSpan.endUs - inferenceSpan.startUs)
      inferenceSpan = s;
  }
  return {
    root: root.span,
    totalMs: Math.max(0, root.span.endUs - root.span.startUs) / 1000,
    parts,
    top,
    inferenceSpan,
  };
}

/** HTTP method, route and status of a request's root span (semantic conventions old and new). */
export function httpOfSpan(s: Span): {
  method: string | null;
  path: string | null;
  status: number | null;
  grpcStatus: number | null;
} {
  const a = s.attributes;
  const str = (...keys: string[]): string | null => {
    for (const k of keys) {
      const v = a[k];
      if (typeof v === 'string' && v !== '') return v;
    }
    return null;
  };
  const num = (...keys: string[]): number | null => {
    for (const k of keys) {
      const v = a[k];
      const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
      if (Number.isFinite(n)) return n;
    }
    return null;
  };
  let path = str('http.route', 'url.path', 'http.target', 'rpc.method');
  if (path === null) {
    const url = str('url.full', 'http.url');
    if (url !== null) path = /^[a-z]+:\/\/[^/]*(\/[^?#]*)?/i.exec(url)?.[1] ?? '/';
  }
  if (path !== null && path.length > 200) path = path.slice(0, 200);
  return {
    method: str('http.request.method', 'http.method'),
    path,
    status: num('http.response.status_code', 'http.status_code'),
    grpcStatus: num('rpc.grpc.status_code'),
  };
}
