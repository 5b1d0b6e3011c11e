// Backtest semantics: windows are (t-range, t]; `for` delays firing and a blip shorter than `for`
// never fires; resolution when the condition stops; inputs merged by time; memory bounded by
// the window (series and buckets dropped); anomaly functions quiet on steady input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttrValue, LogRecord } from '../../model/records.js';
import { parseRuleFile } from './rules.js';
import { AlertEvaluator } from './engine.js';
import { backtest, mergeByTime, type BacktestResult } from './backtest.js';

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;

function rec(
  tMs: number,
  attrs: Record<string, AttrValue>,
  body = 'x',
  severity: LogRecord['severity'] = 'INFO',
): LogRecord {
  return {
    tsUs: tMs * 1000,
    severity,
    body,
    requestId: null,
    traceId: null,
    spanId: null,
    httpMethod: null,
    httpPath: null,
    httpStatus: null,
    durationMs: null,
    clientIp: null,
    attributes: attrs,
    service: 'api',
    host: null,
    file: 'a.log',
    lineNo: 1,
    format: 'json',
    templateId: null,
  };
}

function rules(expr: string, extra = ''): string {
  return `groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '${expr}'\n${extra}`;
}

// eslint-disable-next-line @typescript-eslint/require-await -- mergeByTime takes async sources; these batches are in memory
async function* batches(rs: LogRecord[], size = 7): AsyncGenerator<LogRecord[]> {
  for (let i = 0; i < rs.length; i += size) yield rs.slice(i, i + size);
}

async function run(
  text: string,
  inputs: LogRecord[][],
  stepMs = MIN,
): Promise<BacktestResult & { ev: AlertEvaluator }> {
  const parsed = parseRuleFile(text, 'r.yaml');
  assert.deepEqual(parsed.problems, []);
  const ev = new AlertEvaluator(parsed.groups, stepMs);
  assert.deepEqual(ev.problems, []);
  const res = await backtest(ev, mergeByTime(inputs.map((rs) => batches(rs))));
  return { ...res, ev };
}

/** Error records every 10 s during [fromMin, toMin) minutes. */
function errors(
  fromMin: number,
  toMin: number,
  attrs: Record<string, AttrValue> = {},
): LogRecord[] {
  const out: LogRecord[] = [];
  for (let t = T0 + fromMin * MIN + 5000; t < T0 + toMin * MIN; t += 10_000)
    out.push(rec(t, { job: 'api', ...attrs }, 'boom', 'ERROR'));
  return out;
}

const heartbeat = (toMin: number): LogRecord[] =>
  Array.from({ length: toMin }, (_, i) => rec(T0 + i * MIN + 1, { job: 'hb' }));

test('count_over_time window and immediate firing without for', async () => {
  const r = await run(rules('count_over_time({job="api", level="error"}[5m]) > 0'), [
    [...errors(10, 12), ...heartbeat(40)].sort((a, b) => a.tsUs! - b.tsUs!),
  ]);
  assert.equal(r.intervals.length, 1);
  const iv = r.intervals[0]!;
  // First error at 10:05 → first tick with it in the window is 11:00; last error 11:55 leaves the
  // 5m window after the 16:00 tick (window (16:55-5m... ] → resolved at 17:00).
  assert.equal(iv.startsAtMs, T0 + 11 * MIN);
  assert.equal(iv.endsAtMs, T0 + 17 * MIN);
  assert.deepEqual(iv.labels, { alertname: 'A', job: 'api', level: 'error' });
});

test('for: a blip shorter than for never fires; a long one fires after for', async () => {
  const text = rules('sum(count_over_time({job="api"} |= "boom" [1m])) > 0', '        for: 5m\n');
  const blip = await run(text, [errors(10, 13), heartbeat(40)]);
  assert.equal(blip.intervals.length, 0);
  const long = await run(text, [errors(10, 30), heartbeat(40)]);
  assert.equal(long.intervals.length, 1);
  assert.equal(long.intervals[0]!.activeAtMs, T0 + 11 * MIN);
  assert.equal(long.intervals[0]!.startsAtMs, T0 + 16 * MIN);
  assert.equal(long.intervals[0]!.endsAtMs, T0 + 31 * MIN);
});

test('inputs are merged by time; by-labels split series; unwrap quantiles', async () => {
  const a: LogRecord[] = [];
  const b: LogRecord[] = [];
  for (let i = 0; i < 600; i++) {
    const t = T0 + i * 1000;
    a.push(rec(t, { job: 'api', path: '/a', duration_ms: i < 300 ? 10 : 900 }));
    b.push(rec(t + 500, { job: 'api', path: '/b', duration_ms: 20 }));
  }
  const r = await run(
    rules('quantile_over_time(0.9, {job="api"} | unwrap duration_ms [1m]) by (path) > 500'),
    [a, b],
  );
  assert.equal(r.records, 1200);
  assert.equal(r.intervals.length, 1);
  assert.deepEqual(r.intervals[0]!.labels, { alertname: 'A', path: '/a' });
  assert.equal(r.intervals[0]!.startsAtMs, T0 + 6 * MIN);
});

