// Pipeline runs reconstructed from structured log records (JSON, logfmt — anything the log
// decoders turn into attributes) and from MLflow tracking files. Field names are detected from
// common spellings (run_id/runId/run/job_id/dag_run_id…, stage/step/task/phase, event/status/
// state) or configured. Pure: records and file texts in, runs out.

import type { AttrValue, LogRecord } from '../../model/records.js';

export interface PipelineFieldOptions {
  /** Attribute names to use instead of detection. */
  runField?: string;
  stageField?: string;
  eventField?: string;
}

export const RUN_KEYS = [
  'run_id',
  'runId',
  'run',
  'job_id',
  'jobId',
  'dag_run_id',
  'pipeline_run_id',
  'execution_id',
  'mlflow_run_id',
];
export const STAGE_KEYS = ['stage', 'step', 'task', 'phase', 'task_id', 'stage_name', 'step_name'];
export const EVENT_KEYS = ['event', 'status', 'state', 'event_type', 'stage_status', 'outcome'];
const PIPELINE_KEYS = ['pipeline', 'dag_id', 'dag', 'pipeline_name', 'experiment'];
const ROW_KEYS = new Set([
  'rows',
  'row_count',
  'num_rows',
  'n_rows',
  'rows_out',
  'output_rows',
  'rows_written',
  'records_out',
  'num_records',
  'records',
]);
const ARTIFACT_KEYS = new Set([
  'artifact',
  'artifact_path',
  'artifact_uri',
  'output_path',
  'model_path',
  'model_uri',
  'output_uri',
]);
const METRIC_NAME_RE =
  /(loss|accuracy|acc$|^acc|auc|f1|precision|recall|rmse|mae|mse|r2|score|perplexity|bleu|error_rate)/i;

export type EventClass = 'start' | 'ok' | 'fail' | 'skip' | null;

const START = new Set([
  'start',
  'started',
  'starting',
  'begin',
  'began',
  'running',
  'run',
  'launched',
  'queued_start',
]);
const OK = new Set([
  'completed',
  'complete',
  'succeeded',
  'success',
  'successful',
  'done',
  'finished',
  'finish',
  'ok',
  'end',
  'ended',
  'passed',
]);
const FAIL = new Set([
  'failed',
  'fail',
  'failure',
  'error',
  'errored',
  'crashed',
  'aborted',
  'killed',
  'timeout',
  'timed_out',
  'cancelled',
  'canceled',
  'exception',
]);
const SKIP = new Set(['skipped', 'skip', 'upstream_failed']);
const RUN_WORDS = new Set(['run', 'pipeline', 'dag', 'job', 'workflow', 'training']);

/** Classify an event value: 'stage_started' → start, 'run_failed' → fail (scope run). */
export function classifyEvent(v: string): { cls: EventClass; runScope: boolean } {
  const toks = v
    .toLowerCase()
    .split(/[_.\-\s:/]+/)
    .filter(Boolean);
  if (toks.length === 0) return { cls: null, runScope: false };
  const runScope = toks.length > 1 && RUN_WORDS.has(toks[0]!);
  for (let i = toks.length - 1; i >= 0; i--) {
    const t = toks[i]!;
    if (FAIL.has(t)) return { cls: 'fail', runScope };
    if (OK.has(t)) return { cls: 'ok', runScope };
    if (START.has(t)) return { cls: 'start', runScope };
    if (SKIP.has(t)) return { cls: 'skip', runScope };
  }
  return { cls: null, runScope };
}

export interface Evidence {
  file: string;
  line: number;
}

export interface MetricPoint {
  step: number | null;
  tsUs: number | null;
  value: number;
}

export interface StageRun {
  name: string;
  status: 'succeeded' | 'failed' | 'running' | 'skipped' | 'unknown';
  startUs: number | null;
  endUs: number | null;
  durationMs: number | null;
  rows: number | null;
  artifacts: string[];
  /** First-seen order within the run. */
  order: number;
  evidence: Evidence[];
  error: string | null;
}

