// Template ids for the log records of one input, mined while the input is read (`ingest`, `logs`).
//
// Every non-blank line is mined exactly as `mlscope templates` mines it (the raw line, the input
// as its own header source, one miner per input), so for single-line records the stored ids agree
// line for line with `templates --json --assignments`; a multi-line record (a joined traceback)
// takes the id of its first line. Templates still generalise while the input goes on, so a record
// is tagged with a provisional key (the line's signature in the miner, store.ts InputTemplates)
// and `finish()` maps every key used to its final id, for the store to fix up in one transaction.
// Nothing is kept per line: the miner's state grows with distinct signatures, and the lines
// between being mined and their record being emitted are a short queue (see `prune`).

import type { LogRecord } from '../model/records.js';
import type { LogParser } from '../decoders/logs/index.js';
import type { Line } from '../util/lines.js';
import { TemplateMiner } from '../analyzers/templates/index.js';
import { PROVISIONAL_TEMPLATE_PREFIX, type InputTemplates } from '../store/store.js';

/** Queue length at which entries the parser no longer holds are dropped (a cheap check per line). */
const PRUNE_AT = 4096;
/**
 * Queue entries kept at most: a record held across more lines than this (a container's partial
 * line, a cut multi-line record) keeps its first line's entry and the newest ones.
 */
const MAX_QUEUED = 65_536;

/** Provisional key texts kept for reuse: the first signatures' (a log of mostly distinct lines has one per line). */
const KEY_TEXT_CACHED = 65_536;

export class RecordTemplates {
  private readonly miner = new TemplateMiner();
  /** Mined lines not yet matched to a record: line numbers and keys, a FIFO ring. */
  private qLine = new Float64Array(1024);
  private qKey = new Int32Array(1024);
  private qHead = 0;
  private qLen = 0;
  /** Provisional key text per signature key (≥ 0), made once. */
  private readonly keyText: string[] = [];
  /** Keys written to at least one record: signatures (flag per key) and pending slots. */
  private usedSig = new Uint8Array(1024);
  private readonly usedSlots = new Set<number>();
  /** Records that got no key (their first line was dropped from a full queue). */
  untagged = 0;

  constructor(private readonly source: string) {}

  /** Lines mined and not yet matched to a record or dropped. */
  get queued(): number {
    return this.qLen;
  }

  /** A line as read, before the parser sees it. */
  line(l: Line): void {
    // The same test as `mlscope templates` (trim() knows Unicode blanks).
    if (l.text.trim() === '') return;
    const key = this.miner.addKeyed(l.text, this.source);
    if (this.qLen === this.qLine.length) this.growQueue();
    const at = (this.qHead + this.qLen) & (this.qLine.length - 1);
    this.qLine[at] = l.lineNo;
    this.qKey[at] = key;
    this.qLen++;
  }

  /**
   * After the parser took a line: when the queue is long, drop the entries of lines it no longer
   * holds (already in a record, or skipped); past MAX_QUEUED keep only the two oldest (the held
   * record, and a container partial line behind it) and the newest half.
   */
  prune(parser: Pick<LogParser, 'heldFrom'>): void {
    if (this.qLen < PRUNE_AT) return;
    const held = parser.heldFrom();
    const mask = this.qLine.length - 1;
    while (this.qLen > 0 && (held === null || this.qLine[this.qHead]! < held)) {
      this.qHead = (this.qHead + 1) & mask;
      this.qLen--;
    }
    if (this.qLen <= MAX_QUEUED) return;
    const keepNewest = MAX_QUEUED >>> 1;
    const lines = new Float64Array(this.qLine.length);
    const keys = new Int32Array(this.qLine.length);
    let n = 0;
    for (let i = 0; i < this.qLen; i++) {
      if (i >= 2 && i < this.qLen - keepNewest) continue;
      const at = (this.qHead + i) & mask;
      lines[n] = this.qLine[at]!;
      keys[n++] = this.qKey[at]!;
    }
    this.qLine = lines;
    this.qKey = keys;
    this.qHead = 0;
    this.qLen = n;
  }

  /** A record the parser emitted: tag it with its first line's provisional key. */
  tag(r: LogRecord): void {
    const mask = this.qLine.length - 1;
    while (this.qLen > 0 && this.qLine[this.qHead]! < r.lineNo) {
      this.qHead = (this.qHead + 1) & mask;
      this.qLen--;
    }
    if (this.qLen === 0 || this.qLine[this.qHead] !== r.lineNo) {
      this.untagged++;
      return;
    }
    const key = this.qKey[this.qHead]!;
    this.qHead = (this.qHead + 1) & mask;
    this.qLen--;
    if (key >= 0) {
      let t = key < KEY_TEXT_CACHED ? this.keyText[key] : undefined;
      if (t === undefined) {
        t = PROVISIONAL_TEMPLATE_PREFIX + String(key);
        if (key < KEY_TEXT_CACHED) this.keyText[key] = t;
      }
      r.templateId = t;
      if (key >= this.usedSig.length) {
        const a = new Uint8Array(Math.max(this.usedSig.length * 2, key + 1));
        a.set(this.usedSig);
        this.usedSig = a;
      }
      this.usedSig[key] = 1;
    } else {
      r.templateId = PROVISIONAL_TEMPLATE_PREFIX + String(key);
      this.usedSlots.add(key);
    }
  }

  /** The final id of every key written, and the templates they name (call once, at the end). */
  finish(): InputTemplates {
    const res = this.miner.result();
    const keys: { key: string; id: string }[] = [];
    const ids = new Set<string>();
    const add = (key: number): void => {
      const id = res.idOf(key);
      if (id === null) return;
      keys.push({ key: PROVISIONAL_TEMPLATE_PREFIX + String(key), id });
      ids.add(id);
    };
    const used = this.usedSig;
    for (let k = 0; k < used.length; k++) if (used[k] === 1) add(k);
    for (const k of this.usedSlots) add(k);
    const templates = res.templates
      .filter((t) => ids.has(t.id))
      .map((t) => ({ id: t.id, template: t.template, example: t.example }));
    return { keys, templates };
  }

  private growQueue(): void {
    const n = this.qLine.length;
    const lines = new Float64Array(n * 2);
    const keys = new Int32Array(n * 2);
    for (let i = 0; i < this.qLen; i++) {
      const at = (this.qHead + i) & (n - 1);
      lines[i] = this.qLine[at]!;
      keys[i] = this.qKey[at]!;
    }
    this.qLine = lines;
    this.qKey = keys;
    this.qHead = 0;
  }
}
