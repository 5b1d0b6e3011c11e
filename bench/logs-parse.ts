// Log parsing throughput: 1M nginx `escape=json` access lines generated in memory, parsed
// (a) from strings by the decoder alone and (b) end to end from 1 MiB byte chunks through
// LineSplitter (UTF-8 decode + line split) and the decoder. Prints lines/s for each.
// Also: JSON.parse + the same field mapping (the alternative the scanner replaces), and with
// `--jq` the reference tool on the same lines written to a temp file (`jq -c .`).
// Run: node --import tsx bench/logs-parse.ts [lines] [--jq]   (target: ≥ 850k lines/s, one core)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Quality } from '../src/model/quality.js';
import { LineSplitter } from '../src/util/lines.js';
import { createLogParser } from '../src/decoders/logs/index.js';
import { applyField, newCtx, newRecord } from '../src/decoders/logs/fields.js';
import type { LogRecord } from '../src/model/records.js';

const N = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const WITH_JQ = process.argv.includes('--jq');
const METHODS = ['POST', 'POST', 'POST', 'GET'];
const PATHS = [
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/healthz',
  '/v1/models',
];
const AGENTS = [
  'python-requests/2.31.0',
  'openai-python/1.30.1',
  'curl/8.5.0',
  'Go-http-client/1.1',
];

function line(i: number): string {
  const sec = 1_700_000_000 + Math.floor(i / 2000);
  const t = new Date(sec * 1000).toISOString().slice(0, 19) + '+00:00';
  const rid = ((i * 2654435761) >>> 0).toString(16).padStart(8, '0') + 'a1b2c3d4e5f6a7b8c9d0e1f2';
  const rt = ((i % 997) / 1000 + 0.002).toFixed(3);
  const urt = ((i % 991) / 1000).toFixed(3);
  return (
    `{"time_iso8601":"${t}","remote_addr":"10.0.${i % 256}.${(i * 7) % 256}","request_method":"${METHODS[i % 4]}",` +
    `"request_uri":"${PATHS[i % 5]}","status":"${i % 97 === 0 ? 503 : 200}","body_bytes_sent":"${1000 + (i % 5000)}",` +
    `"request_time":"${rt}","upstream_response_time":"${urt}","http_user_agent":"${AGENTS[i % 4]}",` +
    `"request_id":"${rid}","upstream_addr":"10.1.0.${i % 8}:8000"}`
  );
}

// All N lines live in one Buffer (off the JS heap). The decoder-only run cycles through the
// first 100k as strings: holding 1M strings on the heap makes every major GC mark 340 MB, which
// measures the harness, not the decoder.
const parts: string[] = [];
for (let i = 0; i < N; i++) parts.push(line(i));
const bytes = Buffer.from(parts.join('\n') + '\n', 'latin1');
const lines = parts.slice(0, Math.min(N, 100_000));
parts.length = 0;
console.log(
  `${N} lines, ${(bytes.length / 1e6).toFixed(1)} MB, ${(bytes.length / N).toFixed(0)} B/line`,
);

function runStrings(): number {
  const q = new Quality('bench', 'json');
  const p = createLogParser('bench', q, { format: 'json' });
  let n = 0;
  let sum = 0;
  const emit = (r: LogRecord): void => {
    n++;
    sum += r.durationMs ?? 0;
  };
  const t0 = performance.now();
  const L = lines.length;
  for (let i = 0; i < N; i++) p.push({ text: lines[i % L]!, lineNo: i + 1 }, emit);
  p.end(emit);
  const dt = (performance.now() - t0) / 1000;
  if (n !== N || q.decoded !== N || sum <= 0) throw new Error(`bad result ${n} ${q.decoded}`);
  return N / dt;
}

function runBytes(): number {
  const q = new Quality('bench', 'auto');
  const p = createLogParser('bench', q, {});
  const sp = new LineSplitter();
  let n = 0;
  const emit = (_r: LogRecord): void => {
    n++;
  };
  const onLine = (l: { text: string; lineNo: number }): void => p.push(l, emit);
  const CH = 1 << 20;
  const t0 = performance.now();
  for (let off = 0; off < bytes.length; off += CH) sp.push(bytes.subarray(off, off + CH), onLine);
  sp.end(onLine);
  p.end(emit);
  const dt = (performance.now() - t0) / 1000;
  if (n !== N || p.format !== 'json') throw new Error(`bad result ${n} ${p.format}`);
  return N / dt;
}

function runJsonParse(): number {
  const ctx = newCtx('bench', new Quality('bench', 'json'), {});
  let n = 0;
  const L = lines.length;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const o = JSON.parse(lines[i % L]!) as Record<string, string | number>;
    const r = newRecord(ctx, 'json', '');
    for (const k in o) applyField(r, k, o[k]!, ctx);
    if (r.durationMs !== null) n++;
  }
  const dt = (performance.now() - t0) / 1000;
  if (n !== N) throw new Error('bad result');
  return N / dt;
}

// interleave, fixed iterations; report the best of 3 of each
const a: number[] = [];
const b: number[] = [];
const c: number[] = [];
for (let k = 0; k < 3; k++) {
  a.push(runStrings());
  b.push(runBytes());
  c.push(runJsonParse());
}
const fmt = (x: number): string => `${(x / 1000).toFixed(0)}k lines/s`;
console.log(
  `decoder only (strings):          ${fmt(Math.max(...a))}  runs: ${a.map(fmt).join(', ')}`,
);
console.log(
  `bytes → LineSplitter → decoder:  ${fmt(Math.max(...b))}  runs: ${b.map(fmt).join(', ')}`,
);
console.log(
  `alternative: JSON.parse + fields: ${fmt(Math.max(...c))}  runs: ${c.map(fmt).join(', ')}`,
);

if (WITH_JQ) {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-bench-'));
  try {
    const file = join(dir, 'access.jsonl');
    writeFileSync(file, bytes);
    const out = openSync('/dev/null', 'w');
    const t0 = performance.now();
    const r = spawnSync('jq', ['-c', '.', file], { stdio: ['ignore', out, 'inherit'] });
    const dt = (performance.now() - t0) / 1000;
    closeSync(out);
    if (r.error) console.log(`jq: not available (${r.error.message})`);
    else console.log(`jq -c . (same lines, file):       ${fmt(N / dt)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
