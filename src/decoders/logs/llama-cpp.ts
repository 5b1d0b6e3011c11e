// llama.cpp's HTTP server (`llama-server`; Ollama's runner printed the same lines) — the shapes its
// logger writes (common/log.cpp, the SRV_*/SLT_*/QUE_* macros of tools/server):
//
//   srv  log_server_r: request: POST /v1/chat/completions 127.0.0.1 200     (later `done request:`)
//   slot launch_slot_: id  0 | task 12 | processing task
//   slot print_timing: id  0 | task 12 |
//   prompt eval time =     120.50 ms /   512 tokens (    0.24 ms per token,  4249.00 tokens per second)
//          eval time =    1500.20 ms /   128 tokens (   11.72 ms per token,    85.32 tokens per second)
//         total time =    1620.70 ms /   640 tokens
//   main: server is listening on http://127.0.0.1:8080 - starting the main loop
//   llama_model_loader: loaded meta data with 29 key-value pairs and 291 tensors from model.gguf (…)
//
// `srv `, `slot `, `que ` are followed by the function name right-aligned and cut to 12 characters
// (25 in llamafile). The timing block is one message with newlines, so only its first line carries
// the header; newer servers print every timing line with its own header (and `graphs reused = N`);
// `draft acceptance rate = …` is a continuation-level message (no header). The parser joins a
// block into one record (CONTINUATIONS in registry.ts, `llamaContinues` below).
// `--log-prefix` puts a level letter (I/W/E/D) before every header line, `--log-timestamps` the
// time since start before it (`0.01.234.567 I `, minutes.seconds.ms.µs): kept as
// `llama.elapsed_ms`, never as an absolute timestamp — lines carry none.
// The text format of 2024 servers (`--log-format text`): `INFO [            func] msg | tid="…"
// timestamp=1710000000 k=v …`; their default JSON lines are JSON (json.ts).
//
// Fields: request lines → httpMethod/httpPath/clientIp/httpStatus; slot and task ids →
// `llama.slot`, `llama.task`; `name = number` pairs of server messages → `llama.<name>`; timings →
// `llama.prompt_tokens`, `llama.prompt_ms`, `llama.prompt_ms_per_token`,
// `llama.prompt_throughput_tps`, `llama.completion_tokens`, `llama.generation_ms`,
// `llama.generation_ms_per_token`, `llama.generation_throughput_tps`, `llama.total_tokens`,
// `llama.total_ms` (= durationMs) — the `<engine>.…_tps` names of vLLM's and SGLang's stats.

import type { LogRecord, Severity } from '../../model/records.js';
import { applyField, intern, methodOf, newRecord, readDecimal, type Ctx } from './fields.js';
import { normalizeSeverity } from './severity.js';
import { stripAnsi } from './text.js';

/** Longest header scanned (a function name, padding, slot and task ids). */
const MAX_HEAD = 96;
/** `name = number` pairs read from one message, and the stretch of it scanned for them. */
const MAX_PAIRS = 16;
const MAX_PAIR_SCAN = 512;
/** Key/value pairs read from a text-format tail. */
const MAX_KV = 64;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isIdent = (c: number): boolean =>
  isLower(c) || isDigit(c) || c === 95 || (c >= 65 && c <= 90);

const isFuncExtra = (c: number): boolean => c === 40 || c === 41 || c === 126;

const LETTER_SEVERITY: Record<string, Severity> = { I: 'INFO', W: 'WARN', E: 'ERROR', D: 'DEBUG' };

/** Library prefixes claimed outside a llama.cpp file (their lines say where they come from). */
const LIBRARY_LINE =
  /^(?:llama_[a-z_]{1,40}|llm_load_[a-z_]{1,40}|ggml_[a-z_]{1,40}|gguf_[a-z_]{1,40}|print_info|load_tensors|common_init_from_params|clip_[a-z_]{1,40}): /;
