// A bounds-checked protobuf wire-format reader (https://protobuf.dev/programming-guides/encoding/).
// Nothing here throws: a read past `end`, a varint longer than 10 bytes, a length that runs past its
// enclosing message or a group wire type sets `err` (with the byte offset) and returns 0; callers
// check `r.err` after each field and stop. Lengths are checked against the bytes left before use.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;

export class WireReader {
  readonly buf: Uint8Array;
  readonly dv: DataView;
  pos: number;
  /** First error met, or null. Once set, every read returns 0. */
  err: string | null = null;
  errAt = -1;
  private readonly text = new TextDecoder('utf-8', { fatal: false });

  constructor(buf: Uint8Array, start = 0) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  fail(msg: string, at = this.pos): void {
    if (this.err === null) {
      this.err = msg;
      this.errAt = at;
    }
  }

  /** An unsigned varint up to 2^53 exactly (larger values lose precision, they do not fail). */
  varint(end: number): number {
    const b = this.buf;
    let p = this.pos;
    if (p < end) {
      const x = b[p]!;
      if (x < 0x80) {
        this.pos = p + 1;
        return x;
      }
    }
    let lo = 0;
    let shift = 0;
    // Bytes 0..3 fill 28 bits of lo exactly.
    for (; shift < 28; shift += 7) {
      if (p >= end) return this.truncated(p);
      const x = b[p++]!;
      lo |= (x & 0x7f) << shift;
      if (x < 0x80) {
        this.pos = p;
        return lo >>> 0;
      }
    }
    let hi = 0;
    let mul = 2 ** 28;
    let value = lo >>> 0;
    for (let i = 4; i < 10; i++) {
      if (p >= end) return this.truncated(p);
      const x = b[p++]!;
      value += (x & 0x7f) * mul;
      hi = x;
      mul *= 128;
      if (x < 0x80) {
        this.pos = p;
        return value;
      }
    }
    void hi;
    this.fail('varint longer than 10 bytes', p);
    return 0;
  }

  /** A varint read as a two's-complement int64 (negative int64s are 10-byte varints). */
  int64(end: number): number {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= end) return this.truncated(p);
      const x = b[p++]!;
      const bits = x & 0x7f;
      const shift = i * 7;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (x < 0x80) {
        this.pos = p;
        return (hi | 0) * TWO_32 + (lo >>> 0);
      }
    }
    this.fail('varint longer than 10 bytes', p);
    return 0;
  }

  /** An int32/enum varint: negative values are sign-extended 10-byte varints. */
  int32(end: number): number {
    return this.int64(end) | 0;
  }

  /** A zig-zag sint32/sint64. */
  sint(end: number): number {
    const v = this.varint(end);
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  bool(end: number): boolean {
    return this.varint(end) !== 0;
  }

  fixed32(end: number): number {
    if (this.pos + 4 > end) return this.truncated(end);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** fixed64 as a double (exact below 2^53; nanosecond clocks lose < 1 µs). */
  fixed64(end: number): number {
    if (this.pos + 8 > end) return this.truncated(end);
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** fixed64 nanoseconds since the epoch → microseconds (exact to the µs). */
  fixed64NanosToUs(end: number): number {
    if (this.pos + 8 > end) return this.truncated(end);
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getUint32(this.pos + 4, true);
    this.pos += 8;
    // hi·2^32 + lo = q·1000 + r computed without leaving the exact-integer range.
    const hiQ = Math.floor(hi / 1000);
    const hiR = hi - hiQ * 1000;
    const rest = hiR * TWO_32 + lo; // < 1000·2^32 + 2^32: exact
    const restQ = Math.floor(rest / 1000);
    return hiQ * TWO_32 + restQ;
  }

  sfixed64(end: number): number {
    if (this.pos + 8 > end) return this.truncated(end);
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getInt32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  double(end: number): number {
    if (this.pos + 8 > end) return this.truncated(end);
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * The length prefix of a length-delimited field; returns the end offset of its payload (and
   * leaves `pos` at its start), or -1 with `err` set when it runs past `end`.
   */
  len(end: number): number {
    const n = this.varint(end);
    if (this.err !== null) return -1;
    if (n > end - this.pos) {
      this.fail(`length ${n} runs past the end of its message (${end - this.pos} bytes left)`);
      return -1;
    }
    return this.pos + n;
  }

  string(end: number): string {
    const e = this.len(end);
    if (e < 0) return '';
    const s = this.utf8(this.pos, e);
    this.pos = e;
    return s;
  }

  utf8(start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    // Short ASCII strings (span names, attribute keys) are faster by hand than TextDecoder.
    if (n < 48) {
      const b = this.buf;
      let s = '';
      for (let i = start; i < end; i++) {
        const c = b[i]!;
        if (c >= 0x80) return this.text.decode(b.subarray(start, end));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.text.decode(this.buf.subarray(start, end));
  }

  /** A bytes field as lower-case hex (ids). */
  hex(end: number): string {
    const e = this.len(end);
    if (e < 0) return '';
    const s = hexOf(this.buf, this.pos, e);
    this.pos = e;
    return s;
  }

  /** Skip a field of `wireType`; false (with `err`) for groups and unknown wire types. */
  skip(wireType: number, end: number): boolean {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint(end);
        break;
      case WIRE_FIXED64:
        if (this.pos + 8 > end) this.truncated(end);
        else this.pos += 8;
        break;
      case WIRE_LEN: {
        const e = this.len(end);
        if (e >= 0) this.pos = e;
        break;
      }
      case WIRE_FIXED32:
        if (this.pos + 4 > end) this.truncated(end);
        else this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
    return this.err === null;
  }

  private truncated(at: number): number {
    this.fail('truncated field', at);
    return 0;
  }
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

export function hexOf(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[b[i]!]!;
  return s;
}
