// Helpers shared by the free-text line parsers: level tokens, process prefixes, and the generic
// "timestamp, level, logger, message" header reader used by python logging and the plain format.

import type { LogRecord, Severity } from '../../model/records.js';
import { intern, newRecord, type Ctx } from './fields.js';
import { normalizeSeverity } from './severity.js';
import { readLeadingTimestamp, tsEnd } from './time.js';

export type TextParser = (s: string, p: number, ctx: Ctx) => LogRecord | null;

/** End of the last level token read by readLevel. */
export let lvlEnd = 0;

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * A level word at i: `INFO`, `WARNING`, `[INFO ]`, `[warn]`, `<ERROR>`, `Info` (capitalised)…
 * Only words that are a known level and written upper-case, capitalised, or inside brackets.
 */
export function readLevel(s: string, i: number): Severity | null {
  let c = s.charCodeAt(i);
  let close = 0;
  if (c === 91) close = 93;
  else if (c === 60) close = 62;
  const start = close ? i + 1 : i;
  let j = start;
  while (j < s.length && j - start < 12 && isAlpha(s.charCodeAt(j))) j++;
  const n = j - start;
  if (n < 3 && !(close && n === 1)) return null;
  const first = s.charCodeAt(start);
  if (!isUpper(first) && !close) return null;
  const word = s.slice(start, j);
  const sev = normalizeSeverity(word);
  if (sev === null) return null;
  if (close) {
    while (s.charCodeAt(j) === 32) j++;
    if (s.charCodeAt(j) !== close) return null;
    j++;
  } else {
    c = s.charCodeAt(j);
    // the word must end here: space, ':' or end of line
    if (!(c === 32 || c === 58 || c === 9 || Number.isNaN(c) || c === 44)) return null;
    // mixed-case words only when capitalised as a whole word ("Info", "Warning")
    if (word !== word.toUpperCase() && word.slice(1) !== word.slice(1).toLowerCase()) return null;
  }
  lvlEnd = j;
  return sev;
}

// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const ANSI_SGR = /\x1b\[[0-9;]{0,32}m/g;

/**
 * The text without ANSI colour codes (`ESC[…m`), as colouring loggers write them to a terminal
 * (Spring Boot's `%clr`, tracing-subscriber, Tornado, Gin): callers check for an ESC first.
 */
export function stripAnsi(s: string): string {
  return s.replace(ANSI_SGR, '');
}

export function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
  return i;
}

/** Ray/vLLM multi-process prefixes `(EngineCore_DP0 pid=461101) (RayWorkerWrapper pid=1) `. */
export let procName: string | null = null;
export let procPid: number | null = null;
export function skipProcPrefix(s: string): number {
  procName = null;
  procPid = null;
  let p = 0;
  while (s.charCodeAt(p) === 40) {
    const close = s.indexOf(')', p);
    if (close < 0 || close - p > 120) break;
    const inner = s.slice(p + 1, close);
    const m = /^(\S+) pid=(\d+)(?:, ip=\S+)?$/.exec(inner);
    if (!m) break;
    procName = m[1]!;
    procPid = Number(m[2]);
    p = close + 1;
    while (s.charCodeAt(p) === 32) p++;
  }
  return p;
}

const LOGGER_RE = /^[\w.$:<>/-]+$/;

/**
 * Generic header after an optional leading timestamp: finds a level among the first three
 * tokens and a logger-like token, returns the record with body = the message. `needTs` and
 * `needLevel` say which parts must be present for the line to count as this shape.
 */
export function parseHeaderLine(
  s: string,
  p: number,
  ctx: Ctx,
  format: string,
  needTs: boolean,
  needLevel: boolean,
): LogRecord | null {
  let ts = readLeadingTimestamp(s, p, ctx);
  let q = p;
  if (!Number.isNaN(ts)) q = tsEnd;
  else if (needTs) return null;
  let sev: Severity | null = null;
  let logger: string | null = null;
  let bodyStart = q;
  // up to 4 tokens: separators are spaces, '-', '|', ','
  for (let tok = 0; tok < 4; tok++) {
    while (q < s.length) {
      const c = s.charCodeAt(q);
      if (c === 32 || c === 9 || c === 44 || c === 124 || (c === 45 && s.charCodeAt(q + 1) === 32))
        q++;
      else break;
    }
    if (q >= s.length) break;
    if (sev === null) {
      const lv = readLevel(s, q);
      if (lv !== null) {
        sev = lv;
        q = lvlEnd;
        if (s.charCodeAt(q) === 58) q++;
        bodyStart = q;
        continue;
      }
    }
    // a token: logger name, thread in brackets, or a pid
    let e = q;
    if (s.charCodeAt(q) === 91) {
      e = s.indexOf(']', q);
      if (e < 0 || e - q > 160) break;
      e++;
    } else {
      while (e < s.length && s.charCodeAt(e) !== 32 && s.charCodeAt(e) !== 9) e++;
    }
    const token = s.slice(q, e);
    const endsColon = token.endsWith(':');
    const name = endsColon ? token.slice(0, -1) : token;
    if (sev === null && tok >= 2) break;
    if (sev !== null && !endsColon && !(s.charCodeAt(e + 1) === 45 && s.charCodeAt(e + 2) === 32)) {
      // after the level, a token only belongs to the header if it ends in ':' or is followed by ' - '
      if (!(token.charCodeAt(0) === 91)) break;
    }
    if (
      logger === null &&
      name.length > 0 &&
      name.length <= 120 &&
      LOGGER_RE.test(name) &&
      !/^\d+$/.test(name)
    ) {
      logger = name;
    } else if (/^\d+$/.test(name)) {
      // pid / thread number: keep
    } else if (token.charCodeAt(0) !== 91) {
      if (sev === null) {
        // free text before any level: not a header
        break;
      }
    }
    q = e;
    bodyStart = q;
    if (sev !== null && endsColon) break;
  }
  if (needLevel && sev === null) return null;
  if (sev === null) {
    // no level: the body starts right after the timestamp
    bodyStart = Number.isNaN(ts) ? p : tsEnd;
    logger = null;
  }
  while (bodyStart < s.length) {
    const c = s.charCodeAt(bodyStart);
    if (
      c === 32 ||
      c === 9 ||
      (c === 45 && s.charCodeAt(bodyStart + 1) === 32) ||
      c === 58 ||
      c === 124 ||
      c === 44
    )
      bodyStart++;
    else break;
  }
  const r = newRecord(ctx, format, s.slice(bodyStart));
  if (!Number.isNaN(ts)) r.tsUs = ts;
  r.severity = sev;
  if (logger !== null) r.attributes['logger'] = intern(logger);
  ts = 0;
  return r;
}
