// Streaming evaluation of parsed expressions: `Expr` → a tree of nodes evaluated at step ticks.
// Log ranges live in a shared `RangeIndex` fed every record once (ranges with the same selector,
// pipeline, window and series labels share one state); function nodes that need history
// (zscore_robust, zscore_ewma) keep it per series, bounded by their window.

import type { LogRecord } from '../../model/records.js';
import type { AggOp, BinOp, Expr, LogRange, Matcher, RangeFunc } from './ast.js';
import { labelString, recordLabel } from './labels.js';
import {
  matchSelector,
  pinnedLabels,
  RangeState,
  RangeView,
  type RangeSource,
  type RecordCtx,
} from './range-state.js';

export type Labels = [string, string][];
export interface Sample {
  labels: Labels;
  value: number;
}
export type Value = { kind: 'scalar'; v: number } | { kind: 'vector'; s: Sample[] };

export interface EvalNode {
  readonly kind: 'scalar' | 'vector';
  eval(tMs: number): Value;
}

export class ExprError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Canonical key of a label set (sorted by name). */
export function labelsKey(ls: Labels): string {
  let k = '';
  for (const [n, v] of ls) k += n + '\u0001' + v + '\u0000';
  return k;
}

function sortLabels(ls: Labels): Labels {
  return ls.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// ---- the record side: ranges indexed by their first equality matcher -------------------------

/** Ranges with the same stream selector: the selector is checked once per record for all. */
interface SelectorGroup {
  matchers: Matcher[];
  /** Index of the matcher the index already checked (-1: none). */
  skip: number;
  states: RangeState[];
}

export class RangeIndex {
  private readonly states = new Map<string, RangeState>();
  private readonly groups = new Map<string, SelectorGroup>();
  /** label name → value → selector groups whose first `=` matcher is that label/value. */
  private readonly byLabel = new Map<string, Map<string, SelectorGroup[]>>();
  /** `byLabel` as an array (no iterator per record). */
  private indexed: { name: string; values: Map<string, SelectorGroup[]> }[] = [];
  private readonly unindexed: SelectorGroup[] = [];
  private readonly ctx: RecordCtx = { rec: null, line: null };
  records = 0;

  constructor(readonly stepMs: number) {}

  /**
   * The shared state for a range with these series labels (sorted). Ranges that differ only in
   * labels the selector pins share one state, seen through a RangeView; a quantile joining a
   * range makes its state keep raw values (the state is never replaced: nodes compiled earlier
   * hold it).
   */
  get(range: LogRange, labelNames: string[], keepValues: boolean): RangeSource {
    const pinned = pinnedLabels(range);
    const key = JSON.stringify([
      range.matchers.map((m) => [m.name, m.op, m.value]),
      range.stages.map((s) =>
        s.kind === 'line' ? [s.op, s.value] : s.kind === 'label' ? ['l', s.pred] : ['p', s.name],
      ),
      range.unwrap,
      range.rangeMs,
      range.offsetMs,
      labelNames.filter((n) => !pinned.has(n)),
    ]);
    let st = this.states.get(key);
    if (st === undefined) {
      st = new RangeState(range, labelNames, this.stepMs, keepValues);
      this.states.set(key, st);
      this.group(range).states.push(st);
    } else if (keepValues) st.keepRawValues();
    const same =
      st.labelNames.length === labelNames.length &&
      st.labelNames.every((n, i) => n === labelNames[i]);
    return same ? st : new RangeView(st, labelNames);
  }

  /** The selector group of `range`, created (and indexed) on first use. */
  private group(range: LogRange): SelectorGroup {
    const ms = range.matchers;
    const key = JSON.stringify(ms.map((m) => [m.name, m.op, m.value]));
    let g = this.groups.get(key);
    if (g !== undefined) return g;
    const skip = ms.findIndex((m) => m.op === '=' && m.value !== '');
    g = { matchers: ms, skip, states: [] };
    this.groups.set(key, g);
    if (skip >= 0) {
      const primary = ms[skip]!;
      let m = this.byLabel.get(primary.name);
      if (!m) {
        this.byLabel.set(primary.name, (m = new Map<string, SelectorGroup[]>()));
        this.indexed = [...this.byLabel].map(([name, values]) => ({ name, values }));
      }
      const list = m.get(primary.value);
      if (list) list.push(g);
      else m.set(primary.value, [g]);
    } else this.unindexed.push(g);
    return g;
  }

  /** Feed one record (its time in ms). */
  push(r: LogRecord, tsMs: number): void {
    this.records++;
    const idx = this.indexed;
    for (let i = 0; i < idx.length; i++) {
      const e = idx[i]!;
      const list = e.values.get(labelString(recordLabel(r, e.name)));
      if (list !== undefined) for (let j = 0; j < list.length; j++) this.offer(list[j]!, r, tsMs);
    }
    const u = this.unindexed;
    for (let i = 0; i < u.length; i++) this.offer(u[i]!, r, tsMs);
  }

  private offer(g: SelectorGroup, r: LogRecord, tsMs: number): void {
    if (!matchSelector(g.matchers, g.skip, r)) return;
    const st = g.states;
    for (let i = 0; i < st.length; i++) st[i]!.offerMatched(r, tsMs, this.ctx);
  }

  advance(tMs: number): void {
    for (const s of this.states.values()) s.advance(tMs);
  }

  all(): RangeState[] {
    return [...this.states.values()];
  }

  /** Live series across all ranges (a memory gauge). */
  seriesCount(): number {
    let n = 0;
    for (const s of this.states.values()) n += s.series.size;
    return n;
  }
}

// ---- nodes ----------------------------------------------------------------------------------

class NumberNode implements EvalNode {
  readonly kind = 'scalar' as const;
  constructor(private readonly v: number) {}
  eval(): Value {
    return { kind: 'scalar', v: this.v };
  }
}

class RangeNode implements EvalNode {
  readonly kind = 'vector' as const;
  constructor(
    private readonly state: RangeSource,
    private readonly fn: RangeFunc,
    private readonly param: number | null,
  ) {}
  eval(tMs: number): Value {
    return { kind: 'vector', s: this.state.evaluate(this.fn, this.param, tMs) };
  }
}

function groupLabels(ls: Labels, g: { without: boolean; labels: string[] } | null): Labels {
  if (g === null) return [];
  if (g.without) return ls.filter(([n]) => !g.labels.includes(n));
  return ls.filter(([n]) => g.labels.includes(n));
}

class AggNode implements EvalNode {
  readonly kind = 'vector' as const;
  constructor(
    private readonly op: AggOp,
    private readonly param: number | null,
    private readonly grouping: { without: boolean; labels: string[] } | null,
    private readonly arg: EvalNode,
  ) {}
  eval(tMs: number): Value {
    const v = this.arg.eval(tMs);
    const samples = v.kind === 'vector' ? v.s : [];
    const groups = new Map<string, { labels: Labels; vals: Sample[] }>();
    for (const s of samples) {
      const gl = groupLabels(s.labels, this.grouping);
      const k = labelsKey(gl);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { labels: gl, vals: [] }));
      g.vals.push(s);
    }
    const out: Sample[] = [];
    for (const g of groups.values()) {
      const xs = g.vals.map((s) => s.value);
      switch (this.op) {
        case 'sum':
          out.push({ labels: g.labels, value: xs.reduce((a, b) => a + b, 0) });
          break;
        case 'avg':
          out.push({ labels: g.labels, value: xs.reduce((a, b) => a + b, 0) / xs.length });
          break;
        case 'min':
          out.push({ labels: g.labels, value: Math.min(...xs) });
          break;
        case 'max':
          out.push({ labels: g.labels, value: Math.max(...xs) });
          break;
        case 'count':
          out.push({ labels: g.labels, value: xs.length });
          break;
        case 'stddev':
        case 'stdvar': {
          const m = xs.reduce((a, b) => a + b, 0) / xs.length;
          const varr = xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length;
          out.push({ labels: g.labels, value: this.op === 'stddev' ? Math.sqrt(varr) : varr });
          break;
        }
        case 'topk':
        case 'bottomk': {
          const k = Math.max(0, Math.floor(this.param ?? 1));
          const sorted = g.vals
            .slice()
            .sort((a, b) => (this.op === 'topk' ? b.value - a.value : a.value - b.value));
          out.push(...sorted.slice(0, k));
          break;
        }
      }
    }
    return { kind: 'vector', s: out };
  }
}

