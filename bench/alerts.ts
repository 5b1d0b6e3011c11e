// Alert backtest throughput: 20 rules (counts, rates, line filters, label filters, unwrapped
// quantiles/averages, by-label sums, zscore_robust/EWMA) over N generated JSON log lines
// (default 1M, 100 lines/s of simulated time ≈ 2.8 h at a 1m step). Measures
//   (a) the JSON decoder alone (bytes → lines → records, no rules) — the ceiling for (b);
//   (b) end to end, one streaming pass: bytes → lines → JSON → mergeByTime → backtest → intervals;
//   (c) evaluation alone: the same backtest loop over records parsed beforehand (first 300k).
// Prints lines/s for each, peak RSS, and a checksum of the firing intervals of (b) so a change to
// the evaluator can be checked to give identical results (same alerts, labels, activeAt,
// startsAt, endsAt, maxValue). Run: npm run bench:alerts [-- lines]  (target ≥ 500k/s); it runs
// Node with the CLI's V8 flag (--max-semi-space-size=64, bin/mlscope.js's shebang).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Quality } from '../src/model/quality.js';
import { LineSplitter } from '../src/util/lines.js';
import { createLogParser } from '../src/decoders/logs/index.js';
import type { LogRecord } from '../src/model/records.js';
import { parseRuleFile } from '../src/analyzers/alerts/rules.js';
import { AlertEvaluator } from '../src/analyzers/alerts/engine.js';
import { backtest, mergeByTime, type BacktestResult } from '../src/analyzers/alerts/backtest.js';

// Each measurement runs in its own process (`--part decode|e2e|eval`), as a user's backtest would:
// a part run before another would leave it a grown heap and other type feedback.
const partAt = process.argv.indexOf('--part');
const PART = partAt >= 0 ? process.argv[partAt + 1]! : null;
const N = Number(process.argv.find((a, i) => /^\d+$/.test(a) && i !== partAt + 1) ?? 1_000_000);
if (PART === null) {
  for (const part of ['decode', 'e2e', 'eval']) {
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, import.meta.filename, '--part', part, String(N)],
      { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
    );
    // the input line is printed once
    process.stdout.write(part === 'decode' ? r.stdout : r.stdout.replace(/^.*\n/, ''));
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}
const T0 = Date.UTC(2024, 4, 1);
const JOBS = ['api', 'api', 'api', 'trainer', 'gateway'];
const PATHS = ['/v1/chat/completions', '/v1/embeddings', '/healthz', '/v1/models'];
const LEVELS = ['info', 'info', 'info', 'info', 'info', 'info', 'warn', 'error'];

function line(i: number): string {
  const t = new Date(T0 + i * 10).toISOString();
  const lvl = LEVELS[i % 8]!;
  const status = i % 53 === 0 ? 503 : 200;
  return `{"ts":"${t}","level":"${lvl}","job":"${JOBS[i % 5]}","path":"${PATHS[i % 4]}","status":${status},"duration_ms":${(i * 7919) % 1000},"run_id":"run-${Math.floor(i / 50_000)}","msg":"${lvl === 'error' ? 'upstream timeout' : 'request done'}"}`;
}

const RULES = `groups:
- name: bench
  rules:
  - alert: R1
    expr: sum(count_over_time({job="api", level="error"}[5m])) > 100
  - alert: R2
    expr: sum by (path) (rate({job="api"} | status >= 500 [1m])) > 0.5
  - alert: R3
    expr: quantile_over_time(0.99, {job="api"} | unwrap duration_ms [5m]) by (path) > 990
  - alert: R4
    expr: avg_over_time({job="api"} | unwrap duration_ms [1m]) by (path) > 600
  - alert: R5
    expr: sum(count_over_time({job="gateway"} |= "timeout" [5m])) > 50
  - alert: R6
    expr: sum(count_over_time({job="trainer"} |~ "time(out)?" [10m])) > 1000
  - alert: R7
    expr: max by (run_id) (max_over_time({job="trainer"} | unwrap duration_ms [10m])) > 2000
  - alert: R8
    expr: zscore_robust(sum(count_over_time({job="api"}[1m])), 1h) > 5
  - alert: R9
    expr: abs(zscore_ewma(sum by (path) (rate({job="api"}[1m])), 0.1)) > 6
    for: 5m
  - alert: R10
    expr: sum(rate({job=~"api|gateway", level=~"warn|error"}[1m])) > 100
  - alert: R11
    expr: sum by (level) (count_over_time({job="gateway"}[1m])) > 10000
  - alert: R12
    expr: sum(count_over_time({job="api", path="/healthz"} != "done" [5m])) > 0
  - alert: R13
    expr: max_over_time({job="gateway"} | unwrap duration_ms [5m]) by (path) > 2000
  - alert: R14
    expr: sum(count_over_time({job="api"} | status=503 [1m])) / sum(count_over_time({job="api"}[1m])) > 0.5
  - alert: R15
    expr: min_over_time({job="trainer"} | unwrap duration_ms [5m]) by (path) < 0
  - alert: R16
    expr: sum by (path) (sum_over_time({job="api"} | unwrap duration_ms [1m])) > 10000000
  - alert: R17
    expr: count_over_time({job="nonexistent"}[1m]) > 0
  - alert: R18
    expr: absent_over_time({job="trainer"}[10m])
  - alert: R19
    expr: sum(bytes_rate({job="api"}[1m])) > 1000000
  - alert: R20
    expr: stddev_over_time({job="api"} | unwrap duration_ms [5m]) by (path) > 1000
`;

