// Live file tailing for `mlscope serve`: a `TelemetrySource` that follows log files the way
// `tail -F` does and hands parsed records to the ingest queue (and to live metrics/alerts through
// `onRecords`).
//
// Per file (one `FileTail`): the open file is read from its last position to EOF on every poll.
// Polls come from fs.watch on the file's directory (appends, renames, creation) and from a timer
// (fs.watch is not reliable everywhere: NFS, overlay, some editors). Each poll, in order:
//   1. rotated-away files still open ("retired") are drained, and closed after a grace period
//      (a writer may still append to the renamed file until it reopens its log);
//   2. truncation: the file is smaller than our position, or the bytes just before our position
//      are no longer the ones we read (copytruncate followed by a quick rewrite) → restart at 0;
//   3. the current file is read to EOF, bounded per poll so one file cannot starve the rest;
//   4. rotation: the path now names another file (inode/device changed) or nothing → the old
//      handle is retired (its rest read first, then the new file from the start).
// Lines are split with a bounded length (util/lines.ts); a partial last line waits for its
// newline, except at rotation, truncation and stop, where it is complete by definition. The log
// parser holds the last record back for multi-line joining; after `idleFlushMs` without new data
// it is flushed, so the last line written is not held until the next one. Lines are counted per
// file (`stats()`); the parser's data-quality block counts records and skips per file.

import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { LogRecord } from '../model/records.js';
import { Quality, type QualityReport } from '../model/quality.js';
import { createLogParser, type LogParseOptions, type LogParser } from '../decoders/logs/index.js';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type Line } from '../util/lines.js';
import type { TelemetrySink, TelemetrySource } from './telemetry-store.js';
import type { Registry } from './prometheus.js';

export interface TailOptions {
  /** Timer poll interval (ms); fs.watch events poll sooner. Default 500. */
  pollMs?: number;
  /** Flush the record held back for multi-line joining after this long without data. Default 1000. */
  idleFlushMs?: number;
  /** Keep reading a rotated-away file this long (ms) after the rotation. Default 2000. */
  rotateGraceMs?: number;
  /** Longer lines are cut (counted as 'truncated-line'). Default 64 KiB. */
  maxLineBytes?: number;
  /** Bytes read per file per poll before yielding (the rest follows immediately). Default 8 MiB. */
  maxReadPerPoll?: number;
  /** Start at the current end of files that exist at start (default: read them from the start). */
  fromEnd?: boolean;
  /** Use fs.watch in addition to the timer. Default true. */
  watch?: boolean;
  /** Parser options (format, referenceYear, service…). */
  parse?: LogParseOptions;
  /** Called with every batch of records after it was handed to the sink. */
  onRecords?: (records: LogRecord[], file: string) => void;
  /** Problems (unreadable file…), one line each. */
  log?: (line: string) => void;
  now?: () => number;
}

export interface TailFileStats {
  file: string;
  format: string;
  /** The path currently names an open file. */
  open: boolean;
  bytes: number;
  lines: number;
  records: number;
  rotations: number;
  truncations: number;
  quality: QualityReport;
}

const READ_BYTES = 256 * 1024;
/** Bytes remembered before the read position to recognise a rewritten (copytruncated) file. */
const SIG_BYTES = 64;

interface Generation {
  fh: FileHandle;
  dev: number;
  ino: number;
  pos: number;
  /** The last bytes read (ending at `pos`). */
  sig: Buffer;
  splitter: LineSplitter;
  retireAtMs: number;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? '';
}

/** Follows one path across rotations and truncations. */
export class FileTail {
  readonly quality: Quality;
  private readonly parser: LogParser;
  private cur: Generation | null = null;
  private readonly retired: Generation[] = [];
  private started = false;
  private linesSinceFlush = 0;
  private lastDataMs: number;
  private batch: LogRecord[] = [];
  private readonly buf = Buffer.allocUnsafe(READ_BYTES);
  private chain: Promise<void> = Promise.resolve();
  private missingLogged = false;
  /** More data was left unread by the per-poll bound. */
  backlog = false;
  bytes = 0;
  lines = 0;
  records = 0;
  rotations = 0;
  truncations = 0;

  private readonly emit = (r: LogRecord): void => {
    this.batch.push(r);
  };
  private readonly onLine = (l: Line): void => {
    this.lines++;
    this.linesSinceFlush++;
    this.parser.push(l, this.emit);
  };

