// Pipeline run analysis: status of each run and its anomalies, judged against the earlier runs of
// the same pipeline with robust statistics (median and MAD, with floors so normal jitter never
// alerts). Kinds: run-failed, stage-failed (failures); stage-not-finished, no-terminal-event,
// missing-stage, zero-rows (silent failures); slow-stage (regression; the run keeps its status);
// metric-regression, metric-nan, loss-diverging (degraded model).

import type { Evidence, MetricPoint, PipelineRun, StageRun } from './runs.js';
import { isoUsMs } from '../../util/iso.js';

export type RunStatus = 'succeeded' | 'failed' | 'silent-failure' | 'degraded' | 'running';

export interface Anomaly {
  kind: string;
  stage: string | null;
  message: string;
  evidence: string[];
}

export interface StageReport {
  name: string;
  status: StageRun['status'];
  durationMs: number | null;
  start: string | null;
  end: string | null;
  rows: number | null;
  artifacts: string[];
}

export interface RunReport {
  runId: string;
  pipeline: string;
  status: RunStatus;
  start: string | null;
  end: string | null;
  durationMs: number | null;
  stages: StageReport[];
  metrics: Record<string, number>;
  anomalies: Anomaly[];
  sources: string[];
}

export interface PipelineAnalysisOptions {
  /** "Now" in µs (injected clock): a run with no terminal event is `running` while recent. */
  nowUs: number;
  /** Robust z threshold for stage durations and metrics (default 5). */
  zThreshold?: number;
  /** Earlier runs needed before judging a duration or metric (default 4). */
  minHistory?: number;
}

/** Stage durations: also at least 2× the median and 250 ms slower (jitter floors; a hiccup of
 * 1.4–1.8× is normal on a shared machine, a regression worth a look is not). */
const SLOW_MIN_RATIO = 2;
const SLOW_MIN_ABS_MS = 250;
/** Scale floors: duration 10% of the median; metrics 1% of the median level (and 1e-3). */
const DUR_REL_FLOOR = 0.1;
const METRIC_REL_FLOOR = 0.02;
/** A metric must also move this much to count: 3 points for 0..1 scores, else 25% of its level. */
const METRIC_MIN_ABS_CHANGE_SCORE = 0.03;
const METRIC_MIN_REL_CHANGE = 0.25;
/** Metrics need more history than durations: a MAD of 4 values is too noisy for a 1% floor. */
const METRIC_MIN_HISTORY = 6;
const METRIC_ABS_FLOOR = 1e-3;
/** A stage is expected if it ran in at least this share of the (up to 10) previous runs. */
const EXPECTED_STAGE_SHARE = 0.8;
const HISTORY_RUNS = 20;

const HIGHER_BETTER = /(accuracy|acc$|^acc|auc|f1|precision|recall|r2|score|bleu|ndcg|map$)/i;
const LOWER_BETTER = /(loss|error|rmse|mae|mse|perplexity)/i;

export function medianOf(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function robust(xs: readonly number[]): { median: number; mad: number } {
  const median = medianOf(xs);
  return { median, mad: medianOf(xs.map((x) => Math.abs(x - median))) };
}

const iso = (us: number | null): string | null => (us === null ? null : isoUsMs(us));
const ev = (e: Evidence | undefined | null): string[] => (e ? [`${e.file}:${e.line}`] : []);
const fmtMs = (ms: number): string =>
  ms >= 172_800_000
    ? `${(ms / 86_400_000).toFixed(0)} days`
    : ms >= 7_200_000
      ? `${(ms / 3_600_000).toFixed(1)} h`
      : ms >= 10_000
        ? `${(ms / 1000).toFixed(1)} s`
        : ms >= 1000
          ? `${(ms / 1000).toFixed(2)} s`
          : `${Math.round(ms)} ms`;
const fmtV = (v: number): string =>
  Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);

function lastValue(pts: MetricPoint[]): number {
  // By step when steps are logged, else by time, else as written.
  let best = pts[pts.length - 1]!;
  for (const p of pts) {
    if (p.step !== null && best.step !== null && p.step > best.step) best = p;
    else if (p.step === null && p.tsUs !== null && best.tsUs !== null && p.tsUs > best.tsUs)
      best = p;
  }
  return best.value;
}

function runDurationUs(r: PipelineRun): number | null {
  const end = r.endUs ?? r.lastSeenUs;
  return r.startUs !== null && end !== null ? end - r.startUs : null;
}

/** Analyze runs (any order): sorted by start time, each judged against earlier runs of its pipeline. */
export function analyzePipelineRuns(
  runs: PipelineRun[],
  opts: PipelineAnalysisOptions,
): RunReport[] {
  const z = opts.zThreshold ?? 5;
  const minHist = opts.minHistory ?? 4;
  const sorted = runs
    .slice()
    .sort(
      (a, b) => (a.startUs ?? Infinity) - (b.startUs ?? Infinity) || (a.runId < b.runId ? -1 : 1),
    );
  const byPipeline = new Map<string, { run: PipelineRun; report: RunReport }[]>();
  const out: RunReport[] = [];
  for (const run of sorted) {
    const prev = (byPipeline.get(run.pipeline) ?? []).slice(-HISTORY_RUNS);
    const report = analyzeOne(run, prev, opts.nowUs, z, minHist);
    out.push(report);
    const list = byPipeline.get(run.pipeline) ?? [];
    list.push({ run, report });
    byPipeline.set(run.pipeline, list);
  }
  return out;
}

