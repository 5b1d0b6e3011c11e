// Pipeline run detection: many healthy runs with realistic jitter carry no anomalies; each kind of
// fault is found on exactly the faulty run; field names are detected in several spellings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttrValue, LogRecord } from '../../model/records.js';
import { RunBuilder, classifyEvent, classifyMlflowPath, parseMlflowMeta } from './runs.js';
import { analyzePipelineRuns, type RunReport } from './analyze.js';
import { parseLogText } from '../../decoders/logs/index.js';

function rec(tsMs: number, attrs: Record<string, AttrValue>, lineNo: number, body = ''): LogRecord {
  return {
    tsUs: tsMs * 1000,
    severity: 'INFO',
    body,
    requestId: null,
    traceId: null,
    spanId: null,
    httpMethod: null,
    httpPath: null,
    httpStatus: null,
    durationMs: typeof attrs['duration_ms'] === 'number' ? attrs['duration_ms'] : null,
    clientIp: null,
    attributes: attrs,
    service: null,
    host: null,
    file: 'train.jsonl',
    lineNo,
    format: 'json',
    templateId: null,
  };
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STAGES: [string, number][] = [
  ['load', 4000],
  ['features', 1500],
  ['train', 60000],
  ['evaluate', 800],
  ['register', 300],
];
const T0 = Date.UTC(2024, 0, 1);
const NOW_US = (T0 + 100 * 86_400_000) * 1000;

type Fault = 'none' | 'slow' | 'degraded' | 'hang' | 'fail' | 'zero' | 'skip-register' | 'nan';

function runRecords(
  i: number,
  fault: Fault,
  rnd: () => number,
  keys = { run: 'run_id', stage: 'stage', event: 'event' },
): LogRecord[] {
  const out: LogRecord[] = [];
  let t = T0 + i * 86_400_000 + Math.floor(rnd() * 600_000);
  let line = i * 100;
  const runId = `run-${i}`;
  const base = { [keys.run]: runId, pipeline: 'nightly' };
  out.push(rec(t, { ...base, [keys.event]: 'run_started' }, ++line));
  for (const [stage, ms] of STAGES) {
    if (fault === 'skip-register' && stage === 'register') continue;
    out.push(rec(t, { ...base, [keys.stage]: stage, [keys.event]: 'started' }, ++line));
    if (fault === 'hang' && stage === 'train') return out;
    // Jitter: ±20% uniform, plus a 1.3× hiccup one run in ten (up to ~1.6× the median: normal on
    // shared machines; the detector asks for 2× and a robust z above 5).
    let d = ms * (0.8 + 0.4 * rnd()) * (rnd() < 0.1 ? 1.3 : 1);
    if (fault === 'slow' && stage === 'features') d = ms * 6;
    if (stage === 'train') {
      for (let e = 1; e <= 6; e++) {
        const loss = fault === 'nan' && e === 5 ? NaN : 0.9 / e + 0.05 * rnd();
        out.push(
          rec(
            t + (d * e) / 7,
            {
              ...base,
              [keys.stage]: 'train',
              [keys.event]: 'metric',
              metric: 'training_loss',
              value: Number.isNaN(loss) ? 'nan' : loss,
              step: e,
            },
            ++line,
          ),
        );
      }
    }
    t += d;
    if (fault === 'fail' && stage === 'evaluate') {
      out.push(
        rec(
          t,
          { ...base, [keys.stage]: stage, [keys.event]: 'failed' },
          ++line,
          'CUDA out of memory',
        ),
      );
      out.push(rec(t, { ...base, [keys.event]: 'run_failed' }, ++line));
      return out;
    }
    const extra: Record<string, AttrValue> = { duration_ms: d };
    if (stage === 'load') extra['rows'] = fault === 'zero' ? 0 : 100_000 + Math.floor(rnd() * 5000);
    if (stage === 'evaluate')
      extra['validation_accuracy'] = fault === 'degraded' ? 0.78 : 0.91 + 0.02 * (rnd() - 0.5);
    out.push(rec(t, { ...base, [keys.stage]: stage, [keys.event]: 'completed', ...extra }, ++line));
  }
  out.push(rec(t, { ...base, [keys.event]: 'run_completed' }, ++line));
  return out;
}

function analyze(
  faults: Map<number, Fault>,
  n: number,
  seed: number,
  keys?: { run: string; stage: string; event: string },
): RunReport[] {
  const rnd = rng(seed);
  const b = new RunBuilder();
  for (let i = 0; i < n; i++)
    for (const r of runRecords(i, faults.get(i) ?? 'none', rnd, keys)) b.add(r);
  return analyzePipelineRuns(b.result(), { nowUs: NOW_US });
}

test('healthy runs with jitter carry no anomalies (several seeds)', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const runs = analyze(new Map(), 30, seed);
    assert.equal(runs.length, 30);
    for (const r of runs) {
      assert.deepEqual(r.anomalies, [], `seed ${seed} ${r.runId}: ${JSON.stringify(r.anomalies)}`);
      assert.equal(r.status, 'succeeded');
      assert.equal(r.stages.length, 5);
    }
  }
});

