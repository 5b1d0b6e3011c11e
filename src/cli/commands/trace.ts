// `mlscope trace <traceId> <inputs…> [--json] [--width N]`: one trace as a terminal waterfall —
// spans indented by depth, a bar per span on a common time axis, critical-path spans marked '*'.

import {
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError } from '../../util/errors.js';
import { buildTrace, walkTrace } from '../../analyzers/traces/tree.js';
import { criticalPath, criticalTimeBySpan } from '../../analyzers/traces/critical-path.js';
import { summarizeTrace } from '../../analyzers/traces/summary.js';
import { safeText } from '../../outputs/text.js';
import { loadTelemetry } from './traces.js';

const USAGE = 'mlscope trace <traceId> <inputs…> [--json] [--width N]';

export const traceCommand: Command = {
  name: 'trace',
  summary: 'show one trace as a waterfall with its critical path',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('trace', argv, {
      json: { type: 'boolean' },
      width: { type: 'string' },
    });
    const [rawId, ...inputs] = positionals;
    if (!rawId || inputs.length === 0) throw new UsageError('trace: expects a trace id and inputs');
    const id = rawId.toLowerCase();
    if (!/^[0-9a-f]{1,32}$/.test(id))
      throw new UsageError(`trace: '${rawId}' is not a hex trace id`);
    const traceId = id.padStart(32, '0');
    const width = Math.max(10, Math.min(200, numberFlag('trace', 'width', values.width) ?? 50));
    const { batch, failed } = await loadTelemetry(inputs, io);
    const spans = batch.spans.filter((s) => s.traceId === traceId);
    if (spans.length === 0) {
      io.stderr.write(
        `mlscope: trace ${traceId} not found in the inputs (${batch.spans.length} spans read)\n`,
      );
      return ExitCode.INPUT_ERROR;
    }
    const t = buildTrace(traceId, spans);
    const path = criticalPath(t);
    const crit = criticalTimeBySpan(path);
    const summary = summarizeTrace(t, path);
    const order = walkTrace(t);
    if (values.json) {
      writeJson(io, {
        ...summary,
        criticalPathSegments: path,
        spans: order.map((n) => ({
          ...n.span,
          depth: n.depth,
          criticalMs: (crit.get(n.span.spanId) ?? 0) / 1000,
        })),
      });
      return failed > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
    }
    const total = Math.max(1, t.endUs - t.startUs);
    const labels = order.map((n) =>
      safeText(`${'  '.repeat(Math.min(n.depth, 20))}${n.span.service ?? '?'}: ${n.span.name}`, 60),
    );
    const lw = Math.max(...labels.map((l) => l.length));
    const out: string[] = [
      `trace ${traceId}   ${summary.durationMs} ms   ${summary.spans} spans   services ${summary.services.join(', ')}   errors ${summary.errors}`,
      '',
    ];
    order.forEach((n, i) => {
      const s = n.span;
      const a = Math.floor(((s.startUs - t.startUs) / total) * width);
      const b = Math.max(a + 1, Math.ceil(((s.endUs - t.startUs) / total) * width));
      const bar =
        ' '.repeat(Math.max(0, a)) +
        (s.status === 'error' ? '!' : '█').repeat(Math.max(1, Math.min(width, b) - a));
      const mark = crit.has(s.spanId) ? '*' : ' ';
      const ms = ((s.endUs - s.startUs) / 1000).toFixed(1);
      out.push(`${mark} ${labels[i]!.padEnd(lw)}  ${ms.padStart(9)} ms  |${bar.padEnd(width)}|`);
    });
    out.push(
      '',
      `* on the critical path   ! error   ${t.orphans ? `${t.orphans} span(s) with a missing parent` : ''}`.trimEnd(),
    );
    io.stdout.write(out.join('\n') + '\n');
    return failed > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
