// Live packet capture through a `tcpdump` child process: `tcpdump -i IFACE -w - -U --immediate-mode
// -s SNAPLEN [-- FILTER]` writes a pcap stream to its stdout, one packet at a time (-U: flush the
// output after every packet, not per 4 KiB buffer; --immediate-mode: no kernel batching delay).
// The stream is handed on chunk by chunk; nothing here decodes it (the capture engine does).
//
// tcpdump's counters: on SIGUSR1 (Linux has no SIGINFO) it prints one line to stderr,
//   "tcpdump: 12 packets captured, 13 packets received by filter, 0 packets dropped by kernel"
// and at exit the same three counts on separate lines (libpcap's pcap_stats; some platforms add
// "N packets dropped by interface"). `requestStats()` sends SIGUSR1; the parsed numbers are kept.
// Other stderr lines ("listening on lo…", "tcpdump: nosuch: No such device exists") are passed on.
//
// The child is run without a shell: interface and filter are single argv elements, the filter
// after `--` so it can never be read as an option. Stopping: SIGTERM to its PID, then its stdout
// is read to the end (tcpdump flushes what it captured); SIGKILL if it has not exited in time.

import { spawn as nodeSpawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export const DEFAULT_SNAPLEN = 262144;
/** BPF filters are short; a longer one is a mistake (or an attempt to make us allocate). */
export const MAX_FILTER_CHARS = 8192;
/** A stderr line longer than this is cut (tcpdump's are short). */
const MAX_STDERR_LINE = 1024;

/** What `spawn` must return: node's ChildProcess has all of it; tests pass a fake. */
export interface ChildLike {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
}

export type SpawnFn = (command: string, args: readonly string[]) => ChildLike;

const defaultSpawn: SpawnFn = (command, args) =>
  nodeSpawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });

export interface TcpdumpOptions {
  iface: string;
  /** A BPF expression (tcpdump's syntax); null = every packet. */
  filter?: string | null;
  /** Bytes kept per packet (-s). */
  snaplen?: number;
  /** The binary (default 'tcpdump', looked up on PATH). */
  bin?: string;
  spawn?: SpawnFn;
}

export interface TcpdumpStats {
  captured: number | null;
  receivedByFilter: number | null;
  droppedByKernel: number | null;
  droppedByInterface: number | null;
}

export interface TcpdumpHandlers {
  /** A chunk of the pcap stream (in order). */
  data(chunk: Buffer): void;
  /** A line tcpdump wrote to stderr that is not a counter line. */
  message?(line: string): void;
  /** The process is gone and its stdout read to the end: clean exit, signal, or spawn error. */
  exit?(how: TcpdumpExit): void;
}

export interface TcpdumpExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn error (ENOENT: no tcpdump on PATH), or null. */
  error: Error | null;
  /** We asked it to stop (stop()). */
  requested: boolean;
}

/** Interface names as Linux allows them (IFNAMSIZ 16) plus `any`; never starting with '-'. */
const IFACE_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;

/** Why `iface` cannot be an interface name, or null. */
export function checkInterfaceName(iface: string): string | null {
  if (!IFACE_RE.test(iface))
    return `'${iface.slice(0, 80)}' is not an interface name (letters, digits, _ . : @ -, at most 64)`;
  return null;
}

export function tcpdumpArgs(o: TcpdumpOptions): string[] {
  const args = [
    '-i',
    o.iface,
    '-w',
    '-',
    '-U',
    '--immediate-mode',
    '-s',
    String(o.snaplen ?? DEFAULT_SNAPLEN),
    '-n',
  ];
  if (o.filter) args.push('--', o.filter);
  return args;
}

const STAT_RES: [keyof TcpdumpStats, RegExp][] = [
  ['captured', /(\d+) packets? captured/],
  ['receivedByFilter', /(\d+) packets? received by filter/],
  ['droppedByKernel', /(\d+) packets? dropped by kernel/],
  ['droppedByInterface', /(\d+) packets? dropped by interface/],
];

/** Fold the counters found in one stderr line into `into`; true if the line held any. */
export function parseTcpdumpStats(line: string, into: TcpdumpStats): boolean {
  let found = false;
  for (const [k, re] of STAT_RES) {
    const m = re.exec(line);
    if (m) {
      into[k] = Number(m[1]);
      found = true;
    }
  }
  return found;
}

