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
//
// Resuming across restarts (`savedPositions`, serve with --db): every file a path names gets a
// position — a line start with every line before it in a record already handed over, found by
// asking the parser which line it still holds back (`heldFrom`) — and records go to the sink's
// `tailed` together with the positions after them; the ingest queue stores both in one
// transaction (telemetry-store.ts). Positions are keyed by absolute path and identify the file by
// device, inode and SHA-256 of its first ≤ 1 KiB. At the first open of a path, `decideResume`
// compares the file with its saved positions: same file, not shorter → resume at the offset (line
// numbers continue); another file (rotated while down) → the saved file is looked for under a
// rotated name next to it (same device, inode and first bytes) and its rest read first, then the
// new file from the start; shorter (truncated) or other first bytes (rewritten) → read from the
// start, said on the log. At stop, an unfinished last line is left for the next run instead of
// being taken as complete.

import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { LogRecord } from '../model/records.js';
import { Quality, type QualityReport } from '../model/quality.js';
import { createLogParser, type LogParseOptions, type LogParser } from '../decoders/logs/index.js';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type Line } from '../util/lines.js';
import type { TailPosition } from '../store/store.js';
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
  /**
   * Start at the current end of files that exist at start and have no saved position (default:
   * read them from the start).
   */
  fromEnd?: boolean;
  /**
   * Track positions across restarts: the positions the last run saved, by path, newest first
   * (empty to ignore them). When set, records go to the sink's `tailed` with the positions after
   * them, and at stop an unfinished last line is left for the next run.
   */
  savedPositions?: ReadonlyMap<string, readonly TailPosition[]>;
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
/** Leading bytes that identify a file across restarts (with its device and inode). */
const HEAD_BYTES = 1024;
/** Rotated siblings looked at when the path names another file at start (app.log.1, …). */
const MAX_ROTATED_CANDIDATES = 64;

interface Generation {
  fh: FileHandle;
  dev: number;
  ino: number;
  pos: number;
  /** The last bytes read (ending at `pos`). */
  sig: Buffer;
  splitter: LineSplitter;
  /** Each file gets its own parser: format detection and multi-line records stay per file. */
  parser: LogParser;
  /** The first ≤ HEAD_BYTES bytes of the file, and their SHA-256 (null until needed). */
  head: Buffer;
  headHash: string | null;
  /** A line start with every line before it in a record already handed over. */
  safeOffset: number;
  /** Lines before `safeOffset` (as numbered by the splitter). */
  safeLine: number;
  retireAtMs: number;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? '';
}

/** How a file found at start compares with its saved positions (see `decideResume`). */
export type ResumeDecision =
  | { action: 'resume'; offset: number; lineNo: number; message: string }
  | { action: 'start'; message: string };

/** What `decideResume` needs to know of the file the path names now. */
export interface FileNow {
  dev: number;
  ino: number;
  sizeBytes: number;
  /** SHA-256 hex of the first `n` bytes (fewer if the file is shorter). */
  headHash: (n: number) => Promise<string>;
}

/**
 * Resume where the last run stopped if the path still names the file it read (same device and
 * inode, same first bytes, not shorter than the saved offset); otherwise read it from the start
 * and say why. `saved` holds the path's positions, newest first (one per file it was reading).
 */
