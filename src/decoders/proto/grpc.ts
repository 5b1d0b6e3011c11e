// gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md): call identity from the path, the
// length-prefixed message framing of DATA payloads, grpc-timeout, status names.
//
// Message framing, per direction:
//   off 0  size 1  Compressed-Flag (0 or 1)
//   off 1  size 4  Message-Length (big-endian)
//   off 5  size n  Message
// A message may span DATA frames (and TCP segments); the framer keeps only counters and the
// 5-byte prefix between chunks, never the message bytes.

import type { ExchangeGrpc } from '../../model/records.js';

export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** Messages above this are counted as suspicious (still framed; they only cost counters). */
export const GRPC_MAX_SANE_MESSAGE_BYTES = 1 << 30;

export type GrpcCallKind = 'unary' | 'client-streaming' | 'server-streaming' | 'bidi-streaming';

/** Proposed `Exchange.grpc` (see the report): what one call looked like on the wire. */
export type GrpcCallInfo = ExchangeGrpc;

export function isGrpcContentType(ct: string | null | undefined): boolean {
  return ct !== null && ct !== undefined && /^application\/grpc(?:$|[+;])/i.test(ct.trim());
}

/** `/pkg.Service/Method` → service 'pkg.Service', method 'Method'. */
export function parseGrpcPath(path: string | null): { service: string; method: string } | null {
  if (path === null) return null;
  const m = /^\/([^/?#]+)\/([^/?#]+)$/.exec(path);
  if (!m?.[1] || !m[2]) return null;
  return { service: m[1], method: m[2] };
}

const TIMEOUT_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** `grpc-timeout: 1S` / `100m` / `5000u` → ms; null when malformed (≤ 8 digits + unit). */
export function parseGrpcTimeout(v: string | null | undefined): number | null {
  if (!v) return null;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v.trim());
  if (!m?.[1] || !m[2]) return null;
  const unit = TIMEOUT_UNIT_MS[m[2]];
  return unit === undefined ? null : Number(m[1]) * unit;
}

/** `grpc-message` is percent-encoded (§ Responses). */
export function decodeGrpcMessage(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** Incremental length-prefixed message framer for one direction of one call. */
export class GrpcMessageFramer {
  messages = 0;
  messageBytes = 0;
  maxMessageBytes = 0;
  compressed = 0;
  malformed = false;
  /** Timestamps (µs) at which each message completed, first few only. */
  readonly completedUs: number[] = [];
  private hdr = new Uint8Array(5);
  private hdrHave = 0;
  private remaining = 0;
  private inMessage = false;

  feed(buf: Uint8Array, off: number, end: number, tsUs: number): void {
    let p = off;
    while (p < end) {
      if (this.inMessage) {
        const take = Math.min(this.remaining, end - p);
        this.remaining -= take;
        p += take;
        if (this.remaining === 0) this.finishMessage(tsUs);
        continue;
      }
      this.hdr[this.hdrHave++] = buf[p++] ?? 0;
      if (this.hdrHave < 5) continue;
      this.hdrHave = 0;
      const flag = this.hdr[0] ?? 0;
      const len =
        (((this.hdr[1] ?? 0) << 24) >>> 0) +
        ((this.hdr[2] ?? 0) << 16) +
        ((this.hdr[3] ?? 0) << 8) +
        (this.hdr[4] ?? 0);
      if (flag > 1 || len > GRPC_MAX_SANE_MESSAGE_BYTES) this.malformed = true;
      if ((flag & 1) === 1) this.compressed++;
      this.remaining = len;
      this.messageBytes += len;
      if (len > this.maxMessageBytes) this.maxMessageBytes = len;
      this.inMessage = true;
      if (len === 0) this.finishMessage(tsUs);
    }
  }

  /** The stream ended: a half-read message is malformed. */
  end(): void {
    if (this.inMessage || this.hdrHave > 0) this.malformed = true;
  }

  private finishMessage(tsUs: number): void {
    this.inMessage = false;
    this.messages++;
    if (this.completedUs.length < 64) this.completedUs.push(tsUs);
  }
}

export function grpcCallKind(reqMessages: number, respMessages: number): GrpcCallKind {
  if (reqMessages > 1 && respMessages > 1) return 'bidi-streaming';
  if (reqMessages > 1) return 'client-streaming';
  if (respMessages > 1) return 'server-streaming';
  return 'unary';
}
