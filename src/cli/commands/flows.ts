// `mlscope flows <inputs…> [--json] [--top N] [--aws-format FMT] [--no-sampling] [--capture-mode M]
// [--active-timeout S] [--idle-timeout S] [--tcp-end-timeout S] [--max-flows N]`: flow records from
// NetFlow v5/v9/IPFIX (captures or payload files), AWS/GCP/Azure flow logs, and packet captures
// (bidirectional flows built from the packets), summarised.
// `mlscope flows --listen PORT [--bind ADDR] [--duration S]`: a live NetFlow v5/v9/IPFIX collector on
// UDP (default 127.0.0.1; PORT 0 = any free port, printed on stderr) until --duration elapses or
// SIGINT/SIGTERM, then the same summary, plus the collector's counters.

import {
  ExitCode,
  parseCommandArgs,
  numberFlag,
  writeJson,
  type Command,
  type Io,
} from '../command.js';
import { UsageError, errorMessage, type InputError } from '../../util/errors.js';
import { expandInputs } from '../../sources/files.js';
import { FlowIngest } from '../../ingest/flows.js';
import { flowToJson, isoTime, type FlowJson, type FlowSink } from '../../model/flow.js';
import { Quality, type QualityReport } from '../../model/quality.js';
import { FlowSummary, type FlowSummaryReport } from '../../analyzers/flows/summary.js';
import { parseAwsFormat } from '../../decoders/flow/aws-vpc.js';
import { NetflowState, decodeNetflowPacket } from '../../decoders/flow/netflow.js';
import { UdpSource } from '../../sources/udp.js';
import type { CaptureFlowMode, CaptureFlowReport } from '../../decoders/flow/capture-flows.js';
import {
  DEFAULT_PACKET_FLOW_OPTIONS,
  MAX_FLOW_TABLE,
  type PacketFlowOptions,
} from '../../decoders/flow/packet-flows.js';

const CAPTURE_MODES: readonly CaptureFlowMode[] = ['auto', 'packets', 'exports'];
const PACKET_FLAGS = [
  'capture-mode',
  'active-timeout',
  'idle-timeout',
  'tcp-end-timeout',
  'max-flows',
] as const;

/** Timeouts and table size for packet flows from the flags (usage errors name the flag). */
function packetFlowOptions(v: Record<string, string | boolean | undefined>): PacketFlowOptions {
  const secs = (flag: string, dflt: number): number => {
    const n = numberFlag('flows', flag, v[flag] as string | undefined) ?? dflt;
    if (n > 365 * 86400)
      throw new UsageError(`flows: --${flag} expects seconds up to one year, got '${v[flag]}'`);
    return n;
  };
  const active = secs('active-timeout', DEFAULT_PACKET_FLOW_OPTIONS.activeTimeoutS);
  if (active === 0) throw new UsageError('flows: --active-timeout must be more than 0 s');
  const maxFlows =
    numberFlag('flows', 'max-flows', v['max-flows'] as string | undefined) ??
    DEFAULT_PACKET_FLOW_OPTIONS.maxFlows;
  if (!Number.isInteger(maxFlows) || maxFlows < 1 || maxFlows > MAX_FLOW_TABLE)
    throw new UsageError(
      `flows: --max-flows expects a whole number from 1 to ${MAX_FLOW_TABLE}, got '${v['max-flows']}'`,
    );
  return {
    activeTimeoutS: active,
    idleTimeoutS: secs('idle-timeout', DEFAULT_PACKET_FLOW_OPTIONS.idleTimeoutS),
    tcpEndTimeoutS: secs('tcp-end-timeout', DEFAULT_PACKET_FLOW_OPTIONS.tcpEndTimeoutS),
    maxFlows,
  };
}

function renderCaptures(caps: CaptureFlowReport[]): string {
  if (caps.length === 0) return '';
  const rows = caps.map((c) => {
    const pf = c.packetFlows;
    const ended = Object.entries(pf.ended)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ');
    return [
      clean(c.source),
      c.content,
      String(c.frames),
      String(c.exportDatagrams),
      String(pf.packets),
      String(pf.records),
      String(pf.maxLive),
      ended,
    ];
  });
  return (
    '\ncaptures\n' +
    table(
      ['input', 'holds', 'frames', 'export datagrams', 'packets', 'flows', 'peak live', 'ended'],
      rows,
    ) +
    '\n'
  );
}

