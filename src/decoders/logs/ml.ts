// ML-serving logs; their numbers become typed attributes.
//  - vLLM `INFO 01-20 14:40:25 [loggers.py:127] msg` (older: `… loggers.py:127] msg`), engine
//    stats lines (`Avg prompt throughput: 0.6 tokens/s, … Running: 0 reqs, Waiting: 0 reqs,
//    GPU KV cache usage: 0.0%, …`) and preemption warnings → `vllm.*` attributes;
//  - Triton (glog) `I0827 01:49:08.461295 459 grpc_server.cc:2495] msg`;
//  - TorchServe (log4j) `2024-05-30T21:46:03,625 [INFO ] thread logger - msg` with ACCESS_LOG
//    (`/ip:port "POST /predictions/m HTTP/1.1" 200 118`, the last number is the time in ms),
//    TS_METRICS (`Name.Unit:value|#dim:v,dim:v|#hostname:h,timestamp:t`) and [METRICS] lines;
//  - Ray (Serve) `INFO 2025-12-18 05:30:31,943 serve 125125 -- msg` and Ray core
//    `2025-12-18 05:30:20,461 INFO scripts.py:507 -- msg`; replica access messages
//    `POST / 200 12.3ms` fill method/path/status/duration.
//  - SGLang `[2026-11-20 10:15:30 TP0] msg` (rank tags optional), scheduler stats lines
//    (`Decode batch. #running-req: 5, #token: 1234, token usage: 0.05, gen throughput (token/s):
//    250.30, #queue-req: 0`, `Prefill batch. #new-seq: …`) → `sglang.*` attributes, and its
//    uvicorn lines after the timestamp.
// The `(Name pid=N)` prefixes Ray adds are handled by the caller (text.ts skipProcPrefix).

import type { LogRecord } from '../../model/records.js';
import { applyRequestLine, intern, newRecord, readDecimal, stripPort, type Ctx } from './fields.js';
import { normalizeSeverity } from './severity.js';
import { readGlogTime, readIso, readMonthDayTime, tsEnd } from './time.js';
import { lvlEnd, readLevel, skipSpaces } from './text.js';
import { parseUvicornAccess } from './access.js';
import { parseLevelColon } from './python.js';

// ---- vLLM ------------------------------------------------------------------------------------

const VLLM_STATS: Record<string, string> = {
  'avg prompt throughput': 'vllm.prompt_throughput_tps',
  'avg generation throughput': 'vllm.generation_throughput_tps',
  running: 'vllm.running_reqs',
  swapped: 'vllm.swapped_reqs',
  pending: 'vllm.waiting_reqs',
  waiting: 'vllm.waiting_reqs',
  'gpu kv cache usage': 'vllm.gpu_kv_cache_usage_pct',
  'cpu kv cache usage': 'vllm.cpu_kv_cache_usage_pct',
  'prefix cache hit rate': 'vllm.prefix_cache_hit_rate_pct',
  'gpu prefix cache hit rate': 'vllm.gpu_prefix_cache_hit_rate_pct',
  'external prefix cache hit rate': 'vllm.external_prefix_cache_hit_rate_pct',
  'accepted throughput': 'vllm.spec_accepted_throughput_tps',
  'drafted throughput': 'vllm.spec_drafted_throughput_tps',
  'mean acceptance length': 'vllm.spec_mean_acceptance_length',
};

/** Engine stats and preemption facts from a vLLM message (any vLLM version). */
export function vllmStats(r: LogRecord, msg: string): void {
  if (msg.includes('throughput:') || msg.includes('KV cache usage:')) {
    const eng = /^Engine (\d+):/.exec(msg);
    if (eng) r.attributes['vllm.engine'] = Number(eng[1]);
    const re = /([A-Za-z][A-Za-z ]*?):\s*(-?[\d.]+)\s*(tokens\/s|reqs|%)?/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(msg)) !== null) {
      const label = m[1]!
        .trim()
        .toLowerCase()
        .replace(/^engine \d+:\s*/, '');
      const name = VLLM_STATS[label];
      const n = Number(m[2]);
      if (name !== undefined && Number.isFinite(n)) r.attributes[name] = n;
    }
  }
  if (msg.includes('preempted')) {
    r.attributes['vllm.preempted'] = true;
    const m = /total_num_cumulative_preemption=(\d+)/.exec(msg);
    if (m) r.attributes['vllm.preemptions_total'] = Number(m[1]);
  }
}