function evaluator(): AlertEvaluator {
  const parsed = parseRuleFile(RULES, 'bench.yaml');
  if (parsed.problems.length) throw new Error(JSON.stringify(parsed.problems));
  const ev = new AlertEvaluator(parsed.groups, 60_000);
  if (ev.problems.length) throw new Error(JSON.stringify(ev.problems));
  return ev;
}

// Built 10k lines at a time straight into Buffers (off the JS heap), so the harness does not
// inflate the RSS it reports.
const parts: Buffer[] = [];
for (let i = 0; i < N; i += 10_000) {
  let s = '';
  for (let j = i; j < Math.min(N, i + 10_000); j++) s += line(j) + '\n';
  parts.push(Buffer.from(s, 'latin1'));
}
const bytes = Buffer.concat(parts);
parts.length = 0;
console.log(`${N} lines, ${(bytes.length / 1e6).toFixed(1)} MB; 20 rules, step 1m`);

let peakRss = process.memoryUsage().rss;
const sampleRss = (): void => {
  const r = process.memoryUsage().rss;
  if (r > peakRss) peakRss = r;
};

const CHUNK = 1 << 20;

/** The input as a batch stream: 1 MiB chunks → lines → JSON records, one batch per chunk. */
// eslint-disable-next-line @typescript-eslint/require-await -- an input source is async; this one is in memory
async function* decodedBatches(q: Quality): AsyncGenerator<LogRecord[]> {
  const p = createLogParser('bench', q, { format: 'json' });
  const sp = new LineSplitter();
  let batch: LogRecord[] = [];
  const emit = (r: LogRecord): void => void batch.push(r);
  const onLine = (l: Parameters<typeof p.push>[0]): void => p.push(l, emit);
  for (let off = 0; off < bytes.length; off += CHUNK) {
    sp.push(bytes.subarray(off, off + CHUNK), onLine);
    sampleRss();
    const b = batch;
    batch = [];
    yield b;
  }
  sp.end(onLine);
  p.end(emit);
  yield batch;
}

// eslint-disable-next-line @typescript-eslint/require-await -- see above
async function* memoryBatches(rs: LogRecord[]): AsyncGenerator<LogRecord[]> {
  for (let i = 0; i < rs.length; i += 5000) yield rs.slice(i, i + 5000);
}

/** Checksum of the firing intervals (order as returned: by startsAt, then alert name). */
function checksum(res: BacktestResult): string {
  const h = createHash('sha256');
  for (const iv of res.intervals)
    h.update(
      JSON.stringify([
        iv.alert,
        iv.labels,
        iv.activeAtMs,
        iv.startsAtMs,
        iv.endsAtMs,
        Number.isFinite(iv.maxValue) ? Number(iv.maxValue.toPrecision(12)) : String(iv.maxValue),
      ]) + '\n',
    );
  return h.digest('hex').slice(0, 16);
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en');

// (a) decoder alone: same chunks, records counted and dropped.
if (PART === 'decode') {
  const q = new Quality('bench', 'json');
  let n = 0;
  const t0 = performance.now();
  for await (const b of decodedBatches(q)) n += b.length;
  const dt = (performance.now() - t0) / 1000;
  console.log(`decode only:     ${fmt(n / dt)} lines/s (${n} records; the ceiling for end to end)`);
}

// (b) end to end, streaming; nothing kept but the rules' windows.
let rssStreaming = 0;
if (PART === 'e2e') {
  if (global.gc) global.gc();
  peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  const ev = evaluator();
  const q = new Quality('bench', 'json');
  const t0 = performance.now();
  const res = await backtest(ev, mergeByTime([decodedBatches(q)]));
  const dt = (performance.now() - t0) / 1000;
  sampleRss();
  const s = ev.stats();
  rssStreaming = peakRss;
  console.log(
    `end to end:      ${fmt(N / dt)} lines/s (${q.decoded} decoded, ${res.records} evaluated, ${res.intervals.length} intervals, ${s.ticks} ticks, ${s.series} live series)`,
  );
  console.log(
    `  RSS ${(rssBefore / 1048576).toFixed(0)} MiB before → peak ${(rssStreaming / 1048576).toFixed(0)} MiB (+${((rssStreaming - rssBefore) / 1048576).toFixed(0)} MiB while streaming)`,
  );
  console.log(`  checksum of firing intervals: ${checksum(res)}`);
  for (const iv of res.intervals)
    console.log(
      `    ${iv.alert} ${JSON.stringify(iv.labels)} ${new Date(iv.startsAtMs).toISOString()} → ${iv.endsAtMs === null ? 'open' : new Date(iv.endsAtMs).toISOString()}`,
    );
}

// (c) evaluation alone: the backtest loop over records parsed beforehand.
if (PART === 'eval') {
  const q = new Quality('bench', 'json');
  const records: LogRecord[] = [];
  const limit = Math.min(N, 300_000);
  for await (const b of decodedBatches(q)) {
    for (const r of b) if (records.length < limit) records.push(r);
    if (records.length >= limit) break;
  }
  const ev = evaluator();
  const t0 = performance.now();
  const res = await backtest(ev, mergeByTime([memoryBatches(records)]));
  const dt = (performance.now() - t0) / 1000;
  console.log(
    `evaluation only: ${fmt(records.length / dt)} records/s (${records.length} records, ${res.intervals.length} intervals, ${ev.stats().ticks} ticks, checksum ${checksum(res)})`,
  );
}

if (PART === 'e2e')
  console.log(
    `peak RSS: ${(rssStreaming / 1048576).toFixed(0)} MiB during the streaming run (the generated input buffer is ${(bytes.length / 1048576).toFixed(0)} MiB of it)`,
  );
