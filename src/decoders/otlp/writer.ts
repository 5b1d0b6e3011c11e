// A small protobuf writer: enough for OTLP responses (ExportTraceServiceResponse, google.rpc.Status)
// and for the test and benchmark encoders. Nested messages are written into their own writer and
// copied in with a length prefix (fine for the sizes here).

export class ProtoWriter {
  private buf: Uint8Array;
  private dv: DataView;
  len = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.dv = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  /** Unsigned varint of a non-negative integer up to 2^53. */
  varint(v: number): this {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  uint(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }

  /** int64 / int32 / enum: negatives as 10-byte two's complement. */
  int(field: number, v: number): this {
    this.tag(field, 0);
    if (v >= 0) return this.varint(v);
    const big = BigInt.asUintN(64, BigInt(v));
    let x = big;
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
    return this;
  }

  fixed64(field: number, v: number): this {
    this.tag(field, 1);
    this.ensure(8);
    this.dv.setUint32(this.len, v % 4294967296, true);
    this.dv.setUint32(this.len + 4, Math.floor(v / 4294967296), true);
    this.len += 8;
    return this;
  }

  /** A nanosecond timestamp given in µs (exact: µs·1000 computed in BigInt). */
  fixed64NanosFromUs(field: number, us: number): this {
    this.tag(field, 1);
    this.ensure(8);
    const ns = BigInt(Math.round(us)) * 1000n;
    this.dv.setBigUint64(this.len, ns, true);
    this.len += 8;
    return this;
  }

  fixed32(field: number, v: number): this {
    this.tag(field, 5);
    this.ensure(4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }

  double(field: number, v: number): this {
    this.tag(field, 1);
    this.ensure(8);
    this.dv.setFloat64(this.len, v, true);
    this.len += 8;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  hex(field: number, hex: string): this {
    return this.bytes(field, Buffer.from(hex, 'hex'));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
