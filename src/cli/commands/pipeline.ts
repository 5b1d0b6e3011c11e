// `mlscope pipeline <inputs…> [--json] [--run-field F] [--stage-field F] [--event-field F]
// [--format F] [--now T] [--z N]`: reconstruct ML pipeline runs from structured logs and MLflow
// tracking dirs (mlruns/<exp>/<run>/{metrics,params,tags}/…, meta.yaml), flag failed runs, silent
// failures, stage-duration regressions and model-metric anomalies, with evidence (file:line).

import {
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { expandInputs, readChunks, type InputRef } from '../../sources/files.js';
import { readLogInput } from '../../ingest/logs.js';
import type { QualityReport } from '../../model/quality.js';
import { RunBuilder, classifyMlflowPath } from '../../analyzers/pipeline/runs.js';
import { analyzePipelineRuns, type RunReport } from '../../analyzers/pipeline/analyze.js';
import { checkLogFormat } from './log-input.js';
import { parseTimeFlag } from './logs.js';
import { renderTable, sanitizeCell, clip } from './render.js';

const USAGE =
  'mlscope pipeline <inputs…> [--json] [--run-field F] [--stage-field F] [--event-field F] [--format F] [--now T] [--z N]';
/** MLflow files are small; anything bigger is not one of them. */
const MAX_MLFLOW_FILE_BYTES = 64 << 20;

async function readText(ref: InputRef): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of readChunks(ref)) {
    n += c.length;
    if (n > MAX_MLFLOW_FILE_BYTES) break;
    parts.push(c);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Files inside an mlruns tree that are not tracking data (artifacts, experiment meta). */
function isMlrunsOther(name: string): boolean {
  return /(?:^|\/)mlruns\//.test(name.replace(/\\/g, '/'));
}

export interface PipelineDoc {
  runs: RunReport[];
  summary: Record<string, number>;
  dataQuality: { source: string; format: string; records: number; skipped: number }[];
}

export const pipelineCommand: Command = {
  name: 'pipeline',
  summary:
    'reconstruct ML pipeline runs from logs/MLflow; flag failures, silent failures, regressions',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('pipeline', argv, {
      json: { type: 'boolean' },
      'run-field': { type: 'string' },
      'stage-field': { type: 'string' },
      'event-field': { type: 'string' },
      format: { type: 'string' },
      now: { type: 'string' },
      z: { type: 'string' },
    });
    if (positionals.length === 0) throw new UsageError('pipeline: no inputs given');
    const format = checkLogFormat('pipeline', values.format);
    const z = numberFlag('pipeline', 'z', values.z);
    const nowMs = Date.now();
    const nowUs = values.now === undefined ? nowMs * 1000 : parseTimeFlag('now', values.now, nowMs);

    let exit: number = ExitCode.OK;
    const onError = (e: InputError): void => {
      exit = ExitCode.INPUT_ERROR;
      io.stderr.write(`mlscope: ${sanitizeCell(e.message)}\n`);
    };
    const builder = new RunBuilder({
      ...(values['run-field'] !== undefined ? { runField: values['run-field'] } : {}),
      ...(values['stage-field'] !== undefined ? { stageField: values['stage-field'] } : {}),
      ...(values['event-field'] !== undefined ? { eventField: values['event-field'] } : {}),
    });
    const quality: QualityReport[] = [];
    const refs = await expandInputs(positionals, onError);
    for (const ref of refs) {
      const ml = classifyMlflowPath(ref.name);
      if (ml) {
        try {
          builder.addMlflow(ml, await readText(ref));
        } catch (e) {
          onError(e as InputError);
        }
        continue;
      }
      if (isMlrunsOther(ref.name)) continue;
      for await (const ev of readLogInput(ref, { format, now: () => nowMs })) {
        if (ev.kind === 'records') for (const r of ev.records) builder.add(r);
        else if (ev.kind === 'file') quality.push(ev.quality);
        else onError(ev.error);
      }
    }
    const runs = analyzePipelineRuns(builder.result(), {
      nowUs,
      ...(z !== undefined ? { zThreshold: z } : {}),
    });
    const summary: Record<string, number> = {
      runs: runs.length,
      succeeded: 0,
      failed: 0,
      'silent-failure': 0,
      degraded: 0,
      running: 0,
    };
    for (const r of runs) summary[r.status] = (summary[r.status] ?? 0) + 1;
    const doc: PipelineDoc = {
      runs,
      summary,
      dataQuality: quality.map((q) => ({
        source: q.source,
        format: q.format,
        records: q.decoded,
        skipped: q.skipped,
      })),
    };
    if (values.json) writeJson(io, doc);
    else io.stdout.write(renderPipeline(doc));
    return exit;
  },
};

const MARK: Record<string, string> = {
  succeeded: '✓',
  failed: '✗',
  running: '…',
  skipped: '-',
  unknown: '?',
};

function fmtDur(ms: number | null): string {
  if (ms === null) return '—';
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)}m`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.round(ms)}ms`;
}

export function renderPipeline(doc: PipelineDoc): string {
  if (doc.runs.length === 0)
    return 'no pipeline runs found (records need a run id field: run_id, runId, run, job_id, dag_run_id — or --run-field)\n';
  const rows = doc.runs.map((r) => [
    r.runId,
    r.status,
    r.start,
    fmtDur(r.durationMs),
    r.stages.map((s) => `${s.name} ${fmtDur(s.durationMs)}${MARK[s.status] ?? ''}`).join(' → '),
    r.anomalies.length,
  ]);
  let out = renderTable(['run', 'status', 'start', 'duration', 'stages', 'anomalies'], rows, {
    maxWidthByColumn: { stages: 100, run: 40 },
  });
  const bad = doc.runs.filter((r) => r.anomalies.length > 0);
  if (bad.length) {
    out += '\nanomalies:\n';
    for (const r of bad)
      for (const a of r.anomalies)
        out += `  ${sanitizeCell(clip(r.runId, 40))}  ${a.kind}${a.stage ? ` [${sanitizeCell(a.stage)}]` : ''}: ${sanitizeCell(clip(a.message, 240))}${a.evidence.length ? `  (${a.evidence.map(sanitizeCell).join(', ')})` : ''}\n`;
  }
  const s = doc.summary;
  out += `\n${s['runs']} runs: ${s['succeeded']} succeeded, ${s['failed']} failed, ${s['silent-failure']} silent failures, ${s['degraded']} degraded, ${s['running']} running\n`;
  return out;
}