const USAGE =
  'mlscope flows <inputs…> [--json] [--top N] [--aws-format "FIELDS"] [--no-sampling]\n' +
  '       [--capture-mode auto|packets|exports] [--active-timeout S] [--idle-timeout S]\n' +
  '       [--tcp-end-timeout S] [--max-flows N]\n' +
  '       mlscope flows --listen PORT [--bind ADDR] [--duration S] [--json] [--top N] [--no-sampling]';
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

export interface CollectorReport {
  address: string;
  port: number;
  /** Kernel receive buffer in effect, bytes. */
  recvBufferBytes: number;
  seconds: number;
  /** Datagrams and payload bytes read from the socket. */
  datagrams: number;
  bytes: number;
  /** Datagrams decoded as NetFlow v5/v9/IPFIX (their records may still be skipped, see dataQuality). */
  decoded: number;
  /** Datagrams not decoded, by reason. */
  skipped: Record<string, number>;
  /** Datagrams the kernel dropped for the socket (receive buffer full); null where unknown. */
  kernelDrops: number | null;
  socketErrors: number;
}

interface ListenOptions {
  host: string;
  port: number;
  durationS: number | null;
  json: boolean;
  top: number;
  applySampling: boolean;
}

/** After the stop signal, keep reading until the socket has been quiet this long (at most 1 s). */
const DRAIN_QUIET_MS = 50;
const DRAIN_MAX_MS = 1000;

function renderCollector(c: CollectorReport): string {
  const skipped = Object.entries(c.skipped)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    `\ncollector udp ${c.address}:${c.port}   ${c.seconds.toFixed(1)} s   ` +
    `receive buffer ${c.recvBufferBytes} B\n` +
    `datagrams received ${c.datagrams} (${c.bytes} bytes)   decoded ${c.decoded}   ` +
    `skipped ${c.datagrams - c.decoded}${skipped ? ` (${skipped})` : ''}   ` +
    `kernel drops ${c.kernelDrops ?? 'unknown'}\n`
  );
}

