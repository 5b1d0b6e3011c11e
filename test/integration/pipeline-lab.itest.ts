// Pipeline lab against its answer key, over several seeds: each seed writes a fresh bundle of 12
// real scikit-learn runs (src/lab/pipeline.ts, lab/pipeline/train.py) with a silent failure, a
// slow stage and a degraded model on seeded runs. `mlscope pipeline --json` over the bundle must
// report every injected fault on the right run with the right status and an anomaly of the right
// kind on the right stage (and nothing else on that run), and must leave every healthy run
// `succeeded` with no anomalies. Skips without /usr/bin/python3 + sklearn; in CI that is a failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipelineLab, type PipelineTruth } from '../../src/lab/pipeline.js';
import { PYTHON } from '../../src/lab/env.js';
import { run } from '../../src/lab/exec.js';
import { pipelineCommand, type PipelineDoc } from '../../src/cli/commands/pipeline.js';
import { runCommand } from './helpers/run-command.js';

const SEEDS = [3, 5, 11];
const RUNS = 12;

/** Why this machine cannot run the lab, or false. In CI a missing tool fails the test. */
async function skipReason(): Promise<string | false> {
  const r = await run(PYTHON, ['-c', 'import sklearn, numpy'], { allowFail: true }).catch(
    (e: unknown) => ({ code: -1, stderr: String(e) }),
  );
  if (r.code === 0) return false;
  const why = `${PYTHON} cannot import sklearn/numpy (apt-get install -y python3-sklearn)`;
  if (process.env['CI']) throw new Error(`lab pipeline cannot run in CI: ${why}`);
  return why;
}

for (const seed of SEEDS) {
  test(
    `lab pipeline seed ${seed}: every fault on the right run and stage, no healthy run flagged`,
    { timeout: 180_000 },
    async (t) => {
      const skip = await skipReason();
      if (skip) return t.skip(skip);
      const dir = mkdtempSync(join(tmpdir(), `mlscope-pipeline-lab-${seed}-`));
      try {
        const truth = await runPipelineLab({ outDir: dir, seed, runs: RUNS });
        const onDisk = JSON.parse(
          readFileSync(join(dir, 'truth', 'truth.json'), 'utf8'),
        ) as PipelineTruth;
        assert.deepEqual(onDisk, truth, 'truth.json is what runPipelineLab returned');
        assert.equal(onDisk.runs.length, RUNS);
        assert.deepEqual(
          onDisk.runs
            .map((r) => r.fault)
            .filter((f) => f !== 'none')
            .sort(),
          ['degraded', 'silent', 'slow'],
          'three distinct faults injected',
        );

        // The runs are from 2024: fix "now" far after them so none is judged still running.
        const res = await runCommand(pipelineCommand, [
          join(dir, 'bundle'),
          '--json',
          '--now',
          '2030-01-01T00:00:00Z',
        ]);
        assert.equal(res.code, 0, `mlscope pipeline exited ${res.code}: ${res.err}`);
        const doc = JSON.parse(res.out) as PipelineDoc;
        assert.deepEqual(
          doc.runs.map((r) => r.runId).sort(),
          onDisk.runs.map((r) => r.runId).sort(),
          'one report per lab run, no extra runs',
        );

        const problems: string[] = [];
        for (const tr of onDisk.runs) {
          const rep = doc.runs.find((r) => r.runId === tr.runId)!;
          const got = rep.anomalies.map((a) => `${a.kind}@${a.stage ?? '-'}`);
          const where = `seed ${seed} ${tr.runId} (fault ${tr.fault})`;
          if (rep.status !== tr.expectedStatus)
            problems.push(`${where}: status ${rep.status}, expected ${tr.expectedStatus}`);
          if (tr.fault === 'none') {
            if (rep.anomalies.length)
              problems.push(
                `${where}: healthy run flagged: ${rep.anomalies.map((a) => `${a.kind}@${a.stage ?? '-'}: ${a.message}`).join(' | ')}`,
              );
            continue;
          }
          const want = tr.expectedAnomalies.map((e) => `${e.kind}@${e.stage ?? '-'}`);
          for (const w of want)
            if (!got.includes(w))
              problems.push(`${where}: missing anomaly ${w}; got [${got.join(', ')}]`);
          for (const g of got)
            if (!want.includes(g))
              problems.push(`${where}: unexpected anomaly ${g}; expected [${want.join(', ')}]`);
          for (const a of rep.anomalies)
            if (a.evidence.length === 0) problems.push(`${where}: ${a.kind} has no evidence`);
        }
        assert.deepEqual(problems, [], problems.join('\n'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
