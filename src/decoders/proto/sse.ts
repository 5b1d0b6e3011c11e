// Incremental Server-Sent Events parser (WHATWG HTML §9.2 "Parsing an event stream") over a body
// delivered in chunks with capture timestamps. Lines end in CRLF, LF or CR (a CR at the end of one
// chunk and an LF at the start of the next are one line end). Fields: data (joined with '\n'),
// event, id, retry; lines starting with ':' are comments. A blank line dispatches the event; an
// event with an empty data buffer is not dispatched (per spec). Works on bytes and decodes each
// line as UTF-8, so a multi-byte character split across chunks is never mangled.
// Bounds: a line longer than `maxLineBytes` is cut (counted), an event's data is capped at
// `maxEventDataBytes` (counted) — hostile streams cost bounded memory.

export interface SseEvent {
  /** `event:` field, 'message' when absent. */
  event: string;
  data: string;
  /** Last event id (sticky, per spec), or null. */
  id: string | null;
  /** Capture time of the chunk that completed the event (its blank line). */
  tsUs: number;
}

export interface SseOptions {
  maxLineBytes: number;
  maxEventDataBytes: number;
}

export const DEFAULT_SSE_OPTIONS: SseOptions = {
  maxLineBytes: 1 << 20,
  maxEventDataBytes: 4 << 20,
};

const CR = 13;
const LF = 10;

export class SseParser {
  events = 0;
  comments = 0;
  /** Lines cut at maxLineBytes, events whose data was capped. */
  overlongLines = 0;
  cappedEvents = 0;
  private readonly opts: SseOptions;
  private readonly onEvent: (e: SseEvent) => void;
  private line: Uint8Array[] = [];
  private lineBytes = 0;
  private lineCut = false;
  private afterCR = false;
  private atStart = true;
  private eventType = '';
  private data: string[] = [];
  private dataBytes = 0;
  private hasData = false;
  private lastId: string | null = null;

  constructor(onEvent: (e: SseEvent) => void, opts: SseOptions = DEFAULT_SSE_OPTIONS) {
    this.onEvent = onEvent;
    this.opts = opts;
  }

  feed(buf: Uint8Array, off: number, end: number, tsUs: number): void {
    let p = off;
    if (this.atStart && p < end) {
      // A UTF-8 BOM at the very start is skipped (only if it arrives whole in the first chunk).
      if (end - p >= 3 && buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) p += 3;
      this.atStart = false;
    }
    while (p < end) {
      if (this.afterCR) {
        this.afterCR = false;
        if (buf[p] === LF) {
          p++;
          continue;
        }
      }
      let q = p;
      while (q < end && buf[q] !== LF && buf[q] !== CR) q++;
      if (q > p) this.appendLine(buf, p, q);
      if (q === end) return;
      if (buf[q] === CR) this.afterCR = true;
      this.finishLine(tsUs);
      p = q + 1;
    }
  }

  /** End of body: an event without its blank line is not dispatched (per spec); says if one was pending. */
  end(): boolean {
    const pending = this.hasData || this.lineBytes > 0;
    this.line = [];
    this.lineBytes = 0;
    this.data = [];
    this.hasData = false;
    return pending;
  }

  private appendLine(buf: Uint8Array, p: number, q: number): void {
    const room = this.opts.maxLineBytes - this.lineBytes;
    if (room <= 0) {
      if (!this.lineCut) this.overlongLines++;
      this.lineCut = true;
      return;
    }
    const n = Math.min(room, q - p);
    if (n < q - p) {
      this.overlongLines++;
      this.lineCut = true;
    }
    this.line.push(buf.slice(p, p + n));
    this.lineBytes += n;
  }

  private finishLine(tsUs: number): void {
    const bytes =
      this.line.length === 1
        ? this.line[0]
        : this.line.length === 0
          ? null
          : Buffer.concat(this.line);
    this.line = [];
    this.lineBytes = 0;
    this.lineCut = false;
    if (bytes === null || bytes === undefined || bytes.length === 0) {
      this.dispatch(tsUs);
      return;
    }
    if (bytes[0] === 0x3a) {
      this.comments++;
      return;
    }
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        if (this.dataBytes + value.length > this.opts.maxEventDataBytes) {
          if (this.dataBytes < this.opts.maxEventDataBytes) this.cappedEvents++;
          value = value.slice(0, Math.max(0, this.opts.maxEventDataBytes - this.dataBytes));
        }
        this.data.push(value);
        this.dataBytes += value.length + 1;
        this.hasData = true;
        return;
      case 'event':
        this.eventType = value;
        return;
      case 'id':
        if (!value.includes('\u0000')) this.lastId = value;
        return;
      default:
        return; // retry and unknown fields are ignored
    }
  }

  private dispatch(tsUs: number): void {
    if (!this.hasData) {
      this.eventType = '';
      return;
    }
    const e: SseEvent = {
      event: this.eventType || 'message',
      data: this.data.join('\n'),
      id: this.lastId,
      tsUs,
    };
    this.data = [];
    this.dataBytes = 0;
    this.hasData = false;
    this.eventType = '';
    this.events++;
    this.onEvent(e);
  }
}
