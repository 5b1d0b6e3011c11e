// Finding the message part of a log line without a per-format header regex.
//
// Two layers:
//  1. A per-source positional model learned from a sample of the source's first lines: leading
//     token positions that are nearly always variable-like (timestamps, dates, pids, counters,
//     hosts with digits) or low-cardinality (labels, components, states) form the header; the
//     header ends after the last such position that is variable in ≥ 80% of lines. Fixed-layout
//     headers (HPC, BGL, syslog, log4j, Android logcat…) are learned this way, whatever they hold.
//  2. Per-line rules applied after the learned prefix (or from the start when nothing was learned):
//     unfinished bracket groups are closed, leading variable tokens dropped, then a severity word
//     ("INFO", "[notice]", "W") and what directly follows it in the usual layouts — a "component:"
//     token, a dotted logger name before a "[…]" context group, one "[…]" context group, a "-".

import { isVariableToken } from './tokenize.js';

/** Header positions considered (a header longer than this is not recognised as one). */
export const MAX_HEADER_TOKENS = 14;
/** Lines sampled per source before its header model is fixed. */
export const HEADER_SAMPLE_LINES = 1000;
/** Fewer sampled lines than this and no positional model is learned (rules only). */
const MIN_SAMPLE_LINES = 20;
const VARIABLE_SHARE = 0.8;

const LEVEL_WORDS = [
  'trace',
  'debug',
  'info',
  'information',
  'informational',
  'notice',
  'warn',
  'warning',
  'error',
  'err',
  'crit',
  'critical',
  'alert',
  'emerg',
  'emergency',
  'fatal',
  'severe',
  'fine',
  'finer',
  'finest',
  'config',
  'verbose',
  'panic',
];
const LEVELS = new Set<string>();
for (const w of LEVEL_WORDS) {
  LEVELS.add(w);
  LEVELS.add(w.toUpperCase());
  LEVELS.add(w[0]!.toUpperCase() + w.slice(1));
}
/** Single-letter levels (logcat, glog without digits): only trusted when a "component:" follows. */
const LETTER_LEVELS = new Set(['V', 'D', 'I', 'W', 'E', 'F', 'A', 'S']);

/** Strip one layer of brackets / a trailing colon: "[INFO]", "<warn>", "ERROR:", "[INFO ]". */
function levelCore(tok: string): string {
  let s = 0;
  let e = tok.length;
  const c0 = tok.charCodeAt(0);
  if (c0 === 91 || c0 === 60 || c0 === 40) s = 1; // [ < (
  const cl = tok.charCodeAt(e - 1);
  if (cl === 93 || cl === 62 || cl === 41 || cl === 58) e--; // ] > ) :
  return s === 0 && e === tok.length ? tok : tok.slice(s, e);
}

export function isLevelToken(tok: string): boolean {
  if (tok.length < 3 || tok.length > 16) return false;
  return LEVELS.has(levelCore(tok));
}

function isComponentWithColon(tok: string): boolean {
  return tok.length > 1 && tok.charCodeAt(tok.length - 1) === 58 /* : */ && !tok.includes('://');
}

function bracketBalance(tok: string): number {
  // Most tokens have no bracket: two native scans instead of a loop over every character (a
  // one-token 300-byte JSON line: ≈0.45 µs → ≈0.03 µs).
  if (tok.indexOf('[') < 0 && tok.indexOf(']') < 0) return 0;
  let b = 0;
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    if (c === 91) b++;
    else if (c === 93) b--;
  }
  return b;
}

/** Dotted or $-qualified logger name ("nova.compute.manager", "dfs.DataNode$Packet"). */
function isLoggerName(tok: string): boolean {
  if (tok.length < 3) return false;
  let dots = 0;
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    if (c === 46 || c === 36) dots++;
    else if (!(
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      (c >= 48 && c <= 57) ||
      c === 95 ||
      c === 45
    ))
      return false;
  }
  return dots > 0;
}

/** Syslog program tag: "sshd[123]:", "su(pam_unix)[42]:", "kernel:". */
function isSyslogTag(tok: string): boolean {
  const n = tok.length;
  if (n < 3 || tok.charCodeAt(n - 1) !== 58) return false;
  return tok.charCodeAt(n - 2) === 93 /* ] */ && tok.includes('[');
}

function isUpperWord(tok: string): boolean {
  if (tok.length < 2 || tok.length > 16) return false;
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 95)) return false;
  }
  return true;
}

/** A header field that varies like a timestamp, pid or counter ("-" stands for an empty field). */
function isHeaderVariable(field: string): boolean {
  return field === '-' || isVariableToken(field);
}

/** The learned positional header of one source. */
export interface HeaderModel {
  /** Number of leading fields that form the header of a conforming line (0: none learned). */
  prefix: number;
  /** Field that must be variable-like for a line to conform (-1: no check). */
  checkPos: number;
}

export const NO_HEADER: HeaderModel = { prefix: 0, checkPos: -1 };

/** Learn the positional header from sample lines (already split into tokens). */
/**
 * Group tokens into header fields: a token that opens a bracket is joined with the following
 * tokens until the bracket closes ("[req-1 - - -]" is one field). Returns the token index where
 * each of the first `max` fields starts, plus the end.
 */
export function fieldStarts(toks: readonly string[], max: number): number[] {
  const starts: number[] = [];
  let i = 0;
  const n = toks.length;
  while (i < n && starts.length < max) {
    starts.push(i);
    let b = bracketBalance(toks[i]!);
    i++;
    while (b > 0 && i < n && i - starts[starts.length - 1]! < 12) b += bracketBalance(toks[i++]!);
  }
  starts.push(i);
  return starts;
}