export interface PipelineRun {
  runId: string;
  /** The pipeline/experiment the run belongs to (runs are compared within it). */
  pipeline: string;
  startUs: number | null;
  endUs: number | null;
  /** Last record of the run (µs), for "still running" vs "went silent". */
  lastSeenUs: number | null;
  /** Run-level terminal event, if logged. */
  runEvent: 'started' | 'succeeded' | 'failed' | null;
  stages: StageRun[];
  metrics: Map<string, MetricPoint[]>;
  params: Record<string, string>;
  errors: { message: string; evidence: Evidence }[];
  sources: Set<string>;
  evidence: Evidence | null;
}

function str(v: AttrValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : String(v);
}

/** Accumulates runs from records (fed in any order) and MLflow files. */
export class RunBuilder {
  private readonly runs = new Map<string, PipelineRun>();
  /** Records that carried no run id (not pipeline records). */
  ignored = 0;
  records = 0;

  constructor(private readonly opts: PipelineFieldOptions = {}) {}

  private run(runId: string, pipeline: string | null): PipelineRun {
    let r = this.runs.get(runId);
    if (!r) {
      r = {
        runId,
        pipeline: pipeline ?? 'default',
        startUs: null,
        endUs: null,
        lastSeenUs: null,
        runEvent: null,
        stages: [],
        metrics: new Map(),
        params: {},
        errors: [],
        sources: new Set(),
        evidence: null,
      };
      this.runs.set(runId, r);
    } else if (pipeline !== null && r.pipeline === 'default') r.pipeline = pipeline;
    return r;
  }

  private stage(run: PipelineRun, name: string): StageRun {
    let s = run.stages.find((x) => x.name === name);
    if (!s) {
      s = {
        name,
        status: 'unknown',
        startUs: null,
        endUs: null,
        durationMs: null,
        rows: null,
        artifacts: [],
        order: run.stages.length,
        evidence: [],
        error: null,
      };
      run.stages.push(s);
    }
    return s;
  }

  private find(a: Record<string, AttrValue>, keys: string[]): string | null {
    for (const k of keys) if (a[k] !== undefined && a[k] !== null && a[k] !== '') return k;
    return null;
  }

