// `mlscope lab pipeline --out DIR [--seed N] [--runs N]`: many runs of a small real training job
// (lab/pipeline/train.py: Debian's python3-sklearn on generated data, one /usr/bin/python3 process
// per run) writing JSON structured logs and MLflow-style tracking files, with three injected
// faults: a silent failure (the process is SIGKILLed inside `evaluate`), a slow stage (`features`
// sleeps) and a degraded model (a feature-join bug). Writes DIR/bundle/{logs,mlruns} and the
// answer key DIR/truth/truth.json. Runs are laid out one per hour from `startMs` (durations are
// real, see train.py).

import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_ASSETS, PYTHON } from './env.js';
import { labEnv, run } from './exec.js';
import { LabError } from './errors.js';

export type PipelineFault = 'none' | 'slow' | 'degraded' | 'silent';

export interface PipelineLabOptions {
  outDir: string;
  seed?: number;
  /** Number of runs (default 12, at least 10: faults need earlier healthy runs to compare with). */
  runs?: number;
  /** Schedule start (epoch ms; default 2024-05-01T02:00:00Z); one run per `intervalMs`. */
  startMs?: number;
  intervalMs?: number;
  /** Extra sleep of the slow stage (s, default 3). */
  slowSeconds?: number;
  progress?: (msg: string) => void;
}

export interface PipelineTruthRun {
  runId: string;
  index: number;
  startMs: number;
  fault: PipelineFault;
  /** What `mlscope pipeline` should say. */
  expectedStatus: 'succeeded' | 'silent-failure' | 'degraded';
  expectedAnomalies: { kind: string; stage: string | null }[];
  exitCode: number;
}

export interface PipelineTruth {
  scenario: 'pipeline';
  seed: number;
  runs: PipelineTruthRun[];
  faultyRunIds: string[];
  bundle: { logs: string; mlruns: string };
}

export const PIPELINE_SCRIPT = join(LAB_ASSETS, 'pipeline', 'train.py');

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Which run gets which fault: three distinct runs after the first seven (seeded), so every
 * fault has at least 7 healthy runs before it to be judged against. */
export function planPipelineFaults(runs: number, seed: number): PipelineFault[] {
  const rnd = mulberry32(seed * 7919 + 17);
  const plan: PipelineFault[] = Array.from({ length: runs }, () => 'none');
  const pool: number[] = [];
  for (let i = 7; i < runs; i++) pool.push(i);
  for (const f of ['silent', 'slow', 'degraded'] as const) {
    const k = Math.floor(rnd() * pool.length);
    plan[pool[k]!] = f;
    pool.splice(k, 1);
  }
  return plan;
}

async function preflightPipeline(): Promise<void> {
  const r = await run(PYTHON, ['-c', 'import sklearn, numpy'], { allowFail: true }).catch(
    () => null,
  );
  const problems: string[] = [];
  if (r === null) problems.push(`missing ${PYTHON}`);
  else if (r.code !== 0) problems.push(`${PYTHON} cannot import sklearn/numpy`);
  if (!existsSync(PIPELINE_SCRIPT)) problems.push(`scenario asset not found: ${PIPELINE_SCRIPT}`);
  if (problems.length)
    throw new LabError(
      'E_LAB_ENV',
      `lab pipeline cannot run:\n  ${problems.join('\n  ')}\n  install: apt-get install -y python3-sklearn`,
    );
}

export async function runPipelineLab(opts: PipelineLabOptions): Promise<PipelineTruth> {
  const seed = opts.seed ?? 7;
  const n = opts.runs ?? 12;
  if (!Number.isInteger(n) || n < 10 || n > 500)
    throw new LabError('E_LAB_ENV', 'lab pipeline: --runs must be a whole number from 10 to 500');
  const startMs = opts.startMs ?? Date.UTC(2024, 4, 1, 2, 0, 0);
  const intervalMs = opts.intervalMs ?? 3_600_000;
  const progress = opts.progress ?? (() => {});
  await preflightPipeline();

  const bundle = join(opts.outDir, 'bundle');
  const logs = join(bundle, 'logs');
  const mlruns = join(bundle, 'mlruns');
  const work = join(opts.outDir, 'work');
  rmSync(bundle, { recursive: true, force: true });
  rmSync(join(opts.outDir, 'truth'), { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  mkdirSync(join(mlruns, '0'), { recursive: true });
  mkdirSync(join(opts.outDir, 'truth'), { recursive: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(mlruns, '0', 'meta.yaml'),
    `artifact_location: file://${join(work, 'artifacts')}\nexperiment_id: '0'\nlifecycle_stage: active\nname: nightly-retrain\n`,
  );

  const plan = planPipelineFaults(n, seed);
  const truthRuns: PipelineTruthRun[] = [];
  for (let i = 0; i < n; i++) {
    const runId = `nightly-${String(i + 1).padStart(3, '0')}`;
    const fault = plan[i]!;
    const t = startMs + i * intervalMs;
    progress(
      `lab pipeline: run ${i + 1}/${n} ${runId}${fault === 'none' ? '' : ` (fault: ${fault})`}`,
    );
    const r = await run(
      PYTHON,
      [
        PIPELINE_SCRIPT,
        '--run-id',
        runId,
        '--seed',
        String(seed * 1000 + i),
        '--start-ms',
        String(t),
        '--log',
        join(logs, 'trainer.jsonl'),
        '--mlruns',
        mlruns,
        '--artifacts',
        join(work, 'artifacts'),
        '--fault',
        fault,
        '--slow-s',
        String(opts.slowSeconds ?? 3),
      ],
      {
        allowFail: true,
        env: labEnv({ OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }),
        timeoutMs: 120_000,
      },
    );
    const expectedKill = fault === 'silent';
    if ((r.code !== 0) !== expectedKill)
      throw new LabError(
        'E_LAB_RUN',
        `lab pipeline: ${runId} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    truthRuns.push({
      runId,
      index: i,
      startMs: t,
      fault,
      expectedStatus:
        fault === 'silent' ? 'silent-failure' : fault === 'degraded' ? 'degraded' : 'succeeded',
      expectedAnomalies:
        fault === 'silent'
          ? [
              { kind: 'stage-not-finished', stage: 'evaluate' },
              { kind: 'no-terminal-event', stage: null },
            ]
          : fault === 'slow'
            ? [{ kind: 'slow-stage', stage: 'features' }]
            : fault === 'degraded'
              ? [{ kind: 'metric-regression', stage: null }]
              : [],
      exitCode: r.code,
    });
  }
  const truth: PipelineTruth = {
    scenario: 'pipeline',
    seed,
    runs: truthRuns,
    faultyRunIds: truthRuns.filter((r) => r.fault !== 'none').map((r) => r.runId),
    bundle: { logs: 'bundle/logs', mlruns: 'bundle/mlruns' },
  };
  writeFileSync(join(opts.outDir, 'truth', 'truth.json'), JSON.stringify(truth, null, 2) + '\n');
  return truth;
}