test('unless finds stages that started and never finished; for respected', async () => {
  const rs: LogRecord[] = [];
  for (let run = 0; run < 5; run++) {
    const t = T0 + run * 60 * MIN;
    for (const [k, st] of ['load', 'train'].entries()) {
      rs.push(
        rec(t + k * 2000, { job: 'trainer', run_id: `r${run}`, stage: st, event: 'stage_started' }),
      );
      if (!(run === 3 && st === 'train'))
        rs.push(
          rec(t + k * 2000 + 1500, {
            job: 'trainer',
            run_id: `r${run}`,
            stage: st,
            event: 'stage_completed',
          }),
        );
    }
  }
  const text = rules(
    'sum by (run_id, stage) (count_over_time({job="trainer"} | event="stage_started" [30m])) unless sum by (run_id, stage) (count_over_time({job="trainer"} | event="stage_completed" [30m]))',
    '        for: 10m\n',
  );
  const r = await run(text, [[...rs, ...heartbeat(5 * 60)].sort((x, y) => x.tsUs! - y.tsUs!)]);
  assert.equal(r.intervals.length, 1);
  assert.deepEqual(r.intervals[0]!.labels, { alertname: 'A', run_id: 'r3', stage: 'train' });
});

test('zscore_robust is quiet on steady noisy input and fires on a spike', async () => {
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const rs: LogRecord[] = [];
  for (let m = 0; m < 240; m++) {
    const n = 20 + Math.floor(rnd() * 8) + (m >= 200 && m < 203 ? 60 : 0);
    for (let i = 0; i < n; i++)
      rs.push(rec(T0 + m * MIN + Math.floor((i * 59_000) / n), { job: 'api' }));
  }
  const r = await run(rules('zscore_robust(sum(count_over_time({job="api"}[1m])), 1h) > 5'), [rs]);
  assert.equal(r.intervals.length, 1, JSON.stringify(r.intervals));
  assert.equal(r.intervals[0]!.startsAtMs, T0 + 201 * MIN);
  const e = await run(rules('abs(zscore_ewma(sum(count_over_time({job="api"}[1m])), 0.1)) > 6'), [
    rs,
  ]);
  assert.equal(e.intervals.length, 1, JSON.stringify(e.intervals));
});

test('memory is bounded by the window: idle series are dropped', () => {
  const rs: LogRecord[] = [];
  for (let i = 0; i < 3000; i++) rs.push(rec(T0 + i * 10_000, { job: 'api', request: `req-${i}` }));
  const parsed = parseRuleFile(
    rules('sum by (request) (count_over_time({job="api"}[5m])) > 100'),
    'r.yaml',
  );
  const ev = new AlertEvaluator(parsed.groups, MIN);
  let maxSeries = 0;
  for (let i = 0; i < rs.length; i++) {
    ev.push(rs[i]!);
    if (i % 6 === 5) {
      ev.tick(Math.ceil(rs[i]!.tsUs! / 1000 / MIN) * MIN);
      maxSeries = Math.max(maxSeries, ev.stats().series);
    }
  }
  assert.ok(maxSeries <= 5 * 6 + 12, `series ${maxSeries}`);
});

test('annotations are templated', async () => {
  const r = await run(
    rules(
      'sum by (job) (count_over_time({job="api"}[1m])) > 1',
      '        annotations:\n          summary: "{{ $labels.job }} has {{ $value }} lines"\n',
    ),
    [errors(0, 2)],
  );
  assert.equal(r.intervals[0]!.annotations['summary'], 'api has 6 lines');
});

test('rules sharing a range keep working whichever comes first (quantile after average, labels pinned or not)', async () => {
  // Two rules over the same range; the quantile needs raw values, the average does not. Each must
  // fire on its own whatever the order: the range's state is shared, never replaced.
  const text = `groups:
  - name: g
    rules:
      - alert: Avg
        expr: 'avg_over_time({job="api"} | unwrap ms [1m]) by (path) > 50'
      - alert: P90
        expr: 'quantile_over_time(0.9, {job="api"} | unwrap ms [1m]) by (path) > 50'
      - alert: SumByJobPath
        expr: 'sum by (job, path) (sum_over_time({job="api"} | unwrap ms [1m])) > 500'
`;
  const rs: LogRecord[] = [];
  for (let i = 0; i < 120; i++) rs.push(rec(T0 + i * 1000, { job: 'api', path: '/a', ms: 100 }));
  const r = await run(text, [rs]);
  const fired = new Set(r.intervals.map((iv) => `${iv.alert} ${JSON.stringify(iv.labels)}`));
  assert.ok(fired.has('Avg {"alertname":"Avg","path":"/a"}'), [...fired].join('; '));
  assert.ok(fired.has('P90 {"alertname":"P90","path":"/a"}'), [...fired].join('; '));
  assert.ok(
    fired.has('SumByJobPath {"alertname":"SumByJobPath","job":"api","path":"/a"}'),
    [...fired].join('; '),
  );
});