function arith(op: BinOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
    case '==':
    case '!=':
    case '>':
    case '>=':
    case '<':
    case '<=':
    case 'and':
    case 'or':
    case 'unless':
      return NaN;
  }
}

function cmp(op: BinOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '^':
    case 'and':
    case 'or':
    case 'unless':
      return false;
  }
}

const CMP: ReadonlySet<string> = new Set(['==', '!=', '>', '>=', '<', '<=']);
const SET: ReadonlySet<string> = new Set(['and', 'or', 'unless']);

class BinaryNode implements EvalNode {
  readonly kind: 'scalar' | 'vector';
  constructor(
    private readonly op: BinOp,
    private readonly bool: boolean,
    private readonly matching: { on: boolean; labels: string[] } | null,
    private readonly left: EvalNode,
    private readonly right: EvalNode,
  ) {
    this.kind = left.kind === 'scalar' && right.kind === 'scalar' ? 'scalar' : 'vector';
  }

  private matchKey(ls: Labels): string {
    const m = this.matching;
    if (m === null) return labelsKey(ls);
    return labelsKey(ls.filter(([n]) => (m.on ? m.labels.includes(n) : !m.labels.includes(n))));
  }

  eval(tMs: number): Value {
    const l = this.left.eval(tMs);
    const r = this.right.eval(tMs);
    const op = this.op;
    const isCmp = CMP.has(op);
    if (l.kind === 'scalar' && r.kind === 'scalar') {
      return { kind: 'scalar', v: isCmp ? (cmp(op, l.v, r.v) ? 1 : 0) : arith(op, l.v, r.v) };
    }
    if (l.kind === 'vector' && r.kind === 'scalar')
      return { kind: 'vector', s: this.vs(l.s, r.v, false) };
    if (l.kind === 'scalar' && r.kind === 'vector')
      return { kind: 'vector', s: this.vs(r.s, l.v, true) };
    const ls = (l as { s: Sample[] }).s;
    const rs = (r as { s: Sample[] }).s;
    if (SET.has(op)) {
      const rk = new Set(rs.map((s) => this.matchKey(s.labels)));
      if (op === 'and')
        return { kind: 'vector', s: ls.filter((s) => rk.has(this.matchKey(s.labels))) };
      if (op === 'unless')
        return { kind: 'vector', s: ls.filter((s) => !rk.has(this.matchKey(s.labels))) };
      const lk = new Set(ls.map((s) => this.matchKey(s.labels)));
      return { kind: 'vector', s: [...ls, ...rs.filter((s) => !lk.has(this.matchKey(s.labels)))] };
    }
    const right = new Map<string, Sample>();
    for (const s of rs) right.set(this.matchKey(s.labels), s);
    const out: Sample[] = [];
    for (const s of ls) {
      const o = right.get(this.matchKey(s.labels));
      if (!o) continue;
      const labels = this.matching?.on
        ? s.labels.filter(([n]) => this.matching!.labels.includes(n))
        : s.labels;
      if (isCmp) {
        const ok = cmp(op, s.value, o.value);
        if (this.bool) out.push({ labels, value: ok ? 1 : 0 });
        else if (ok) out.push(s);
      } else out.push({ labels, value: arith(op, s.value, o.value) });
    }
    return { kind: 'vector', s: out };
  }