/** `LEVEL MM-DD hh:mm:ss [file.py:line] msg` (bracket optional in older versions). */
export function parseVllm(s: string, p: number, ctx: Ctx): LogRecord | null {
  const sev = readLevel(s, p);
  if (sev === null || s.charCodeAt(lvlEnd) !== 32) return null;
  const ts = readMonthDayTime(s, lvlEnd + 1, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32) return null;
  let q = tsEnd + 1;
  const open = s.charCodeAt(q) === 91;
  if (open) q++;
  const close = s.indexOf('] ', q);
  if (close < 0 || close - q > 80) return null;
  const src = s.slice(q, close);
  if (!/^[\w./-]+:\d+$/.test(src)) return null;
  const msg = s.slice(close + 2);
  const r = newRecord(ctx, 'vllm', msg);
  r.tsUs = ts;
  r.severity = sev;
  r.attributes['source'] = intern(src);
  vllmStats(r, msg);
  return r;
}

// ---- SGLang ----------------------------------------------------------------------------------

const SGLANG_STATS: Record<string, string> = {
  '#running-req': 'sglang.running_reqs',
  '#queue-req': 'sglang.queue_reqs',
  'token usage': 'sglang.token_usage',
  'full token usage': 'sglang.token_usage',
  '#token': 'sglang.tokens',
  '#full token': 'sglang.tokens',
  'gen throughput (token/s)': 'sglang.gen_throughput_tps',
  'input throughput (token/s)': 'sglang.input_throughput_tps',
  '#new-seq': 'sglang.new_seqs',
  '#new-token': 'sglang.new_tokens',
  '#cached-token': 'sglang.cached_tokens',
  '#pending-token': 'sglang.pending_tokens',
  '#retracted-req': 'sglang.retracted_reqs',
  'accept len': 'sglang.spec_accept_length',
  'cuda graph': 'sglang.cuda_graph',
};

/** Scheduler stats of an SGLang `Decode batch` / `Prefill batch` message; false if not one. */
export function sglangStats(r: LogRecord, msg: string): boolean {
  const decode = msg.startsWith('Decode batch');
  if (!decode && !msg.startsWith('Prefill batch')) return false;
  const at = decode ? 12 : 13;
  const sep = msg.charCodeAt(at);
  if (sep !== 46 && sep !== 44) return false; // `.` (older) or `,`
  r.attributes['sglang.batch'] = decode ? 'decode' : 'prefill';
  const text = msg.slice(at + 1, 2048);
  for (const part of text.split(',', 48)) {
    const c = part.indexOf(': ');
    if (c < 0) continue;
    const name = SGLANG_STATS[part.slice(0, c).trim()];
    if (name === undefined) continue;
    const v = part.slice(c + 2).trim();
    if (v === 'True' || v === 'False') r.attributes[name] = v === 'True';
    else {
      const n = readDecimal(v);
      if (!Number.isNaN(n)) r.attributes[name] = n;
    }
  }
  return true;
}

/** `[yyyy-mm-dd hh:mm:ss]` or `[yyyy-mm-dd hh:mm:ss TP0 …]`; sets sgEnd past `] `, sgRank. */
let sgEnd = 0;
let sgRank: string | null = null;
function readSglangHead(s: string, p: number, ctx: Ctx): number {
  if (s.charCodeAt(p) !== 91 || s.charCodeAt(p + 5) !== 45 || s.charCodeAt(p + 11) !== 32)
    return NaN;
  // python asctime without milliseconds, no zone: `%Y-%m-%d %H:%M:%S`
  if (s.charCodeAt(p + 20) !== 93 && s.charCodeAt(p + 20) !== 32) return NaN;
  const ts = readIso(s, p + 1, ctx);
  if (Number.isNaN(ts) || tsEnd !== p + 20) return NaN;
  sgRank = null;
  let q = tsEnd;
  if (s.charCodeAt(q) === 32) {
    // rank tags: `TP0`, `DP1 TP3`, `PP0 TP0 EP2`…
    const close = s.indexOf(']', q);
    if (close < 0 || close - q > 40) return NaN;
    const tags = s.slice(q + 1, close);
    if (!/^[A-Z]{2,4}\d{1,5}(?: [A-Z]{2,4}\d{1,5}){0,5}$/.test(tags)) return NaN;
    sgRank = tags;
    q = close;
  }
  sgEnd = s.charCodeAt(q + 1) === 32 ? q + 2 : q + 1;
  return ts;
}

function sglangRecord(s: string, ctx: Ctx, ts: number): LogRecord {
  const msg = s.slice(sgEnd);
  // the API server's uvicorn lines (`INFO:     127.0.0.1:40000 - "POST /generate HTTP/1.1" 200
  // OK`) keep their uvicorn formats, as in a vLLM log (the `sglang` companions)
  const c = msg.charCodeAt(0);
  const r =
    (c >= 65 && c <= 90
      ? (parseUvicornAccess(msg, 0, ctx) ?? parseLevelColon(msg, 0, ctx))
      : null) ?? newRecord(ctx, 'sglang', msg);
  r.tsUs = ts;
  if (sgRank !== null) {
    r.attributes['sglang.rank'] = intern(sgRank);
    const tp = /(?:^| )TP(\d+)/.exec(sgRank);
    if (tp) r.attributes['sglang.tp_rank'] = Number(tp[1]);
  }
  sglangStats(r, msg);
  return r;
}

