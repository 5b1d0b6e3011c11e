// `mlscope serve [inputs…] [--db FILE] [--port 8686] [--otlp-port 4318] [--host 127.0.0.1]
// [--token T] [--max-body-bytes N] [--max-label-values N] [--format F] [--from-end] [--no-resume]
// [--rules FILE] [--eval-interval 15s] [--alertmanager URL]… [--webhook URL]…
// [--capture IFACE]… [--capture-filter BPF] [--snaplen N] [--tls-keylog FILE] [--netflow PORT]
// [--netflow-host ADDR]`:
// the live service (server/server.ts).
//
// --capture runs tcpdump on each interface and feeds the pcap stream through the capture engine
// (server/capture.ts): connections and exchanges to the store, request RED, TCP retransmissions,
// handshake RTT and LLM stream metrics to /metrics. A tcpdump that fails is reported and the rest
// keeps running. --netflow runs the NetFlow v5/v9/IPFIX collector of `flows --listen`
// (server/flow-collector.ts) on UDP (default 127.0.0.1): records to the `flows` table and /metrics.
//
// Inputs: OTLP files (JSON, JSON lines, protobuf; compressed or not) are loaded once; plain log
// files are tailed (server/tail.ts: appends, rotation, truncation) — a path that does not exist
// yet is waited for; compressed logs are read once. With --db, each tailed file's position is saved
// in the database (table tail_positions) in the same transaction as the rows read up to it, and a
// restart resumes there: every line stored once across restarts. A file that is no longer the
// one read last time (rotated, truncated or rewritten while serve was down) is read from the
// start; --from-end applies only to files without a saved position; --no-resume ignores saved
// positions (new ones are still saved). Without --db (an in-memory store) nothing is saved. Directories are walked (files present at
// start). Log records — tailed and OTLP — feed the log-derived metrics on /metrics and, with
// --rules, the alert rules, evaluated every --eval-interval and sent to Alertmanager (v2 API)
// and webhooks (server/live.ts). Runs until SIGINT/SIGTERM, then writes everything acknowledged
// to the store before exiting. A non-loopback --host needs a token (--token or MLSCOPE_TOKEN).

import { open, stat } from 'node:fs/promises';
import { ExitCode, numberFlag, parseCommandArgs, type Command, type Io } from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { startServer } from '../../server/server.js';
import { isLoopback } from '../../server/server.js';
import { openTelemetryStore, type TelemetrySource } from '../../server/telemetry-store.js';
import { Registry } from '../../server/prometheus.js';
import type { TailPosition } from '../../store/store.js';
import { TailSource } from '../../server/tail.js';
import { LiveCaptureSource } from '../../server/capture.js';
import { FlowCollectorSource } from '../../server/flow-collector.js';
import { DEFAULT_SNAPLEN, MAX_FILTER_CHARS, checkInterfaceName } from '../../sources/tcpdump.js';
import { LiveLogs } from '../../server/live.js';
import {
  expandInputs,
  readChunks,
  readHead,
  sniffCompression,
  type InputRef,
} from '../../sources/files.js';
import { readLogInput } from '../../ingest/logs.js';
import { parseRuleFile } from '../../analyzers/alerts/rules.js';
import { AlertEvaluator } from '../../analyzers/alerts/engine.js';
import { parseDurationMs } from '../../analyzers/alerts/duration.js';
import { checkLogFormat } from './log-input.js';
import { sanitizeCell } from './render.js';
import { loadTelemetry } from './traces.js';
import { followKeyLog } from '../../ingest/keylog.js';

const USAGE =
  'mlscope serve [inputs…] [--db FILE] [--port 8686] [--otlp-port 4318] [--host 127.0.0.1] [--token T] [--max-body-bytes N] [--max-label-values N] [--format F] [--from-end] [--no-resume] [--rules FILE] [--eval-interval 15s] [--alertmanager URL]… [--webhook URL]… [--capture IFACE]… [--capture-filter BPF] [--snaplen N] [--tls-keylog FILE] [--netflow PORT] [--netflow-host ADDR]';
const MAX_RULE_FILE_BYTES = 8 << 20;
const OTLP_KEYS = /"resource(?:Spans|Logs|Metrics)"|"resource_(?:spans|logs|metrics)"/;

function port(flag: string, v: string | undefined, dflt: number): number {
  const n = numberFlag('serve', flag, v) ?? dflt;
  if (!Number.isInteger(n) || n > 65535)
    throw new UsageError(`serve: --${flag} expects a port number, got '${v}'`);
  return n;
}