function analyzeOne(
  run: PipelineRun,
  prevAll: { run: PipelineRun; report: RunReport }[],
  nowUs: number,
  z: number,
  minHist: number,
): RunReport {
  const anomalies: Anomaly[] = [];
  // Baselines come from earlier runs that did not fail or go silent (a broken run is no norm).
  const prev = prevAll.filter(
    (p) =>
      p.report.status !== 'failed' &&
      p.report.status !== 'silent-failure' &&
      p.report.status !== 'running',
  );
  let failed = false;
  let silent = false;
  let degraded = false;

  // ---- failures
  for (const s of run.stages) {
    if (s.status === 'failed') {
      failed = true;
      anomalies.push({
        kind: 'stage-failed',
        stage: s.name,
        message: `stage '${s.name}' failed${s.error ? `: ${s.error}` : ''}`,
        evidence: ev(s.evidence[s.evidence.length - 1]),
      });
    }
  }
  if (run.runEvent === 'failed') {
    failed = true;
    if (!anomalies.some((a) => a.kind === 'stage-failed')) {
      const e = run.errors[run.errors.length - 1];
      anomalies.push({
        kind: 'run-failed',
        stage: null,
        message: `run failed${e ? `: ${e.message}` : ''}`,
        evidence: e ? ev(e.evidence) : ev(run.evidence),
      });
    }
  }

  // ---- silent failures
  const medRunUs = medianOf(prev.map((p) => runDurationUs(p.run) ?? NaN));
  const graceUs = Number.isFinite(medRunUs) ? Math.max(3 * medRunUs, 5 * 60e6) : 3600e6;
  const recent = run.lastSeenUs !== null && nowUs - run.lastSeenUs < graceUs;
  const anyRunEvents = prevAll.some(
    (p) => p.run.runEvent === 'succeeded' || p.run.runEvent === 'failed',
  );
  const hanging = run.stages.filter((s) => s.status === 'running');
  const finished = run.runEvent === 'succeeded' || run.runEvent === 'failed';
  let running = false;
  if (!failed) {
    if (hanging.length > 0 || (!finished && anyRunEvents)) {
      if (recent) running = true;
      else {
        for (const s of hanging) {
          silent = true;
          // Relative to the data, not the wall clock: the logs may be old.
          const since =
            s.startUs !== null
              ? ` at ${iso(s.startUs) ?? '?'}` +
                (run.lastSeenUs !== null && run.lastSeenUs > s.startUs
                  ? ` (${fmtMs((run.lastSeenUs - s.startUs) / 1000)} before the run's last record)`
                  : ' (the run logged nothing after it)')
              : '';
          anomalies.push({
            kind: 'stage-not-finished',
            stage: s.name,
            message: `stage '${s.name}' started${since} and never logged an end (no completed/failed event)`,
            evidence: ev(s.evidence[0]),
          });
        }
        if (!finished && anyRunEvents) {
          silent = true;
          anomalies.push({
            kind: 'no-terminal-event',
            stage: null,
            message: `run has no terminal event (earlier runs log run completion); last record ${iso(run.lastSeenUs) ?? 'unknown'}`,
            evidence: ev(run.evidence),
          });
        }
      }
    }
    // Stages that earlier runs always had.
    const recentPrev = prev.slice(-10);
    if (!running && !silent && recentPrev.length >= 2) {
      const counts = new Map<string, number>();
      for (const p of recentPrev)
        for (const s of p.run.stages) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
      for (const [name, c] of counts) {
        if (c < 2 || c / recentPrev.length < EXPECTED_STAGE_SHARE) continue;
        if (run.stages.some((s) => s.name === name)) continue;
        silent = true;
        anomalies.push({
          kind: 'missing-stage',
          stage: name,
          message: `stage '${name}' ran in ${c} of the last ${recentPrev.length} runs but is missing from this one`,
          evidence: ev(run.evidence),
        });
      }
    }
    // Outputs of zero rows where earlier runs produced rows.
    for (const s of run.stages) {
      if (s.rows !== 0) continue;
      const hist = prev
        .map((p) => p.run.stages.find((x) => x.name === s.name)?.rows ?? null)
        .filter((x): x is number => x !== null);
      if (hist.length > 0 && medianOf(hist) === 0) continue;
      silent = true;
      anomalies.push({
        kind: 'zero-rows',
        stage: s.name,
        message: `stage '${s.name}' output 0 rows${hist.length ? ` (usually ${fmtV(medianOf(hist))})` : ''}`,
        evidence: ev(s.evidence[s.evidence.length - 1]),
      });
    }
  }

  // ---- stage duration regressions
  for (const s of run.stages) {
    if (s.durationMs === null || s.status === 'failed') continue;
    const hist = prev
      .map((p) => p.run.stages.find((x) => x.name === s.name))
      .filter(
        (x): x is StageRun => x !== undefined && x.status === 'succeeded' && x.durationMs !== null,
      )
      .map((x) => x.durationMs!);
    if (hist.length < minHist) continue;
    const { median, mad } = robust(hist);
    const scale = Math.max(1.4826 * mad, DUR_REL_FLOOR * median, 1);
    const zs = (s.durationMs - median) / scale;
    if (
      zs > z &&
      s.durationMs > SLOW_MIN_RATIO * median &&
      s.durationMs - median > SLOW_MIN_ABS_MS
    ) {
      anomalies.push({
        kind: 'slow-stage',
        stage: s.name,
        message: `stage '${s.name}' took ${fmtMs(s.durationMs)}, ${(s.durationMs / median).toFixed(1)}× its usual ${fmtMs(median)} (median of ${hist.length} earlier runs, MAD ${fmtMs(mad)}, robust z ${zs.toFixed(1)})`,
        evidence: ev(s.evidence[s.evidence.length - 1]),
      });
    }
  }

  // ---- model metrics
  const finals: Record<string, number> = {};
  for (const [name, pts] of run.metrics) {
    if (pts.length === 0) continue;
    const v = lastValue(pts);
    finals[name] = v;
    const bad = pts.find((p) => !Number.isFinite(p.value));
    if (bad) {
      degraded = true;
      anomalies.push({
        kind: 'metric-nan',
        stage: null,
        message: `metric '${name}' became ${bad.value}${bad.step !== null ? ` at step ${bad.step}` : ''}`,
        evidence: ev(run.evidence),
      });
      continue;
    }
    const lower = LOWER_BETTER.test(name) && !HIGHER_BETTER.test(name);
    const higher = HIGHER_BETTER.test(name);
    // Loss diverging within the run: it ends far above its best.
    if (lower && /loss/i.test(name) && pts.length >= 5) {
      const ordered = pts.slice().sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
      const minV = Math.min(...ordered.map((p) => p.value));
      const first = ordered[0]!.value;
      const lastV = ordered[ordered.length - 1]!.value;
      if (lastV > first && lastV > 2 * minV + METRIC_ABS_FLOOR) {
        degraded = true;
        anomalies.push({
          kind: 'loss-diverging',
          stage: null,
          message: `'${name}' diverged: ended at ${fmtV(lastV)} after reaching ${fmtV(minV)} (started at ${fmtV(first)})`,
          evidence: ev(run.evidence),
        });
        continue;
      }
    }
    if (!lower && !higher) continue;
    const hist = prev
      .map((p) => p.report.metrics[name])
      .filter((x): x is number => x !== undefined && Number.isFinite(x));
    if (hist.length < Math.max(minHist, METRIC_MIN_HISTORY)) continue;
    const { median, mad } = robust(hist);
    const scale = Math.max(1.4826 * mad, METRIC_REL_FLOOR * Math.abs(median), METRIC_ABS_FLOOR);
    const zs = (v - median) / scale;
    const minChange =
      higher && median >= 0 && median <= 1
        ? METRIC_MIN_ABS_CHANGE_SCORE
        : METRIC_MIN_REL_CHANGE * Math.abs(median);
    const worse = Math.abs(v - median) >= minChange && (higher ? zs < -z : zs > z);
    if (worse) {
      degraded = true;
      anomalies.push({
        kind: 'metric-regression',
        stage: null,
        message: `'${name}' = ${fmtV(v)}, ${higher ? 'below' : 'above'} its usual ${fmtV(median)} ± ${fmtV(1.4826 * mad)} (median ± scaled MAD of ${hist.length} earlier runs, robust z ${zs.toFixed(1)})`,
        evidence: ev(run.evidence),
      });
    }
  }

  const status: RunStatus = failed
    ? 'failed'
    : silent
      ? 'silent-failure'
      : degraded
        ? 'degraded'
        : running
          ? 'running'
          : 'succeeded';
  const durUs = runDurationUs(run);
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    status,
    start: iso(run.startUs),
    end: iso(run.endUs ?? (running ? null : run.lastSeenUs)),
    durationMs: durUs === null ? null : durUs / 1000,
    stages: run.stages
      .slice()
      .sort(
        (a, b) =>
          (a.startUs ?? a.endUs ?? Infinity) - (b.startUs ?? b.endUs ?? Infinity) ||
          a.order - b.order,
      )
      .map((s) => ({
        name: s.name,
        status: s.status,
        durationMs: s.durationMs,
        start: iso(s.startUs),
        end: iso(s.endUs),
        rows: s.rows,
        artifacts: s.artifacts,
      })),
    metrics: finals,
    anomalies,
    sources: [...run.sources].sort(),
  };
}