/** Messages only SGLang writes (single-GPU servers tag no rank): its start-up milestones. */
const SGLANG_MARKERS =
  /^(?:Decode batch|Prefill batch|server_args=ServerArgs\(|Load weight (?:begin|end)|KV Cache is allocated|Memory pool end|Capture cuda graph|Init torch distributed|max_total_num_tokens=|The server is fired up)/;

/**
 * An SGLang line that says it is one: a rank tag, a message only SGLang writes, or a uvicorn line
 * (level padded to 10 columns) after the timestamp. A bare `[yyyy-mm-dd hh:mm:ss] msg` is too
 * common a shape to claim, and `[ts] INFO:name:msg` is python logging's.
 */
export function parseSglang(s: string, p: number, ctx: Ctx): LogRecord | null {
  const ts = readSglangHead(s, p, ctx);
  if (Number.isNaN(ts)) return null;
  if (sgRank === null) {
    const c = s.charCodeAt(sgEnd);
    if (c < 65 || c > 122) return null;
    if (readLevel(s, sgEnd) !== null && s.charCodeAt(lvlEnd) === 58) {
      if (skipSpaces(s, lvlEnd + 1) - sgEnd < 10) return null;
    } else if (!SGLANG_MARKERS.test(s.slice(sgEnd, sgEnd + 40))) return null;
  }
  return sglangRecord(s, ctx, ts);
}

/** Any `[yyyy-mm-dd hh:mm:ss[ tags]] msg` line, in a file known to be SGLang's. */
export function parseSglangAny(s: string, p: number, ctx: Ctx): LogRecord | null {
  const ts = readSglangHead(s, p, ctx);
  return Number.isNaN(ts) ? null : sglangRecord(s, ctx, ts);
}

// ---- Triton (glog) ----------------------------------------------------------------------------

/** `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`. */
export function parseGlog(s: string, p: number, ctx: Ctx): LogRecord | null {
  const c = s.charCodeAt(p);
  if (!(c === 73 || c === 87 || c === 69 || c === 70)) return null;
  const ts = readGlogTime(s, p + 1, ctx);
  if (Number.isNaN(ts)) return null;
  let q = skipSpaces(s, tsEnd);
  const t0 = q;
  while (s.charCodeAt(q) >= 48 && s.charCodeAt(q) <= 57) q++;
  if (q === t0 || s.charCodeAt(q) !== 32) return null;
  const thread = Number(s.slice(t0, q));
  const close = s.indexOf('] ', q + 1);
  const closeEnd = close < 0 && s.endsWith(']') ? s.length - 1 : close;
  if (closeEnd < 0 || closeEnd - q > 100) return null;
  const src = s.slice(q + 1, closeEnd);
  if (!/^[\w./-]+:\d+$/.test(src)) return null;
  const msg = s.slice(Math.min(s.length, closeEnd + 2));
  const r = newRecord(ctx, 'triton', msg);
  r.tsUs = ts;
  r.severity = normalizeSeverity(s[p]!);
  r.attributes['thread'] = thread;
  r.attributes['source'] = intern(src);
  const m =
    /loading: ([^:\s]+):(\d+)/.exec(msg) ??
    /(?:loaded|load|unloading|unloaded) '([^']+)' version (\d+)/.exec(msg) ??
    /model '([^']+)'/.exec(msg);
  if (m) {
    r.attributes['model'] = intern(m[1]!);
    if (m[2] !== undefined) r.attributes['model_version'] = Number(m[2]);
  }
  return r;
}

// ---- TorchServe (log4j) -----------------------------------------------------------------------