test('each fault is flagged on exactly its run, with the right status', () => {
  const faults = new Map<number, Fault>([
    [6, 'slow'],
    [9, 'degraded'],
    [12, 'hang'],
    [14, 'fail'],
    [17, 'zero'],
    [20, 'skip-register'],
    [23, 'nan'],
  ]);
  const expect: Record<number, [string, string]> = {
    6: ['succeeded', 'slow-stage'],
    9: ['degraded', 'metric-regression'],
    12: ['silent-failure', 'stage-not-finished'],
    14: ['failed', 'stage-failed'],
    17: ['silent-failure', 'zero-rows'],
    20: ['silent-failure', 'missing-stage'],
    23: ['degraded', 'metric-nan'],
  };
  for (let seed = 1; seed <= 5; seed++) {
    const runs = analyze(faults, 26, seed);
    for (const [i, r] of runs.entries()) {
      const e = expect[i];
      if (!e) {
        assert.deepEqual(r.anomalies, [], `seed ${seed} ${r.runId}`);
        assert.equal(r.status, 'succeeded');
        continue;
      }
      assert.equal(r.status, e[0], `seed ${seed} ${r.runId} ${JSON.stringify(r.anomalies)}`);
      assert.ok(
        r.anomalies.some((a) => a.kind === e[1]),
        `seed ${seed} ${r.runId}: ${JSON.stringify(r.anomalies)}`,
      );
      for (const a of r.anomalies)
        assert.ok(a.evidence.length > 0 && /train\.jsonl:\d+/.test(a.evidence[0]!));
    }
    const slow = runs[6]!.anomalies.find((a) => a.kind === 'slow-stage')!;
    assert.equal(slow.stage, 'features');
    assert.equal(runs[12]!.anomalies.find((a) => a.kind === 'stage-not-finished')!.stage, 'train');
  }
});

test('a run without terminal event is running while recent, silent failure once stale', () => {
  const rnd = rng(3);
  const b = new RunBuilder();
  for (let i = 0; i < 8; i++)
    for (const r of runRecords(i, i === 7 ? 'hang' : 'none', rnd)) b.add(r);
  const last = b.result().find((r) => r.runId === 'run-7')!;
  const soon = analyzePipelineRuns(b.result(), { nowUs: last.lastSeenUs! + 60e6 });
  assert.equal(soon.find((r) => r.runId === 'run-7')!.status, 'running');
  const later = analyzePipelineRuns(b.result(), { nowUs: last.lastSeenUs! + 6 * 3600e6 });
  assert.equal(later.find((r) => r.runId === 'run-7')!.status, 'silent-failure');
});

test('field names are detected in other spellings (runId / step / status)', () => {
  const runs = analyze(new Map([[7, 'slow']]), 10, 4, {
    run: 'runId',
    stage: 'task',
    event: 'status',
  });
  assert.equal(runs.length, 10);
  assert.equal(runs[7]!.anomalies[0]?.kind, 'slow-stage');
  assert.equal(
    runs[3]!.stages.map((s) => s.name).join(','),
    'load,features,train,evaluate,register',
  );
});

