// Live capture for `mlscope serve --capture IFACE`: a `TelemetrySource` that runs tcpdump on one
// interface (sources/tcpdump.ts) and feeds its pcap stream, chunk by chunk, to the same capture
// engine `mlscope pcap` / `ingest` use (TCP analysis, HTTP/1, HTTP/2, gRPC, SSE/LLM streams).
//
// What comes out, and when:
//   - exchanges as each one completes (a response's last byte; keep-alive connections do not hold
//     them back) → the `exchanges` table and the observed-request / LLM families on /metrics;
//   - handshake RTTs and retransmissions as the packets show them → /metrics at once;
//   - connections when they are finalised: closed and idle for a minute (a wall-clock timer sweeps,
//     so this happens on a quiet link too), idle for an hour, evicted by the open-connection bound,
//     or at shutdown → the `connections` table.
// Rows carry the input id of a `live:capture:IFACE` inputs row (telemetry-store.ts).
//
// Memory: the engine's per-connection bounds (out-of-order bytes, unacked segments, header sizes)
// plus `maxOpenConnections`; when the ingest queue is full the tcpdump pipe is paused, so the
// kernel drops packets (and tcpdump counts them) rather than this process growing.
//
// Failure: a tcpdump that cannot start or exits (no such interface, permission denied, not
// installed) is reported on the log with tcpdump's own message and counted; the rest of `serve`
// keeps running. One that dies after it had been capturing (killed, the interface went away for a
// while) is started again after 1 s, doubling up to 60 s while it keeps failing; the engine keeps
// its connections across the restart (CaptureEngine.newStream) and the counters carry on. A first
// run that never got going is a setup problem and is not retried. A pcap stream the engine cannot
// read stops this capture.

import type { Connection, Exchange } from '../model/records.js';
import { CaptureEngine } from '../decoders/capture/engine.js';
import { DEFAULT_TCP_LIMITS } from '../decoders/capture/tcp.js';
import { allRecognisers } from '../decoders/proto/registry.js';
import type { TlsKeyLog } from '../decoders/proto/tls-decrypt.js';
import {
  DEFAULT_SNAPLEN,
  TcpdumpProcess,
  type SpawnFn,
  type TcpdumpExit,
} from '../sources/tcpdump.js';
import { CaptureMetrics } from './capture-metrics.js';
import type { Registry } from './prometheus.js';
import type { RecordSink, TelemetrySource } from './telemetry-store.js';

export const DEFAULT_MAX_OPEN_CONNECTIONS = 100_000;

export interface LiveCaptureOptions {
  iface: string;
  filter?: string | null;
  snaplen?: number;
  registry: Registry;
  log?: (line: string) => void;
  /** tcpdump binary (default 'tcpdump' on PATH) and how to start it (tests inject a fake). */
  bin?: string;
  spawn?: SpawnFn;
  maxOpenConnections?: number;
  /** Sweep idle connections this often (ms, default 10 s) with the wall clock. */
  sweepMs?: number;
  /** Ask tcpdump for its counters this often (ms, default 5 s; 0 = never). */
  statsMs?: number;
  /**
   * After tcpdump dies, wait this long before starting it again (ms, default 1 s), doubling on
   * each failure up to maxRestartMs (default 60 s); 0 = never restart.
   */
  restartMs?: number;
  maxRestartMs?: number;
  /** A TLS key log (followed as it grows): sessions it has keys for are decrypted. */
  tlsKeys?: TlsKeyLog | null;
  now?: () => number;
}

export class LiveCaptureSource implements TelemetrySource {
  readonly name: string;
  readonly engine: CaptureEngine;
  private proc: TcpdumpProcess | null = null;
  private sink: RecordSink | null = null;
  private inputId: number | null = null;
  private conns: Connection[] = [];
  private xs: Exchange[] = [];
  private timers: NodeJS.Timeout[] = [];
  private resumeTimer: NodeJS.Timeout | null = null;
  private ended = false;
  private listening = false;
  private error: string | null = null;
  private readonly metrics: CaptureMetrics;
  /** Records handed to the sink. */
  records = 0;
  /** tcpdump failures and unreadable streams (a counter for /metrics). */
  errors = 0;
  /** tcpdump restarts after it died. */
  restarts = 0;
  /**
   * The capture was down when it ended: it gave up (setup problem, unreadable stream) or tcpdump
   * had died and was waiting to be restarted. A run that failed and recovered is not down.
   */
  downAtEnd = false;
  /** Some tcpdump run of this source got as far as capturing (so a later failure is worth retrying). */
  private everListened = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDelayMs: number;
  private procStartedMs = 0;
  /** tcpdump's counters from runs before the current one (each run counts from zero). */
  private readonly before = { streamBytes: 0, droppedByKernel: 0, droppedByInterface: 0 };

