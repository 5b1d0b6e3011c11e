// Plain-text rendering helpers for terminal output: aligned tables, safe strings, numbers.
// Everything that came from input is attacker-controlled: terminal control sequences are removed.

import { isoUsMs } from '../util/iso.js';

// C0 controls (except tab), DEL, C1 controls, and ESC-introduced sequences.
const CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.|[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** Remove terminal control sequences and control characters; cut to `max` characters. */
export function safeText(s: string, max = 200): string {
  let t = s.replace(CONTROL, '').replace(/\t/g, ' ');
  if (t.length > max) t = t.slice(0, max - 1) + '…';
  return t;
}

export type Align = 'left' | 'right';

/** Column alignments from a compact spec, one letter a column: 'l' left, 'r' right ('llrr'). */
export function aligns(spec: string): Align[] {
  return [...spec].map((c) => (c === 'r' ? 'right' : 'left'));
}

/** Render rows as an aligned table with a header row. */
export function renderTable(
  headers: string[],
  rows: (string | number | null)[][],
  align?: Align[],
): string {
  const cells = rows.map((r) =>
    r.map((c) => (c === null ? '-' : typeof c === 'number' ? String(c) : c)),
  );
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const pad = (s: string, i: number): string =>
    (align?.[i] ?? 'left') === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!);
  const lines = [
    headers.map(pad).join('  ').trimEnd(),
    widths.map((w) => '─'.repeat(w)).join('  '),
  ];
  for (const r of cells) lines.push(r.map(pad).join('  ').trimEnd());
  return lines.join('\n');
}

export function fmtMs(ms: number | null | undefined, digits = 1): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms >= 10000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms.toFixed(digits)} ms`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function isoUs(us: number | null): string | null {
  if (us === null) return null;
  return isoUsMs(us);
}