test('runs from text logs whose messages carry key=value pairs (Python logging)', () => {
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) {
    const day = `2024-05-0${i + 1}`;
    const run = `nightly-00${i + 1}`;
    const slow = i === 5;
    lines.push(`${day} 02:00:00,000 INFO trainer: run started run_id=${run} event=run_started`);
    let t = 0;
    for (const stage of ['load', 'train', 'evaluate']) {
      const ms = stage === 'train' && slow ? 4000 : 200 + i;
      const at = (x: number): string =>
        `${String(Math.floor(x / 1000)).padStart(2, '0')},${String(x % 1000).padStart(3, '0')}`;
      lines.push(
        `${day} 02:00:${at(t)} INFO trainer: stage ${stage} started run_id=${run} stage=${stage} event=stage_started`,
      );
      t += ms;
      lines.push(
        `${day} 02:00:${at(t)} INFO trainer: stage ${stage} completed run_id=${run} stage=${stage} event=stage_completed duration_ms=${ms}`,
      );
    }
    lines.push(
      `${day} 02:00:${String(Math.floor(t / 1000) + 1).padStart(2, '0')},000 INFO trainer: run completed run_id=${run} event=run_completed`,
    );
  }
  const { records, format } = parseLogText(lines.join('\n') + '\n', 'trainer.log');
  assert.equal(format, 'python-logging');
  const b = new RunBuilder();
  for (const r of records) b.add(r);
  const runs = analyzePipelineRuns(b.result(), { nowUs: NOW_US });
  assert.deepEqual(
    runs.map((r) => r.status),
    ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded'],
  );
  assert.deepEqual(
    runs[0]!.stages.map((s) => [s.name, s.durationMs]),
    [
      ['load', 200],
      ['train', 200],
      ['evaluate', 200],
    ],
  );
  assert.equal(runs[5]!.anomalies[0]?.kind, 'slow-stage');
  assert.equal(runs[5]!.anomalies[0]?.stage, 'train');
});

test('classifyEvent', () => {
  assert.deepEqual(classifyEvent('stage_started'), { cls: 'start', runScope: false });
  assert.deepEqual(classifyEvent('run_failed'), { cls: 'fail', runScope: true });
  assert.deepEqual(classifyEvent('SUCCEEDED'), { cls: 'ok', runScope: false });
  assert.deepEqual(classifyEvent('metric'), { cls: null, runScope: false });
});

test('MLflow tracking files', () => {
  assert.deepEqual(classifyMlflowPath('x/mlruns/0/abc123/metrics/val/acc'), {
    path: 'x/mlruns/0/abc123/metrics/val/acc',
    experimentId: '0',
    runId: 'abc123',
    kind: 'metric',
    name: 'val/acc',
  });
  assert.equal(classifyMlflowPath('x/mlruns/0/meta.yaml'), null);
  assert.equal(classifyMlflowPath('logs/app/metrics/x'), null);
  assert.equal(
    parseMlflowMeta('run_id: r1\nstatus: 4\nstart_time: 1000\nend_time: null\n').status,
    'FAILED',
  );
  const b = new RunBuilder();
  for (let i = 0; i < 7; i++) {
    const id = `r${i}`;
    const acc = i === 6 ? 0.6 : 0.9 + 0.005 * (i % 3);
    b.addMlflow(
      classifyMlflowPath(`mlruns/1/${id}/meta.yaml`)!,
      `run_id: ${id}\nstatus: 3\nstart_time: ${T0 + i * 3600_000}\nend_time: ${T0 + i * 3600_000 + 60_000}\n`,
    );
    b.addMlflow(
      classifyMlflowPath(`mlruns/1/${id}/metrics/validation_accuracy`)!,
      `${T0 + i * 3600_000 + 50_000} ${acc} 10\n`,
    );
  }
  const runs = analyzePipelineRuns(b.result(), { nowUs: NOW_US });
  assert.equal(runs.length, 7);
  assert.deepEqual(
    runs.map((r) => r.status),
    ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'degraded'],
  );
});
