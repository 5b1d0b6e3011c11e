// `mlscope alerts --rules FILE <inputs…> [--json] [--step 1m] [--format F]`: backtest alert rules
// (Prometheus-style rule file, LogQL-compatible expressions; src/analyzers/alerts/LANGUAGE.md)
// over log history in one streaming pass: inputs merged by time, rules evaluated at every step,
// firing intervals per alert with their labels (`for` respected).

import { ExitCode, parseCommandArgs, writeJson, type Command, type Io } from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { expandInputs, readChunks } from '../../sources/files.js';
import { readLogInput } from '../../ingest/logs.js';
import type { LogRecord } from '../../model/records.js';
import type { QualityReport } from '../../model/quality.js';
import { parseRuleFile } from '../../analyzers/alerts/rules.js';
import { AlertEvaluator } from '../../analyzers/alerts/engine.js';
import { backtest, mergeByTime, type FiringInterval } from '../../analyzers/alerts/backtest.js';
import { parseDurationMs, formatDurationMs } from '../../analyzers/alerts/duration.js';
import { classifyMlflowPath } from '../../analyzers/pipeline/runs.js';
import { checkLogFormat } from './log-input.js';
import { renderTable, sanitizeCell, clip } from './render.js';
import { isoMs } from '../../util/iso.js';

const USAGE = 'mlscope alerts --rules FILE <inputs…> [--json] [--step 1m] [--format F]';
const MAX_RULE_FILE_BYTES = 8 << 20;

const iso = (ms: number | null): string | null => (ms === null ? null : isoMs(ms));

export const alertsCommand: Command = {
  name: 'alerts',
  summary: 'backtest alert rules (LogQL-style, Prometheus rule files) over log history',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('alerts', argv, {
      rules: { type: 'string' },
      json: { type: 'boolean' },
      step: { type: 'string' },
      format: { type: 'string' },
    });
    if (!values.rules) throw new UsageError('alerts: --rules FILE is required');
    if (positionals.length === 0) throw new UsageError('alerts: no inputs given');
    const format = checkLogFormat('alerts', values.format);
    const stepMs = parseDurationMs(values.step ?? '1m');
    if (stepMs === null || stepMs < 1000)
      throw new UsageError(
        `alerts: --step expects a duration of at least 1s (e.g. 30s, 1m), got '${values.step}'`,
      );

    // The rule file: read through sources/, problems listed with line:column, exit 2.
    const rulesName = values.rules;
    let text = '';
    for await (const c of readChunks({ name: rulesName, path: rulesName })) {
      text += c.toString('utf8');
      if (text.length > MAX_RULE_FILE_BYTES)
        throw new UsageError(`alerts: ${rulesName} is larger than ${MAX_RULE_FILE_BYTES} bytes`);
    }
    const parsed = parseRuleFile(text, rulesName);
    const ev = new AlertEvaluator(parsed.groups, stepMs, parsed.problems);
    if (ev.problems.length > 0) {
      for (const p of ev.problems)
        io.stderr.write(`${sanitizeCell(`${p.file}:${p.line}:${p.col}: ${p.message}`)}\n`);
      throw new UsageError(`alerts: ${ev.problems.length} problem(s) in ${rulesName}`);
    }
    if (ev.rules.length === 0) throw new UsageError(`alerts: ${rulesName} has no alert rules`);

    let exit: number = ExitCode.OK;
    const onError = (e: InputError): void => {
      exit = ExitCode.INPUT_ERROR;
      io.stderr.write(`mlscope: ${sanitizeCell(e.message)}\n`);
    };
    const refs = (await expandInputs(positionals, onError)).filter(
      (r) => !classifyMlflowPath(r.name) && !/(?:^|\/)mlruns\//.test(r.name),
    );
    const quality: QualityReport[] = [];
    const streams = refs.map((ref) => ({
      async *[Symbol.asyncIterator](): AsyncGenerator<LogRecord[]> {
        for await (const e of readLogInput(ref, { format })) {
          if (e.kind === 'records') yield e.records;
          else if (e.kind === 'file') quality.push(e.quality);
          else onError(e.error);
        }
      },
    }));
    let noTs = 0;
    let outOfOrder = 0;
    const res = await backtest(
      ev,
      mergeByTime(
        streams,
        () => noTs++,
        () => outOfOrder++,
      ),
    );
    res.noTimestamp = noTs;
    res.outOfOrder = outOfOrder;
    const stats = ev.stats();
    const doc = {
      step: formatDurationMs(stepMs),
      range: { start: iso(res.firstTsMs), end: iso(res.lastTsMs) },
      rules: ev.rules.map((r) => ({
        alert: r.name,
        group: r.group,
        expr: r.exprText,
        for: formatDurationMs(r.forMs),
        file: `${r.file}:${r.line}`,
      })),
      alerts: res.intervals.map((iv) => ({
        alert: iv.alert,
        group: iv.group,
        labels: iv.labels,
        annotations: iv.annotations,
        activeAt: iso(iv.activeAtMs),
        startsAt: iso(iv.startsAtMs),
        endsAt: iso(iv.endsAtMs),
        maxValue: Number.isFinite(iv.maxValue) ? iv.maxValue : String(iv.maxValue),
      })),
      summary: Object.fromEntries(
        ev.rules.map((r) => [r.name, res.intervals.filter((i) => i.alert === r.name).length]),
      ),
      stats: {
        records: res.records,
        noTimestamp: res.noTimestamp,
        outOfOrder: res.outOfOrder,
        ticks: res.ticks,
        unwrapErrors: stats.unwrapErrors,
        late: stats.late,
      },
      dataQuality: quality.map((q) => ({
        source: q.source,
        format: q.format,
        records: q.decoded,
        skipped: q.skipped,
      })),
    };
    if (values.json) writeJson(io, doc);
    else io.stdout.write(renderAlerts(res.intervals, doc.summary, res.records, res.ticks));
    return exit;
  },
};

function renderAlerts(
  intervals: FiringInterval[],
  summary: Record<string, number>,
  records: number,
  ticks: number,
): string {
  let out = '';
  if (intervals.length === 0) out += 'no alert fired\n';
  else {
    const rows = intervals.map((iv) => [
      iv.alert,
      Object.entries(iv.labels)
        .filter(([k]) => k !== 'alertname')
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      iso(iv.startsAtMs),
      iso(iv.endsAtMs) ?? 'still firing',
      Number(iv.maxValue.toPrecision(6)),
      clip(Object.values(iv.annotations)[0] ?? '', 100),
    ]);
    out += renderTable(['alert', 'labels', 'starts', 'ends', 'max value', 'annotation'], rows, {
      maxWidthByColumn: { labels: 80, annotation: 100 },
    });
  }
  out += `\n${records} records, ${ticks} evaluations; intervals per rule: ${Object.entries(summary)
    .map(([k, v]) => `${sanitizeCell(k)}=${v}`)
    .join(', ')}\n`;
  return out;
}
