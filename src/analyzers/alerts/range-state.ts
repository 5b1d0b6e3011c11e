// Sliding-window state of one log range (`{selector} | pipeline [range]`), shared by every range
// function and rule that uses the same range and series labels. Records are bucketed by time:
// bucket b holds records with ts in ((b-1)·w, b·w], w = gcd(step, range, offset), so a window
// ending on a step tick is an exact union of buckets, and memory per series is a ring of
// range/w + step/w + 2 buckets — bounded by the window, never by the history.

import type { LogRecord } from '../../model/records.js';
import type { LabelPredicate, LogRange, Matcher, RangeFunc, Stage } from './ast.js';
import { labelNumber, labelString, lineIncludes, recordLabel, recordLine } from './labels.js';
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

/** Per-bucket fields of a series, interleaved in one Float64Array (bucket i at i·FIELDS). */
const IDX = 0;
const CNT = 1;
const SUM = 2;
const SUMSQ = 3;
const MIN = 4;
const MAX = 5;
const FIRST_TS = 6;
const FIRST = 7;
const LAST_TS = 8;
const LAST = 9;
const BYTES = 10;
const FIELDS = 11;

class SeriesState {
  /** Bucket fields; IDX is the bucket number held by the slot (-Infinity: empty). */
  readonly d: Float64Array;
  vals: number[][] | null;
  newest = -Infinity;
  constructor(
    readonly labels: [string, string][],
    nb: number,
    keepValues: boolean,
  ) {
    this.d = new Float64Array(nb * FIELDS);
    for (let i = 0; i < nb; i++) this.d[i * FIELDS + IDX] = -Infinity;
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

/** Whether `r` passes the stream selector, skipping matcher `skip` (already checked by an index). */
export function matchSelector(ms: readonly Matcher[], skip: number, r: LogRecord): boolean {
  for (let i = 0; i < ms.length; i++) {
    if (i === skip) continue;
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
  return true;
}

/** Labels the selector pins with `name="value"`: every record of the range has that value. */
export function pinnedLabels(range: LogRange): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of range.matchers) if (x.op === '=' && x.value !== '') m.set(x.name, x.value);
  return m;
}

/** What a range function is evaluated on: a range's state, or a view of one. */
export interface RangeSource {
  evaluate(fn: RangeFunc, param: number | null, tMs: number): SeriesSample[];
}

/**
 * A range state seen with other series labels that differ from its own only by labels the
 * selector pins (`{job="api"}` by (job, path) and by (path) keep the same series): the state's
 * series, relabelled. One state is fed per record instead of two.
 */
export class RangeView implements RangeSource {
  private readonly pinned: Map<string, string>;
  constructor(
    private readonly state: RangeState,
    private readonly labelNames: readonly string[],
  ) {
    this.pinned = pinnedLabels(state.range);
  }

  evaluate(fn: RangeFunc, param: number | null, tMs: number): SeriesSample[] {
    const out = this.state.evaluate(fn, param, tMs);
    for (const s of out) {
      const labels: [string, string][] = [];
      for (const n of this.labelNames) {
        const v = this.pinned.get(n) ?? s.labels.find((l) => l[0] === n)?.[1];
        if (v !== undefined && v !== '') labels.push([n, v]);
      }
      s.labels = labels;
    }
    return out;
  }
}

export class RangeState implements RangeSource {
  readonly bucketMs: number;
  readonly nb: number;
  readonly series = new Map<string, SeriesState>();
  /** Records matched, and records skipped because the unwrapped label was missing/not numeric. */
  matched = 0;
  unwrapErrors = 0;
  late = 0;
  private lastTickMs = -Infinity;
  /** Oldest bucket a window still to be evaluated can use (from the last `advance`). */
  private loBucket = -Infinity;
  /** The series of a range without series labels (its key is ''). */
  private only: SeriesState | null = null;
  private keepValues: boolean;
  private readonly stages: Stage[];
  /**
   * The series labels that can differ between matched records: a label the selector pins with
   * `name="value"` has that value on every record offered here, so it is left out of the key.
   */
  private readonly keyNames: string[];

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
    const pinned = pinnedLabels(range);
    this.keyNames = labelNames.filter((n) => !pinned.has(n));
  }