/** `main:` lines of the server's start-up. */
const MAIN_LINE =
  /^main: (?:server is listening|HTTP server is listening|loading model|model loaded|chat template|load the model|n_ctx)/;

// ---- timings -------------------------------------------------------------------------------

const NUM = String.raw`(\d{1,12}(?:\.\d{1,12})?|-?nan|-?inf)`;
const TIMING_RE = new RegExp(
  String.raw`^(prompt eval|generation eval|eval|total) time\s{0,8}=\s{0,16}${NUM} ms(?:\s{0,4}/\s{0,16}(\d{1,12}) (?:tokens|runs))?(?:\s{0,4}\(\s{0,16}${NUM} ms per token,\s{0,16}${NUM} tokens per second\))?`,
);
const GRAPHS_RE = /^graphs reused\s{0,8}=\s{0,16}(\d{1,12})/;
const DRAFT_RE =
  /^draft acceptance rate\s{0,8}=\s{0,8}(\d{1,6}(?:\.\d{1,12})?)\s{0,4}\(\s{0,16}(\d{1,12}) accepted\s{0,4}\/\s{0,16}(\d{1,12}) generated\)/;

/** The attributes that say which line of a timing block a record holds. */
const TIMING_KEYS = [
  'llama.prompt_ms',
  'llama.generation_ms',
  'llama.total_ms',
  'llama.graphs_reused',
  'llama.draft_acceptance_rate',
] as const;

function setNum(r: LogRecord, key: string, v: string | undefined): void {
  if (v === undefined) return;
  const n = readDecimal(v);
  if (!Number.isNaN(n)) r.attributes[key] = n;
}

const TIMING_STARTS = [
  'prompt eval time',
  'eval time',
  'total time',
  'generation eval time',
  'graphs reused',
  'draft acceptance rate',
];

/** Where a timing line's text starts at or after q (indentation skipped); -1 if it is not one. */
function timingAt(s: string, q: number): number {
  let i = q;
  while (s.charCodeAt(i) === 32 && i - q < 32) i++;
  const c = s.charCodeAt(i);
  if (c !== 112 && c !== 101 && c !== 103 && c !== 116 && c !== 100) return -1; // p e g t d
  for (const t of TIMING_STARTS) if (s.startsWith(t, i)) return i;
  return -1;
}

/** A timing line (`prompt eval time = …`, `eval time`, `total time`, `graphs reused`, draft). */
function applyTiming(r: LogRecord, msg: string): boolean {
  const i = timingAt(msg, 0);
  if (i < 0) return false;
  const text = msg.slice(i, i + 256);
  const m = TIMING_RE.exec(text);
  if (m) {
    const kind = m[1]!;
    const pre =
      kind === 'prompt eval' ? 'prompt' : kind === 'total' ? 'total' : ('generation' as const);
    setNum(r, `llama.${pre}_ms`, m[2]);
    setNum(
      r,
      pre === 'prompt'
        ? 'llama.prompt_tokens'
        : pre === 'total'
          ? 'llama.total_tokens'
          : 'llama.completion_tokens',
      m[3],
    );
    setNum(r, `llama.${pre}_ms_per_token`, m[4]);
    setNum(r, `llama.${pre}_throughput_tps`, m[5]);
    if (pre === 'total') {
      const ms = r.attributes['llama.total_ms'];
      if (typeof ms === 'number') r.durationMs = ms;
    }
    r.body = text.trimEnd();
    return true;
  }
  const g = GRAPHS_RE.exec(text);
  if (g) {
    setNum(r, 'llama.graphs_reused', g[1]);
    r.body = text.trimEnd();
    return true;
  }
  const d = DRAFT_RE.exec(text);
  if (d) {
    setNum(r, 'llama.draft_acceptance_rate', d[1]);
    setNum(r, 'llama.draft_accepted_tokens', d[2]);
    setNum(r, 'llama.draft_generated_tokens', d[3]);
    r.body = text.trimEnd();
    return true;
  }
  return false;
}

