// Prometheus-style durations ("90s", "1h30m", "250ms") ↔ milliseconds.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;

/** Milliseconds of a duration string, or null if it is not one. */
export function parseDurationMs(s: string): number | null {
  if (!DURATION_RE.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** "1h30m", "45s", "250ms"; 0 → "0s". */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [u, n] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return out;
}

/** Go-style value durations for `unwrap duration(x)`: "1.5s", "200ms", "1m30s", "3us", bare seconds. */
export function parseValueDurationSeconds(s: string): number | null {
  const t = s.trim();
  if (t === '') return null;
  const n = Number(t);
  if (Number.isFinite(n)) return n;
  let sec = 0;
  let matched = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    const v = Number(m[1]);
    const u = m[2]!;
    sec +=
      u === 'ns'
        ? v / 1e9
        : u === 'us' || u === 'µs'
          ? v / 1e6
          : u === 'ms'
            ? v / 1e3
            : u === 's'
              ? v
              : u === 'm'
                ? v * 60
                : v * 3600;
    matched += m[0].length;
  }
  return matched === t.length ? sec : null;
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "1.5KB", "10MiB", "42" → bytes. */
export function parseBytes(s: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(s);
  if (!m) return null;
  const u = m[2]!.toLowerCase();
  if (u === '') return Number(m[1]);
  const mult = BYTE_UNITS[u];
  return mult === undefined ? null : Number(m[1]) * mult;
}