  constructor(
    readonly path: string,
    private readonly opts: TailOptions,
    private readonly deliver: (records: LogRecord[]) => void,
  ) {
    this.quality = new Quality(path, 'auto');
    this.parser = createLogParser(path, this.quality, {
      ...opts.parse,
      referenceYear:
        opts.parse?.referenceYear ?? new Date((opts.now ?? Date.now)()).getUTCFullYear(),
    });
    this.lastDataMs = this.now();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  get isOpen(): boolean {
    return this.cur !== null;
  }

  /** One poll, serialised after any poll in progress. */
  poll(final = false): Promise<void> {
    this.chain = this.chain
      .then(() => this.pollOnce(final))
      .catch((e: unknown) => {
        this.opts.log?.(`tail ${this.path}: ${(e as Error).message}`);
      });
    return this.chain;
  }

  private async pollOnce(final: boolean): Promise<void> {
    const now = this.now();
    let got = 0;
    let budget = this.opts.maxReadPerPoll ?? 8 << 20;
    this.backlog = false;
    // 1. rotated-away files: their rest first (older data first).
    for (let i = 0; i < this.retired.length;) {
      const g = this.retired[i]!;
      const n = await this.drain(g, final ? Infinity : budget);
      got += n;
      budget -= n;
      if (final || (now >= g.retireAtMs && budget > 0)) {
        g.splitter.end(this.onLine); // its last line, even without a newline, is complete
        await this.close(g);
        this.retired.splice(i, 1);
      } else i++;
    }
    // open the path if nothing is open (first poll, after rotation or removal)
    if (this.cur === null) this.cur = await this.openPath(!this.started && !!this.opts.fromEnd);
    this.started = true;
    const g = this.cur;
    if (g !== null) {
      // 2. truncation
      const st = await g.fh.stat();
      if (st.size < g.pos || (st.size > g.pos && !(await this.sameSig(g)))) {
        this.truncations++;
        this.quality.note('file-truncated', `offset ${g.pos}`);
        g.splitter.end(this.onLine);
        g.splitter = new LineSplitter(this.opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
        g.pos = 0;
        g.sig = Buffer.alloc(0);
      }
      // 3. read to EOF
      const n = await this.drain(g, final ? Infinity : budget);
      got += n;
      budget -= n;
      // 4. rotation: the path names another file, or none
      let pst: { dev: number; ino: number } | null = null;
      try {
        pst = await stat(this.path);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
      }
      if (pst === null || pst.ino !== g.ino || pst.dev !== g.dev) {
        if (pst !== null) this.rotations++;
        this.quality.note(pst === null ? 'file-removed' : 'file-rotated', `offset ${g.pos}`);
        g.retireAtMs = now + (this.opts.rotateGraceMs ?? 2000);
        this.retired.push(g);
        this.cur = null;
        if (pst !== null) {
          this.cur = await this.openPath(false);
          if (this.cur) {
            const m = await this.drain(this.cur, final ? Infinity : Math.max(budget, 0));
            got += m;
            budget -= m;
          }
        }
      }
    }
    if (budget <= 0) this.backlog = true;
    // the held-back record: flushed when the file goes quiet, or at the end
    if (got > 0) this.lastDataMs = now;
    else if (
      this.linesSinceFlush > 0 &&
      (final || now - this.lastDataMs >= (this.opts.idleFlushMs ?? 1000))
    ) {
      this.linesSinceFlush = 0;
      this.parser.end(this.emit);
    }
    if (final) {
      for (const r of this.retired) {
        r.splitter.end(this.onLine);
        await this.close(r);
      }
      this.retired.length = 0;
      if (this.cur) {
        this.cur.splitter.end(this.onLine);
        await this.close(this.cur);
        this.cur = null;
      }
      this.parser.end(this.emit);
    }
    this.flushBatch();
  }

  private flushBatch(): void {
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    this.records += b.length;
    this.deliver(b);
  }

  private async openPath(atEnd: boolean): Promise<Generation | null> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (e) {
      if (errCode(e) === 'ENOENT') {
        if (!this.missingLogged) this.opts.log?.(`tail ${this.path}: waiting for the file`);
        this.missingLogged = true;
        return null;
      }
      this.quality.error = (e as Error).message;
      throw e;
    }
    this.missingLogged = false;
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new Error('not a regular file');
    }
    const g: Generation = {
      fh,
      dev: st.dev,
      ino: st.ino,
      pos: 0,
      sig: Buffer.alloc(0),
      splitter: new LineSplitter(this.opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES),
      retireAtMs: Infinity,
    };
    if (atEnd && st.size > 0) {
      g.pos = st.size;
      const k = Math.min(SIG_BYTES, st.size);
      const sig = Buffer.alloc(k);
      await fh.read(sig, 0, k, st.size - k);
      g.sig = sig;
    }
    return g;
  }

  /** The bytes before `pos` are still those we read. */
  private async sameSig(g: Generation): Promise<boolean> {
    const k = g.sig.length;
    if (k === 0) return true;
    const b = Buffer.alloc(k);
    const { bytesRead } = await g.fh.read(b, 0, k, g.pos - k);
    return bytesRead === k && b.equals(g.sig);
  }