/** `Name.Unit:value|#dim:v,dim:v|#hostname:h,timestamp:t` → metric.* attributes. */
function tsMetric(r: LogRecord, text: string): boolean {
  const m = /^([\w-]+)\.(\w+):(-?[\d.eE+-]+)\|(.*)$/.exec(text);
  if (!m) return false;
  r.attributes['metric.name'] = intern(m[1]!);
  r.attributes['metric.unit'] = intern(m[2]!);
  r.attributes['metric.value'] = Number(m[3]);
  for (const part of m[4]!.split('|')) {
    const dims = part.replace(/^#/, '');
    for (const kv of dims.split(',')) {
      const c = kv.indexOf(':');
      if (c > 0) {
        const k = kv.slice(0, c).trim();
        const v = kv.slice(c + 1).trim();
        if (k === 'ModelName') r.attributes['model'] = intern(v);
        else r.attributes[`metric.${k}`] = /^\d+$/.test(v) ? Number(v) : intern(v);
      } else if (/^\d{9,11}$/.test(kv.trim())) r.attributes['metric.timestamp'] = Number(kv.trim());
      else if (/^[0-9a-f-]{36}$/i.test(kv.trim())) r.requestId = kv.trim();
    }
  }
  return true;
}

export function parseTorchServe(s: string, p: number, ctx: Ctx): LogRecord | null {
  const c = s.charCodeAt(p);
  if (c < 48 || c > 57) return null;
  const ts = readIso(s, p, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32 || s.charCodeAt(tsEnd + 1) !== 91) return null;
  const close = s.indexOf(']', tsEnd + 2);
  if (close < 0 || close - tsEnd > 10) return null;
  const sev = normalizeSeverity(s.slice(tsEnd + 2, close).trim());
  if (sev === null) return null;
  const m = /^ (\S+) (\S+) - ?/.exec(s.slice(close + 1, close + 200));
  if (!m) return null;
  const thread = m[1]!;
  const logger = m[2]!;
  const msg = s.slice(close + 1 + m[0].length);
  const r = newRecord(ctx, 'torchserve', msg);
  r.tsUs = ts;
  r.severity = sev;
  r.attributes['thread'] = intern(thread);
  r.attributes['logger'] = intern(logger);
  const w = /^W-(\d+)-(.+?)(?:_[\d.]+)?-(stdout|stderr)$/.exec(thread);
  if (w) {
    r.attributes['worker'] = Number(w[1]);
    r.attributes['model'] = intern(w[2]!);
  }
  if (logger === 'ACCESS_LOG') {
    const a = /^\/?(\S+) "([^"]*)" (\d{3}) (\d+)/.exec(msg);
    if (a) {
      r.clientIp = intern(stripPort(a[1]!));
      applyRequestLine(r, a[2]!);
      r.httpStatus = Number(a[3]);
      r.durationMs = Number(a[4]);
    }
  } else if (logger === 'TS_METRICS') {
    tsMetric(r, msg);
  } else {
    const i = msg.indexOf('[METRICS]');
    if (i >= 0) {
      let t = msg.slice(i + 9);
      const pat = t.indexOf(', pattern=');
      if (pat >= 0) t = t.slice(0, pat);
      tsMetric(r, t);
    }
  }
  return r;
}

// ---- Ray / Ray Serve --------------------------------------------------------------------------

const RAY_ACCESS =
  /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|WS|CALL) (\S+) (\d{3}|OK|ERROR) ([\d.]+)ms$/;

export function parseRay(s: string, p: number, ctx: Ctx): LogRecord | null {
  let sev = readLevel(s, p);
  let ts: number;
  let q: number;
  if (sev !== null) {
    // Serve: LEVEL ts component id… -- msg
    ts = readIso(s, skipSpaces(s, lvlEnd), ctx);
    if (Number.isNaN(ts)) return null;
    q = tsEnd;
  } else {
    // core: ts LEVEL file.py:line -- msg
    ts = readIso(s, p, ctx);
    if (Number.isNaN(ts)) return null;
    q = skipSpaces(s, tsEnd);
    sev = readLevel(s, q);
    if (sev === null) return null;
    q = lvlEnd;
  }
  const sep = s.indexOf(' -- ', q);
  if (sep < 0 || sep - q > 300) return null;
  const head = s.slice(q, sep).trim().split(/\s+/);
  const msg = s.slice(sep + 4);
  const r = newRecord(ctx, 'ray-serve', msg);
  r.tsUs = ts;
  r.severity = sev;
  if (head.length > 0 && head[0] !== '') {
    if (/^[\w.]+:\d+$/.test(head[0]!)) r.attributes['source'] = intern(head[0]!);
    else r.attributes['ray.component'] = intern(head[0]!);
    for (let i = 1; i < head.length; i++) {
      const t = head[i]!;
      if (
        /^[0-9a-f]{8}-[0-9a-f-]{27}$/i.test(t) ||
        (i >= 2 && /^[0-9a-f]{8,}$/i.test(t) && r.requestId === null)
      )
        r.requestId = t;
      else if (t.startsWith('/')) r.httpPath = intern(t);
      else r.attributes[i === 1 ? 'ray.id' : `ray.field${i}`] = intern(t);
    }
  }
  const a = RAY_ACCESS.exec(msg);
  if (a) {
    r.httpMethod = intern(a[1]!);
    if (r.httpPath === null) r.httpPath = intern(a[2]!);
    if (/^\d+$/.test(a[3]!)) r.httpStatus = Number(a[3]);
    r.durationMs = Number(a[4]);
  }
  return r;
}
