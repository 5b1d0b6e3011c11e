// Sliding-window state of one log range (`{selector} | pipeline [range]`), shared by every range
// function and rule that uses the same range and series labels. Records are bucketed by time:
// bucket b holds records with ts in ((b-1)·w, b·w], w = gcd(step, range, offset), so a window
// ending on a step tick is an exact union of buckets, and memory per series is a ring of
// range/w + step/w + 2 buckets — bounded by the window, never by the history.

import type { LogRecord } from '../../model/records.js';
import type { LabelPredicate, LogRange, RangeFunc, Stage } from './ast.js';
import { labelNumber, labelString, recordLabel, recordLine } from './labels.js';
import { parseBytes, parseValueDurationSeconds } from './duration.js';

/** Per-record scratch shared by all ranges: the lazily built filter line. */
export interface RecordCtx {
  rec: LogRecord | null;
  line: string | null;
}

export function lineOf(ctx: RecordCtx, r: LogRecord): string {
  if (ctx.rec !== r || ctx.line === null) {
    ctx.rec = r;
    ctx.line = recordLine(r);
  }
  return ctx.line;
}

function gcd(a: number, b: number): number {
  a = Math.round(a);
  b = Math.round(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Bound on buckets per series (e.g. a [30d] range at a 1s step would need 2.6M). */
export const MAX_BUCKETS = 200_000;

class SeriesState {
  readonly idx: Float64Array;
  readonly cnt: Float64Array;
  readonly sum: Float64Array;
  readonly sumsq: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly firstTs: Float64Array;
  readonly first: Float64Array;
  readonly lastTs: Float64Array;
  readonly last: Float64Array;
  readonly bytes: Float64Array;
  vals: number[][] | null;
  newest = -Infinity;
  constructor(
    readonly labels: [string, string][],
    nb: number,
    keepValues: boolean,
  ) {
    this.idx = new Float64Array(nb).fill(-Infinity);
    this.cnt = new Float64Array(nb);
    this.sum = new Float64Array(nb);
    this.sumsq = new Float64Array(nb);
    this.min = new Float64Array(nb);
    this.max = new Float64Array(nb);
    this.firstTs = new Float64Array(nb);
    this.first = new Float64Array(nb);
    this.lastTs = new Float64Array(nb);
    this.last = new Float64Array(nb);
    this.bytes = new Float64Array(nb);
    this.vals = keepValues ? Array.from({ length: nb }, () => []) : null;
  }
}

export interface SeriesSample {
  labels: [string, string][];
  value: number;
}

function predOk(p: LabelPredicate, r: LogRecord): boolean {
  switch (p.kind) {
    case 'and':
      return predOk(p.left, r) && predOk(p.right, r);
    case 'or':
      return predOk(p.left, r) || predOk(p.right, r);
    case 'cmp': {
      const raw = recordLabel(r, p.name);
      if (typeof p.value === 'number') {
        const n = labelNumber(raw);
        if (Number.isNaN(n)) return p.op === '!=';
        switch (p.op) {
          case '==':
            return n === p.value;
          case '!=':
            return n !== p.value;
          case '>':
            return n > p.value;
          case '>=':
            return n >= p.value;
          case '<':
            return n < p.value;
          case '<=':
            return n <= p.value;
          case '=':
          case '=~':
          case '!~':
            return false;
        }
      }
      const s = labelString(raw);
      switch (p.op) {
        case '=':
          return s === p.value;
        case '!=':
          return s !== p.value;
        case '=~':
          return p.re!.test(s);
        case '!~':
          return !p.re!.test(s);
        case '==':
        case '>':
        case '>=':
        case '<':
        case '<=':
          return false;
      }
    }
  }
}

export class RangeState {
  readonly bucketMs: number;
  readonly nb: number;
  readonly series = new Map<string, SeriesState>();
  /** Records matched, and records skipped because the unwrapped label was missing/not numeric. */
  matched = 0;
  unwrapErrors = 0;
  late = 0;
  private lastTickMs = -Infinity;
  private readonly keepValues: boolean;
  private readonly stages: Stage[];

  constructor(
    readonly range: LogRange,
    /** Sorted label names that identify a series. */
    readonly labelNames: string[],
    stepMs: number,
    keepValues: boolean,
  ) {
    let w = gcd(stepMs, range.rangeMs);
    if (range.offsetMs > 0) w = gcd(w, range.offsetMs);
    this.bucketMs = Math.max(1, w);
    this.nb = Math.ceil((range.rangeMs + range.offsetMs + stepMs) / this.bucketMs) + 2;
    if (this.nb > MAX_BUCKETS)
      throw new RangeError(
        `range [${range.rangeMs}ms] at step ${stepMs}ms needs ${this.nb} buckets per series (limit ${MAX_BUCKETS}); use a coarser --step`,
      );
    this.keepValues = keepValues;
    this.stages = range.stages;
  }

  /** Offer a record (ts in ms). Returns true if it matched. */
  offer(r: LogRecord, tsMs: number, ctx: RecordCtx): boolean {
    const ms = this.range.matchers;
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i]!;
      const v = labelString(recordLabel(r, m.name));
      switch (m.op) {
        case '=':
          if (v !== m.value) return false;
          break;
        case '!=':
          if (v === m.value) return false;
          break;
        case '=~':
          if (!m.re!.test(v)) return false;
          break;
        case '!~':
          if (m.re!.test(v)) return false;
          break;
      }
    }
    const st = this.stages;
    for (let i = 0; i < st.length; i++) {
      const s = st[i]!;
      if (s.kind === 'line') {
        switch (s.op) {
          case '|=':
            if (!r.body.includes(s.value) && !lineOf(ctx, r).includes(s.value)) return false;
            break;
          case '!=':
            if (r.body.includes(s.value) || lineOf(ctx, r).includes(s.value)) return false;
            break;
          case '|~':
            if (!s.re!.test(r.body) && !s.re!.test(lineOf(ctx, r))) return false;
            break;
          case '!~':
            if (s.re!.test(lineOf(ctx, r))) return false;
            break;
        }
      } else if (s.kind === 'label') {
        if (!predOk(s.pred, r)) return false;
      }
    }
    let value = 1;
    const uw = this.range.unwrap;
    if (uw !== null) {
      const raw = recordLabel(r, uw.name);
      if (uw.conv === 'duration' || uw.conv === 'duration_seconds')
        value =
          typeof raw === 'number' ? raw : (parseValueDurationSeconds(labelString(raw)) ?? NaN);
      else if (uw.conv === 'bytes')
        value = typeof raw === 'number' ? raw : (parseBytes(labelString(raw)) ?? NaN);
      else value = labelNumber(raw);
      if (Number.isNaN(value) && !(typeof raw === 'string' && raw.toLowerCase() === 'nan')) {
        this.unwrapErrors++;
        return false;
      }
    }
    this.matched++;
    this.add(r, tsMs, value);
    return true;
  }

  private add(r: LogRecord, tsMs: number, value: number): void {
    const b = Math.ceil(tsMs / this.bucketMs);
    // Too old for any window still to be evaluated.
    const lo =
      Math.floor((this.lastTickMs - this.range.offsetMs - this.range.rangeMs) / this.bucketMs) + 1;
    if (b < lo) {
      this.late++;
      return;
    }
    const names = this.labelNames;
    let key = '';
    let labels: [string, string][] | null = null;
    for (let i = 0; i < names.length; i++) key += labelString(recordLabel(r, names[i]!)) + '\u0000';
    let s = this.series.get(key);
    if (s === undefined) {
      labels = [];
      for (let i = 0; i < names.length; i++) {
        const v = labelString(recordLabel(r, names[i]!));
        if (v !== '') labels.push([names[i]!, v]);
      }
      s = new SeriesState(labels, this.nb, this.keepValues);
      this.series.set(key, s);
    }
    const slot = ((b % this.nb) + this.nb) % this.nb;
    if (s.idx[slot] !== b) {
      s.idx[slot] = b;
      s.cnt[slot] = 0;
      s.sum[slot] = 0;
      s.sumsq[slot] = 0;
      s.min[slot] = Infinity;
      s.max[slot] = -Infinity;
      s.firstTs[slot] = Infinity;
      s.lastTs[slot] = -Infinity;
      s.bytes[slot] = 0;
      if (s.vals) s.vals[slot]!.length = 0;
    }
    s.cnt[slot]!++;
    s.sum[slot]! += value;
    s.sumsq[slot]! += value * value;
    if (value < s.min[slot]!) s.min[slot] = value;
    if (value > s.max[slot]!) s.max[slot] = value;
    if (tsMs < s.firstTs[slot]!) {
      s.firstTs[slot] = tsMs;
      s.first[slot] = value;
    }
    if (tsMs >= s.lastTs[slot]!) {
      s.lastTs[slot] = tsMs;
      s.last[slot] = value;
    }
    s.bytes[slot]! += r.body.length;
    if (s.vals) s.vals[slot]!.push(value);
    if (b > s.newest) s.newest = b;
  }

  /** Mark time `tMs` as evaluated: older buckets can be dropped; idle series are deleted. */
  advance(tMs: number): void {
    if (tMs <= this.lastTickMs) return;
    this.lastTickMs = tMs;
    const lo = Math.floor((tMs - this.range.offsetMs - this.range.rangeMs) / this.bucketMs) + 1;
    for (const [k, s] of this.series) if (s.newest < lo) this.series.delete(k);
  }

  /** Evaluate range function `fn` for the window ending at `tMs` (already `advance`d). */
  evaluate(fn: RangeFunc, param: number | null, tMs: number): SeriesSample[] {
    const end = tMs - this.range.offsetMs;
    const hi = Math.ceil(end / this.bucketMs);
    const lo = Math.floor((end - this.range.rangeMs) / this.bucketMs) + 1;
    const rangeSec = this.range.rangeMs / 1000;
    const out: SeriesSample[] = [];
    let anyRecords = false;
    for (const s of this.series.values()) {
      let cnt = 0;
      let sum = 0;
      let sumsq = 0;
      let min = Infinity;
      let max = -Infinity;
      let firstTs = Infinity;
      let first = NaN;
      let lastTs = -Infinity;
      let last = NaN;
      let bytes = 0;
      let vals: number[] | null = null;
      for (let i = 0; i < this.nb; i++) {
        const b = s.idx[i]!;
        if (b < lo || b > hi) continue;
        const c = s.cnt[i]!;
        if (c === 0) continue;
        cnt += c;
        sum += s.sum[i]!;
        sumsq += s.sumsq[i]!;
        if (s.min[i]! < min) min = s.min[i]!;
        if (s.max[i]! > max) max = s.max[i]!;
        if (s.firstTs[i]! < firstTs) {
          firstTs = s.firstTs[i]!;
          first = s.first[i]!;
        }
        if (s.lastTs[i]! >= lastTs) {
          lastTs = s.lastTs[i]!;
          last = s.last[i]!;
        }
        bytes += s.bytes[i]!;
        if (fn === 'quantile_over_time' && s.vals) {
          vals ??= [];
          for (const v of s.vals[i]!) vals.push(v);
        }
      }
      if (cnt === 0) continue;
      anyRecords = true;
      let v: number;
      switch (fn) {
        case 'count_over_time':
          v = cnt;
          break;
        case 'rate':
          v = (this.range.unwrap ? sum : cnt) / rangeSec;
          break;
        case 'bytes_over_time':
          v = bytes;
          break;
        case 'bytes_rate':
          v = bytes / rangeSec;
          break;
        case 'absent_over_time':
          continue;
        case 'sum_over_time':
          v = sum;
          break;
        case 'avg_over_time':
          v = sum / cnt;
          break;
        case 'max_over_time':
          v = max;
          break;
        case 'min_over_time':
          v = min;
          break;
        case 'first_over_time':
          v = first;
          break;
        case 'last_over_time':
          v = last;
          break;
        case 'stddev_over_time':
        case 'stdvar_over_time': {
          const mean = sum / cnt;
          const varr = Math.max(0, sumsq / cnt - mean * mean);
          v = fn === 'stdvar_over_time' ? varr : Math.sqrt(varr);
          break;
        }
        case 'quantile_over_time':
          v = quantile(param ?? 0.5, vals ?? []);
          break;
      }
      out.push({ labels: s.labels, value: v });
    }
    if (fn === 'absent_over_time') {
      if (anyRecords) return [];
      const labels: [string, string][] = this.range.matchers
        .filter((m) => m.op === '=' && m.value !== '')
        .map((m): [string, string] => [m.name, m.value])
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return [{ labels, value: 1 }];
    }
    return out;
  }
}

/** Prometheus' quantile: linear interpolation between closest ranks; φ outside [0,1] → ±Inf. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const v = values.slice().sort((a, b) => a - b);
  const rank = q * (v.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, v.length - 1);
  const w = rank - lo;
  return v[lo]! * (1 - w) + v[hi]! * w;
}