/**
 * `r` (a timing line) continues `pending` (the record of a timing block so far): same slot and
 * task when both say, and a line of the block `pending` does not hold yet.
 */
export function llamaContinues(pending: LogRecord, r: LogRecord): boolean {
  const pa = pending.attributes;
  const ra = r.attributes;
  let timing = false;
  for (const k of TIMING_KEYS) {
    if (ra[k] === undefined) continue;
    if (pa[k] !== undefined) return false;
    timing = true;
  }
  if (!timing) return false;
  const rf = ra['llama.func'];
  if (rf !== undefined && !(typeof rf === 'string' && rf.startsWith('print_timing'))) return false;
  const pf = pa['llama.func'];
  if (!(typeof pf === 'string' && pf.startsWith('print_timing'))) {
    if (!TIMING_KEYS.some((k) => pa[k] !== undefined)) return false;
  }
  for (const k of ['llama.slot', 'llama.task']) {
    if (ra[k] !== undefined && pa[k] !== undefined && ra[k] !== pa[k]) return false;
  }
  return true;
}

// ---- messages --------------------------------------------------------------------------------

/** `request: POST /path 127.0.0.1 200` (the path may hold decoded spaces): true if one. */
function applyRequest(r: LogRecord, msg: string): boolean {
  const at = msg.startsWith('request: ') ? 9 : msg.startsWith('done request: ') ? 14 : -1;
  if (at < 0 || msg.length > 8192) return false;
  const sp = msg.indexOf(' ', at);
  if (sp < 0 || sp - at < 3 || sp - at > 10) return false;
  for (let i = at; i < sp; i++) {
    const c = msg.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  const end = msg.trimEnd();
  const s2 = end.lastIndexOf(' ');
  const s1 = end.lastIndexOf(' ', s2 - 1);
  if (s1 <= sp || s2 - s1 < 2) return false;
  const status = end.slice(s2 + 1);
  if (!/^\d{3}$/.test(status)) return false;
  const path = end.slice(sp + 1, s1);
  if (path.charCodeAt(0) !== 47 && path !== '*') return false;
  r.httpMethod = methodOf(msg.slice(at, sp));
  r.httpPath = intern(path);
  r.clientIp = end.slice(s1 + 1, s2);
  r.httpStatus = Number(status);
  r.body = `${r.httpMethod} ${r.httpPath} ${status}`;
  return true;
}

const PAIR_RE =
  /(?:^|[\s,(])((?:task )?[a-z_][a-z0-9_]{0,40})\s?=\s?(-?\d{1,15}(?:\.\d{1,15})?)(?=$|[\s,)])/g;
/** Pair names that are the slot and task ids of the header (`task id = 14`, `id_task = 14`). */
const PAIR_IDS: Record<string, string> = {
  'task id': 'llama.task',
  id_task: 'llama.task',
  task_id: 'llama.task',
  id_slot: 'llama.slot',
  slot_id: 'llama.slot',
};

/** `n_past = 512, n_tokens = 512, progress = 1.000000` → `llama.n_past`… */
function applyPairs(r: LogRecord, msg: string): void {
  if (msg.indexOf('=') < 0) return;
  const text = msg.length > MAX_PAIR_SCAN ? msg.slice(0, MAX_PAIR_SCAN) : msg;
  PAIR_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let n = 0;
  while (n < MAX_PAIRS && (m = PAIR_RE.exec(text)) !== null) {
    const v = readDecimal(m[2]!);
    const name = m[1]!;
    if (!Number.isNaN(v)) r.attributes[PAIR_IDS[name] ?? `llama.${name.replace(' ', '_')}`] = v;
    n++;
  }
}

/** The model file of `loaded meta data … from /models/x.gguf (version …)` / `loading model '…'`. */
function applyModel(r: LogRecord, msg: string): void {
  let path: string | null = null;
  if (msg.startsWith('loaded meta data')) {
    const f = msg.indexOf(' from ');
    const e = msg.lastIndexOf(' (version');
    if (f > 0 && e > f) path = msg.slice(f + 6, e);
  } else if (msg.startsWith("loading model '")) {
    const e = msg.indexOf("'", 15);
    if (e > 15) path = msg.slice(15, e);
  }
  if (path === null || path.length > 1024) return;
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  r.attributes['model'] = intern(path.slice(slash + 1));
}

// ---- the line --------------------------------------------------------------------------------

/** End of the `srv  func: ` / `slot func: id N | task M | ` header read by readHeader. */
let headEnd = 0;

/**
 * `srv  func: `, `que  func: ` or `slot func: id N | task M | ` at q → the record (body, ids,
 * component, function); null if not that header.
 */
function readHeader(s: string, q: number, ctx: Ctx): LogRecord | null {
  let comp: string;
  if (s.startsWith('srv ', q)) comp = 'srv';
  else if (s.startsWith('slot ', q)) comp = 'slot';
  else if (s.startsWith('que ', q)) comp = 'que';
  else return null;
  let i = q + comp.length;
  const limit = Math.min(s.length, q + MAX_HEAD);
  while (i < limit && s.charCodeAt(i) === 32) i++;
  const fs = i;
  // C++ `__func__`: identifiers, and `operator()` / `~class` in lambdas and destructors
  while (i < limit && (isIdent(s.charCodeAt(i)) || isFuncExtra(s.charCodeAt(i)))) i++;
  if (i === fs || s.charCodeAt(i) !== 58) return null;
  const func = s.slice(fs, i);
  i++;
  if (s.charCodeAt(i) === 32) i++;
  let slot = NaN;
  let task = NaN;
  if (comp === 'slot') {
    // `id %2d | task %d | `
    if (!s.startsWith('id ', i)) return null;
    i += 3;
    while (s.charCodeAt(i) === 32 && i < limit) i++;
    const a = readInt(s, i);
    if (Number.isNaN(a) || !s.startsWith(' | task ', intEnd)) return null;
    slot = a;
    const b = readInt(s, intEnd + 8);
    if (Number.isNaN(b) || !s.startsWith(' |', intEnd)) return null;
    task = b;
    i = intEnd + 2;
    if (s.charCodeAt(i) === 32) i++;
  }
  headEnd = i;
  const r = newRecord(ctx, 'llama-cpp', s.slice(i));
  r.attributes['llama.component'] = comp;
  r.attributes['llama.func'] = intern(func);
  if (!Number.isNaN(slot)) {
    r.attributes['llama.slot'] = slot;
    r.attributes['llama.task'] = task;
  }
  return r;
}

let intEnd = 0;
function readInt(s: string, i: number): number {
  let neg = false;
  if (s.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  const start = i;
  let n = 0;
  while (isDigit(s.charCodeAt(i)) && i - start < 12) {
    n = n * 10 + s.charCodeAt(i) - 48;
    i++;
  }
  if (i === start) return NaN;
  intEnd = i;
  return neg ? -n : n;
}

/** `M.ss.mmm.uuu ` (time since start) at q → µs; sets intEnd past the space. NaN if not that. */
function readElapsed(s: string, q: number): number {
  const min = readInt(s, q);
  if (Number.isNaN(min) || min < 0) return NaN;
  const i = intEnd;
  if (
    s.charCodeAt(i) !== 46 ||
    s.charCodeAt(i + 3) !== 46 ||
    s.charCodeAt(i + 7) !== 46 ||
    s.charCodeAt(i + 11) !== 32
  )
    return NaN;
  const sec = digits(s, i + 1, 2);
  const ms = digits(s, i + 4, 3);
  const us = digits(s, i + 8, 3);
  if (sec < 0 || ms < 0 || us < 0) return NaN;
  intEnd = i + 12;
  return ((min * 60 + sec) * 1000 + ms) * 1000 + us;
}

function digits(s: string, from: number, len: number): number {
  let v = 0;
  for (let k = from; k < from + len; k++) {
    const c = s.charCodeAt(k);
    if (!isDigit(c)) return -1;
    v = v * 10 + c - 48;
  }
  return v;
}

/** `INFO [            func] msg | k=v k="v" …` (2024 servers' text format) at q; null if not. */
function readTextFormat(s: string, q: number, ctx: Ctx): LogRecord | null {
  const start = q;
  while (s.charCodeAt(q) === 32 && q - start < 4) q++;
  const ws = q;
  while (q - ws < 5 && s.charCodeAt(q) >= 65 && s.charCodeAt(q) <= 90) q++;
  const word = s.slice(ws, q);
  const sev: Severity | null =
    word === 'VERB' ? 'DEBUG' : word.length >= 3 ? normalizeSeverity(word) : null;
  if (sev === null || s.charCodeAt(q) !== 32 || s.charCodeAt(q + 1) !== 91) return null;
  let i = q + 2;
  const limit = Math.min(s.length, i + MAX_HEAD);
  while (i < limit && s.charCodeAt(i) === 32) i++;
  const fs = i;
  while (i < limit && isIdent(s.charCodeAt(i))) i++;
  if (i === fs || s.charCodeAt(i) !== 93 || s.charCodeAt(i + 1) !== 32) return null;
  const func = s.slice(fs, i);
  // the tail: ` | tid="…" timestamp=…` (upstream's order; Ollama's build sorts the keys)
  const tid = s.indexOf('tid=', i + 2);
  if (tid < 0) return null;
  const bar = s.lastIndexOf(' | ', tid);
  if (bar < i + 1) return null;
  const tail = bar + 3;
  const msg = s.slice(i + 2, bar);
  const r = newRecord(ctx, 'llama-cpp', msg);
  r.severity = sev;
  r.attributes['llama.func'] = intern(func);
  readKv(r, s, tail, ctx);
  if (!applyTiming(r, msg)) {
    r.body = msg;
    if (r.httpMethod !== null && r.httpStatus !== null)
      r.body = `${r.httpMethod} ${r.httpPath ?? ''} ${r.httpStatus}`;
  }
  return r;
}

/** `k=v k="quoted \" value" k={…}` pairs (values as the server's JSON dump writes them). */
function readKv(r: LogRecord, s: string, i: number, ctx: Ctx): void {
  const n = s.length;
  for (let pairs = 0; pairs < MAX_KV && i < n; pairs++) {
    while (s.charCodeAt(i) === 32) i++;
    const ks = i;
    while (i < n && isIdent(s.charCodeAt(i))) i++;
    if (i === ks || s.charCodeAt(i) !== 61) return;
    const key = s.slice(ks, i);
    i++;
    let v: string;
    if (s.charCodeAt(i) === 34) {
      let e = i + 1;
      let esc = false;
      while (e < n && s.charCodeAt(e) !== 34) {
        if (s.charCodeAt(e) === 92) {
          esc = true;
          e++;
        }
        e++;
      }
      if (e >= n) return;
      v = s.slice(i + 1, e);
      if (esc) v = v.replace(/\\(.)/g, (_m, ch: string) => (ch === 'n' ? '\n' : ch));
      i = e + 1;
    } else {
      const vs = i;
      while (i < n && s.charCodeAt(i) !== 32) i++;
      v = s.slice(vs, i);
    }
    if (key === 'id_slot' || key === 'slot_id') setNum(r, 'llama.slot', v);
    else if (key === 'id_task' || key === 'task_id') setNum(r, 'llama.task', v);
    // `hostname` is the address the server listens on, not the host that logs
    else if (key === 'hostname') r.attributes[key] = v;
    else applyField(r, key, v, ctx);
  }
}

/**
 * The first characters of every shape: a digit (elapsed time), a level letter or word (I W E D,
 * VERB), `srv`/`slot`/`que`, library names and timing lines (a…t), indentation.
 */
function mayStart(c: number): boolean {
  return (
    (c >= 97 && c <= 116) ||
    isDigit(c) ||
    c === 32 ||
    c === 73 ||
    c === 87 ||
    c === 69 ||
    c === 68 ||
    c === 86
  );
}

function parseLlama(s: string, p: number, ctx: Ctx, any: boolean): LogRecord | null {
  let c = s.charCodeAt(p);
  if (c === 27) {
    // --log-colors
    s = stripAnsi(s.slice(p, p + 65536));
    p = 0;
    c = s.charCodeAt(0);
  }
  if (!mayStart(c)) return null;
  let q = p;
  let elapsedUs = NaN;
  let sev: Severity | null = null;
  if (isDigit(c)) {
    elapsedUs = readElapsed(s, q);
    if (Number.isNaN(elapsedUs)) return null;
    q = intEnd;
  }
  const l = s.charCodeAt(q);
  if ((l === 73 || l === 87 || l === 69 || l === 68) && s.charCodeAt(q + 1) === 32) {
    sev = LETTER_SEVERITY[s[q]!] ?? null;
    q += 2;
  } else if (!Number.isNaN(elapsedUs)) return null;
  let r = readHeader(s, q, ctx);
  if (r !== null) {
    const msg = s.slice(headEnd);
    if (!applyTiming(r, msg) && !applyRequest(r, msg)) {
      applyPairs(r, msg);
      applyModel(r, msg);
    }
  } else {
    if (timingAt(s, q) >= 0) {
      const t = newRecord(ctx, 'llama-cpp', '');
      if (applyTiming(t, s.slice(q, q + 288))) r = t;
    }
    // after a prefix with the elapsed time, any `name: msg` line is the server's
    r ??=
      (sev === null ? readTextFormat(s, q, ctx) : null) ??
      readLibraryLine(s, q, ctx, any || !Number.isNaN(elapsedUs));
    if (r === null) return null;
  }
  if (sev !== null) r.severity = sev;
  if (!Number.isNaN(elapsedUs)) r.attributes['llama.elapsed_ms'] = elapsedUs / 1000;
  return r;
}

/** `name: msg` — the library's and main()'s lines; outside a llama.cpp file only known names. */
function readLibraryLine(s: string, q: number, ctx: Ctx, any: boolean): LogRecord | null {
  const c = s.charCodeAt(q);
  if (!isLower(c)) return null;
  let i = q;
  const limit = Math.min(s.length, q + 48);
  while (i < limit && (isIdent(s.charCodeAt(i)) || (s.charCodeAt(i) === 32 && i - q === 6))) i++;
  if (s.charCodeAt(i) !== 58 || (s.charCodeAt(i + 1) !== 32 && i + 1 < s.length)) return null;
  const name = s.slice(q, i);
  if (name.includes(' ') && name !== 'system info') return null;
  if (!any) {
    const head = s.slice(q, q + 64);
    if (!LIBRARY_LINE.test(head) && !MAIN_LINE.test(head) && !/^build: \d{1,8} \(/.test(head))
      return null;
  }
  const msg = s.slice(Math.min(s.length, i + 2));
  const r = newRecord(ctx, 'llama-cpp', msg);
  r.attributes['llama.func'] = intern(name);
  applyModel(r, msg);
  return r;
}

/** A llama.cpp server line, in a file of any format: its own shapes only. */
export function parseLlamaCpp(s: string, p: number, ctx: Ctx): LogRecord | null {
  return parseLlama(s, p, ctx, false);
}

/** A line of a llama.cpp server log: also any library `name: msg` line. */
export function parseLlamaCppAny(s: string, p: number, ctx: Ctx): LogRecord | null {
  return parseLlama(s, p, ctx, true);
}
