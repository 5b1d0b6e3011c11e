// Alert evaluation throughput: 20 rules (counts, rates, line filters, label filters, unwrapped
// quantiles/averages, by-label sums, zscore_robust/EWMA) over N generated JSON log lines
// (default 1M, 100 lines/s of simulated time ≈ 2.8 h at a 1m step). Measures (a) the evaluator
// alone over pre-parsed records and (b) end to end: bytes → lines → JSON decoder → evaluator.
// Prints lines/s and peak RSS. Run: node --import tsx bench/alerts.ts [lines]  (target ≥ 500k/s)

import { Quality } from '../src/model/quality.js';
import { LineSplitter } from '../src/util/lines.js';
import { createLogParser } from '../src/decoders/logs/index.js';
import type { LogRecord } from '../src/model/records.js';
import { parseRuleFile } from '../src/analyzers/alerts/rules.js';
import { AlertEvaluator } from '../src/analyzers/alerts/engine.js';

const N = Number(process.argv[2] ?? 1_000_000);
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

/** Drive records through the evaluator with ticks every step; returns fired transitions. */
function drive(ev: AlertEvaluator, feed: (push: (r: LogRecord) => void) => void): number {
  let next = NaN;
  let fired = 0;
  feed((r) => {
    const t = r.tsUs! / 1000;
    if (Number.isNaN(next)) next = Math.ceil(t / 60_000) * 60_000;
    while (next < t) {
      fired += ev.tick(next).length;
      next += 60_000;
      sampleRss();
    }
    ev.push(r);
  });
  fired += ev.tick(next).length;
  return fired;
}

/** The first `n` lines parsed up front (for the evaluator-only run). */
function parseFirst(n: number): LogRecord[] {
  const q = new Quality('bench', 'json');
  const p = createLogParser('bench', q, { format: 'json' });
  const out: LogRecord[] = [];
  const emit = (r: LogRecord): void => void out.push(r);
  const text = bytes.toString('latin1', 0, Math.min(bytes.length, n * 200));
  let lineNo = 0;
  for (const l of text.split('\n')) {
    if (out.length >= n) break;
    p.push({ text: l, lineNo: ++lineNo }, emit);
  }
  return out.slice(0, n);
}

let rssStreaming = 0;
// (b) end to end, streaming: 1 MiB chunks → lines → JSON → evaluator; nothing kept.
{
  const ev = evaluator();
  const q = new Quality('bench', 'json');
  const p = createLogParser('bench', q, { format: 'json' });
  const sp = new LineSplitter();
  const t0 = performance.now();
  const fired = drive(ev, (push) => {
    const emit = (r: LogRecord): void => push(r);
    for (let off = 0; off < bytes.length; off += 1 << 20)
      sp.push(bytes.subarray(off, off + (1 << 20)), (l) => p.push(l, emit));
    sp.end((l) => p.push(l, emit));
    p.end(emit);
  });
  const dt = (performance.now() - t0) / 1000;
  sampleRss();
  const s = ev.stats();
  rssStreaming = peakRss;
  console.log(
    `end to end:      ${Math.round(N / dt).toLocaleString('en')} lines/s (${q.decoded} decoded, ${fired} transitions, ${s.ticks} ticks, ${s.series} live series)`,
  );
}
// (a) evaluator only, over records parsed beforehand (kept in chunks of 100k to bound the heap).
{
  const records = parseFirst(Math.min(N, 300_000));
  const ev = evaluator();
  const t0 = performance.now();
  const fired = drive(ev, (push) => {
    for (const r of records) push(r);
  });
  const dt = (performance.now() - t0) / 1000;
  console.log(
    `evaluator only:  ${Math.round(records.length / dt).toLocaleString('en')} records/s (${records.length} records, ${fired} transitions, ${ev.stats().ticks} ticks)`,
  );
}

console.log(
  `peak RSS: ${(rssStreaming / 1048576).toFixed(0)} MiB during the streaming run (the generated input buffer is ${(bytes.length / 1048576).toFixed(0)} MiB of it); ${(peakRss / 1048576).toFixed(0)} MiB overall`,
);
