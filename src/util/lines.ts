// Line splitting over byte chunks (faster than readline, and it keeps line numbers and byte
// offsets). Lines longer than `maxLineBytes` are cut to that length and flagged, never buffered
// without bound.

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export interface Line {
  /** 1-based line number in the (decompressed) input. */
  lineNo: number;
  /** Byte offset of the line start in the (decompressed) input. */
  offset: number;
  /** The line without its terminator ('\n' or '\r\n'), decoded as UTF-8 (invalid bytes → U+FFFD). */
  text: string;
  /** True if the line was longer than the limit and was cut. */
  truncated: boolean;
  /** True if the line contained bytes that are not valid UTF-8. */
  invalidUtf8: boolean;
}

import { isAscii } from 'node:buffer';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

let decodedInvalid = false;

/** Decode a line; sets `decodedInvalid` when it held bytes that are not valid UTF-8. */
function decodeLine(buf: Buffer, start: number, end: number, ascii: boolean): string {
  decodedInvalid = false;
  // Fast path: pure ASCII (checked natively, once per chunk or per line) needs no validation;
  // latin1 copies the bytes into a one-byte string, without a Buffer view per line.
  if (ascii) return buf.toString('latin1', start, end);
  const sub = buf.subarray(start, end);
  if (isAscii(sub)) return buf.toString('latin1', start, end);
  try {
    return utf8Strict.decode(sub);
  } catch {
    decodedInvalid = true;
    return utf8.decode(sub);
  }
}

/** Splits chunks into lines; keeps only the unfinished tail between chunks. */
export class LineSplitter {
  private tail: Buffer | null = null;
  private tailOffset = 0;
  private lineNo = 0;
  private offset = 0;
  private skippingLong = false;
  private readonly maxLineBytes: number;

  /** `startOffset`/`startLine`: where in the input the first chunk begins (resuming mid-file). */
  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES, startOffset = 0, startLine = 0) {
    this.maxLineBytes = maxLineBytes;
    this.offset = startOffset;
    this.lineNo = startLine;
  }

  /** Lines given so far (counting from `startLine`). */
  get lines(): number {
    return this.lineNo;
  }

  /**
   * The offset of the first byte not yet given as part of a complete line (the start of the
   * unfinished last line); null while the rest of an over-long line is being dropped.
   */
  get consumed(): number | null {
    if (this.skippingLong) return null;
    return this.tail ? this.tailOffset : this.offset;
  }

  /** Feed a chunk; calls `onLine` for each complete line. */
  push(chunk: Buffer, onLine: (l: Line) => void): void {
    let buf = chunk;
    let base = this.offset;
    if (this.tail) {
      buf = Buffer.concat([this.tail, chunk]);
      base = this.tailOffset;
      this.tail = null;
    }
    this.offset += chunk.length;
    // Most logs are ASCII: one native check for the whole chunk spares one per line.
    const ascii = isAscii(buf);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      this.emit(buf, start, nl, base, onLine, ascii);
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = buf.length - start;
      if (rest > this.maxLineBytes) {
        // Emit the first maxLineBytes as a truncated line now; drop the rest of it as it streams.
        if (!this.skippingLong) {
          this.lineNo++;
          const text = decodeLine(buf, start, start + this.maxLineBytes, ascii);
          onLine({
            lineNo: this.lineNo,
            offset: base + start,
            text,
            truncated: true,
            invalidUtf8: decodedInvalid,
          });
          this.skippingLong = true;
        }
        this.tail = null;
      } else {
        this.tail = Buffer.from(buf.subarray(start));
        this.tailOffset = base + start;
      }
    }
  }

  private emit(
    buf: Buffer,
    start: number,
    nl: number,
    base: number,
    onLine: (l: Line) => void,
    ascii: boolean,
  ): void {
    if (this.skippingLong) {
      // End of an over-long line already reported.
      this.skippingLong = false;
      return;
    }
    let end = nl;
    if (end > start && buf[end - 1] === 13) end--;
    this.lineNo++;
    const truncated = end - start > this.maxLineBytes;
    const text = decodeLine(buf, start, truncated ? start + this.maxLineBytes : end, ascii);
    onLine({
      lineNo: this.lineNo,
      offset: base + start,
      text,
      truncated,
      invalidUtf8: decodedInvalid,
    });
  }

  /** Flush the last line if the input did not end with a newline. */
  end(onLine: (l: Line) => void): void {
    if (this.tail && this.tail.length > 0 && !this.skippingLong) {
      let end = this.tail.length;
      if (this.tail[end - 1] === 13) end--;
      this.lineNo++;
      const text = decodeLine(this.tail, 0, end, false);
      onLine({
        lineNo: this.lineNo,
        offset: this.tailOffset,
        text,
        truncated: false,
        invalidUtf8: decodedInvalid,
      });
    }
    this.tail = null;
    this.skippingLong = false;
  }
}

/**
 * Receives one line as bytes: `buf[start, end)` without its terminator, valid during the call only.
 * `truncated`: the line was longer than the limit; only its first `maxLineBytes` are given.
 */
export type ByteLineHandler = (
  buf: Buffer,
  start: number,
  end: number,
  lineNo: number,
  truncated: boolean,
) => void;

/**
 * Splits chunks into lines without decoding them (for parsers that read bytes). Copies only a line
 * that straddles two chunks, never the whole chunk; a line over `maxLineBytes` is given cut to that
 * length and flagged, and the rest of it is dropped as it streams.
 */
export class ByteLineSplitter {
  private tail: Buffer | null = null;
  private lineNo = 0;
  private skippingLong = false;
  private readonly maxLineBytes: number;

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.maxLineBytes = maxLineBytes;
  }

  push(chunk: Buffer, onLine: ByteLineHandler): void {
    let start = 0;
    if (this.tail !== null || this.skippingLong) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.hold(chunk, 0, onLine);
        return;
      }
      if (this.skippingLong) this.skippingLong = false;
      else {
        const line = Buffer.concat([this.tail!, chunk.subarray(0, nl)]);
        this.tail = null;
        this.emit(line, 0, line.length, onLine);
      }
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.emit(chunk, start, nl, onLine);
      start = nl + 1;
    }
    if (start < chunk.length) this.hold(chunk, start, onLine);
  }

  /** Flush the last line if the input did not end with a newline. */
  end(onLine: ByteLineHandler): void {
    if (this.tail !== null && this.tail.length > 0 && !this.skippingLong)
      this.emit(this.tail, 0, this.tail.length, onLine);
    this.tail = null;
    this.skippingLong = false;
  }

  private hold(chunk: Buffer, start: number, onLine: ByteLineHandler): void {
    if (this.skippingLong) return;
    const rest = chunk.subarray(start);
    const held = this.tail === null ? rest.length : this.tail.length + rest.length;
    if (held > this.maxLineBytes) {
      const line = this.tail === null ? rest : Buffer.concat([this.tail, rest]);
      this.lineNo++;
      onLine(line, 0, this.maxLineBytes, this.lineNo, true);
      this.tail = null;
      this.skippingLong = true;
      return;
    }
    this.tail = this.tail === null ? Buffer.from(rest) : Buffer.concat([this.tail, rest]);
  }

  private emit(buf: Buffer, start: number, nl: number, onLine: ByteLineHandler): void {
    let end = nl;
    if (end > start && buf[end - 1] === 13) end--;
    this.lineNo++;
    if (end - start > this.maxLineBytes)
      onLine(buf, start, start + this.maxLineBytes, this.lineNo, true);
    else onLine(buf, start, end, this.lineNo, false);
  }
}