  constructor(private readonly opts: LiveCaptureOptions) {
    this.name = `capture:${opts.iface}`;
    this.restartDelayMs = opts.restartMs ?? 1000;
    this.metrics = new CaptureMetrics(opts.registry);
    this.engine = new CaptureEngine({
      source: `live:capture:${opts.iface}`,
      recognisers: allRecognisers(),
      protoLimits: { tlsKeys: opts.tlsKeys ?? null },
      tcpLimits: {
        ...DEFAULT_TCP_LIMITS,
        maxOpenConnections: opts.maxOpenConnections ?? DEFAULT_MAX_OPEN_CONNECTIONS,
      },
      sink: {
        connection: (c) => {
          this.conns.push(c);
          this.metrics.connection(c);
        },
        exchange: (x) => {
          this.xs.push(x);
          this.metrics.exchange(x);
        },
        handshake: (c) => this.metrics.handshake(c),
        retransmission: (_e, c) => this.metrics.retransmission(c),
      },
    });
    this.register(opts.registry);
  }

  private log(line: string): void {
    this.opts.log?.(`capture ${this.opts.iface}: ${line}`);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async start(sink: RecordSink): Promise<void> {
    this.sink = sink;
    try {
      this.inputId = await sink.beginInput(`live:capture:${this.opts.iface}`, 'capture', 'pcap');
    } catch (err) {
      this.log(`cannot record the input in the store: ${(err as Error).message}`);
    }
    this.spawnTcpdump();
    const sweepMs = this.opts.sweepMs ?? 10_000;
    const sweep = setInterval(() => {
      if (this.ended) return;
      this.engine.sweep(this.now() * 1000);
      this.handOver();
    }, sweepMs);
    sweep.unref();
    this.timers.push(sweep);
    const statsMs = this.opts.statsMs ?? 5000;
    if (statsMs > 0) {
      const stats = setInterval(() => {
        if (this.listening) this.proc?.requestStats();
      }, statsMs);
      stats.unref();
      this.timers.push(stats);
    }
  }

  private spawnTcpdump(): void {
    this.listening = false;
    this.procStartedMs = this.now();
    this.proc = new TcpdumpProcess(
      {
        iface: this.opts.iface,
        filter: this.opts.filter ?? null,
        snaplen: this.opts.snaplen ?? DEFAULT_SNAPLEN,
        ...(this.opts.bin !== undefined ? { bin: this.opts.bin } : {}),
        ...(this.opts.spawn ? { spawn: this.opts.spawn } : {}),
      },
      {
        data: (chunk) => this.onData(chunk),
        message: (line) => {
          // tcpdump installs its SIGUSR1 handler before it says this; before, SIGUSR1 kills it
          if (/listening on/.test(line)) {
            this.listening = true;
            this.everListened = true;
          }
          this.log(line);
        },
        exit: (how) => this.onExit(how),
      },
    );
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.engine.push(chunk);
    this.handOver();
    const f = this.engine.failure;
    if (f) {
      this.fail(`the pcap stream from tcpdump is unreadable at byte ${f.offset}: ${f.message}`);
      this.downAtEnd = true;
      void this.proc?.stop();
      this.finish();
      return;
    }
    if (this.sink?.full && this.proc && !this.resumeTimer) {
      this.proc.pause();
      const check = (): void => {
        if (this.sink?.full && !this.ended) this.resumeTimer = setTimeout(check, 50);
        else {
          this.resumeTimer = null;
          this.proc?.resume();
        }
      };
      this.resumeTimer = setTimeout(check, 50);
    }
  }

  /** Hand the records the engine produced to the sink. */
  private handOver(): void {
    const sink = this.sink;
    if (!sink) return;
    if (this.conns.length) {
      const b = this.conns;
      this.conns = [];
      this.records += b.length;
      sink.connections(b, this.inputId);
    }
    if (this.xs.length) {
      const b = this.xs;
      this.xs = [];
      this.records += b.length;
      sink.exchanges(b, this.inputId);
    }
  }

  private fail(message: string): void {
    this.errors++;
    this.error ??= message;
    this.log(message);
  }

  private onExit(how: TcpdumpExit): void {
    if (how.requested || this.ended) {
      this.finish();
      return;
    }
    const said = this.proc?.messages.filter((m) => !/listening on/.test(m)) ?? [];
    const why = said.length ? `: ${said.slice(-3).join(' / ')}` : '';
    const missing = (how.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    // Worth another try: tcpdump had been capturing on this interface (killed, the interface went
    // away for a while…). A first run that never got going (no such device, no permission, no
    // tcpdump) is a setup problem: retrying would only repeat the message.
    const retry = !missing && this.everListened && (this.opts.restartMs ?? 1000) > 0;
    const after = retry
      ? `; restarting it in ${fmtDelay(this.restartDelayMs)}`
      : '; capture is off, the rest of serve keeps running';
    if (how.error) {
      this.fail(
        missing
          ? `cannot run ${this.opts.bin ?? 'tcpdump'}: not found (install tcpdump)${after}`
          : `cannot run ${this.opts.bin ?? 'tcpdump'}: ${how.error.message}${after}`,
      );
    } else {
      const end = how.signal ? `was killed by ${how.signal}` : `exited with code ${how.code}`;
      this.fail(`tcpdump ${end}${why}${after}`);
    }
    if (!retry) {
      this.downAtEnd = true;
      this.finish();
      return;
    }
    this.keepCounters();
    // A run that lasted a while resets the back-off; quick failures double it (up to the cap).
    const ranMs = this.now() - this.procStartedMs;
    const delay =
      ranMs > (this.opts.maxRestartMs ?? 60_000)
        ? (this.opts.restartMs ?? 1000)
        : this.restartDelayMs;
    this.restartDelayMs = Math.min(delay * 2, this.opts.maxRestartMs ?? 60_000);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.ended) return;
      this.restarts++;
      this.engine.newStream();
      this.spawnTcpdump();
    }, delay);
    this.restartTimer.unref();
  }

  /** Fold the dead run's tcpdump counters into the totals (each run counts from zero). */
  private keepCounters(): void {
    const p = this.proc;
    if (!p) return;
    this.before.streamBytes += p.bytes;
    this.before.droppedByKernel += p.stats.droppedByKernel ?? 0;
    this.before.droppedByInterface += p.stats.droppedByInterface ?? 0;
    this.proc = null;
  }

  /** The stream is over: finalise every connection and hand everything over. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
    this.engine.end();
    this.handOver();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.downAtEnd = true;
    }
    this.restartTimer = null;
    if (this.proc) await this.proc.stop();
    this.finish();
    const s = this.engine.s;
    this.log(
      `${s.packets} packets, ${s.connections} connections, ${s.exchanges} exchanges` +
        (this.proc?.stats.droppedByKernel != null || this.before.droppedByKernel > 0
          ? `, ${this.before.droppedByKernel + (this.proc?.stats.droppedByKernel ?? 0)} dropped by the kernel`
          : '') +
        (this.restarts > 0 ? `, tcpdump restarted ${this.restarts} times` : ''),
    );
    if (this.sink && this.inputId !== null)
      await this.sink
        .finishInput(this.inputId, {
          records: this.records,
          skipped: this.engine.quality.skipped,
          error: this.error,
          format: this.engine.format ?? 'pcap',
        })
        .catch((err: unknown) => this.log(`cannot update the input: ${(err as Error).message}`));
  }

  /** Per-interface counters (label `interface`; families shared by all captures). */
  private register(reg: Registry): void {
    const l = { interface: this.opts.iface };
    const c = (name: string, help: string, get: () => number): void =>
      reg.counter(name, help, ['interface']).set(l, get);
    const s = this.engine.s;
    c('mlscope_capture_packets_total', 'Packets read from live capture.', () => s.packets);
    c('mlscope_capture_bytes_total', 'Bytes on the wire of captured packets.', () => s.bytes);
    c(
      'mlscope_capture_stream_bytes_total',
      'Bytes of pcap stream read from tcpdump.',
      () => this.before.streamBytes + (this.proc ? this.proc.bytes : 0),
    );
    c('mlscope_capture_restarts_total', 'tcpdump restarts after it died.', () => this.restarts);
    if (this.opts.tlsKeys) {
      // is the key log doing its job? (a service that stopped writing it shows as not_in_key_log)
      const tls = reg.counter(
        'mlscope_capture_tls_sessions_total',
        'TLS sessions seen with a key log (--tls-keylog), by result: decrypted, or not_in_key_log (no secrets for the session).',
        ['interface', 'result'],
      );
      const count = (key: string) => (): number => this.engine.counters()[key] ?? 0;
      tls.set({ ...l, result: 'decrypted' }, count('tls.decryptedSessions'));
      tls.set({ ...l, result: 'not_in_key_log' }, count('tls.notInKeyLog'));
    }
    c(
      'mlscope_capture_skipped_total',
      'Captured packets that could not be decoded (damaged, truncated…).',
      () => this.engine.quality.skipped,
    );
    c(
      'mlscope_capture_connections_total',
      'TCP connections finalised (written to the store).',
      () => s.connections,
    );
    c('mlscope_capture_exchanges_total', 'HTTP/gRPC exchanges seen.', () => s.exchanges);
    c(
      'mlscope_capture_retransmissions_total',
      'Retransmitted TCP segments (all connections).',
      () => s.retransmissions,
    );
    c(
      'mlscope_capture_errors_total',
      'tcpdump failures (could not start, exited) and unreadable capture streams.',
      () => this.errors,
    );
    const drops = reg.counter(
      'mlscope_capture_dropped_total',
      'Packets tcpdump reports dropped (where: kernel = buffer full, interface = by the NIC/driver); updated every few seconds.',
      ['interface', 'where'],
    );
    drops.set(
      { ...l, where: 'kernel' },
      () => this.before.droppedByKernel + (this.proc?.stats.droppedByKernel ?? 0),
    );
    drops.set(
      { ...l, where: 'interface' },
      () => this.before.droppedByInterface + (this.proc?.stats.droppedByInterface ?? 0),
    );
    reg
      .gauge('mlscope_capture_open_connections', 'TCP connections open now.', ['interface'])
      .set(l, () => this.engine.openConnections);
    reg
      .gauge('mlscope_capture_running', 'Whether tcpdump is running.', ['interface'])
      .set(l, () => (this.running ? 1 : 0));
  }
}

function fmtDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