async function listen(o: ListenOptions, io: Io): Promise<number> {
  const summary = new FlowSummary();
  const flows: FlowJson[] = [];
  const q = new Quality(`udp:${o.host}:${o.port}`, 'netflow-udp');
  const sink: FlowSink = {
    flow(f) {
      q.ok();
      summary.add(f);
      if (o.json) flows.push(flowToJson(f));
    },
    skip(reason, detail) {
      q.skip(reason, `record ${q.seen + 1}`, detail);
    },
    note(reason, detail) {
      q.note(reason, undefined, detail);
    },
  };
  const state = new NetflowState(sink);
  state.applySampling = o.applySampling;
  let received = 0;
  let decoded = 0;
  const skipped: Record<string, number> = {};
  const onDatagram = (buf: Buffer, info: { address: string; tsUs: number }): void => {
    received++;
    const used = decodeNetflowPacket(info.address, info.tsUs, buf, 0, buf.length, state);
    if (used > 0) {
      decoded++;
      return;
    }
    const sflow = buf.length >= 4 && buf[0] === 0 && buf[1] === 0 && buf[2] === 0 && buf[3] === 5;
    const reason = sflow ? 'sflow-unsupported' : buf.length === 0 ? 'empty' : 'not-netflow';
    skipped[reason] = (skipped[reason] ?? 0) + 1;
    q.skip(reason, `datagram ${received}`, `from ${info.address}, ${buf.length} bytes`);
  };
  let src: UdpSource;
  try {
    src = await UdpSource.listen({ host: o.host, port: o.port }, onDatagram);
  } catch (err) {
    io.stderr.write(
      `mlscope: flows: cannot listen on udp ${o.host}:${o.port}: ${errorMessage(err)}\n`,
    );
    return ExitCode.INPUT_ERROR;
  }
  q.source = `udp:${src.address}:${src.port}`;
  io.stderr.write(
    `mlscope: flows: listening on udp ${src.address}:${src.port} ` +
      `(receive buffer ${src.recvBufferSize} B)\n`,
  );
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    const stop = (): void => {
      if (timer) clearTimeout(timer);
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    if (o.durationS !== null) timer = setTimeout(stop, o.durationS * 1000);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Datagrams already queued in the socket are still read: wait for a quiet moment.
  const drainEnd = performance.now() + DRAIN_MAX_MS;
  for (let last = -1; received !== last && performance.now() < drainEnd;) {
    last = received;
    await new Promise((r) => setTimeout(r, DRAIN_QUIET_MS));
  }
  const collector: CollectorReport = {
    address: src.address,
    port: src.port,
    recvBufferBytes: src.recvBufferSize,
    seconds: (performance.now() - t0) / 1000,
    datagrams: src.datagrams,
    bytes: src.bytes,
    decoded,
    skipped,
    kernelDrops: src.kernelDrops(),
    socketErrors: src.errors,
  };
  await src.close();
  state.flush();
  const reports = [q.report()];
  const rep = summary.report(o.top);
  if (o.json) {
    writeJson(io, {
      records: rep.records,
      bytes: rep.bytes,
      packets: rep.packets,
      flows,
      skipped: reports[0]!.skippedByReason,
      summary: rep,
      netflow: state.stats,
      collector,
      dataQuality: reports,
    });
  } else {
    io.stdout.write(render(rep, reports, o.top) + renderCollector(collector));
  }
  return ExitCode.OK;
}

export const flowsCommand: Command = {
  name: 'flows',
  summary:
    'flow records (NetFlow v5/v9, IPFIX, AWS/GCP/Azure flow logs, packet captures): talkers, ports, rejects',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('flows', argv, {
      json: { type: 'boolean' },
      top: { type: 'string' },
      'aws-format': { type: 'string' },
      'no-sampling': { type: 'boolean' },
      listen: { type: 'string' },
      bind: { type: 'string' },
      duration: { type: 'string' },
      'capture-mode': { type: 'string' },
      'active-timeout': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'tcp-end-timeout': { type: 'string' },
      'max-flows': { type: 'string' },
    });
    const top = numberFlag('flows', 'top', values.top) ?? 10;
    if (values.listen !== undefined) {
      if (positionals.length > 0)
        throw new UsageError('flows: --listen takes no inputs (files and a live port do not mix)');
      if (values['aws-format'] !== undefined)
        throw new UsageError('flows: --aws-format does not apply to --listen');
      for (const f of PACKET_FLAGS)
        if (values[f] !== undefined)
          throw new UsageError(`flows: --${f} applies to captures, not to --listen`);
      const port = numberFlag('flows', 'listen', values.listen)!;
      if (!Number.isInteger(port) || port > 65535)
        throw new UsageError(`flows: --listen expects a UDP port 0–65535, got '${values.listen}'`);
      const durationS = numberFlag('flows', 'duration', values.duration) ?? null;
      return listen(
        {
          host: values.bind ?? '127.0.0.1',
          port,
          durationS,
          json: values.json === true,
          top: Math.max(1, Math.floor(top)),
          applySampling: values['no-sampling'] !== true,
        },
        io,
      );
    }
    if (values.duration !== undefined || values.bind !== undefined)
      throw new UsageError('flows: --duration and --bind need --listen');
    if (positionals.length === 0) throw new UsageError('flows: no inputs given');
    const awsFormat = values['aws-format'] ? parseAwsFormat(values['aws-format']) : null;
    const captureMode = (values['capture-mode'] ?? 'auto') as CaptureFlowMode;
    if (!CAPTURE_MODES.includes(captureMode))
      throw new UsageError(
        `flows: --capture-mode expects auto, packets or exports, got '${values['capture-mode']}'`,
      );
    const packetFlows = packetFlowOptions(values);
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
      { awsFormat, applySampling: values['no-sampling'] !== true, captureMode, packetFlows },
    );
    for (const ref of refs) await ingest.ingest(ref);
    const reports = ingest.finish();
    const failed = errors.length + reports.filter((r) => r.error !== null).length;
    for (const e of errors) io.stderr.write(`mlscope: ${e.message}\n`);
    for (const r of reports) if (r.error) io.stderr.write(`mlscope: ${r.error}\n`);
    for (const c of ingest.captures)
      if (c.content === 'mixed')
        io.stderr.write(
          `mlscope: flows: ${clean(c.source)} holds NetFlow/IPFIX exports and other traffic: ` +
            `${c.exportDatagrams} export datagrams decoded as exports, ${c.packetFlows.packets} ` +
            `other packets built into ${c.packetFlows.records} flows (--capture-mode to choose one)\n`,
        );
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
        captures: ingest.captures,
        packetFlowOptions: ingest.captures.length ? packetFlows : null,
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
      io.stdout.write(
        render(rep, reports, Math.max(1, Math.floor(top))) + renderCaptures(ingest.captures),
      );
    }
    return failed > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