  add(r: LogRecord): void {
    this.records++;
    const a = r.attributes;
    const rk = this.opts.runField ?? this.find(a, RUN_KEYS);
    const runId = rk === null ? null : str(a[rk]);
    if (runId === null) {
      this.ignored++;
      return;
    }
    const pk = this.find(a, PIPELINE_KEYS);
    const run = this.run(runId, pk ? str(a[pk]) : r.service);
    const ev: Evidence = { file: r.file, line: r.lineNo };
    run.sources.add(r.file);
    run.evidence ??= ev;
    const ts = r.tsUs;
    if (ts !== null) {
      if (run.startUs === null || ts < run.startUs) run.startUs = ts;
      if (run.lastSeenUs === null || ts > run.lastSeenUs) run.lastSeenUs = ts;
    }
    const sk =
      this.opts.stageField ??
      STAGE_KEYS.find((k) => k !== rk && typeof a[k] === 'string' && a[k] !== '') ??
      null;
    const stageName = sk === null ? null : str(a[sk]);
    // The first event-like field that classifies wins ('event: completed, status: ok').
    let cls: EventClass = null;
    let runScope = false;
    const evKeys = this.opts.eventField ? [this.opts.eventField] : EVENT_KEYS;
    for (const k of evKeys) {
      if (k === sk) continue;
      const v = a[k];
      if (typeof v !== 'string') continue;
      const c = classifyEvent(v);
      if (c.cls !== null) {
        cls = c.cls;
        runScope = c.runScope;
        break;
      }
    }
    if (cls === null && (r.severity === 'ERROR' || r.severity === 'FATAL')) {
      run.errors.push({ message: r.body.slice(0, 300), evidence: ev });
    }
    // Metrics: numeric attributes named like metrics, or metric/name + value pairs.
    const stepV =
      typeof a['step'] === 'number'
        ? a['step']
        : typeof a['epoch'] === 'number'
          ? a['epoch']
          : typeof a['iteration'] === 'number'
            ? a['iteration']
            : null;
    const mName = str(a['metric'] ?? a['metric_name'] ?? null);
    if (mName !== null && typeof a['value'] === 'number')
      this.metric(run, mName, a['value'], stepV, ts);
    else if (
      mName !== null &&
      typeof a['value'] === 'string' &&
      /^(nan|inf|-inf)$/i.test(a['value'])
    )
      this.metric(
        run,
        mName,
        Number(a['value'].toLowerCase().replace('inf', 'Infinity')),
        stepV,
        ts,
      );
    for (const k in a) {
      const v = a[k];
      if (k === rk || k === sk || ROW_KEYS.has(k)) continue;
      if (
        typeof v === 'number' &&
        METRIC_NAME_RE.test(k) &&
        !/(_ms|_s|_sec|duration|time)$/.test(k)
      )
        this.metric(run, k, v, stepV, ts);
      else if (
        typeof v === 'string' &&
        METRIC_NAME_RE.test(k) &&
        /^(nan|inf|-inf|infinity)$/i.test(v)
      )
        this.metric(
          run,
          k,
          v.toLowerCase() === 'nan' ? NaN : v.startsWith('-') ? -Infinity : Infinity,
          stepV,
          ts,
        );
    }
    if (stageName === null || (runScope && cls !== null)) {
      if (cls === 'start') run.runEvent ??= 'started';
      else if (cls === 'ok') {
        run.runEvent = 'succeeded';
        if (ts !== null) run.endUs = ts;
      } else if (cls === 'fail') {
        run.runEvent = 'failed';
        if (ts !== null) run.endUs = ts;
        run.errors.push({ message: r.body.slice(0, 300), evidence: ev });
      }
      return;
    }
    const st = this.stage(run, stageName);
    for (const k in a) {
      const v = a[k];
      if (ROW_KEYS.has(k) && typeof v === 'number') st.rows = v;
      else if (
        ARTIFACT_KEYS.has(k) &&
        typeof v === 'string' &&
        !st.artifacts.includes(v) &&
        st.artifacts.length < 20
      )
        st.artifacts.push(v);
    }
    if (cls === 'start') {
      if (st.startUs === null && ts !== null) st.startUs = ts;
      if (st.status === 'unknown') st.status = 'running';
      st.evidence.push(ev);
    } else if (cls === 'ok' || cls === 'fail' || cls === 'skip') {
      st.status = cls === 'ok' ? 'succeeded' : cls === 'fail' ? 'failed' : 'skipped';
      if (ts !== null) st.endUs = ts;
      if (cls === 'fail') st.error = r.body.slice(0, 300);
      const logged =
        r.durationMs ?? (typeof a['duration_s'] === 'number' ? a['duration_s'] * 1000 : null);
      if (st.startUs !== null && st.endUs !== null) st.durationMs = (st.endUs - st.startUs) / 1000;
      else if (logged !== null) {
        st.durationMs = logged;
        if (st.endUs !== null) st.startUs = st.endUs - logged * 1000;
      }
      if (
        logged !== null &&
        st.durationMs !== null &&
        Math.abs(logged - st.durationMs) > 0 &&
        st.startUs !== null &&
        st.endUs !== null
      ) {
        // Trust the logged measurement over the distance between two log lines.
        st.durationMs = logged;
      }
      st.evidence.push(ev);
    } else if (st.evidence.length === 0) st.evidence.push(ev);
  }

  private metric(
    run: PipelineRun,
    name: string,
    value: number,
    step: number | null,
    tsUs: number | null,
  ): void {
    let pts = run.metrics.get(name);
    if (!pts) run.metrics.set(name, (pts = []));
    if (pts.length < 100_000) pts.push({ step, tsUs, value });
  }

