// Binary search over sorted numbers (times, offsets): the first index whose value is not below
// (lowerBound) or is above (upperBound) `v` — the insertion points that keep the order.

/** Index of the first entry ≥ v in ascending `a` (a.length when none). */
export function lowerBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Index of the first entry > v in ascending `a` (a.length when none). */
export function upperBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! <= v) lo = m + 1;
    else hi = m;
  }
  return lo;
}