  private vs(vec: Sample[], k: number, scalarLeft: boolean): Sample[] {
    const op = this.op;
    const out: Sample[] = [];
    if (CMP.has(op)) {
      for (const s of vec) {
        const ok = scalarLeft ? cmp(op, k, s.value) : cmp(op, s.value, k);
        if (this.bool) out.push({ labels: s.labels, value: ok ? 1 : 0 });
        else if (ok) out.push(s);
      }
      return out;
    }
    for (const s of vec)
      out.push({
        labels: s.labels,
        value: scalarLeft ? arith(op, k, s.value) : arith(op, s.value, k),
      });
    return out;
  }
}

class MapNode implements EvalNode {
  readonly kind: 'scalar' | 'vector';
  constructor(
    private readonly arg: EvalNode,
    private readonly f: (x: number) => number,
  ) {
    this.kind = arg.kind;
  }
  eval(tMs: number): Value {
    const v = this.arg.eval(tMs);
    if (v.kind === 'scalar') return { kind: 'scalar', v: this.f(v.v) };
    return { kind: 'vector', s: v.s.map((s) => ({ labels: s.labels, value: this.f(s.value) })) };
  }
}

class VectorNode implements EvalNode {
  readonly kind = 'vector' as const;
  constructor(private readonly v: number) {}
  eval(): Value {
    return { kind: 'vector', s: [{ labels: [], value: this.v }] };
  }
}

/** Minimum history before an anomaly function says anything (avoids alerts on a cold start). */
export const MIN_HISTORY = 5;
/** Scale floor as a share of |center|: deviations under 1% of the level are never anomalous. */
export const REL_SCALE_FLOOR = 0.01;

function scaleFloor(center: number, rel = REL_SCALE_FLOOR): number {
  return Math.max(Math.abs(center) * rel, 1e-12);
}

