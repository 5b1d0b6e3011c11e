// Trace analysis over a set of spans: per-trace summary (root, duration, errors, critical path),
// self time per service and operation (a span's duration minus the union of its children's, clamped
// to the span), and the service map: an edge parent-service → child-service wherever a span's
// parent belongs to another service, with RED numbers (requests, errors, duration percentiles of
// the child spans). Pure: spans in, report out.

import type { Span } from '../../model/span.js';
import { criticalPath, criticalTimeBySpan, type PathSegment } from './critical-path.js';
import { buildTraces, type Trace, type TraceNode } from './tree.js';

export interface TraceSummary {
  traceId: string;
  rootService: string | null;
  rootName: string;
  startUs: number;
  durationMs: number;
  spans: number;
  services: string[];
  errors: number;
  orphans: number;
  /** Biggest contributors on the critical path (span name, service, ms). */
  criticalPath: { service: string | null; name: string; ms: number }[];
}

export interface SelfTimeRow {
  service: string | null;
  operation: string;
  count: number;
  totalMs: number;
  selfMs: number;
  /** Time this operation spent on critical paths, summed over traces. */
  criticalMs: number;
  errors: number;
}

export interface ServiceEdge {
  from: string | null;
  to: string | null;
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface TracesReport {
  traces: number;
  spans: number;
  services: string[];
  errorTraces: number;
  durationMs: { p50: number; p95: number; p99: number; max: number };
  slowest: TraceSummary[];
  serviceMap: ServiceEdge[];
  selfTime: SelfTimeRow[];
}

export interface TracesOptions {
  /** How many slowest traces to list (default 10). */
  top?: number;
  /** Rows of the self-time table (default 30). */
  selfTimeRows?: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const ms = (us: number): number => Math.round(us) / 1000;

/** Self time of a node: its duration minus the union of its children's intervals within it. */
export function selfTimeUs(n: TraceNode): number {
  const s = n.span;
  const dur = Math.max(0, s.endUs - s.startUs);
  if (n.children.length === 0) return dur;
  const iv = n.children
    .map((c) => [Math.max(c.span.startUs, s.startUs), Math.min(c.span.endUs, s.endUs)] as const)
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let curA = -Infinity;
  let curB = -Infinity;
  for (const [a, b] of iv) {
    if (a > curB) {
      if (curB > curA) covered += curB - curA;
      curA = a;
      curB = b;
    } else if (b > curB) curB = b;
  }
  if (curB > curA) covered += curB - curA;
  return Math.max(0, dur - covered);
}

export function summarizeTrace(t: Trace, path?: PathSegment[]): TraceSummary {
  const p = path ?? criticalPath(t);
  const root = t.roots.reduce<TraceNode | undefined>(
    (best, r) =>
      !best || r.span.endUs - r.span.startUs > best.span.endUs - best.span.startUs ? r : best,
    undefined,
  );
  const services = new Set<string>();
  let errors = 0;
  for (const n of t.nodes) {
    if (n.span.service) services.add(n.span.service);
    if (n.span.status === 'error') errors++;
  }
  const contrib = criticalTimeBySpan(p);
  const top = [...contrib.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([id, us]) => {
      const s = t.byId.get(id)!.span;
      return { service: s.service, name: s.name, ms: ms(us) };
    });
  return {
    traceId: t.traceId,
    rootService: root?.span.service ?? null,
    rootName: root?.span.name ?? '',
    startUs: t.startUs,
    durationMs: ms(t.endUs - t.startUs),
    spans: t.nodes.length,
    services: [...services].sort(),
    errors,
    orphans: t.orphans,
    criticalPath: top,
  };
}

export function analyzeTraces(spans: Iterable<Span>, opts: TracesOptions = {}): TracesReport {
  const traces = buildTraces(spans);
  const self = new Map<string, SelfTimeRow>();
  const edges = new Map<
    string,
    { from: string | null; to: string | null; durs: number[]; errors: number }
  >();
  const summaries: TraceSummary[] = [];
  const services = new Set<string>();
  let spanCount = 0;
  let errorTraces = 0;
  for (const t of traces) {
    const path = criticalPath(t);
    const crit = criticalTimeBySpan(path);
    const sum = summarizeTrace(t, path);
    summaries.push(sum);
    if (sum.errors > 0) errorTraces++;
    for (const n of t.nodes) {
      spanCount++;
      const s = n.span;
      if (s.service) services.add(s.service);
      const key = `${s.service ?? ''}\u0000${s.name}`;
      let row = self.get(key);
      if (!row) {
        row = {
          service: s.service,
          operation: s.name,
          count: 0,
          totalMs: 0,
          selfMs: 0,
          criticalMs: 0,
          errors: 0,
        };
        self.set(key, row);
      }
      row.count++;
      row.totalMs += Math.max(0, s.endUs - s.startUs) / 1000;
      row.selfMs += selfTimeUs(n) / 1000;
      row.criticalMs += (crit.get(s.spanId) ?? 0) / 1000;
      if (s.status === 'error') row.errors++;
      // An edge where the parent belongs to another service (or a root entering a service).
      const from = n.parent ? n.parent.span.service : null;
      if (n.parent === null || from !== s.service) {
        const ek = `${from ?? ''}\u0000${s.service ?? ''}`;
        let e = edges.get(ek);
        if (!e) edges.set(ek, (e = { from, to: s.service, durs: [], errors: 0 }));
        e.durs.push(Math.max(0, s.endUs - s.startUs) / 1000);
        if (s.status === 'error') e.errors++;
      }
    }
  }
  const durs = summaries.map((s) => s.durationMs).sort((a, b) => a - b);
  const serviceMap: ServiceEdge[] = [...edges.values()]
    .map((e) => {
      e.durs.sort((a, b) => a - b);
      return {
        from: e.from,
        to: e.to,
        requests: e.durs.length,
        errors: e.errors,
        errorRate: e.durs.length ? e.errors / e.durs.length : 0,
        p50Ms: round3(quantile(e.durs, 0.5)),
        p95Ms: round3(quantile(e.durs, 0.95)),
        p99Ms: round3(quantile(e.durs, 0.99)),
        maxMs: round3(e.durs[e.durs.length - 1] ?? 0),
      };
    })
    .sort((a, b) => b.requests - a.requests || String(a.from).localeCompare(String(b.from)));
  const selfTime = [...self.values()]
    .map((r) => ({
      ...r,
      totalMs: round3(r.totalMs),
      selfMs: round3(r.selfMs),
      criticalMs: round3(r.criticalMs),
    }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, opts.selfTimeRows ?? 30);
  return {
    traces: traces.length,
    spans: spanCount,
    services: [...services].sort(),
    errorTraces,
    durationMs: {
      p50: quantile(durs, 0.5),
      p95: quantile(durs, 0.95),
      p99: quantile(durs, 0.99),
      max: durs[durs.length - 1] ?? 0,
    },
    slowest: summaries.sort((a, b) => b.durationMs - a.durationMs).slice(0, opts.top ?? 10),
    serviceMap,
    selfTime,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