export async function decideResume(
  path: string,
  saved: readonly TailPosition[],
  now: FileNow,
): Promise<ResumeDecision> {
  const same = saved.find((p) => p.dev === String(now.dev) && p.ino === String(now.ino));
  if (same === undefined) {
    const last = saved[0];
    return {
      action: 'start',
      message:
        `tail ${path}: another file than at the last run (rotated while serve was down): reading it from the start` +
        (last ? `; lines written to the old file after byte ${last.offset} may be missing` : ''),
    };
  }
  if (now.sizeBytes < same.offset || now.sizeBytes < same.headBytes)
    return {
      action: 'start',
      message: `tail ${path}: ${now.sizeBytes} bytes, shorter than the saved position ${same.offset} (truncated while serve was down): reading it from the start`,
    };
  if ((await now.headHash(same.headBytes)) !== same.headHash)
    return {
      action: 'start',
      message: `tail ${path}: its first bytes changed since the last run (rewritten while serve was down): reading it from the start`,
    };
  return {
    action: 'resume',
    offset: same.offset,
    lineNo: same.lineNo,
    message: `tail ${path}: resuming at byte ${same.offset} (line ${same.lineNo}) where the last run stopped`,
  };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Follows one path across rotations and truncations. */
export class FileTail {
  readonly quality: Quality;
  /** The format of the file read last (each file is detected on its own). */
  format = 'plain';
  private cur: Generation | null = null;
  private readonly retired: Generation[] = [];
  /** The generation whose lines are being split (for onLine). */
  private reading: Generation | null = null;
  private started = false;
  private linesSinceFlush = 0;
  private lastDataMs: number;
  private batch: LogRecord[] = [];
  private readonly buf = Buffer.allocUnsafe(READ_BYTES);
  private chain: Promise<void> = Promise.resolve();
  private missingLogged = false;
  /** The positions handed over last (to hand over only changes when there are no records). */
  private lastMarks = '';
  /** The absolute path: positions are saved and looked up under it. */
  private readonly key: string;
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
    const g = this.reading!;
    this.lines++;
    this.linesSinceFlush++;
    g.parser.push(l, this.emit);
    // Only this line is held back: every line before it is in an emitted record.
    if (g.parser.heldFrom() === l.lineNo) {
      g.safeOffset = l.offset;
      g.safeLine = l.lineNo - 1;
    }
  };

  constructor(
    readonly path: string,
    private readonly opts: TailOptions,
    private readonly deliver: (records: LogRecord[], positions: TailPosition[] | null) => void,
  ) {
    this.quality = new Quality(path, 'auto');
    this.lastDataMs = this.now();
    this.key = resolve(path);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private get tracking(): boolean {
    return this.opts.savedPositions !== undefined;
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

  private newSplitter(offset = 0, lineNo = 0): LineSplitter {
    return new LineSplitter(this.opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, offset, lineNo);
  }

  /** The rest of a generation's lines and records: its last line is complete by definition. */
  private endGen(g: Generation, lastLine: boolean): void {
    this.reading = g;
    if (lastLine) g.splitter.end(this.onLine);
    g.parser.end(this.emit);
    const c = g.splitter.consumed;
    if (c !== null) {
      g.safeOffset = c;
      g.safeLine = g.splitter.lines;
    }
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
        this.endGen(g, true); // its last line, even without a newline, is complete
        await this.close(g);
        this.retired.splice(i, 1);
      } else i++;
    }
    // open the path if nothing is open (first poll, after rotation or removal)
    if (this.cur === null) this.cur = await this.openPath(!this.started);
    this.started = true;
    const g = this.cur;
    if (g !== null) {
      // 2. truncation
      const st = await g.fh.stat();
      if (st.size < g.pos || (st.size > g.pos && !(await this.sameSig(g)))) {
        this.truncations++;
        this.quality.note('file-truncated', `offset ${g.pos}`);
        this.endGen(g, true); // what was read before is complete
        g.splitter = this.newSplitter();
        g.pos = 0;
        g.sig = Buffer.alloc(0);
        g.head = Buffer.alloc(0);
        g.safeOffset = 0;
        g.safeLine = 0;
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
      for (const r of this.retired) this.endGen(r, false);
      if (this.cur) this.endGen(this.cur, false);
    }
    const gens = this.tracked();
    if (final) {
      for (const r of this.retired) {
        this.endGen(r, true);
        await this.close(r);
      }
      this.retired.length = 0;
      if (this.cur) {
        // Resuming next time: an unfinished last line is left for the next run to read whole.
        this.endGen(this.cur, !this.tracking);
        await this.close(this.cur);
        this.cur = null;
      }
    }
    this.flushBatch(gens);
  }

  /** The files the path names while tailed: rotated-away ones still read, and the current one. */
  private tracked(): Generation[] {
    return this.cur ? [...this.retired, this.cur] : [...this.retired];
  }

  /** Hand over the records read, with the positions of `gens` after them when tracking. */
  private flushBatch(gens: readonly Generation[]): void {
    let marks: TailPosition[] | null = null;
    if (this.tracking) {
      const at = this.now();
      marks = gens.map((g) => this.position(g, at));
      const key = marks.map((m) => `${m.dev}:${m.ino}:${m.offset}:${m.headBytes}`).join(' ');
      if (this.batch.length === 0 && key === this.lastMarks) return;
      this.lastMarks = key;
    } else if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    this.records += b.length;
    this.deliver(b, marks);
  }

  private position(g: Generation, at: number): TailPosition {
    if (g.headHash === null) g.headHash = sha256(g.head);
    return {
      path: this.key,
      dev: String(g.dev),
      ino: String(g.ino),
      headBytes: g.head.length,
      headHash: g.headHash,
      offset: g.safeOffset,
      lineNo: g.safeLine,
      updatedMs: at,
    };
  }

  /** Open the path; `first`: the first open of this run (resume or --from-end apply). */
  private async openPath(first: boolean): Promise<Generation | null> {
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
    const parser = createLogParser(this.path, this.quality, {
      ...this.opts.parse,
      referenceYear: this.opts.parse?.referenceYear ?? new Date(this.now()).getUTCFullYear(),
    });
    const g: Generation = {
      fh,
      dev: st.dev,
      ino: st.ino,
      pos: 0,
      sig: Buffer.alloc(0),
      splitter: this.newSplitter(),
      parser,
      head: Buffer.alloc(0),
      headHash: null,
      safeOffset: 0,
      safeLine: 0,
      retireAtMs: Infinity,
    };
    let start = 0;
    const saved = first ? this.opts.savedPositions?.get(this.key) : undefined;
    if (saved !== undefined && saved.length > 0) {
      const d = await decideResume(this.path, saved, {
        dev: st.dev,
        ino: st.ino,
        sizeBytes: st.size,
        headHash: async (n) => sha256(await readAt(fh, 0, n)),
      });
      if (
        d.action === 'start' &&
        !saved.some((p) => p.dev === String(st.dev) && p.ino === String(st.ino))
      ) {
        // rotated while serve was down: the file read at the last run may sit next to it
        // (app.log.1, app.log-20261128); its rest comes first, then the new file from its start
        const rotated = await this.openRotated(saved);
        if (rotated !== null) {
          this.opts.log?.(
            `tail ${this.path}: another file than at the last run (rotated while serve was down); the file read then is now ${rotated.name}: reading its rest from byte ${rotated.g.pos} first, then the new file from the start`,
          );
          this.retired.push(rotated.g);
          await this.drain(rotated.g, Infinity);
        } else this.opts.log?.(d.message);
      } else this.opts.log?.(d.message);
      if (d.action === 'resume') {
        start = d.offset;
        g.splitter = this.newSplitter(d.offset, d.lineNo);
        g.safeLine = d.lineNo;
      }
    } else {
      if (first && this.opts.fromEnd) start = st.size;
      if (first && this.tracking)
        this.opts.log?.(
          `tail ${this.path}: no saved position: reading from the ${start > 0 ? 'end (--from-end)' : 'start'}`,
        );
    }
    if (start > 0) {
      // offsets count from the file start; lines from where reading starts (--from-end: here)
      if (start !== g.splitter.consumed) g.splitter = this.newSplitter(start, 0);
      g.pos = g.safeOffset = start;
      g.head = await readAt(fh, 0, Math.min(HEAD_BYTES, st.size));
      g.sig = await readAt(fh, start - Math.min(SIG_BYTES, start), Math.min(SIG_BYTES, start));
    }
    this.format = parser.format;
    return g;
  }

  /**
   * The file a saved position was for, found under a rotated name in the same directory (same
   * device and inode, same first bytes, not shorter): opened at the saved offset, as a
   * rotated-away file to drain. Compressed rotations (.gz, …) have other inodes: not found.
   */
  private async openRotated(
    saved: readonly TailPosition[],
  ): Promise<{ name: string; g: Generation } | null> {
    const dir = dirname(this.key);
    const base = basename(this.key);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return null;
    }
    const candidates = names
      .filter((n) => n !== base && (n.startsWith(`${base}.`) || n.startsWith(`${base}-`)))
      .filter((n) => !/\.(gz|zst|bz2|xz|lz4|zip)$/.test(n))
      .sort()
      .slice(0, MAX_ROTATED_CANDIDATES);
    for (const name of candidates) {
      const full = join(dir, name);
      let st: { dev: number; ino: number; size: number; isFile(): boolean };
      try {
        st = await stat(full);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      const pos = saved.find((p) => p.dev === String(st.dev) && p.ino === String(st.ino));
      if (pos === undefined || st.size < pos.offset || st.size < pos.headBytes) continue;
      let fh: FileHandle;
      try {
        fh = await open(full, 'r');
      } catch {
        continue;
      }
      if (sha256(await readAt(fh, 0, pos.headBytes)) !== pos.headHash) {
        await fh.close().catch(() => undefined);
        continue;
      }
      const g: Generation = {
        fh,
        dev: st.dev,
        ino: st.ino,
        pos: pos.offset,
        sig: await readAt(
          fh,
          pos.offset - Math.min(SIG_BYTES, pos.offset),
          Math.min(SIG_BYTES, pos.offset),
        ),
        splitter: this.newSplitter(pos.offset, pos.lineNo),
        parser: createLogParser(this.path, this.quality, {
          ...this.opts.parse,
          referenceYear: this.opts.parse?.referenceYear ?? new Date(this.now()).getUTCFullYear(),
        }),
        head: await readAt(fh, 0, Math.min(HEAD_BYTES, st.size)),
        headHash: null,
        safeOffset: pos.offset,
        safeLine: pos.lineNo,
        retireAtMs: this.now() + (this.opts.rotateGraceMs ?? 2000),
      };
      this.rotations++;
      this.quality.note('file-rotated', `offset ${pos.offset}`);
      return { name, g };
    }
    return null;
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
    this.reading = g;
    while (total < budget) {
      const want = Math.min(this.buf.length, budget - total);
      const { bytesRead } = await g.fh.read(this.buf, 0, want, g.pos);
      if (bytesRead === 0) break;
      const chunk = this.buf.subarray(0, bytesRead);
      if (g.head.length < HEAD_BYTES && g.pos === g.head.length) {
        g.head = Buffer.concat([g.head, chunk.subarray(0, HEAD_BYTES - g.head.length)]);
        g.headHash = null;
      }
      g.pos += bytesRead;
      total += bytesRead;
      this.bytes += bytesRead;
      g.sig =
        bytesRead >= SIG_BYTES
          ? Buffer.from(chunk.subarray(bytesRead - SIG_BYTES))
          : Buffer.concat([g.sig, chunk]).subarray(-SIG_BYTES);
      this.reading = g;
      g.splitter.push(chunk, this.onLine);
      this.format = g.parser.format;
      // hand over what a large read produced without waiting for EOF (with the position reached)
      if (this.batch.length >= 8192) this.flushBatch(this.tracked());
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
      format: this.format,
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

/** Up to `length` bytes at `offset` (fewer at the end of the file). */
async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, offset);
  return b.subarray(0, bytesRead);
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
        new FileTail(p, opts, (records, positions) => {
          const sink = this.sink;
          if (positions !== null && sink?.tailed) sink.tailed(p, records, positions);
          else if (records.length > 0) sink?.logs(records);
          if (records.length > 0) opts.onRecords?.(records, p);
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
