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

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.maxLineBytes = maxLineBytes;
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