function fieldText(toks: readonly string[], a: number, b: number): string {
  return b - a === 1 ? toks[a]! : toks.slice(a, b).join(' ');
}

export function learnHeader(sample: readonly (readonly string[])[]): HeaderModel {
  const n = sample.length;
  if (n < MIN_SAMPLE_LINES) return NO_HEADER;
  const present = new Array<number>(MAX_HEADER_TOKENS).fill(0);
  const variable = new Array<number>(MAX_HEADER_TOKENS).fill(0);
  const distinct: Set<string>[] = [];
  for (let i = 0; i < MAX_HEADER_TOKENS; i++) distinct.push(new Set());
  for (const toks of sample) {
    const fs = fieldStarts(toks, MAX_HEADER_TOKENS);
    const m = fs.length - 1;
    for (let i = 0; i < m; i++) {
      const t = fieldText(toks, fs[i]!, fs[i + 1]!);
      present[i]!++;
      if (isHeaderVariable(t)) variable[i]!++;
      else if (distinct[i]!.size <= 64) distinct[i]!.add(t);
    }
  }
  const lowCard = Math.max(8, Math.floor(n * 0.05));
  let prefix = 0;
  let checkPos = -1;
  for (let i = 0; i < MAX_HEADER_TOKENS; i++) {
    if (present[i]! < n * 0.9) break;
    const v = variable[i]! / present[i]!;
    const isVar = v >= VARIABLE_SHARE;
    if (isVar) {
      prefix = i + 1;
      if (checkPos < 0 && v >= 0.95) checkPos = i;
    } else if (distinct[i]!.size > lowCard) break;
  }
  return prefix > 0 ? { prefix, checkPos } : NO_HEADER;
}

/** Index of the first message token of a line, given its source's header model. */
export function messageStart(toks: readonly string[], model: HeaderModel): number {
  const n = toks.length;
  let i = 0;
  if (model.prefix > 0) {
    const fs = fieldStarts(toks, model.prefix);
    const end = fs[model.prefix];
    if (end !== undefined && end < n) {
      const cp = model.checkPos;
      const conforms = cp < 0 || isHeaderVariable(fieldText(toks, fs[cp]!, fs[cp + 1]!));
      if (conforms) i = end;
    }
  }
  // Close a bracket group the header opened ("[req-1 - - -]").
  let bal = 0;
  for (let j = 0; j < i; j++) bal += bracketBalance(toks[j]!);
  while (bal > 0 && i < n - 1 && i < MAX_HEADER_TOKENS + 8) bal += bracketBalance(toks[i++]!);

  let level = false;
  let component = false;
  let group = false;
  const learned = i > 0;
  const limit = Math.min(n - 1, i + MAX_HEADER_TOKENS);
  while (i < limit) {
    const t = toks[i]!;
    if (!level && isLevelToken(t)) {
      level = true;
      i++;
      continue;
    }
    if (
      !level &&
      t.length === 1 &&
      LETTER_LEVELS.has(t) &&
      i + 1 < n - 1 &&
      isComponentWithColon(toks[i + 1]!)
    ) {
      level = true;
      i++;
      continue;
    }
    if (t === '-' || t === '|' || t === '--' || (t === ':' && !learned)) {
      i++;
      continue;
    }
    if (level && !component && !group) {
      if (isComponentWithColon(t)) {
        component = true;
        i++;
        continue;
      }
      if (isLoggerName(t) && toks[i + 1]!.charCodeAt(0) === 91 /* [ */) {
        component = true;
        i++;
        continue;
      }
    }
    // "RAS KERNEL INFO": a level after at most two upper-case words (type, facility).
    if (!level && !component && isUpperWord(t)) {
      let j = i + 1;
      while (j < i + 3 && j < n - 1 && isUpperWord(toks[j]!) && !isLevelToken(toks[j]!)) j++;
      if (j < n - 1 && isLevelToken(toks[j]!)) {
        i = j;
        continue;
      }
    }
    if (!level && !component && isSyslogTag(t)) {
      component = true;
      i++;
      continue;
    }
    if ((level || component) && !group && t.charCodeAt(0) === 91 /* [ */) {
      // One context group: "[req-… - - -]", "[QuorumPeer…@774]", "[main]".
      let b = bracketBalance(t);
      let j = i + 1;
      while (b > 0 && j < n - 1 && j < i + 12) b += bracketBalance(toks[j++]!);
      if (b <= 0) {
        group = true;
        i = j;
        continue;
      }
      break;
    }
    if (!level && !component && !learned) {
      // Leading variables: timestamps, dates, pids, hosts with digits.
      if (isVariableToken(t)) {
        if (t.charCodeAt(0) === 91 && bracketBalance(t) > 0) {
          // "[Sun Dec 04 04:47:44 2005]": a bracketed timestamp over several tokens.
          let b = bracketBalance(t);
          let j = i + 1;
          while (b > 0 && j < n - 1 && j < i + 8) b += bracketBalance(toks[j++]!);
          if (b > 0) break;
          i = j;
          continue;
        }
        i++;
        continue;
      }
      // "host prog[pid]:" (syslog).
      if (i + 1 < n - 1 && isSyslogTag(toks[i + 1]!)) {
        component = true;
        i += 2;
        continue;
      }
    }
    break;
  }
  return i;
}