  /** Add one MLflow tracking file (see `classifyMlflowPath`). */
  addMlflow(f: MlflowFile, text: string): void {
    const run = this.run(f.runId, `mlflow:${f.experimentId}`);
    run.sources.add(f.path);
    run.evidence ??= { file: f.path, line: 1 };
    if (f.kind === 'metric') {
      for (const line of text.split('\n')) {
        const p = line.trim().split(/\s+/);
        if (p.length < 2) continue;
        const tsMs = Number(p[0]);
        const v = Number(p[1]);
        const step = p[2] !== undefined ? Number(p[2]) : null;
        if (
          !Number.isFinite(tsMs) ||
          p[1] === undefined ||
          (Number.isNaN(v) && !/^nan$/i.test(p[1]))
        )
          continue;
        const pts = run.metrics.get(f.name) ?? [];
        // MLflow and the logs may both carry a metric: keep the MLflow copy only once.
        if (!run.metrics.has(f.name) || !pts.some((x) => x.step === step && x.value === v)) {
          pts.push({ step, tsUs: tsMs * 1000, value: v });
          run.metrics.set(f.name, pts);
        }
      }
    } else if (f.kind === 'param') run.params[f.name] = text.trim().slice(0, 500);
    else if (f.kind === 'tag') {
      if (f.name === 'mlflow.runName') run.params['run_name'] = text.trim().slice(0, 200);
    } else if (f.kind === 'meta') {
      const meta = parseMlflowMeta(text);
      if (meta.startMs !== null && (run.startUs === null || meta.startMs * 1000 < run.startUs))
        run.startUs = meta.startMs * 1000;
      if (meta.endMs !== null) run.endUs ??= meta.endMs * 1000;
      if (meta.status === 'FINISHED') run.runEvent ??= 'succeeded';
      else if (meta.status === 'FAILED' || meta.status === 'KILLED') run.runEvent = 'failed';
      else if (meta.status === 'RUNNING') run.runEvent ??= 'started';
    }
  }

  result(): PipelineRun[] {
    return [...this.runs.values()];
  }
}

// ---- MLflow ------------------------------------------------------------------------------------

export interface MlflowFile {
  path: string;
  experimentId: string;
  runId: string;
  kind: 'metric' | 'param' | 'tag' | 'meta';
  name: string;
}

/** `…/mlruns/<exp>/<run>/metrics/<name>` (and params/, tags/, meta.yaml) → its parts, or null. */
export function classifyMlflowPath(path: string): MlflowFile | null {
  const p = path.replace(/\\/g, '/');
  const m = /(?:^|\/)([^/]+)\/([^/]+)\/(metrics|params|tags)\/(.+)$/.exec(p);
  const inMlruns = /(?:^|\/)mlruns\//.test(p);
  if (m) {
    if (!inMlruns && !/^\d+$/.test(m[1]!)) return null;
    const kind = m[3] === 'metrics' ? 'metric' : m[3] === 'params' ? 'param' : 'tag';
    return { path, experimentId: m[1]!, runId: m[2]!, kind, name: m[4]! };
  }
  const meta = /(?:^|\/)([^/]+)\/([^/]+)\/meta\.yaml$/.exec(p);
  if (meta && (inMlruns || /^\d+$/.test(meta[1]!)) && meta[1] !== 'mlruns')
    return { path, experimentId: meta[1]!, runId: meta[2]!, kind: 'meta', name: 'meta.yaml' };
  return null;
}

const MLFLOW_STATUS: Record<string, string> = {
  '1': 'RUNNING',
  '2': 'SCHEDULED',
  '3': 'FINISHED',
  '4': 'FAILED',
  '5': 'KILLED',
};

/** The few fields of a run's meta.yaml we use (flat `key: value` lines; no YAML library needed). */
export function parseMlflowMeta(text: string): {
  runId: string | null;
  status: string | null;
  startMs: number | null;
  endMs: number | null;
} {
  const get = (k: string): string | null => {
    const m = new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text);
    if (!m) return null;
    const v = m[1]!.trim().replace(/^['"]|['"]$/g, '');
    return v === '' || v === 'null' ? null : v;
  };
  const st = get('status');
  const num = (s: string | null): number | null =>
    s !== null && Number.isFinite(Number(s)) ? Number(s) : null;
  return {
    runId: get('run_id') ?? get('run_uuid'),
    status: st === null ? null : (MLFLOW_STATUS[st] ?? st.toUpperCase()),
    startMs: num(get('start_time')),
    endMs: num(get('end_time')),
  };
}
