// `mlscope investigate <inputs…> [--slow-ms N] [--out DIR] [--json]`: the main job — read a bundle
// (captures and logs), join every request across hops and sources, attribute each slow or failed
// request's latency and name the cause with evidence.

import { isAccessRecord } from '../../analyzers/investigate/join.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readBundle } from '../../ingest/bundle.js';
import { investigate, type Investigation } from '../../analyzers/investigate/investigate.js';
import { renderMarkdownReport, renderHtmlReport } from '../../outputs/report.js';
import { fmtMs, renderTable, safeText } from '../../outputs/text.js';
import {
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError } from '../../util/errors.js';
import { keyLogFlag } from '../../ingest/keylog.js';

export interface InvestigationDoc extends Omit<Investigation, 'slowRequests' | 'all'> {
  slowRequests: Omit<Investigation['slowRequests'][number], 'facts'>[];
  dataQuality: {
    source: string;
    format: string;
    records: number;
    skipped: number;
    skippedByReason: Record<string, number>;
    error: string | null;
  }[];
  inputs: {
    captures: string[];
    logs: number;
    spans: number;
    /** TLS sessions in the captures, and how many were decrypted (--tls-keylog). */
    tls: { sessions: number; decrypted: number; notInKeyLog: number };
    /** Exchanges answered with a token stream (SSE): their total time is the generation's length. */
    streamed: number;
  };
}

export function toDoc(
  inv: Investigation,
  data: Awaited<ReturnType<typeof readBundle>>,
): InvestigationDoc {
  const { all: _all, slowRequests, ...rest } = inv;
  return {
    ...rest,
    slowRequests: slowRequests.map(({ facts: _f, ...r }) => r),
    dataQuality: data.quality.map((q) => ({
      source: q.source,
      format: q.format,
      records: q.records,
      skipped: q.skipped,
      skippedByReason: q.report.skippedByReason,
      error: q.report.error,
    })),
    inputs: {
      captures: data.captures,
      logs: data.logs.length,
      spans: data.spans.length,
      tls: data.tls,
      streamed: data.exchanges.filter((x) => x.contentType?.startsWith('text/event-stream')).length,
    },
  };
}

export const investigateCommand: Command = {
  name: 'investigate',
  summary: 'the main job: where did the time go for slow and failed requests, and why',
  usage:
    'mlscope investigate <inputs…> [--slow-ms N] [--out DIR] [--json] [--limit N] [--tls-keylog FILE]',
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('investigate', argv, {
      json: { type: 'boolean' },
      'slow-ms': { type: 'string' },
      out: { type: 'string' },
      limit: { type: 'string' },
      'body-bytes': { type: 'string' },
      'tls-keylog': { type: 'string' },
    });
    if (positionals.length === 0)
      throw new UsageError('investigate: give a bundle directory or files (captures, logs)');
    const slowMs = numberFlag('investigate', 'slow-ms', values['slow-ms']);
    const limit = numberFlag('investigate', 'limit', values.limit) ?? 10;
    const bodyBytes = numberFlag('investigate', 'body-bytes', values['body-bytes']) ?? 0;
    if (io.isTty && !values.json) io.stderr.write('reading inputs…\r');
    const tlsKeys = await keyLogFlag(values['tls-keylog']);
    const data = await readBundle(positionals, {
      bodyCaptureBytes: bodyBytes,
      slimExchanges: true,
      tlsKeys,
    });
    const inv = investigate(data, slowMs !== undefined ? { slowMs } : {});
    const doc = toDoc(inv, data);
    for (const e of data.errors) io.stderr.write(`mlscope: ${e.message}\n`);
    if (values.out) {
      await mkdir(values.out, { recursive: true });
      await writeFile(join(values.out, 'report.md'), renderMarkdownReport(inv, doc));
      await writeFile(join(values.out, 'report.html'), renderHtmlReport(inv, doc));
      await writeFile(join(values.out, 'investigation.json'), JSON.stringify(doc, null, 2) + '\n');
    }
    if (values.json) writeJson(io, doc);
    else {
      io.stdout.write(renderSummary(inv, doc, limit));
      const hint = untimedHint(data);
      if (hint) io.stdout.write(`\n${hint}\n`);
      if (values.out)
        io.stdout.write(`\nReport written to ${values.out}/report.html and report.md\n`);
    }
    return data.errors.length > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};

/**
 * Logs only, and the access logs say nothing of time (nginx's default `combined` format): every
 * request looks instant. Say what to log.
 */
function untimedHint(data: Awaited<ReturnType<typeof readBundle>>): string | null {
  if (data.exchanges.length > 0 || data.spans.length > 0) return null;
  let access = 0;
  let timed = 0;
  for (const r of data.logs) {
    if (!isAccessRecord(r)) continue;
    access++;
    if (r.durationMs !== null) timed++;
  }
  if (access === 0 || timed > 0) return null;
  return (
    `The access logs give no request times (${access} lines), so no request can be slow here. ` +
    'For nginx add $request_time, $upstream_connect_time, $upstream_header_time, ' +
    '$upstream_response_time and $request_id to its log_format (or give a capture).'
  );
}

