// `mlscope traces <inputs…> [--json] [--top N]`: read OTLP (JSON, JSON lines, protobuf), Jaeger or
// Zipkin trace files and summarise them: per-trace summary of the slowest traces with their
// critical path, the service map with RED per edge, and self time per service and operation.

import {
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { expandInputs, readChunks } from '../../sources/files.js';
import { Quality, type QualityReport } from '../../model/quality.js';
import { decodeTelemetryFile, emptyBatch, type TelemetryBatch } from '../../decoders/otlp/index.js';
import { analyzeTraces, type TracesReport } from '../../analyzers/traces/summary.js';
import { renderTable, safeText } from '../../outputs/text.js';

const USAGE = 'mlscope traces <inputs…> [--json] [--top N]';
/** Trace files are whole documents (one JSON or protobuf message): refuse absurd sizes. */
export const MAX_TRACE_FILE_BYTES = 512 << 20;

export interface LoadedTelemetry {
  batch: TelemetryBatch;
  quality: QualityReport[];
  failed: number;
}

/** Read every input into one batch; unreadable inputs are reported on stderr and counted. */
export async function loadTelemetry(args: string[], io: Io): Promise<LoadedTelemetry> {
  let failed = 0;
  const onError = (e: InputError): void => {
    failed++;
    io.stderr.write(`mlscope: ${e.message}\n`);
  };
  const refs = await expandInputs(args, onError);
  const batch = emptyBatch();
  const quality: QualityReport[] = [];
  for (const ref of refs) {
    const parts: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of readChunks(ref)) {
        n += c.length;
        if (n > MAX_TRACE_FILE_BYTES) throw new Error(`larger than ${MAX_TRACE_FILE_BYTES} bytes`);
        parts.push(c);
      }
    } catch (err) {
      failed++;
      io.stderr.write(`mlscope: ${err instanceof Error ? err.message : String(err)}\n`);
      continue;
    }
    const q = new Quality(ref.name, 'telemetry');
    q.format = decodeTelemetryFile(Buffer.concat(parts, n), ref.name, batch, q);
    quality.push(q.report());
  }
  return { batch, quality, failed };
}

function render(r: TracesReport, quality: QualityReport[]): string {
  const out: string[] = [];
  out.push(
    `traces ${r.traces}   spans ${r.spans}   services ${r.services.length}   traces with errors ${r.errorTraces}`,
    `duration p50 ${r.durationMs.p50} ms   p95 ${r.durationMs.p95} ms   p99 ${r.durationMs.p99} ms   max ${r.durationMs.max} ms`,
    '',
    'slowest traces',
    renderTable(
      ['trace', 'root', 'ms', 'spans', 'errors', 'critical path (top)'],
      r.slowest.map((t) => [
        t.traceId,
        safeText(`${t.rootService ?? '?'}: ${t.rootName}`, 40),
        t.durationMs,
        t.spans,
        t.errors,
        safeText(
          t.criticalPath
            .slice(0, 3)
            .map((c) => `${c.service ?? '?'}:${c.name} ${c.ms}ms`)
            .join(', '),
          80,
        ),
      ]),
      ['left', 'left', 'right', 'right', 'right', 'left'],
    ),
    '',
    'service map (RED per edge)',
    renderTable(
      ['from', 'to', 'requests', 'errors', 'err %', 'p50 ms', 'p95 ms', 'p99 ms'],
      r.serviceMap.map((e) => [
        safeText(e.from ?? '(client)', 30),
        safeText(e.to ?? '?', 30),
        e.requests,
        e.errors,
        (e.errorRate * 100).toFixed(1),
        e.p50Ms,
        e.p95Ms,
        e.p99Ms,
      ]),
      ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
    '',
    'self time by service and operation',
    renderTable(
      ['service', 'operation', 'count', 'self ms', 'total ms', 'critical ms', 'errors'],
      r.selfTime.map((s) => [
        safeText(s.service ?? '?', 30),
        safeText(s.operation, 50),
        s.count,
        s.selfMs,
        s.totalMs,
        s.criticalMs,
        s.errors,
      ]),
      ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  const skipped = quality.filter((q) => q.skipped > 0);
  if (skipped.length) {
    out.push('', 'skipped');
    for (const q of skipped)
      out.push(
        `  ${safeText(q.source, 80)}: ${Object.entries(q.skippedByReason)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
  }
  return out.join('\n') + '\n';
}

export const tracesCommand: Command = {
  name: 'traces',
  summary:
    'summarise traces (OTLP, Jaeger, Zipkin): slowest traces, critical path, service map, self time',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('traces', argv, {
      json: { type: 'boolean' },
      top: { type: 'string' },
    });
    if (positionals.length === 0) throw new UsageError('traces: no inputs given');
    const top = numberFlag('traces', 'top', values.top) ?? 10;
    const { batch, quality, failed } = await loadTelemetry(positionals, io);
    const report = analyzeTraces(batch.spans, { top });
    if (values.json)
      writeJson(io, {
        ...report,
        dataQuality: quality.map((q) => ({
          source: q.source,
          format: q.format,
          records: q.decoded,
          skipped: q.skipped,
          skippedByReason: q.skippedByReason,
        })),
      });
    else io.stdout.write(render(report, quality));
    return failed > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
