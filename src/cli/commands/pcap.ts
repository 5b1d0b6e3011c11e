// `mlscope pcap <file…> [--json] [--top N]`: capture summary — TCP health, HTTP, HTTP/2, TLS —
// with Wireshark-comparable counts, and the worst connections.

import { endpointText, type Connection } from '../../model/records.js';
import { expandInputs } from '../../sources/files.js';
import { analyzeCapture } from '../../ingest/capture.js';
import type { CaptureSummary } from '../../decoders/capture/engine.js';
import { allRecognisers } from '../../decoders/proto/registry.js';
import {
  fmtBytes,
  fmtCount,
  fmtMs,
  isoUs,
  renderTable,
  safeText,
  aligns,
} from '../../outputs/text.js';
import {
  ExitCode,
  numberFlag,
  parseCommandArgs,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { keyLogFlag } from '../../ingest/keylog.js';

/** A score for "worst offenders": retransmissions and stalls weigh most. */
function badness(c: Connection): number {
  const r = c.retransmissions[0] + c.retransmissions[1];
  return (
    r * 10 +
    c.maxRtoStallMs / 10 +
    (c.duplicateAcks[0] + c.duplicateAcks[1]) +
    (c.zeroWindows[0] + c.zeroWindows[1]) * 5 +
    (c.resets[0] + c.resets[1]) * 3 +
    (c.synCount > 1 ? 20 * (c.synCount - 1) : 0)
  );
}

export interface WorstConnection {
  id: number;
  client: string;
  server: string;
  packets: number;
  retransmissions: number;
  duplicateAcks: number;
  zeroWindows: number;
  resets: number;
  synRetries: number;
  maxRtoStallMs: number;
  handshakeRttMs: number | null;
  appProtocol: string | null;
  retransmissionFrames: number[];
}

function toWorst(c: Connection): WorstConnection {
  return {
    id: c.id,
    client: endpointText(c.client),
    server: endpointText(c.server),
    packets: c.packets[0] + c.packets[1],
    retransmissions: c.retransmissions[0] + c.retransmissions[1],
    duplicateAcks: c.duplicateAcks[0] + c.duplicateAcks[1],
    zeroWindows: c.zeroWindows[0] + c.zeroWindows[1],
    resets: c.resets[0] + c.resets[1],
    synRetries: Math.max(0, c.synCount - 1),
    maxRtoStallMs: Math.round(c.maxRtoStallMs * 1000) / 1000,
    handshakeRttMs: c.handshakeRttMs === null ? null : Math.round(c.handshakeRttMs * 1000) / 1000,
    appProtocol: c.appProtocol,
    retransmissionFrames: c.retransmissionFrames.slice(0, 8),
  };
}

interface FileResult {
  file: string;
  format: string | null;
  summary: CaptureSummary;
  worst: WorstConnection[];
  error: string | null;
}

export const pcapCommand: Command = {
  name: 'pcap',
  summary: 'capture summary: TCP health, HTTP, HTTP/2, TLS, worst connections',
  usage: 'mlscope pcap <capture…> [--json] [--top N] [--tls-keylog FILE]',
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('pcap', argv, {
      json: { type: 'boolean' },
      top: { type: 'string' },
      'tls-keylog': { type: 'string' },
    });
    if (positionals.length === 0)
      throw new UsageError('pcap: give a capture file (or - for stdin)');
    const top = numberFlag('pcap', 'top', values.top) ?? 10;
    const tlsKeys = await keyLogFlag(values['tls-keylog']);
    const errors: InputError[] = [];
    const refs = await expandInputs(positionals, (e) => errors.push(e));
    const results: FileResult[] = [];
    for (const ref of refs) {
      const worst: Connection[] = [];
      const run = await analyzeCapture(ref, {
        recognisers: allRecognisers(),
        protoLimits: { tlsKeys },
        sink: {
          connection(c) {
            if (badness(c) <= 0) return;
            worst.push(c);
            if (worst.length > top * 4) {
              worst.sort((a, b) => badness(b) - badness(a));
              worst.length = top;
            }
          },
        },
      });
      if (run.error) errors.push(run.error);
      worst.sort((a, b) => badness(b) - badness(a));
      results.push({
        file: ref.name,
        format: run.engine.format,
        summary: run.engine.summary(),
        worst: worst.slice(0, top).map(toWorst),
        error: run.error ? run.error.message : null,
      });
    }
    for (const e of errors) io.stderr.write(`mlscope: ${e.message}\n`);
    if (values.json) {
      if (results.length === 1) {
        const r = results[0]!;
        writeJson(io, {
          file: r.file,
          format: r.format,
          ...r.summary,
          worstConnections: r.worst,
          error: r.error,
        });
      } else {
        writeJson(io, {
          files: results.map((r) => ({
            file: r.file,
            format: r.format,
            ...r.summary,
            worstConnections: r.worst,
            error: r.error,
          })),
        });
      }
    } else {
      for (const r of results) io.stdout.write(renderPcap(r) + '\n');
    }
    return errors.length > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};

/** A timestamp no date can hold (e.g. a pcapng block with a 2^64-ish time). */
const OUT_OF_RANGE = '(time out of range)';

function renderPcap(r: FileResult): string {
  const s = r.summary;
  const t = s.tcp;
  const dur = s.firstUs !== null && s.lastUs !== null ? (s.lastUs - s.firstUs) / 1000 : null;
  const out: string[] = [];
  if (r.format === null && r.error)
    return `${safeText(r.file)}: not analysed — ${safeText(r.error, 300)}\n`;
  out.push(`${safeText(r.file)}  (${r.format ?? 'unknown format'})`);
  out.push(
    `  ${fmtCount(s.packets)} packets, ${fmtBytes(s.bytes)}, ${fmtMs(dur)}` +
      (s.firstUs !== null
        ? `  from ${isoUs(s.firstUs) ?? OUT_OF_RANGE} to ${isoUs(s.lastUs) ?? OUT_OF_RANGE}`
        : ''),
  );
  out.push('');
  out.push('TCP');
  out.push(
    renderTable(
      [
        'connections',
        'retrans',
        'fast',
        'spurious',
        'dup ACKs',
        'zero win',
        'out-of-order',
        'resets',
        'median hs RTT',
      ],
      [
        [
          t.connections,
          t.retransmissions,
          t.fastRetransmissions,
          t.spuriousRetransmissions,
          t.duplicateAcks,
          t.zeroWindows,
          t.outOfOrder,
          t.resets,
          fmtMs(t.medianHandshakeRttMs, 3),
        ],
      ],
      ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  out.push('');
  out.push(
    `HTTP/1.x  ${fmtCount(s.http.requests)} requests, ${fmtCount(s.http.responses)} responses, ${fmtCount(s.http.exchanges)} exchanges   ` +
      `HTTP/2  ${fmtCount(s.http2.streams)} streams   TLS  ${fmtCount(s.tls.clientHellos)} ClientHellos` +
      (s.tls.decrypted || s.tls.notInKeyLog
        ? `, ${fmtCount(s.tls.decrypted)} decrypted, ${fmtCount(s.tls.notInKeyLog)} not in the key log`
        : '') +
      (s.tls.embeddedSecrets
        ? `, secrets for ${fmtCount(s.tls.embeddedSecrets)} sessions in the capture`
        : '') +
      (s.tls.sni.length
        ? ` (SNI: ${s.tls.sni
            .slice(0, 5)
            .map((x) => safeText(x, 60))
            .join(', ')}${s.tls.sni.length > 5 ? ', …' : ''})`
        : ''),
  );
  if (r.worst.length > 0) {
    out.push('');
    out.push('Worst connections');
    out.push(
      renderTable(
        [
          '#',
          'client',
          'server',
          'pkts',
          'retrans',
          'max RTO stall',
          'dup ACKs',
          'zero win',
          'RST',
          'SYN retries',
          'hs RTT',
        ],
        r.worst.map((w) => [
          w.id,
          w.client,
          w.server,
          w.packets,
          w.retransmissions,
          fmtMs(w.maxRtoStallMs),
          w.duplicateAcks,
          w.zeroWindows,
          w.resets,
          w.synRetries,
          fmtMs(w.handshakeRttMs, 3),
        ]),
        aligns('rllrrrrrrrr'),
      ),
    );
  }
  const sk = Object.entries(s.skipped);
  if (sk.length > 0) {
    out.push('');
    out.push(`Skipped: ${sk.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (r.error) out.push(`Error: ${safeText(r.error, 300)}`);
  return out.join('\n');
}