/** Robust z-score of each series' current value against its own values in the last `windowMs`. */
class ZscoreRobustNode implements EvalNode {
  readonly kind = 'vector' as const;
  private readonly hist = new Map<string, { labels: Labels; ts: number[]; vs: number[] }>();
  constructor(
    private readonly arg: EvalNode,
    private readonly windowMs: number,
    private readonly relFloor: number,
  ) {}
  eval(tMs: number): Value {
    const v = this.arg.eval(tMs);
    const out: Sample[] = [];
    const lo = tMs - this.windowMs;
    const seen = new Set<string>();
    for (const s of v.kind === 'vector' ? v.s : []) {
      const k = labelsKey(s.labels);
      seen.add(k);
      let h = this.hist.get(k);
      if (!h) this.hist.set(k, (h = { labels: s.labels, ts: [], vs: [] }));
      let drop = 0;
      while (drop < h.ts.length && h.ts[drop]! <= lo) drop++;
      if (drop) {
        h.ts.splice(0, drop);
        h.vs.splice(0, drop);
      }
      if (h.vs.length >= MIN_HISTORY && Number.isFinite(s.value)) {
        const { median, mad } = medianMad(h.vs);
        const scale = Math.max(1.4826 * mad, scaleFloor(median, this.relFloor));
        out.push({ labels: s.labels, value: (s.value - median) / scale });
      } else if (h.vs.length >= MIN_HISTORY && Number.isNaN(s.value)) {
        out.push({ labels: s.labels, value: NaN });
      }
      if (Number.isFinite(s.value)) {
        h.ts.push(tMs);
        h.vs.push(s.value);
      }
    }
    for (const [k, h] of this.hist)
      if (!seen.has(k) && (h.ts.length === 0 || h.ts[h.ts.length - 1]! <= lo)) this.hist.delete(k);
    return { kind: 'vector', s: out };
  }
}

export function medianMad(xs: readonly number[]): { median: number; mad: number } {
  const s = xs.slice().sort((a, b) => a - b);
  const med = (a: number[]): number => {
    const n = a.length;
    if (n === 0) return NaN;
    const m = n >> 1;
    return n % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
  };
  const median = med(s);
  const dev = s.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  return { median, mad: med(dev) };
}

/** EWMA mean/variance per series: z-score, or the band edge mean ± k·sd (before the update). */
class EwmaNode implements EvalNode {
  readonly kind = 'vector' as const;
  private readonly st = new Map<string, { n: number; mean: number; var: number; lastT: number }>();
  constructor(
    private readonly arg: EvalNode,
    private readonly alpha: number,
    private readonly mode: 'z' | 'upper' | 'lower',
    private readonly k: number,
    private readonly forgetMs: number,
  ) {}
  eval(tMs: number): Value {
    const v = this.arg.eval(tMs);
    const out: Sample[] = [];
    for (const s of v.kind === 'vector' ? v.s : []) {
      if (!Number.isFinite(s.value)) continue;
      const key = labelsKey(s.labels);
      let e = this.st.get(key);
      if (!e) this.st.set(key, (e = { n: 0, mean: s.value, var: 0, lastT: tMs }));
      if (e.n >= MIN_HISTORY) {
        const sd = Math.max(Math.sqrt(e.var), scaleFloor(e.mean));
        const value =
          this.mode === 'z'
            ? (s.value - e.mean) / sd
            : this.mode === 'upper'
              ? e.mean + this.k * sd
              : e.mean - this.k * sd;
        out.push({ labels: s.labels, value });
      }
      if (e.n > 0) {
        const d = s.value - e.mean;
        e.mean += this.alpha * d;
        e.var = (1 - this.alpha) * (e.var + this.alpha * d * d);
      }
      e.n++;
      e.lastT = tMs;
    }
    for (const [k, e] of this.st) if (tMs - e.lastT > this.forgetMs) this.st.delete(k);
    return { kind: 'vector', s: out };
  }
}

// ---- compile ---------------------------------------------------------------------------------

/** Label names that appear as constant `name="value"` in a range's top-level label filters. */
function constFilterLabels(range: LogRange): string[] {
  const out: string[] = [];
  for (const st of range.stages) {
    if (st.kind !== 'label') continue;
    const walk = (p: typeof st.pred): void => {
      if (p.kind === 'and') {
        walk(p.left);
        walk(p.right);
      } else if (p.kind === 'cmp' && p.op === '=' && typeof p.value === 'string') out.push(p.name);
    };
    walk(st.pred);
  }
  return out;
}

/**
 * Compile `expr` against `index`. `need` is the set of labels enclosing `by (…)`/`on (…)`
 * clauses ask for; range series carry them (see LANGUAGE.md "Series labels").
 */