  private async drain(g: Generation, budget: number): Promise<number> {
    let total = 0;
    while (total < budget) {
      const want = Math.min(this.buf.length, budget - total);
      const { bytesRead } = await g.fh.read(this.buf, 0, want, g.pos);
      if (bytesRead === 0) break;
      const chunk = this.buf.subarray(0, bytesRead);
      g.pos += bytesRead;
      total += bytesRead;
      this.bytes += bytesRead;
      g.sig =
        bytesRead >= SIG_BYTES
          ? Buffer.from(chunk.subarray(bytesRead - SIG_BYTES))
          : Buffer.concat([g.sig, chunk]).subarray(-SIG_BYTES);
      g.splitter.push(chunk, this.onLine);
      // hand over what a large read produced without waiting for EOF
      if (this.batch.length >= 8192) this.flushBatch();
    }
    return total;
  }

  private async close(g: Generation): Promise<void> {
    await g.fh.close().catch(() => undefined);
  }

  stats(): TailFileStats {
    const q = this.quality.report();
    return {
      file: this.path,
      format: this.parser.format,
      open: this.cur !== null,
      bytes: this.bytes,
      lines: this.lines,
      records: this.records,
      rotations: this.rotations,
      truncations: this.truncations,
      quality: q,
    };
  }
}

/** Tails a set of files into the server's ingest queue. */
export class TailSource implements TelemetrySource {
  readonly name = 'tail';
  private readonly tails: FileTail[] = [];
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private sink: TelemetrySink | null = null;
  private stopped = false;
  private polling: Promise<void> | null = null;

  constructor(
    readonly paths: readonly string[],
    private readonly opts: TailOptions = {},
  ) {
    for (const p of paths)
      this.tails.push(
        new FileTail(p, opts, (records) => {
          this.sink?.logs(records);
          opts.onRecords?.(records, p);
        }),
      );
  }

  async start(sink: TelemetrySink): Promise<void> {
    this.sink = sink;
    await this.pollNow();
    if (this.opts.watch !== false) {
      const dirs = new Map<string, Set<string>>();
      for (const p of this.paths) {
        const d = dirname(p);
        let s = dirs.get(d);
        if (!s) dirs.set(d, (s = new Set()));
        s.add(basename(p));
      }
      for (const [d, names] of dirs) {
        try {
          const w = watch(d, { persistent: false }, (_ev, f) => {
            if (f === null || names.has(String(f))) this.schedule(10);
          });
          w.on('error', () => undefined);
          this.watchers.push(w);
        } catch {
          // no fs.watch here (or the directory does not exist yet): the timer still polls
        }
      }
    }
    this.timer = setInterval(() => this.schedule(0), this.opts.pollMs ?? 500);
    this.timer.unref();
  }

  private schedule(ms: number): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.pollNow();
    }, ms);
    this.soon.unref();
  }

  /** Poll every file once (tests call this to step deterministically). */
  pollNow(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = (async () => {
      try {
        const full = this.sink && 'full' in this.sink && (this.sink as { full: boolean }).full;
        if (full) return; // back-pressure: the queue is full, read later
        await Promise.all(this.tails.map((t) => t.poll()));
      } finally {
        this.polling = null;
      }
      if (this.tails.some((t) => t.backlog)) this.schedule(0);
    })();
    return this.polling;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = null;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.polling) await this.polling;
    await Promise.all(this.tails.map((t) => t.poll(true)));
  }

  stats(): TailFileStats[] {
    return this.tails.map((t) => t.stats());
  }

  /** Per-file counters on a /metrics registry (label `file`, bounded like every label). */
  register(reg: Registry): void {
    const per = (
      name: string,
      help: string,
      get: (t: FileTail) => number,
      kind: 'counter' | 'gauge' = 'counter',
    ): void => {
      const f =
        kind === 'counter' ? reg.counter(name, help, ['file']) : reg.gauge(name, help, ['file']);
      for (const t of this.tails) f.set({ file: t.path }, () => get(t));
    };
    per('mlscope_tail_bytes_total', 'Bytes read from tailed files.', (t) => t.bytes);
    per('mlscope_tail_lines_total', 'Lines read from tailed files.', (t) => t.lines);
    per('mlscope_tail_records_total', 'Log records parsed from tailed files.', (t) => t.records);
    per(
      'mlscope_tail_skipped_total',
      'Lines of tailed files that yielded no record.',
      (t) => t.quality.skipped,
    );
    per(
      'mlscope_tail_rotations_total',
      'Rotations seen (the path named a new file).',
      (t) => t.rotations,
    );
    per(
      'mlscope_tail_truncations_total',
      'Truncations seen (copytruncate, > file).',
      (t) => t.truncations,
    );
    per(
      'mlscope_tail_file_open',
      'Whether the tailed path currently names an open file.',
      (t) => (t.isOpen ? 1 : 0),
      'gauge',
    );
  }
}