const CAUSE_LABEL: Record<string, string> = {
  network: 'network',
  inference: 'inference',
  queueing: 'queueing',
  'upstream-error': 'upstream error',
  client: 'client',
  unknown: 'unknown',
};

export function renderSummary(inv: Investigation, doc: InvestigationDoc, limit: number): string {
  const out: string[] = [];
  const r = inv.requests;
  const l = inv.latency;
  out.push(
    `${n(r.total, 'request')} — ${r.slow} slow (≥ ${r.slowMs} ms, ${r.slowMsSource === 'derived' ? 'derived from the latency distribution' : 'given'}), ${r.failed} failed` +
      `   p50 ${fmtMs(l.p50Ms)}  p90 ${fmtMs(l.p90Ms)}  p99 ${fmtMs(l.p99Ms)}  max ${fmtMs(l.maxMs)}`,
  );
  if (r.total === 0) {
    out.push(
      'No requests found: give a capture with HTTP traffic, an access log, traces, or app logs with request ids.',
    );
  }
  const tls = doc.inputs.tls;
  const encrypted = tls.sessions - tls.decrypted;
  if (encrypted > 0)
    out.push(
      `${encrypted} of ${tls.sessions} TLS sessions in the captures stayed encrypted: their requests are timed ` +
        'from TLS record times and sizes (no path or status unless a hop in clear or an access log joins them).' +
        (tls.decrypted + tls.notInKeyLog > 0
          ? ` The key log had no secrets for ${tls.notInKeyLog} of them.`
          : ' Give the key log the clients or servers wrote (SSLKEYLOGFILE=keys.log) with --tls-keylog FILE, or put it in the bundle.'),
    );
  const streamed = doc.inputs.streamed;
  if (streamed > 0)
    out.push(
      `${streamed} of ${r.total} requests streamed their answer (SSE): their total time is how long generation ran. ` +
        'For time to first token, token gaps and stalls: mlscope llm <capture>.',
    );
  const byCause = new Map<string, number>();
  for (const s of inv.slowRequests) byCause.set(s.cause, (byCause.get(s.cause) ?? 0) + 1);
  if (byCause.size) {
    out.push('');
    out.push(
      'Slow and failed requests by cause: ' +
        [...byCause.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([c, n]) => `${CAUSE_LABEL[c] ?? c} ${n}`)
          .join(', '),
    );
  }
  if (inv.findings.length) {
    out.push('');
    out.push('Findings');
    inv.findings.slice(0, 8).forEach((f, i) => {
      out.push(
        `${i + 1}. ${safeText(f.title, 220)}  [${f.cause}, confidence ${f.confidence.toFixed(2)}]`,
      );
      for (const e of f.evidence.slice(0, 2)) out.push(`     · ${safeText(e, 200)}`);
    });
  }
  if (inv.slowRequests.length) {
    out.push('');
    out.push(
      `Slowest requests (${Math.min(limit, inv.slowRequests.length)} of ${inv.slowRequests.length})`,
    );
    out.push(
      renderTable(
        [
          'request id',
          'path',
          'status',
          'total',
          'network',
          'queueing',
          'inference',
          'other',
          'cause',
        ],
        inv.slowRequests
          .slice(0, limit)
          .map((s) => [
            safeText(s.requestId, 40),
            safeText(s.path, 30),
            s.status || '-',
            fmtMs(s.totalMs),
            fmtMs(s.breakdownMs.network),
            fmtMs(s.breakdownMs.queueing),
            fmtMs(s.breakdownMs.inference),
            fmtMs(s.breakdownMs.other),
            s.cause,
          ]),
        ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
      ),
    );
  }
  if (inv.clockSkew.length) {
    out.push('');
    out.push(
      'Clock offsets vs capture: ' +
        inv.clockSkew
          .map(
            (s) =>
              `${safeText(s.source, 60)} ${s.offsetMs >= 0 ? '+' : ''}${s.offsetMs} ms (±${s.uncertaintyMs}, ${s.pairs} pairs)`,
          )
          .join('; '),
    );
  }
  for (const n of inv.notes) out.push(`Note: ${safeText(n, 400)}`);
  const skipped = doc.dataQuality.filter((q) => q.skipped > 0 || q.error);
  const u = inv.unjoined;
  out.push('');
  out.push(
    `Data: ${n(doc.dataQuality.length, 'input')} (${n(doc.inputs.captures.length, 'capture')}, ${n(doc.inputs.logs, 'log record')})` +
      (skipped.length
        ? `; skipped records in ${skipped.map((q) => `${safeText(q.source, 60)} (${q.skipped})`).join(', ')}`
        : '; nothing skipped') +
      (u.requestsWithoutLogs ? `; ${n(u.requestsWithoutLogs, 'request')} without log lines` : '') +
      (u.logLinesWithoutRequest
        ? `; ${n(u.logLinesWithoutRequest, 'log line')} with an unknown request id`
        : ''),
  );
  return out.join('\n') + '\n';
}

/** `1 capture`, `2 captures`. */
function n(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
