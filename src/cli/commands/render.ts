// Text output shared by the store commands: terminal tables and CSV, with every value that came
// from input made safe for a terminal. (Pure; candidates to move to src/outputs/ once it exists.)

import type { Cell } from '../../store/store.js';

// C0 controls except TAB/LF/CR, DEL, C1 controls, and bidi overrides/isolates (which can make a
// terminal show text in another order than it is).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_OR_WS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line for a terminal cell: control characters and line breaks shown as escapes. */
export function sanitizeCell(s: string): string {
  return s.replace(UNSAFE_OR_WS, escapeChar);
}

/** Text that may keep its line breaks and tabs, with other control characters escaped. */
export function sanitizeText(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

export function cellText(v: Cell, nullText = 'NULL'): string {
  if (v === null) return nullText;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Cut to `max` characters (by code point) with an ellipsis. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, Math.max(1, max - 1)).join('') + '…';
}

export interface TableOptions {
  /** Widest a cell may be (characters); longer cells are clipped. Per column, by header name. */
  maxWidth?: number;
  maxWidthByColumn?: Record<string, number>;
  /** Right-align these columns (numbers). */
  alignRight?: readonly boolean[];
  /** How a NULL shows (default `NULL`, as SQL shells print it). */
  nullText?: string;
}

/** A plain-text table: header, a rule, rows; cells sanitized and clipped. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  opts: TableOptions = {},
): string {
  const maxDefault = opts.maxWidth ?? 60;
  const limits = header.map((h) => opts.maxWidthByColumn?.[h] ?? maxDefault);
  const text = rows.map((r) =>
    header.map((_, i) => clip(sanitizeCell(cellText(r[i] ?? null, opts.nullText)), limits[i]!)),
  );
  const heads = header.map((h, i) => clip(sanitizeCell(h), limits[i]!));
  const widths = heads.map((h, i) => Math.max(len(h), ...text.map((r) => len(r[i]!))));
  const right =
    opts.alignRight ??
    header.map(
      (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null),
    );
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right[i] ? pad(c, widths[i]!, true) : pad(c, widths[i]!, false)))
      .join('  ')
      .trimEnd();
  const lines = [fmt(heads), widths.map((w) => '─'.repeat(w)).join('  '), ...text.map(fmt)];
  return lines.join('\n') + '\n';
}

function len(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - len(s)));
  return right ? fill + s : s + fill;
}

/**
 * RFC 4180 CSV. Fields with a comma, quote or line break are quoted; control characters other
 * than TAB/CR/LF are escaped like in tables (JSON output is the lossless one).
 */
function csvField(v: Cell): string {
  if (v === null) return '';
  const s = sanitizeText(cellText(v));
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 CSV (CRLF line ends): the header line. */
export function renderCsvHeader(header: readonly string[]): string {
  return header.map((h) => csvField(h)).join(',') + '\r\n';
}

/** RFC 4180 CSV rows (each ended by CRLF), `header.length` fields each. */
export function renderCsvRows(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  let out = '';
  for (const r of rows) out += header.map((_, i) => csvField(r[i] ?? null)).join(',') + '\r\n';
  return out;
}