export class TcpdumpProcess {
  readonly stats: TcpdumpStats = {
    captured: null,
    receivedByFilter: null,
    droppedByKernel: null,
    droppedByInterface: null,
  };
  /** Bytes of pcap stream read. */
  bytes = 0;
  /** The last few stderr lines that were not counters (for error messages). */
  readonly messages: string[] = [];
  readonly args: string[];
  private readonly child: ChildLike;
  private exited = false;
  private stdoutEnded: boolean;
  private requested = false;
  private spawnError: Error | null = null;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private errTail = '';

  constructor(
    readonly opts: TcpdumpOptions,
    private readonly handlers: TcpdumpHandlers,
  ) {
    this.args = tcpdumpArgs(opts);
    this.done = new Promise((r) => (this.resolveDone = r));
    const spawn = opts.spawn ?? defaultSpawn;
    this.child = spawn(opts.bin ?? 'tcpdump', this.args);
    const out = this.child.stdout;
    this.stdoutEnded = out === null;
    this.child.once('error', (err) => {
      // ENOENT/EACCES: no process was started (no 'exit' follows; stdout may never end).
      this.spawnError = err;
      this.exited = true;
      this.stdoutEnded = true;
      this.settle();
    });
    this.child.once('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      this.exited = true;
      this.settle();
    });
    if (out) {
      out.on('data', (chunk: Buffer) => {
        this.bytes += chunk.length;
        this.handlers.data(chunk);
      });
      out.once('close', () => {
        this.stdoutEnded = true;
        this.settle();
      });
      out.on('error', () => undefined);
    }
    const err = this.child.stderr;
    if (err) {
      err.setEncoding('utf8');
      err.on('data', (s: string) => this.stderrText(s));
      err.on('error', () => undefined);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  private stderrText(s: string): void {
    this.errTail += s;
    let nl: number;
    while ((nl = this.errTail.indexOf('\n')) >= 0) {
      this.stderrLine(this.errTail.slice(0, nl));
      this.errTail = this.errTail.slice(nl + 1);
    }
    if (this.errTail.length > MAX_STDERR_LINE) {
      this.stderrLine(this.errTail);
      this.errTail = '';
    }
  }

  private stderrLine(raw: string): void {
    const line = raw.slice(0, MAX_STDERR_LINE).trimEnd();
    if (line === '') return;
    if (parseTcpdumpStats(line, this.stats)) return;
    this.messages.push(line);
    if (this.messages.length > 8) this.messages.shift();
    this.handlers.message?.(line);
  }

  private settle(): void {
    if (!this.exited || !this.stdoutEnded) return;
    if (this.errTail) {
      this.stderrLine(this.errTail);
      this.errTail = '';
    }
    const how: TcpdumpExit = {
      code: this.exitInfo?.code ?? null,
      signal: this.exitInfo?.signal ?? null,
      error: this.spawnError,
      requested: this.requested,
    };
    this.resolveDone();
    this.handlers.exit?.(how);
  }

  /** Resolves when the process has exited and its output was read to the end. */
  whenDone(): Promise<void> {
    return this.done;
  }

  /** Stop reading (the pipe fills, tcpdump blocks, the kernel drops and counts). */
  pause(): void {
    this.child.stdout?.pause();
  }

  resume(): void {
    this.child.stdout?.resume();
  }

  /** Ask for the counters (SIGUSR1); they arrive on stderr shortly after. */
  requestStats(): void {
    if (!this.exited && this.child.pid !== undefined) this.child.kill('SIGUSR1');
  }

  /** SIGTERM, read the rest of its output, SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.exited && this.stdoutEnded) return this.done;
    this.requested = true;
    this.resume(); // a paused pipe would keep tcpdump blocked in write()
    if (!this.exited) this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | null = null;
    const late = new Promise<void>((r) => {
      timer = setTimeout(() => {
        if (!this.exited) this.child.kill('SIGKILL');
        // give the kill a moment, then stop waiting for a stdout that may never close
        setTimeout(r, 1000).unref();
      }, timeoutMs);
      timer.unref();
    });
    await Promise.race([this.done, late]);
    if (timer) clearTimeout(timer);
  }
}