function httpUrl(flag: string, v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UsageError(`serve: --${flag} expects an http(s) URL, got '${v}'`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`serve: --${flag} expects an http(s) URL, got '${v}'`);
  return v;
}

export interface CaptureFlags {
  interfaces: string[];
  filter: string | null;
  snaplen: number;
}

/** Check --capture / --capture-filter / --snaplen (usage errors, one line each). */
export function parseCaptureFlags(
  ifaces: readonly string[],
  filter: string | undefined,
  snaplen: string | undefined,
): CaptureFlags {
  if (ifaces.length === 0 && (filter !== undefined || snaplen !== undefined))
    throw new UsageError('serve: --capture-filter and --snaplen need --capture IFACE');
  for (const i of ifaces) {
    const why = checkInterfaceName(i);
    if (why) throw new UsageError(`serve: --capture: ${why}`);
  }
  if (new Set(ifaces).size !== ifaces.length)
    throw new UsageError('serve: --capture names the same interface twice');
  if (filter !== undefined) {
    if (filter.length > MAX_FILTER_CHARS)
      throw new UsageError(`serve: --capture-filter is longer than ${MAX_FILTER_CHARS} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(filter))
      throw new UsageError('serve: --capture-filter contains control characters');
  }
  const n = snaplen === undefined ? DEFAULT_SNAPLEN : Number(snaplen);
  if (!Number.isInteger(n) || n < 64 || n > DEFAULT_SNAPLEN)
    throw new UsageError(
      `serve: --snaplen expects bytes per packet, 64–${DEFAULT_SNAPLEN}, got '${snaplen}'`,
    );
  return {
    interfaces: [...ifaces],
    filter: filter === undefined || filter.trim() === '' ? null : filter,
    snaplen: n,
  };
}

export interface ServeInputs {
  /** OTLP files, loaded once. */
  telemetry: string[];
  /** Plain log files (existing or not yet), tailed. */
  tail: string[];
  /** Compressed log files, read once. */
  logsOnce: InputRef[];
}

/** Sort inputs into OTLP files, log files to tail and compressed logs to read once. */
export async function classifyServeInputs(
  args: readonly string[],
  onError: (e: InputError) => void,
  log: (line: string) => void,
): Promise<ServeInputs> {
  const out: ServeInputs = { telemetry: [], tail: [], logsOnce: [] };
  for (const arg of args) {
    if (arg === '-') {
      out.telemetry.push(arg);
      continue;
    }
    const st = await stat(arg).catch(() => null);
    if (st === null) {
      log(`${arg} does not exist yet: tailing it when it appears`);
      out.tail.push(arg);
      continue;
    }
    for (const ref of await expandInputs([arg], onError)) {
      let head: Buffer;
      try {
        head = await readHead(ref, 4096);
      } catch {
        out.telemetry.push(ref.name); // unreadable: the loader reports it
        continue;
      }
      const compressed = /\.(?:gz|zst)$/i.test(ref.name) || (await isCompressed(ref));
      const text = head.toString('utf8');
      const first = text.trimStart().charCodeAt(0);
      const otlp =
        ((first === 0x7b || first === 0x5b) && OTLP_KEYS.test(text)) ||
        (head.length > 0 && looksBinary(head));
      if (otlp) out.telemetry.push(ref.name);
      else if (compressed) out.logsOnce.push(ref);
      else out.tail.push(ref.name);
    }
  }
  return out;
}

async function isCompressed(ref: InputRef): Promise<boolean> {
  if (ref.path === null) return false;
  const fh = await open(ref.path, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return sniffCompression(b.subarray(0, bytesRead)) !== 'none';
  } finally {
    await fh.close();
  }
}

/** Protobuf, not text: NUL bytes or many control characters in the head. */
function looksBinary(head: Buffer): boolean {
  let bad = 0;
  const n = Math.min(head.length, 1024);
  for (let i = 0; i < n; i++) {
    const c = head[i]!;
    if (c === 0) return true;
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) bad++;
  }
  return bad / n > 0.1;
}

async function loadRules(file: string, stepMs: number, io: Io): Promise<AlertEvaluator> {
  let text = '';
  for await (const c of readChunks({ name: file, path: file })) {
    text += c.toString('utf8');
    if (text.length > MAX_RULE_FILE_BYTES)
      throw new UsageError(`serve: ${file} is larger than ${MAX_RULE_FILE_BYTES} bytes`);
  }
  const parsed = parseRuleFile(text, file);
  const ev = new AlertEvaluator(parsed.groups, stepMs, parsed.problems);
  if (ev.problems.length > 0) {
    for (const p of ev.problems)
      io.stderr.write(`${sanitizeCell(`${p.file}:${p.line}:${p.col}: ${p.message}`)}\n`);
    throw new UsageError(`serve: ${ev.problems.length} problem(s) in ${file}`);
  }
  if (ev.rules.length === 0) throw new UsageError(`serve: ${file} has no alert rules`);
  return ev;
}

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'run the OTLP/HTTP receiver, log tailing, live capture, the NetFlow/IPFIX collector, live alert rules and Prometheus /metrics',
  usage: USAGE,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('serve', argv, {
      db: { type: 'string' },
      port: { type: 'string' },
      'otlp-port': { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-label-values': { type: 'string' },
      format: { type: 'string' },
      'from-end': { type: 'boolean' },
      'no-resume': { type: 'boolean' },
      rules: { type: 'string' },
      'eval-interval': { type: 'string' },
      alertmanager: { type: 'string', multiple: true },
      webhook: { type: 'string', multiple: true },
      capture: { type: 'string', multiple: true },
      'capture-filter': { type: 'string' },
      'tls-keylog': { type: 'string' },
      snaplen: { type: 'string' },
      netflow: { type: 'string' },
      'netflow-host': { type: 'string' },
    });
    const host = values.host ?? '127.0.0.1';
    const token = values.token ?? process.env['MLSCOPE_TOKEN'] ?? null;
    if (!isLoopback(host) && !token)
      throw new UsageError(`serve: binding to ${host} needs a token (--token or MLSCOPE_TOKEN)`);
    const apiPort = port('port', values.port, 8686);
    const otlpPort = port('otlp-port', values['otlp-port'], 4318);
    const maxBody = numberFlag('serve', 'max-body-bytes', values['max-body-bytes']);
    const maxLabels = numberFlag('serve', 'max-label-values', values['max-label-values']);
    const format = checkLogFormat('serve', values.format);
    const stepMs = parseDurationMs(values['eval-interval'] ?? '15s');
    if (stepMs === null || stepMs < 1000)
      throw new UsageError(
        `serve: --eval-interval expects a duration of at least 1s (e.g. 15s, 1m), got '${values['eval-interval']}'`,
      );
    const alertmanagers = (values.alertmanager ?? []).map((u) => httpUrl('alertmanager', u));
    const webhooks = (values.webhook ?? []).map((u) => httpUrl('webhook', u));
    if ((alertmanagers.length > 0 || webhooks.length > 0) && !values.rules)
      throw new UsageError('serve: --alertmanager and --webhook need --rules FILE');
    const capture = parseCaptureFlags(
      values.capture ?? [],
      values['capture-filter'],
      values.snaplen,
    );
    if (values['tls-keylog'] !== undefined && capture.interfaces.length === 0)
      throw new UsageError('serve: --tls-keylog needs --capture IFACE');
    // followed: the services keep appending to it while serve runs
    const keyLog = values['tls-keylog'] !== undefined ? followKeyLog(values['tls-keylog']) : null;
    if (values['netflow-host'] !== undefined && values.netflow === undefined)
      throw new UsageError('serve: --netflow-host needs --netflow PORT');
    const netflowPort = values.netflow !== undefined ? port('netflow', values.netflow, 0) : null;
    const evaluator = values.rules ? await loadRules(values.rules, stepMs, io) : null;

    const log = (line: string): void =>
      void io.stderr.write(`mlscope serve: ${sanitizeCell(line)}\n`);
    let failed = 0;
    const inputs = await classifyServeInputs(
      positionals,
      (e) => {
        failed++;
        log(e.message);
      },
      log,
    );

    const registry = new Registry(maxLabels ?? 100);
    const where = `http://${host.includes(':') ? `[${host}]` : host}`;
    const live = new LiveLogs({
      registry,
      evaluator,
      alertmanagers,
      webhooks,
      generatorURL: `${where}:${apiPort}/metrics`,
      log,
    });
    const store = await openTelemetryStore(values.db ?? ':memory:');
    const sources: TelemetrySource[] = [];
    let tail: TailSource | null = null;
    if (inputs.tail.length > 0) {
      // Positions persist only in a database file: an in-memory store forgets them at exit.
      let savedPositions: Map<string, TailPosition[]> | undefined;
      if (values.db !== undefined) {
        savedPositions = new Map();
        if (values['no-resume'] === true)
          log('--no-resume: saved tail positions ignored (new ones are saved)');
        else {
          const saved = await store.tailPositions().catch(async (err: unknown) => {
            await store.close();
            throw err;
          });
          for (const p of saved) {
            const list = savedPositions.get(p.path);
            if (list) list.push(p);
            else savedPositions.set(p.path, [p]);
          }
        }
      }
      tail = new TailSource(inputs.tail, {
        fromEnd: values['from-end'] === true,
        ...(savedPositions ? { savedPositions } : {}),
        parse: { format },
        onRecords: (records) => live.push(records),
        log,
      });
      tail.register(registry);
      sources.push(tail);
    }

    const captures = capture.interfaces.map(
      (iface) =>
        new LiveCaptureSource({
          iface,
          filter: capture.filter,
          snaplen: capture.snaplen,
          registry,
          log,
          tlsKeys: keyLog?.log ?? null,
        }),
    );
    sources.push(...captures);
    let collector: FlowCollectorSource | null = null;
    if (netflowPort !== null) {
      collector = new FlowCollectorSource({
        host: values['netflow-host'] ?? '127.0.0.1',
        port: netflowPort,
        registry,
        log,
      });
      sources.push(collector);
    }

    const srv = await startServer({
      store,
      host,
      port: apiPort,
      otlpPort: otlpPort === apiPort ? null : otlpPort,
      token,
      log,
      registry,
      sources,
      extraMetrics: () => live.renderAlerts(),
      onLogs: (b) => live.push(b),
      ...(maxBody !== undefined ? { maxBodyBytes: maxBody } : {}),
    }).catch(async (err: unknown) => {
      await store.close();
      throw new UsageError(`serve: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (inputs.telemetry.length) {
      const loaded = await loadTelemetry(inputs.telemetry, io);
      failed += loaded.failed;
      srv.queue.spans(loaded.batch.spans);
      srv.queue.logs(loaded.batch.logs);
      live.push(loaded.batch.logs);
      srv.queue.points(loaded.batch.points);
      log(
        `loaded ${loaded.batch.spans.length} spans, ${loaded.batch.logs.length} logs, ${loaded.batch.points.length} points`,
      );
    }
    for (const ref of inputs.logsOnce) {
      let n = 0;
      for await (const ev of readLogInput(ref, { format })) {
        if (ev.kind === 'records') {
          srv.queue.logs(ev.records);
          live.push(ev.records);
          n += ev.records.length;
        } else if (ev.kind === 'error') {
          failed++;
          log(ev.error.message);
        }
      }
      log(`loaded ${n} log records from ${ref.name}`);
    }
    live.start();
    io.stdout.write(
      `mlscope serve: API ${where}:${srv.port} (/api/traces/{id}, /metrics)` +
        (srv.otlpPort !== null
          ? `, OTLP/HTTP ${where}:${srv.otlpPort} (/v1/traces, /v1/logs, /v1/metrics)`
          : '') +
        (inputs.tail.length ? `, tailing ${inputs.tail.length} file(s)` : '') +
        (captures.length
          ? `, capturing on ${capture.interfaces.join(', ')}${capture.filter !== null ? ` (filter ${JSON.stringify(capture.filter)})` : ''}`
          : '') +
        (collector ? `, NetFlow/IPFIX udp ${collector.address}:${collector.port}` : '') +
        (evaluator
          ? `, ${evaluator.rules.length} alert rule(s) every ${stepMs / 1000}s → ${alertmanagers.length} alertmanager(s), ${webhooks.length} webhook(s)`
          : '') +
        `, store ${values.db ?? 'in memory'}\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = (sig: string): void => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        log(`${sig}: flushing ${srv.queue.stats.pending} pending records`);
        void live
          .stop()
          .then(() => {
            keyLog?.close();
            return srv.close();
          })
          .then(resolve, (err: unknown) => {
            log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
            failed++;
            resolve();
          });
      };
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    if (tail)
      for (const f of tail.stats())
        log(
          `tailed ${f.file}: ${f.lines} lines, ${f.records} records, ${f.quality.skipped} skipped, ${f.rotations} rotations, ${f.truncations} truncations`,
        );
    // a capture that failed (and was down at the end) is an input that could not be read: exit 1,
    // like an unreadable file; one whose tcpdump died and was restarted is not
    for (const c of captures) failed += c.downAtEnd ? 1 : 0;
    log(
      `stopped; acknowledged ${srv.acknowledged.spans} spans, ${srv.acknowledged.logs} logs, ${srv.acknowledged.points} points`,
    );
    return failed > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};
