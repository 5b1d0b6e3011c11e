// `mlscope flows <inputs…> [--json] [--top N] [--aws-format FMT] [--no-sampling]`: flow records from
// NetFlow v5/v9/IPFIX (captures or payload files) and AWS/GCP/Azure flow logs, summarised.

import {
  ExitCode,
  parseCommandArgs,
  numberFlag,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { expandInputs } from '../../sources/files.js';
import { FlowIngest } from '../../ingest/flows.js';
import { flowToJson, isoTime, type FlowJson } from '../../model/flow.js';
import type { QualityReport } from '../../model/quality.js';
import { FlowSummary, type FlowSummaryReport } from '../../analyzers/flows/summary.js';
import { parseAwsFormat } from '../../decoders/flow/aws-vpc.js';

const USAGE = 'mlscope flows <inputs…> [--json] [--top N] [--aws-format "FIELDS"] [--no-sampling]';
const MAX_MINUTE_ROWS = 60;

/** Strip terminal control sequences from text that came from input. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function fmtBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${u[i]}`;
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

function render(sum: FlowSummaryReport, reports: QualityReport[], top: number): string {
  const out: string[] = [];
  out.push(
    `records ${sum.records}   bytes ${sum.bytes} (${fmtBytes(sum.bytes)})   packets ${sum.packets}` +
      (sum.firstUs !== null ? `   ${isoTime(sum.firstUs)} → ${isoTime(sum.lastUs)}` : ''),
  );
  const src = Object.entries(sum.bySource).map(([k, v]) => `${k} ${v}`);
  if (src.length) out.push(`sources: ${src.join(', ')}`);
  out.push('', `top talkers (by bytes, top ${top})`);
  out.push(
    table(
      ['src', 'dst', 'bytes', 'packets', 'records'],
      sum.topTalkers.map((t) => [
        clean(t.src),
        clean(t.dst),
        String(t.bytes),
        String(t.packets),
        String(t.records),
      ]),
    ),
  );
  out.push('', `top destination ports (by bytes, top ${top})`);
  out.push(
    table(
      ['proto', 'port', 'bytes', 'packets', 'records'],
      sum.topPorts.map((p) => [
        p.proto || '?',
        String(p.port),
        String(p.bytes),
        String(p.packets),
        String(p.records),
      ]),
    ),
  );
  out.push('', `rejected flows: ${sum.rejected.records} (${sum.rejected.bytes} bytes)`);
  if (sum.rejected.topSources.length)
    out.push(
      table(
        ['src', 'records', 'bytes', 'dst ports'],
        sum.rejected.topSources.map((r) => [
          clean(r.src),
          String(r.records),
          String(r.bytes),
          r.dstPorts.join(','),
        ]),
      ),
    );
  out.push('', 'per minute');
  const rows = sum.perMinute;
  const shown = rows.length > MAX_MINUTE_ROWS ? rows.slice(0, MAX_MINUTE_ROWS) : rows;
  out.push(
    table(
      ['minute', 'records', 'bytes', 'packets', 'rejected'],
      shown.map((r) => [
        r.minute.slice(0, 16) + 'Z',
        String(r.records),
        String(r.bytes),
        String(r.packets),
        String(r.rejected),
      ]),
    ),
  );
  if (rows.length > shown.length)
    out.push(`… ${rows.length - shown.length} more minutes (use --json)`);
  out.push('', 'data quality');
  out.push(
    table(
      ['input', 'format', 'seen', 'decoded', 'skipped', 'reasons'],
      reports.map((r) => [
        clean(r.source),
        r.format,
        String(r.seen),
        String(r.decoded),
        String(r.skipped),
        Object.entries(r.skippedByReason)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]),
    ),
  );
  return out.join('\n') + '\n';
}

export const flowsCommand: Command = {
  name: 'flows',
  summary: 'flow records (NetFlow v5/v9, IPFIX, AWS/GCP/Azure flow logs): talkers, ports, rejects',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('flows', argv, {
      json: { type: 'boolean' },
      top: { type: 'string' },
      'aws-format': { type: 'string' },
      'no-sampling': { type: 'boolean' },
    });
    if (positionals.length === 0) throw new UsageError('flows: no inputs given');
    const top = numberFlag('flows', 'top', values.top) ?? 10;
    const awsFormat = values['aws-format'] ? parseAwsFormat(values['aws-format']) : null;
    const errors: InputError[] = [];
    const refs = await expandInputs(positionals, (e) => errors.push(e));
    const json = values.json === true;
    const flows: FlowJson[] = [];
    const summary = new FlowSummary();
    const ingest = new FlowIngest(
      (f) => {
        summary.add(f);
        if (json) flows.push(flowToJson(f));
      },
      { awsFormat, applySampling: values['no-sampling'] !== true },
    );
    for (const ref of refs) await ingest.ingest(ref);
    const reports = ingest.finish();
    const failed = errors.length + reports.filter((r) => r.error !== null).length;
    for (const e of errors) io.stderr.write(`mlscope: ${e.message}\n`);
    for (const r of reports) if (r.error) io.stderr.write(`mlscope: ${r.error}\n`);
    const rep = summary.report(Math.max(1, Math.floor(top)));
    if (json) {
      const skipped: Record<string, number> = {};
      for (const r of reports)
        for (const [k, v] of Object.entries(r.skippedByReason)) skipped[k] = (skipped[k] ?? 0) + v;
      writeJson(io, {
        records: rep.records,
        bytes: rep.bytes,
        packets: rep.packets,
        flows,
        skipped,
        summary: rep,
        netflow: ingest.netflow.stats,
        dataQuality: [
          ...reports,
          ...errors.map((e) => ({
            source: e.file,
            format: 'unreadable',
            seen: 0,
            decoded: 0,
            skipped: 0,
            error: e.message,
          })),
        ],
      });
    } else {
      io.stdout.write(render(rep, reports, Math.max(1, Math.floor(top))));
    }
    return failed > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