export function compileExpr(
  expr: Expr,
  index: RangeIndex,
  need: ReadonlySet<string> = new Set(),
): EvalNode {
  switch (expr.type) {
    case 'number':
      return new NumberNode(expr.value);
    case 'range': {
      const names = new Set<string>();
      const g = expr.grouping;
      if (g && !g.without) for (const l of g.labels) names.add(l);
      else {
        for (const m of expr.range.matchers) names.add(m.name);
        for (const l of constFilterLabels(expr.range)) names.add(l);
        for (const l of need) names.add(l);
        if (g) for (const l of g.labels) names.delete(l);
      }
      let state: RangeSource;
      try {
        state = index.get(expr.range, [...names].sort(), expr.fn === 'quantile_over_time');
      } catch (e) {
        throw new ExprError(expr.pos, (e as Error).message);
      }
      return new RangeNode(state, expr.fn, expr.param);
    }
    case 'agg': {
      const g = expr.grouping;
      const childNeed =
        g === null ? new Set<string>() : g.without ? new Set(need) : new Set(g.labels);
      if (expr.op === 'topk' || expr.op === 'bottomk') for (const l of need) childNeed.add(l);
      const arg = compileExpr(expr.arg, index, childNeed);
      if (arg.kind !== 'vector')
        throw new ExprError(expr.pos, `${expr.op} needs a vector, not a number`);
      return new AggNode(expr.op, expr.param, g, arg);
    }
    case 'binary': {
      const childNeed = new Set(need);
      if (expr.matching?.on) for (const l of expr.matching.labels) childNeed.add(l);
      const left = compileExpr(expr.left, index, childNeed);
      const right = compileExpr(expr.right, index, childNeed);
      if (SET.has(expr.op) && (left.kind !== 'vector' || right.kind !== 'vector'))
        throw new ExprError(expr.pos, `'${expr.op}' works on two vectors`);
      if (CMP.has(expr.op) && left.kind === 'scalar' && right.kind === 'scalar' && !expr.bool)
        throw new ExprError(expr.pos, `comparing two numbers needs 'bool' (e.g. 1 > bool 0)`);
      if (expr.matching && (left.kind !== 'vector' || right.kind !== 'vector'))
        throw new ExprError(expr.pos, `on/ignoring need vectors on both sides`);
      return new BinaryNode(expr.op, expr.bool, expr.matching, left, right);
    }
    case 'neg':
      return new MapNode(compileExpr(expr.arg, index, need), (x) => -x);
    case 'call': {
      const a0 = expr.args[0]!;
      const num = (i: number): number => (expr.args[i] as { value: number }).value;
      switch (expr.fn) {
        case 'vector':
          return new VectorNode(num(0));
        case 'abs':
          return new MapNode(compileExpr(a0, index, need), Math.abs);
        case 'clamp_min': {
          const k = num(1);
          return new MapNode(compileExpr(a0, index, need), (x) => Math.max(x, k));
        }
        case 'clamp_max': {
          const k = num(1);
          return new MapNode(compileExpr(a0, index, need), (x) => Math.min(x, k));
        }
        case 'zscore_robust': {
          const arg = compileExpr(a0, index, need);
          if (arg.kind !== 'vector') throw new ExprError(expr.pos, 'zscore_robust needs a vector');
          const w = expr.windowMs ?? 0;
          if (w / index.stepMs > 100_000)
            throw new ExprError(
              expr.pos,
              'zscore_robust window is more than 100000 steps; use a coarser --step',
            );
          const rel = expr.args.length > 1 ? num(1) : REL_SCALE_FLOOR;
          if (!(rel >= 0))
            throw new ExprError(expr.args[1]!.pos, 'zscore_robust: the scale floor must be ≥ 0');
          return new ZscoreRobustNode(arg, w, rel);
        }
        case 'zscore_ewma':
        case 'ewma_upper':
        case 'ewma_lower': {
          const arg = compileExpr(a0, index, need);
          if (arg.kind !== 'vector') throw new ExprError(expr.pos, `${expr.fn} needs a vector`);
          const alpha = num(1);
          const forget = Math.max(index.stepMs * Math.ceil(20 / alpha), 3_600_000);
          const mode =
            expr.fn === 'zscore_ewma' ? 'z' : expr.fn === 'ewma_upper' ? 'upper' : 'lower';
          return new EwmaNode(arg, alpha, mode, expr.fn === 'zscore_ewma' ? 0 : num(2), forget);
        }
      }
    }
  }
}

export { sortLabels };
