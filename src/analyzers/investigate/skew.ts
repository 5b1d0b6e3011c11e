// Clock offsets between log sources and the capture clock, estimated from matched pairs (a log
// line and the packet-level event it describes). Sub-second clocks: the median of the differences.
// Whole-second clocks (e.g. nginx's $time_local): each pair bounds the offset to a one-second
// interval, and intersecting the intervals narrows it (a robust quantile of each bound, so a few
// outliers do not empty the intersection). Pure.

export interface SkewPair {
  logUs: number;
  anchorUs: number;
}

export interface SkewEstimate {
  source: string;
  /** Log clock minus capture clock, ms (positive: the log's clock runs ahead). */
  offsetMs: number;
  /** Pairs the estimate rests on. */
  pairs: number;
  /** Timestamp resolution of the source, ms. */
  resolutionMs: number;
  /** Half-width of the uncertainty, ms. */
  uncertaintyMs: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

/** The resolution of a set of timestamps: 1 s, 1 ms, or finer. */
export function resolutionMs(tsUs: readonly number[]): number {
  if (tsUs.length === 0) return 0;
  if (tsUs.every((t) => t % 1e6 === 0)) return 1000;
  if (tsUs.every((t) => t % 1000 === 0)) return 1;
  return 0.001;
}

export function estimateSkew(source: string, pairs: readonly SkewPair[]): SkewEstimate | null {
  if (pairs.length === 0) return null;
  const res = resolutionMs(pairs.map((p) => p.logUs));
  const diffs = pairs.map((p) => (p.logUs - p.anchorUs) / 1000).sort((a, b) => a - b);
  if (res >= 1000) {
    // The log shows floor(anchor + offset): log ≤ anchor + offset < log + 1 s, so
    // offset ∈ [log − anchor, log − anchor + 1 s). Intersect over pairs (robust quantiles).
    const lo = quantile(diffs, 0.95);
    const hi = quantile(
      diffs.map((d) => d + res),
      0.05,
    );
    if (lo <= hi) {
      return {
        source,
        offsetMs: round((lo + hi) / 2),
        pairs: pairs.length,
        resolutionMs: res,
        uncertaintyMs: round((hi - lo) / 2),
      };
    }
    const mid = quantile(diffs, 0.5) + res / 2;
    return {
      source,
      offsetMs: round(mid),
      pairs: pairs.length,
      resolutionMs: res,
      uncertaintyMs: res / 2,
    };
  }
  const med = quantile(diffs, 0.5);
  const spread = quantile(diffs, 0.75) - quantile(diffs, 0.25);
  return {
    source,
    offsetMs: round(med),
    pairs: pairs.length,
    resolutionMs: res,
    uncertaintyMs: round(Math.max(res / 2, spread / 2)),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
