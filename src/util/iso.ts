// ISO 8601 text for timestamps that come from hostile input. A JS Date holds ±8.64e15 ms around
// 1970; a capture or log can carry anything (a pcapng block with a 2^64-ish timestamp is real:
// pcapplusplus' pcapng-example.pcapng), and Date.toISOString throws a RangeError on those.

/** The largest |ms| a JS Date can hold. */
export const MAX_DATE_MS = 8.64e15;

/** ISO 8601 (millisecond precision, UTC) for a time in ms, or null when no Date can hold it. */
export function isoMs(ms: number): string | null {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return null;
  return new Date(ms).toISOString();
}

/** isoMs for a time in µs (floored to the millisecond). */
export function isoUsMs(us: number): string | null {
  return isoMs(Math.floor(us / 1000));
}

/** ISO 8601 with microseconds (`…ss.ssssssZ`) for a time in µs, or null when out of range. */
export function isoUsMicro(us: number): string | null {
  const ms = Math.floor(us / 1000);
  const base = isoMs(ms);
  if (base === null) return null;
  const micro = Math.floor(us - ms * 1000);
  return `${base.slice(0, 23)}${String(micro).padStart(3, '0')}Z`;
}

/**
 * ISO 8601 for a time in ms that must be a date (analyses that parse it back): a time outside a
 * Date's range is clamped to the nearest representable one (year -271821 or 275760), visibly absurd.
 */
export function isoMsClamped(ms: number): string {
  const c = Number.isNaN(ms) ? 0 : Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, ms));
  return new Date(c).toISOString();
}