  /**
   * Keep raw values from now on: a quantile over this range was compiled after it was created.
   * Rules are compiled before any record arrives, so no window misses values.
   */
  keepRawValues(): void {
    if (this.keepValues) return;
    this.keepValues = true;
    for (const s of this.series.values())
      s.vals ??= Array.from({ length: this.nb }, (): number[] => []);
  }

  /** Offer a record (ts in ms). Returns true if it matched. */
  offer(r: LogRecord, tsMs: number, ctx: RecordCtx): boolean {
    return matchSelector(this.range.matchers, -1, r) && this.offerMatched(r, tsMs, ctx);
  }

  /** Offer a record whose stream selector is known to match (pipeline, unwrap, then the window). */
  offerMatched(r: LogRecord, tsMs: number, ctx: RecordCtx): boolean {
    const st = this.stages;
    for (let i = 0; i < st.length; i++) {
      const s = st[i]!;
      if (s.kind === 'line') {
        switch (s.op) {
          case '|=':
            if (
              !(ctx.rec === r && ctx.line !== null
                ? ctx.line.includes(s.value)
                : lineIncludes(r, s.value))
            )
              return false;
            break;
          case '!=':
            if (
              ctx.rec === r && ctx.line !== null
                ? ctx.line.includes(s.value)
                : lineIncludes(r, s.value)
            )
              return false;
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
    if (b < this.loBucket) {
      this.late++;
      return;
    }
    const names = this.keyNames;
    let s: SeriesState | undefined;
    if (names.length === 0) s = this.only ?? undefined;
    else {
      // One label: its value is the key (no string built); more: the values joined by NUL.
      let key = labelString(recordLabel(r, names[0]!));
      for (let i = 1; i < names.length; i++)
        key += '\u0000' + labelString(recordLabel(r, names[i]!));
      s = this.series.get(key);
      if (s === undefined) {
        s = this.newSeries(r);
        this.series.set(key, s);
      }
    }
    if (s === undefined) {
      s = this.newSeries(r);
      this.series.set('', s);
      this.only = s;
    }
    let slot = b % this.nb;
    if (slot < 0) slot += this.nb;
    const d = s.d;
    const o = slot * FIELDS;
    if (d[o + IDX] !== b) {
      d[o + IDX] = b;
      d[o + CNT] = 0;
      d[o + SUM] = 0;
      d[o + SUMSQ] = 0;
      d[o + MIN] = Infinity;
      d[o + MAX] = -Infinity;
      d[o + FIRST_TS] = Infinity;
      d[o + LAST_TS] = -Infinity;
      d[o + BYTES] = 0;
      if (s.vals) s.vals[slot]!.length = 0;
    }
    d[o + CNT]!++;
    d[o + SUM]! += value;
    d[o + SUMSQ]! += value * value;
    if (value < d[o + MIN]!) d[o + MIN] = value;
    if (value > d[o + MAX]!) d[o + MAX] = value;
    if (tsMs < d[o + FIRST_TS]!) {
      d[o + FIRST_TS] = tsMs;
      d[o + FIRST] = value;
    }
    if (tsMs >= d[o + LAST_TS]!) {
      d[o + LAST_TS] = tsMs;
      d[o + LAST] = value;
    }
    d[o + BYTES]! += r.body.length;
    if (s.vals) s.vals[slot]!.push(value);
    if (b > s.newest) s.newest = b;
  }

  private newSeries(r: LogRecord): SeriesState {
    const names = this.labelNames;
    const labels: [string, string][] = [];
    for (let i = 0; i < names.length; i++) {
      const v = labelString(recordLabel(r, names[i]!));
      if (v !== '') labels.push([names[i]!, v]);
    }
    return new SeriesState(labels, this.nb, this.keepValues);
  }

  /** Mark time `tMs` as evaluated: older buckets can be dropped; idle series are deleted. */
  advance(tMs: number): void {
    if (tMs <= this.lastTickMs) return;
    this.lastTickMs = tMs;
    const lo = Math.floor((tMs - this.range.offsetMs - this.range.rangeMs) / this.bucketMs) + 1;
    this.loBucket = lo;
    for (const [k, s] of this.series)
      if (s.newest < lo) {
        this.series.delete(k);
        if (s === this.only) this.only = null;
      }
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
      const wantVals = fn === 'quantile_over_time' && s.vals !== null;
      const d = s.d;
      for (let i = 0; i < this.nb; i++) {
        const o = i * FIELDS;
        const b = d[o + IDX]!;
        if (b < lo || b > hi) continue;
        const c = d[o + CNT]!;
        if (c === 0) continue;
        cnt += c;
        sum += d[o + SUM]!;
        sumsq += d[o + SUMSQ]!;
        if (d[o + MIN]! < min) min = d[o + MIN]!;
        if (d[o + MAX]! > max) max = d[o + MAX]!;
        if (d[o + FIRST_TS]! < firstTs) {
          firstTs = d[o + FIRST_TS]!;
          first = d[o + FIRST]!;
        }
        if (d[o + LAST_TS]! >= lastTs) {
          lastTs = d[o + LAST_TS]!;
          last = d[o + LAST]!;
        }
        bytes += d[o + BYTES]!;
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
          v = wantVals ? windowQuantile(param ?? 0.5, s, lo, hi, cnt) : quantile(param ?? 0.5, []);
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

/** Quantile of the values in buckets lo..hi of `s` (cnt of them), sorted as a Float64Array. */
function windowQuantile(q: number, s: SeriesState, lo: number, hi: number, cnt: number): number {
  const xs = new Float64Array(cnt);
  let n = 0;
  let nan = false;
  const d = s.d;
  for (let o = 0, i = 0; o < d.length; o += FIELDS, i++) {
    const b = d[o + IDX]!;
    if (b < lo || b > hi || d[o + CNT] === 0) continue;
    const vs = s.vals![i]!;
    for (let j = 0; j < vs.length; j++) {
      const v = vs[j]!;
      if (v !== v) nan = true;
      xs[n++] = v;
    }
  }
  // NaN values sort differently with a comparator; keep the generic path for them.
  if (nan) return quantile(q, Array.from(xs.subarray(0, n)));
  if (n === 0) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * (n - 1);
  const l = Math.floor(rank);
  const w = rank - l;
  // Selection instead of a full sort: O(n) per window and tick (a 5m window holds thousands).
  const lv = selectKth(xs, n, l);
  if (w === 0 || l + 1 >= n) return lv;
  // after selection every value right of l is ≥ lv: the next rank is their minimum
  let hv = Infinity;
  for (let i = l + 1; i < n; i++) if (xs[i]! < hv) hv = xs[i]!;
  return lv * (1 - w) + hv * w;
}

/**
 * The k-th smallest of xs[0..n) (no NaN), partially reordering xs so that xs[k] holds it, every
 * value before k is ≤ it and every value after is ≥ it (Hoare partition, median-of-three pivot).
 */
export function selectKth(xs: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    if (hi - lo < 16) {
      // insertion sort for short ranges
      for (let i = lo + 1; i <= hi; i++) {
        const x = xs[i]!;
        let j = i - 1;
        while (j >= lo && xs[j]! > x) {
          xs[j + 1] = xs[j]!;
          j--;
        }
        xs[j + 1] = x;
      }
      break;
    }
    const mid = (lo + hi) >>> 1;
    let a = xs[lo]!;
    let b = xs[mid]!;
    let c = xs[hi]!;
    if (a > b) [a, b] = [b, a];
    if (b > c) [b, c] = [c, b];
    if (a > b) [a, b] = [b, a];
    const pivot = b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (xs[i]! < pivot) i++;
      while (xs[j]! > pivot) j--;
      if (i <= j) {
        const t = xs[i]!;
        xs[i] = xs[j]!;
        xs[j] = t;
        i++;
        j--;
      }
    }
    // [lo..j] ≤ pivot, [i..hi] ≥ pivot, and (j, i) equal to it
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return xs[k]!;
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
