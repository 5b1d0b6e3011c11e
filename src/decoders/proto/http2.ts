// HTTP/2 (RFC 9113) over cleartext TCP: prior-knowledge h2c, the `Upgrade: h2c` handoff from the
// HTTP/1 parser, and connections whose client side was missed (the server's first SETTINGS).
// One Exchange per stream; gRPC calls and LLM event streams riding on streams are analysed on
// the fly (grpc.ts, llm.ts). HPACK in hpack.ts.
//
// Frame layout (§4.1):
//   off 0  size 3  Length (payload octets, ≤ 2^24-1; > SETTINGS_MAX_FRAME_SIZE is an error)
//   off 3  size 1  Type
//   off 4  size 1  Flags
//   off 5  size 4  R (1 bit) + Stream Identifier (31 bits)
//   off 9  size n  Payload
// Payload prefixes: DATA [Pad Length(1) if PADDED]; HEADERS [Pad Length(1) if PADDED]
// [Exclusive+Dependency(4) Weight(1) if PRIORITY]; PUSH_PROMISE [Pad Length(1)] Promised id(4);
// RST_STREAM code(4); SETTINGS n×(id(2) value(4)); PING opaque(8); GOAWAY last id(4) code(4)
// debug…; WINDOW_UPDATE increment(4); PRIORITY dependency(4) weight(1).
//
// Bytes are consumed as they arrive: only a frame header straddling two chunks and the payload of
// control/header frames are copied; DATA payloads are streamed (counted, framed for gRPC, fed to
// the SSE analyser) without buffering, so a 16 MiB DATA frame costs no memory.

import type { Dir, Exchange, ExchangeHttp2 } from '../../model/records.js';
import {
  GRPC_STATUS_NAMES,
  GrpcMessageFramer,
  decodeGrpcMessage,
  grpcCallKind,
  isGrpcContentType,
  parseGrpcPath,
  parseGrpcTimeout,
  type GrpcCallInfo,
} from './grpc.js';
import { HpackDecoder, HPACK_UNKNOWN, type HeaderField, type HpackResult } from './hpack.js';
import {
  LlmStreamAnalyzer,
  analyzeMlRequest,
  isEventStream,
  mlEndpoint,
  type LlmStreamStats,
  type MlRequestInfo,
} from './llm.js';
import type { ProtoContext, ProtoRecogniser, StreamParser } from './stream.js';

export const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const PREFACE_BYTES = Uint8Array.from(Buffer.from(HTTP2_PREFACE, 'latin1'));

export const H2_FRAME = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

const SETTINGS_HEADER_TABLE_SIZE = 1;
const SETTINGS_INITIAL_WINDOW_SIZE = 4;
const SETTINGS_MAX_FRAME_SIZE = 5;

/** RFC 9113 §7 error codes. */
export const H2_ERROR_NAMES: readonly string[] = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

export function http2ErrorName(code: number): string {
  return H2_ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** Control-frame payloads above this are skipped unread (SETTINGS, PING, GOAWAY debug data…). */
const MAX_CONTROL_PAYLOAD = 64 * 1024;
/** Open streams kept per connection; more are counted and ignored. */
const MAX_OPEN_STREAMS = 4096;
/** Request-body bytes kept for ML request analysis (JSON prompts). */
const ML_REQUEST_BODY_BYTES = 256 * 1024;
/** …and of other JSON request bodies (enough to recognise an LLM request on an unknown path). */
const OTHER_JSON_BODY_BYTES = 8 * 1024;
/** Positions tried per chunk when looking for a frame header after a gap. */
const RESYNC_SCAN_BYTES = 4096;
const DEFAULT_WINDOW = 65535;
/** Headers copied into Exchange.requestHeaders/responseHeaders: all regular fields, bounded. */
const REQUEST_ID_HEADERS = [
  'x-request-id',
  'x-correlation-id',
  'request-id',
  'x-amzn-requestid',
  'x-amz-request-id',
  'x-trace-id',
];

/** Proposed `Exchange.http2` (see the report). */
export type Http2StreamInfo = ExchangeHttp2;

/** What the engine receives: the Exchange plus proposed extension fields. */
export type Http2Exchange = Omit<Exchange, 'id'> & {
  http2: Http2StreamInfo;
  grpc: GrpcCallInfo | null;
  llm: { request: MlRequestInfo | null; stream: LlmStreamStats | null } | null;
};

/**
 * The request that asked for `Upgrade: h2c` (RFC 7540 §3.2); it becomes stream 1. The HTTP/1
 * parser's exchange fits as is. Header names lower-case; `http2-settings` (base64url SETTINGS
 * payload) is applied if present.
 */
export type Http2UpgradeRequest = Pick<
  Exchange,
  | 'method'
  | 'path'
  | 'host'
  | 'requestHeaders'
  | 'reqFirstUs'
  | 'reqLastUs'
  | 'reqFirstFrame'
  | 'reqBodyBytes'
>;

interface HeaderBlock {
  streamId: number;
  endStream: boolean;
  /** PUSH_PROMISE: the promised stream id (the block is its request). */
  promisedId: number;
  chunks: Uint8Array[];
  bytes: number;
  firstUs: number;
  firstFrame: number;
  abandoned: boolean;
}

interface H2Stream {
  id: number;
  counted: boolean;
  reqHeaders: HeaderField[] | null;
  respHeaders: HeaderField[] | null;
  respTrailers: HeaderField[] | null;
  status: number | null;
  ended: [boolean, boolean];
  bodyBytes: [number, number];
  firstUs: [number | null, number | null];
  lastUs: [number | null, number | null];
  firstFrame: [number | null, number | null];
  lastFrame: [number | null, number | null];
  window: [number, number];
  stalledSinceUs: [number | null, number | null];
  stalled: boolean;
  stallUs: number;
  rstError: string | null;
  rstBy: Dir | null;
  truncated: boolean;
  unknownHeaderFields: number;
  pushed: boolean;
  upgraded: boolean;
  grpc: [GrpcMessageFramer, GrpcMessageFramer] | null;
  llm: LlmStreamAnalyzer | null;
  reqBodyKeep: Uint8Array[] | null;
  reqBodyKept: number;
  reqBodyLimit: number;
  capture: [Uint8Array[], Uint8Array[]] | null;
  captured: [number, number];
  /** Upgrade request fields when the request came over HTTP/1.1. */
  upgradeReq: Http2UpgradeRequest | null;
}

interface DirState {
  started: boolean;
  /** Preface bytes matched so far (dir 0), -1 once decided. */
  prefaceAt: number;
  dead: boolean;
  /** After a gap: frame boundaries are lost until a plausible frame header is found. */
  resync: boolean;
  hdr: Uint8Array;
  hdrHave: number;
  type: number;
  flags: number;
  streamId: number;
  length: number;
  left: number;
  frameStartUs: number;
  frameStartFrame: number;
  /** DATA streaming: pad length (-1 until read), data octets still to come. */
  padLen: number;
  dataLeft: number;
  /** Buffered payload for non-DATA frames (null = skipping an oversize payload). */
  payload: Uint8Array | null;
  payloadHave: number;
  decoder: HpackDecoder | null;
  block: HeaderBlock | null;
  connWindow: number;
  /** Initial stream window for this sender (set by the peer's SETTINGS). */
  initialWindow: number;
  /** Max frame size this sender may use (the peer's SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize: number;
  connStalledSinceUs: number | null;
}

function newDirState(): DirState {
  return {
    started: false,
    prefaceAt: 0,
    dead: false,
    resync: false,
    hdr: new Uint8Array(9),
    hdrHave: 0,
    type: 0,
    flags: 0,
    streamId: 0,
    length: 0,
    left: 0,
    frameStartUs: 0,
    frameStartFrame: 0,
    padLen: -1,
    dataLeft: 0,
    payload: null,
    payloadHave: 0,
    decoder: null,
    block: null,
    connWindow: DEFAULT_WINDOW,
    initialWindow: DEFAULT_WINDOW,
    maxFrameSize: 16384,
    connStalledSinceUs: null,
  };
}

export class Http2Parser implements StreamParser {
  private readonly ctx: ProtoContext;
  private readonly dirs: [DirState, DirState] = [newDirState(), newDirState()];
  private readonly streams = new Map<number, H2Stream>();
  /** Highest stream id opened per parity (odd = client-initiated, even = pushed). */
  private highestOdd = 0;
  private highestEven = 0;
  /** Flow-control windows are only meaningful when both sides were seen from their start. */
  private windowsKnown = true;
  /** A side was not seen from its start: frames may belong to streams opened before. */
  private startedMid = false;
  private goaway: string | null = null;
  private readonly upgrade: Http2UpgradeRequest | null;
  /** Exchanges are built (else only framing and counts: `ProtoLimits.exchanges`). */
  private readonly exchanges: boolean;

  constructor(ctx: ProtoContext, upgrade: Http2UpgradeRequest | null = null) {
    this.ctx = ctx;
    this.upgrade = upgrade;
    this.exchanges = ctx.limits.exchanges !== false;
    if (upgrade) {
      const s = this.openStream(1);
      if (s) {
        s.upgraded = true;
        s.upgradeReq = upgrade;
        s.ended[0] = true;
        s.firstUs[0] = upgrade.reqFirstUs;
        s.lastUs[0] = upgrade.reqLastUs;
        s.firstFrame[0] = upgrade.reqFirstFrame;
        s.bodyBytes[0] = upgrade.reqBodyBytes;
      }
      const settings = upgrade.requestHeaders['http2-settings'];
      if (settings) {
        const b = Uint8Array.from(Buffer.from(settings, 'base64url'));
        this.applySettings(0, b, 0, b.length - (b.length % 6));
      }
    }
  }

  data(dir: Dir, tsUs: number, buf: Uint8Array, off: number, end: number): void {
    const d = this.dirs[dir];
    if (d.dead) return;
    let p = off;
    if (!d.started) {
      if (dir === 0 && d.prefaceAt >= 0) {
        while (
          p < end &&
          d.prefaceAt < PREFACE_BYTES.length &&
          buf[p] === PREFACE_BYTES[d.prefaceAt]
        ) {
          p++;
          d.prefaceAt++;
        }
        if (p === end && d.prefaceAt < PREFACE_BYTES.length) return; // wait for the rest
        if (d.prefaceAt > 0 && d.prefaceAt < PREFACE_BYTES.length) {
          this.ctx.skip('http2.badPreface', `matched ${d.prefaceAt} of 24 bytes`);
          d.dead = true;
          return;
        }
      }
      d.started = true;
      if (dir === 0) {
        const known = d.prefaceAt === PREFACE_BYTES.length;
        if (!known) {
          this.windowsKnown = false;
          this.startedMid = true;
        }
        d.decoder = this.newDecoder(!known);
      }
    }
    if (d.resync) {
      const q = this.findFrameStart(dir, d, buf, p, end);
      if (q < 0) return; // not here: maybe at the next segment's start
      p = q;
      d.resync = false;
      this.ctx.count('http2.resyncs');
    }
    while (p < end) {
      if (d.hdrHave < 9) {
        if (d.hdrHave === 0) {
          d.frameStartUs = tsUs;
          d.frameStartFrame = this.ctx.frame();
        }
        const take = Math.min(9 - d.hdrHave, end - p);
        d.hdr.set(buf.subarray(p, p + take), d.hdrHave);
        d.hdrHave += take;
        p += take;
        if (d.hdrHave < 9) return;
        if (!this.startFrame(dir, d)) return;
        if (d.left === 0) {
          this.finishFrame(dir, d, tsUs);
          continue;
        }
      }
      const take = Math.min(d.left, end - p);
      if (d.type === H2_FRAME.DATA) {
        this.dataPayload(dir, d, tsUs, buf, p, p + take);
      } else if (d.payload !== null) {
        d.payload.set(buf.subarray(p, p + take), d.payloadHave);
        d.payloadHave += take;
      }
      d.left -= take;
      p += take;
      if (d.left === 0) this.finishFrame(dir, d, tsUs);
    }
  }

  gap(dir: Dir, _tsUs: number, lengthBytes: number): void {
    const d = this.dirs[dir];
    if (d.dead) return;
    // Frame boundaries and HPACK state are lost: look for the next frame header, decode the
    // following header blocks in degraded mode (unknown dynamic entries), and mark the streams
    // that were open in this direction truncated.
    this.ctx.skip('http2.gap', `${lengthBytes} bytes missing in direction ${dir}`);
    if (!d.started || d.decoder === null) {
      // Lost before this side's first frame (e.g. the preface): continue as if started mid-way.
      d.started = true;
      d.decoder = this.newDecoder(true);
      this.startedMid = true;
    }
    d.resync = true;
    d.hdrHave = 0;
    d.left = 0;
    d.payload = null;
    d.block = null;
    d.decoder?.resetUnknown();
    this.windowsKnown = false;
    for (const s of this.streams.values()) if (!s.ended[dir]) s.truncated = true;
  }

  /**
   * Frame-header plausibility for resync: the static rules, and a stream the connection knows
   * (open, or a new client stream shortly above the highest seen).
   */
  private plausibleFrame(dir: Dir, maxFrameSize: number, b: Uint8Array, p: number): number {
    const len = plausibleFrameHeader(dir, maxFrameSize, b, p);
    if (len < 0) return -1;
    const sid = readU31(b, p + 5);
    if (sid === 0 || this.streams.has(sid)) return len;
    const type = b[p + 3];
    const newClientStream = dir === 0 && type === H2_FRAME.HEADERS && sid % 2 === 1;
    if (newClientStream && sid > this.highestOdd && sid <= this.highestOdd + 2 * 1024) return len;
    return type === H2_FRAME.WINDOW_UPDATE || type === H2_FRAME.RST_STREAM ? len : -1;
  }

  /** First offset in [p, end) holding a plausible frame header (and a plausible next one). */
  private findFrameStart(dir: Dir, d: DirState, b: Uint8Array, p: number, end: number): number {
    const last = Math.min(end - 9, p + RESYNC_SCAN_BYTES);
    for (let q = p; q <= last; q++) {
      const len = this.plausibleFrame(dir, d.maxFrameSize, b, q);
      if (len < 0) continue;
      const next = q + 9 + len;
      if (next + 9 <= end && this.plausibleFrame(dir, d.maxFrameSize, b, next) < 0) continue;
      return q;
    }
    return -1;
  }

  close(dir: Dir | null, tsUs: number, reset: boolean): void {
    if (dir === null && reset) {
      for (const s of [...this.streams.values()]) {
        if (!s.ended[0] || !s.ended[1]) {
          s.rstError ??= 'TCP_RESET';
        }
        this.emit(s, tsUs);
      }
    }
  }

  end(tsUs: number): void {
    for (const s of [...this.streams.values()]) this.emit(s, tsUs);
  }

  // ---- framing -------------------------------------------------------------------------------

  private newDecoder(unknown: boolean): HpackDecoder {
    const l = this.ctx.limits;
    return new HpackDecoder(
      {
        maxHeaderListBytes: l.maxHeaderBytes,
        maxHeaders: l.maxHeaders,
        maxValueChars: l.maxHeaderValueChars,
      },
      4096,
      unknown,
    );
  }

  /** Reads the 9-byte header; false when this direction is given up. */
  private startFrame(dir: Dir, d: DirState): boolean {
    const h = d.hdr;
    d.length = ((h[0] ?? 0) << 16) | ((h[1] ?? 0) << 8) | (h[2] ?? 0);
    d.type = h[3] ?? 0;
    d.flags = h[4] ?? 0;
    d.streamId =
      (((h[5] ?? 0) & 0x7f) << 24) | ((h[6] ?? 0) << 16) | ((h[7] ?? 0) << 8) | (h[8] ?? 0);
    d.left = d.length;
    d.payload = null;
    d.payloadHave = 0;
    d.padLen = -1;
    d.dataLeft = 0;
    if (dir === 1 && d.decoder === null) {
      // The server's first frame is its SETTINGS (§3.4): then its HPACK state is known.
      const fresh = d.type === H2_FRAME.SETTINGS && (d.flags & FLAG_ACK) === 0;
      if (!fresh) {
        this.windowsKnown = false;
        this.startedMid = true;
      }
      d.decoder = this.newDecoder(!fresh);
    }
    if (d.type > H2_FRAME.CONTINUATION && d.block === null) {
      // Unknown frame types are ignored (§5.5); skip the payload.
      return true;
    }
    if (d.block !== null && (d.type !== H2_FRAME.CONTINUATION || d.streamId !== d.block.streamId)) {
      this.ctx.skip('http2.protocolError', `frame type ${d.type} inside a header block`);
      d.block = null;
      d.decoder?.resetUnknown();
    }
    if (d.length > d.maxFrameSize) {
      this.ctx.count('http2.oversizeFrames');
      if (d.length > (1 << 24) - 1) return true; // cannot happen with a 24-bit length
    }
    if (d.type === H2_FRAME.DATA) return true;
    const bound =
      d.type === H2_FRAME.HEADERS ||
      d.type === H2_FRAME.CONTINUATION ||
      d.type === H2_FRAME.PUSH_PROMISE
        ? this.ctx.limits.maxHeaderBytes + 256
        : MAX_CONTROL_PAYLOAD;
    if (d.length <= bound) {
      d.payload = new Uint8Array(d.length);
    } else {
      // Header frames: finishFrame abandons the block (and the HPACK state) with one skip.
      const header =
        d.type === H2_FRAME.HEADERS ||
        d.type === H2_FRAME.CONTINUATION ||
        d.type === H2_FRAME.PUSH_PROMISE;
      if (!header) this.ctx.skip('http2.frameTooLarge', `type ${d.type} length ${d.length}`);
    }
    return true;
  }

  private dataPayload(
    dir: Dir,
    d: DirState,
    tsUs: number,
    buf: Uint8Array,
    p: number,
    end: number,
  ): void {
    if (d.padLen < 0) {
      if ((d.flags & FLAG_PADDED) !== 0) {
        d.padLen = buf[p++] ?? 0;
        if (d.padLen >= d.length) {
          this.ctx.skip('http2.protocolError', 'DATA padding exceeds the frame');
          d.padLen = d.length - 1;
        }
        d.dataLeft = d.length - 1 - d.padLen;
      } else {
        d.padLen = 0;
        d.dataLeft = d.length;
      }
    }
    const n = Math.min(d.dataLeft, end - p);
    if (n <= 0) return;
    d.dataLeft -= n;
    const s = this.streamFor(d.streamId, tsUs, false);
    if (!s) return;
    this.touch(s, dir, tsUs);
    s.bodyBytes[dir] += n;
    if (s.grpc) s.grpc[dir].feed(buf, p, p + n, tsUs);
    if (dir === 1 && s.llm) s.llm.feed(buf, p, p + n, tsUs);
    if (dir === 0 && s.reqBodyKeep && s.reqBodyKept < s.reqBodyLimit) {
      const keep = Math.min(n, s.reqBodyLimit - s.reqBodyKept);
      s.reqBodyKeep.push(buf.slice(p, p + keep));
      s.reqBodyKept += keep;
    }
    const cap = this.ctx.limits.bodyCaptureBytes;
    if (cap > 0) {
      s.capture ??= [[], []];
      const keep = Math.min(n, cap - s.captured[dir]);
      if (keep > 0) {
        s.capture[dir].push(buf.slice(p, p + keep));
        s.captured[dir] += keep;
      }
    }
  }

  private finishFrame(dir: Dir, d: DirState, tsUs: number): void {
    d.hdrHave = 0;
    const type = d.type;
    const flags = d.flags;
    const sid = d.streamId;
    const pl = d.payload;
    d.payload = null;
    this.ctx.count('http2.frames');
    switch (type) {
      case H2_FRAME.DATA: {
        if (sid === 0) {
          this.ctx.skip('http2.protocolError', 'DATA on stream 0');
          return;
        }
        this.consumeWindow(dir, d, sid, d.length, tsUs, (flags & FLAG_END_STREAM) !== 0);
        const s = this.streamFor(sid, tsUs, false);
        if (s) {
          this.touch(s, dir, tsUs);
          if ((flags & FLAG_END_STREAM) !== 0) this.endStream(s, dir, tsUs);
        }
        return;
      }
      case H2_FRAME.HEADERS: {
        if (sid === 0) {
          this.ctx.skip('http2.protocolError', 'HEADERS on stream 0');
          return;
        }
        if (pl === null) {
          this.beginBlock(d, sid, (flags & FLAG_END_STREAM) !== 0, 0, null);
          if ((flags & FLAG_END_HEADERS) !== 0) this.finishBlock(dir, d, tsUs);
          return;
        }
        let p = 0;
        let end = pl.length;
        if ((flags & FLAG_PADDED) !== 0) {
          const pad = pl[0] ?? 0;
          p = 1;
          end -= pad;
        }
        if ((flags & FLAG_PRIORITY) !== 0) p += 5;
        if (p > end) {
          this.ctx.skip('http2.protocolError', 'HEADERS padding/priority exceed the frame');
          d.decoder?.resetUnknown();
          return;
        }
        this.beginBlock(d, sid, (flags & FLAG_END_STREAM) !== 0, 0, pl.subarray(p, end));
        if ((flags & FLAG_END_HEADERS) !== 0) this.finishBlock(dir, d, tsUs);
        return;
      }
      case H2_FRAME.CONTINUATION: {
        const b = d.block;
        if (b === null) {
          if (pl !== null) this.ctx.skip('http2.protocolError', 'CONTINUATION without HEADERS');
          return;
        }
        this.appendBlock(b, pl, d.length);
        if ((flags & FLAG_END_HEADERS) !== 0) this.finishBlock(dir, d, tsUs);
        return;
      }
      case H2_FRAME.PUSH_PROMISE: {
        if (pl === null) {
          // Too large to read: the promised id is lost, and the HPACK state with the block.
          this.beginBlock(d, sid, false, 0, null);
          if ((flags & FLAG_END_HEADERS) !== 0) this.finishBlock(dir, d, tsUs);
          return;
        }
        let p = 0;
        let end = pl.length;
        if ((flags & FLAG_PADDED) !== 0) {
          p = 1;
          end -= pl[0] ?? 0;
        }
        if (p + 4 > end) {
          this.ctx.skip('http2.protocolError', 'PUSH_PROMISE too short');
          d.decoder?.resetUnknown();
          return;
        }
        const promised = readU31(pl, p);
        this.beginBlock(d, sid, false, promised, pl.subarray(p + 4, end));
        if ((flags & FLAG_END_HEADERS) !== 0) this.finishBlock(dir, d, tsUs);
        return;
      }
      case H2_FRAME.PRIORITY:
        return;
      case H2_FRAME.RST_STREAM: {
        if (pl === null || pl.length !== 4) {
          this.ctx.skip('http2.protocolError', 'RST_STREAM length');
          return;
        }
        const code = readU32(pl, 0);
        this.ctx.count('http2.rstStreams');
        this.ctx.fact('http2.rstError', http2ErrorName(code));
        const s = this.streams.get(sid);
        if (s) {
          s.rstError = http2ErrorName(code);
          s.rstBy = dir;
          this.touch(s, dir, tsUs);
          this.emit(s, tsUs);
        }
        return;
      }
      case H2_FRAME.SETTINGS: {
        if (pl === null || (flags & FLAG_ACK) !== 0) return;
        if (pl.length % 6 !== 0) {
          this.ctx.skip('http2.protocolError', 'SETTINGS length not a multiple of 6');
          return;
        }
        this.applySettings(dir, pl, 0, pl.length);
        return;
      }
      case H2_FRAME.PING:
        return;
      case H2_FRAME.GOAWAY: {
        if (pl === null || pl.length < 8) {
          if (pl !== null) this.ctx.skip('http2.protocolError', 'GOAWAY too short');
          return;
        }
        const code = readU32(pl, 4);
        this.goaway = http2ErrorName(code);
        this.ctx.count('http2.goaways');
        this.ctx.fact('http2.goawayError', this.goaway);
        return;
      }
      case H2_FRAME.WINDOW_UPDATE: {
        if (pl === null || pl.length !== 4) {
          this.ctx.skip('http2.protocolError', 'WINDOW_UPDATE length');
          return;
        }
        this.windowUpdate(dir, sid, readU31(pl, 0), tsUs);
        return;
      }
      default:
        return;
    }
  }

  // ---- headers -------------------------------------------------------------------------------

  private beginBlock(
    d: DirState,
    sid: number,
    endStream: boolean,
    promised: number,
    frag: Uint8Array | null,
  ): void {
    d.block = {
      streamId: sid,
      endStream,
      promisedId: promised,
      chunks: [],
      bytes: 0,
      firstUs: d.frameStartUs,
      firstFrame: d.frameStartFrame,
      abandoned: false,
    };
    this.appendBlock(d.block, frag, d.length);
  }

  /** `frag` null: the fragment was too large to keep; the block is abandoned (bounded memory). */
  private appendBlock(b: HeaderBlock, frag: Uint8Array | null, frameLength: number): void {
    b.bytes += frag?.length ?? frameLength;
    if (b.abandoned) return;
    if (frag === null || b.bytes > this.ctx.limits.maxHeaderBytes) {
      const max = this.ctx.limits.maxHeaderBytes;
      this.ctx.skip('http2.headerBlockTooLarge', `stream ${b.streamId}: more than ${max} bytes`);
      b.abandoned = true;
      b.chunks = [];
      return;
    }
    b.chunks.push(frag);
  }

  private finishBlock(dir: Dir, d: DirState, tsUs: number): void {
    const b = d.block;
    d.block = null;
    if (b === null || d.decoder === null) return;
    let r: HpackResult;
    if (b.abandoned) {
      // The encoder's table changes in this block are lost with it.
      d.decoder.resetUnknown();
      r = { headers: [], unknownRefs: 0, droppedFields: 0, error: 'header block too large' };
    } else {
      const block =
        b.chunks.length === 1
          ? (b.chunks[0] ?? new Uint8Array(0))
          : Uint8Array.from(Buffer.concat(b.chunks));
      r = d.decoder.decode(block, 0, block.length);
      if (r.error !== null) this.ctx.skip('http2.hpackError', `stream ${b.streamId}: ${r.error}`);
    }
    if (r.unknownRefs > 0) this.ctx.count('http2.hpackUnknownRefs', r.unknownRefs);
    if (b.promisedId !== 0) {
      // PUSH_PROMISE: the block is the request of the promised (server-initiated) stream.
      const ps = this.streamFor(b.promisedId, b.firstUs, true);
      if (!ps) return;
      ps.pushed = true;
      ps.reqHeaders = r.headers;
      ps.unknownHeaderFields += r.unknownRefs + (r.error !== null ? 1 : 0);
      ps.ended[0] = true;
      ps.firstUs[0] = b.firstUs;
      ps.lastUs[0] = tsUs;
      ps.firstFrame[0] = b.firstFrame;
      return;
    }
    const s = this.streamFor(b.streamId, b.firstUs, true);
    if (!s) return;
    if (!s.counted) {
      s.counted = true;
      this.ctx.count('http2.streams');
    }
    s.unknownHeaderFields += r.unknownRefs + (r.error !== null ? 1 : 0);
    if (s.firstUs[dir] === null) {
      s.firstUs[dir] = b.firstUs;
      s.firstFrame[dir] = b.firstFrame;
    }
    this.touch(s, dir, tsUs);
    if (dir === 0) {
      if (s.reqHeaders === null) this.onRequestHeaders(s, r.headers);
    } else {
      const st = Number(headerValue(r.headers, ':status'));
      if (s.respHeaders === null && st >= 100 && st < 200) {
        // informational: not the response
      } else if (s.respHeaders === null) {
        s.respHeaders = r.headers;
        s.status = Number.isFinite(st) && st > 0 ? st : null;
        this.onResponseHeaders(s);
      } else {
        s.respTrailers = r.headers;
      }
    }
    if (b.endStream) this.endStream(s, dir, tsUs);
  }

  private onRequestHeaders(s: H2Stream, h: HeaderField[]): void {
    s.reqHeaders = h;
    if (!this.exchanges) return;
    const ct = headerValue(h, 'content-type');
    if (isGrpcContentType(ct)) s.grpc = [new GrpcMessageFramer(), new GrpcMessageFramer()];
    else if (headerValue(h, ':method') === 'POST' && ct !== null && /json/i.test(ct)) {
      s.reqBodyKeep = [];
      const ml = mlEndpoint(headerValue(h, ':path')).kind !== 'unknown';
      s.reqBodyLimit = ml ? ML_REQUEST_BODY_BYTES : OTHER_JSON_BODY_BYTES;
    }
  }

  private onResponseHeaders(s: H2Stream): void {
    if (!this.exchanges) return;
    const h = s.respHeaders ?? [];
    const ct = headerValue(h, 'content-type');
    if (s.grpc === null && isGrpcContentType(ct))
      s.grpc = [new GrpcMessageFramer(), new GrpcMessageFramer()];
    if (isEventStream(ct)) s.llm = new LlmStreamAnalyzer(s.ended[0] ? s.lastUs[0] : null);
  }

  // ---- streams -------------------------------------------------------------------------------

  private openStream(id: number): H2Stream | null {
    if (this.streams.size >= MAX_OPEN_STREAMS) {
      this.ctx.skip('http2.tooManyStreams', `stream ${id}`);
      return null;
    }
    if (id % 2 === 1) this.highestOdd = Math.max(this.highestOdd, id);
    else this.highestEven = Math.max(this.highestEven, id);
    const s: H2Stream = {
      id,
      counted: false,
      reqHeaders: null,
      respHeaders: null,
      respTrailers: null,
      status: null,
      ended: [false, false],
      bodyBytes: [0, 0],
      firstUs: [null, null],
      lastUs: [null, null],
      firstFrame: [null, null],
      lastFrame: [null, null],
      window: [this.dirs[0].initialWindow, this.dirs[1].initialWindow],
      stalledSinceUs: [null, null],
      stalled: false,
      stallUs: 0,
      rstError: null,
      rstBy: null,
      truncated: false,
      unknownHeaderFields: 0,
      pushed: false,
      upgraded: false,
      grpc: null,
      llm: null,
      reqBodyKeep: null,
      reqBodyKept: 0,
      reqBodyLimit: 0,
      capture: null,
      captured: [0, 0],
      upgradeReq: null,
    };
    this.streams.set(id, s);
    return s;
  }

  /** The open stream `id`, opening it if it is new; null for a closed (already emitted) one. */
  private streamFor(id: number, tsUs: number, headers: boolean): H2Stream | null {
    const s = this.streams.get(id);
    if (s) return s;
    const highest = id % 2 === 1 ? this.highestOdd : this.highestEven;
    if (id <= highest) return null; // closed
    if (!headers && !this.startedMid) {
      // DATA on a stream never opened, on a connection seen from its start: a protocol error.
      this.ctx.skip('http2.protocolError', `DATA on idle stream ${id}`);
      return null;
    }
    return this.openStream(id);
  }

  private touch(s: H2Stream, dir: Dir, tsUs: number): void {
    if (s.firstUs[dir] === null) {
      s.firstUs[dir] = tsUs;
      s.firstFrame[dir] = this.ctx.frame();
    }
    s.lastUs[dir] = tsUs;
    s.lastFrame[dir] = this.ctx.frame();
  }

  private endStream(s: H2Stream, dir: Dir, tsUs: number): void {
    s.ended[dir] = true;
    s.lastUs[dir] = tsUs;
    s.lastFrame[dir] = this.ctx.frame();
    if (dir === 0 && s.llm === null) {
      // nothing: the analyser is created at response headers with the request's end time
    }
    if (s.ended[0] && s.ended[1]) this.emit(s, tsUs);
  }

  // ---- flow control --------------------------------------------------------------------------

  private applySettings(dir: Dir, pl: Uint8Array, off: number, end: number): void {
    // SETTINGS from `dir` govern what the other side (the sender towards `dir`) may do.
    const other = this.dirs[dir === 0 ? 1 : 0];
    for (let p = off; p + 6 <= end; p += 6) {
      const id = ((pl[p] ?? 0) << 8) | (pl[p + 1] ?? 0);
      const v = readU32(pl, p + 2);
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (v > 0x7fffffff) {
          this.ctx.skip('http2.protocolError', 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
          continue;
        }
        const delta = v - other.initialWindow;
        other.initialWindow = v;
        const od: Dir = dir === 0 ? 1 : 0;
        for (const s of this.streams.values()) s.window[od] += delta;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (v >= 16384 && v <= 16777215) other.maxFrameSize = v;
      } else if (id === SETTINGS_HEADER_TABLE_SIZE) {
        // The encoder signals the size it uses with a size update; nothing to do here.
      }
    }
  }

  private consumeWindow(
    dir: Dir,
    d: DirState,
    sid: number,
    n: number,
    tsUs: number,
    endStream: boolean,
  ): void {
    d.connWindow -= n;
    const s = this.streams.get(sid);
    if (s) s.window[dir] -= n;
    if (!this.windowsKnown || endStream || !s) return;
    if (s.window[dir] <= 0 || d.connWindow <= 0) {
      if (s.window[dir] <= 0 && s.stalledSinceUs[dir] === null) s.stalledSinceUs[dir] = tsUs;
      if (d.connWindow <= 0 && d.connStalledSinceUs === null) d.connStalledSinceUs = tsUs;
      if (!s.stalled) {
        s.stalled = true;
        this.ctx.count('http2.flowControlStalls');
      }
    }
  }

  private windowUpdate(dir: Dir, sid: number, inc: number, tsUs: number): void {
    // A WINDOW_UPDATE from `dir` opens the window of the other side's sending.
    const od: Dir = dir === 0 ? 1 : 0;
    const o = this.dirs[od];
    if (sid === 0) {
      o.connWindow += inc;
      if (o.connStalledSinceUs !== null && o.connWindow > 0) {
        const stalledMs = tsUs - o.connStalledSinceUs;
        for (const s of this.streams.values())
          if (s.stalled && !s.ended[od]) s.stallUs += stalledMs;
        o.connStalledSinceUs = null;
      }
      return;
    }
    const s = this.streams.get(sid);
    if (!s) return;
    s.window[od] += inc;
    const since = s.stalledSinceUs[od];
    if (since !== null && s.window[od] > 0) {
      s.stallUs += tsUs - since;
      s.stalledSinceUs[od] = null;
    }
  }

  // ---- output --------------------------------------------------------------------------------

  private emit(s: H2Stream, tsUs: number): void {
    if (!this.streams.delete(s.id)) return;
    // Summaries only (limits.exchanges false): streams are counted, nothing is built.
    if (!this.exchanges) return;
    const conn = this.ctx.conn;
    const req = s.reqHeaders ?? [];
    const resp = s.respHeaders ?? [];
    const up = s.upgradeReq;
    const method = up?.method ?? headerValue(req, ':method');
    const path = up?.path ?? headerValue(req, ':path');
    const host = up?.host ?? headerValue(req, ':authority') ?? headerValue(req, 'host');
    const reqHeaders = up
      ? { ...up.requestHeaders }
      : regularHeaders(req, this.ctx.limits.maxHeaders);
    const respHeaders = regularHeaders(resp, this.ctx.limits.maxHeaders);
    let requestId: string | null = null;
    for (const n of REQUEST_ID_HEADERS) {
      requestId = reqHeaders[n] ?? null;
      if (requestId !== null) break;
    }
    if (requestId === null) {
      for (const n of REQUEST_ID_HEADERS) {
        requestId = respHeaders[n] ?? null;
        if (requestId !== null) break;
      }
    }
    const trailers = s.respTrailers ?? [];
    // gRPC status: trailers, else a trailers-only response (status in the only HEADERS).
    const grpcStatusRaw = headerValue(trailers, 'grpc-status') ?? headerValue(resp, 'grpc-status');
    const grpcStatus =
      grpcStatusRaw !== null && /^\d{1,4}$/.test(grpcStatusRaw) ? Number(grpcStatusRaw) : null;
    const grpcMsgRaw = headerValue(trailers, 'grpc-message') ?? headerValue(resp, 'grpc-message');
    const grpcMessage = grpcMsgRaw !== null ? decodeGrpcMessage(grpcMsgRaw) : null;

    let state: Exchange['state'];
    if (s.rstError !== null) state = 'reset';
    else if (s.respHeaders === null) state = s.truncated ? 'truncated' : 'no-response';
    else if (s.ended[1] && !s.truncated) state = 'complete';
    else state = 'truncated';

    const reqFirstUs = s.firstUs[0];
    const reqLastUs = s.ended[0] ? s.lastUs[0] : null;
    const respFirstUs = s.firstUs[1];
    const respLastUs = s.lastUs[1];
    const serverTimeMs =
      reqLastUs !== null && respFirstUs !== null ? (respFirstUs - reqLastUs) / 1000 : null;
    const totalMs =
      reqFirstUs !== null && respLastUs !== null && s.ended[1]
        ? (respLastUs - reqFirstUs) / 1000
        : null;

    let grpc: GrpcCallInfo | null = null;
    if (s.grpc) {
      const [q, r] = s.grpc;
      if (!s.ended[0] && s.rstError === null) q.end();
      if (s.ended[1]) r.end();
      const call = parseGrpcPath(path);
      grpc = {
        service: call?.service ?? null,
        method: call?.method ?? null,
        kind: grpcCallKind(q.messages, r.messages),
        reqMessages: q.messages,
        respMessages: r.messages,
        reqMessageBytes: q.messageBytes,
        respMessageBytes: r.messageBytes,
        reqMaxMessageBytes: q.maxMessageBytes,
        respMaxMessageBytes: r.maxMessageBytes,
        compressedMessages: q.compressed + r.compressed,
        malformed: q.malformed || r.malformed,
        timeoutMs: parseGrpcTimeout(headerValue(req, 'grpc-timeout')),
        encoding: headerValue(req, 'grpc-encoding') ?? headerValue(resp, 'grpc-encoding'),
        statusName: grpcStatus !== null ? (GRPC_STATUS_NAMES[grpcStatus] ?? null) : null,
        trailersOnly: s.respTrailers === null && grpcStatus !== null && s.bodyBytes[1] === 0,
      };
      if (grpc.malformed) this.ctx.count('grpc.malformedMessages');
      this.ctx.count('grpc.calls');
    }

    let llm: Http2Exchange['llm'] = null;
    if (s.llm || s.reqBodyKeep) {
      const body = s.reqBodyKeep ? Uint8Array.from(Buffer.concat(s.reqBodyKeep)) : null;
      const request =
        body !== null ? analyzeMlRequest(method, path, body, s.reqBodyKept < s.bodyBytes[0]) : null;
      const stream = s.llm ? s.llm.finish(tsUs) : null;
      if (request !== null || stream !== null) llm = { request, stream };
    }

    const contentType = headerValue(resp, 'content-type') ?? headerValue(req, 'content-type');
    const cap = s.capture;
    const x: Http2Exchange = {
      connId: conn.id,
      client: conn.client,
      server: conn.server,
      protocol: 'HTTP/2',
      streamId: s.id,
      method,
      host,
      path,
      status: s.status,
      reason: null,
      requestHeaders: reqHeaders,
      responseHeaders: respHeaders,
      requestId,
      traceparent: reqHeaders['traceparent'] ?? null,
      contentType,
      reqBodyBytes: s.bodyBytes[0],
      respBodyBytes: s.bodyBytes[1],
      reqFirstUs,
      reqLastUs,
      respFirstUs,
      respLastUs,
      reqFirstFrame: s.firstFrame[0],
      respFirstFrame: s.firstFrame[1],
      respLastFrame: s.lastFrame[1],
      serverTimeMs,
      totalMs,
      reqBody: cap ? Buffer.concat(cap[0]).toString('utf8') : null,
      respBody: cap ? Buffer.concat(cap[1]).toString('utf8') : null,
      state,
      grpcStatus,
      grpcMessage,
      http2: {
        rstError: s.rstError,
        rstBy: s.rstBy === null ? null : s.rstBy === 0 ? 'client' : 'server',
        goaway: this.goaway,
        flowControlStalled: s.stalled,
        flowControlStallMs: s.stallUs / 1000,
        unknownHeaderFields: s.unknownHeaderFields,
        pushed: s.pushed,
        upgraded: s.upgraded,
      },
      grpc,
      llm,
    };
    this.ctx.exchange(x);
  }
}

/** Allowed flags per frame type (RFC 9113 §6), CONTINUATION excluded (useless after a gap). */
const FRAME_FLAGS = [0x09, 0x2d, 0x00, 0x00, 0x01, 0x0c, 0x01, 0x00, 0x00];

/** The payload length if `b[p, p+9)` looks like a frame header a sender in `dir` could send. */
function plausibleFrameHeader(dir: Dir, maxFrameSize: number, b: Uint8Array, p: number): number {
  const len = ((b[p] ?? 0) << 16) | ((b[p + 1] ?? 0) << 8) | (b[p + 2] ?? 0);
  const type = b[p + 3] ?? 0xff;
  const flags = b[p + 4] ?? 0xff;
  const allowed = FRAME_FLAGS[type];
  if (allowed === undefined || (flags & ~allowed) !== 0 || len > maxFrameSize) return -1;
  if (((b[p + 5] ?? 0) & 0x80) !== 0) return -1;
  const sid = readU31(b, p + 5);
  const control = type === H2_FRAME.SETTINGS || type === H2_FRAME.PING || type === H2_FRAME.GOAWAY;
  if (control !== (sid === 0) && type !== H2_FRAME.WINDOW_UPDATE) return -1;
  if ((type === H2_FRAME.HEADERS || type === H2_FRAME.PRIORITY) && dir === 0 && sid % 2 === 0)
    return -1;
  if (type === H2_FRAME.PUSH_PROMISE && dir === 0) return -1;
  const fixed = [-1, -1, 5, 4, -1, -1, 8, -1, 4][type] ?? -1;
  if (fixed >= 0 && len !== fixed) return -1;
  if (type === H2_FRAME.SETTINGS && len % 6 !== 0) return -1;
  if (type === H2_FRAME.GOAWAY && len < 8) return -1;
  return len;
}

function readU32(b: Uint8Array, p: number): number {
  return (
    (((b[p] ?? 0) << 24) >>> 0) + ((b[p + 1] ?? 0) << 16) + ((b[p + 2] ?? 0) << 8) + (b[p + 3] ?? 0)
  );
}

function readU31(b: Uint8Array, p: number): number {
  return readU32(b, p) & 0x7fffffff;
}

function headerValue(h: readonly HeaderField[], name: string): string | null {
  for (const f of h) if (f.name === name) return f.value;
  return null;
}

function regularHeaders(h: readonly HeaderField[], max: number): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const f of h) {
    if (f.name.startsWith(':') || f.name === HPACK_UNKNOWN) continue;
    if (n++ >= max) break;
    // Repeated fields are joined as HTTP/1 would (cookie with '; ', others with ', ').
    const prev = out[f.name];
    out[f.name] =
      prev === undefined ? f.value : `${prev}${f.name === 'cookie' ? '; ' : ', '}${f.value}`;
  }
  return out;
}

/** True when `buf[off, end)` could be the start of a SETTINGS frame (not an ACK). */
function looksLikeSettings(buf: Uint8Array, off: number, end: number): boolean {
  if (end - off < 9) return false;
  const len = ((buf[off] ?? 0) << 16) | ((buf[off + 1] ?? 0) << 8) | (buf[off + 2] ?? 0);
  if (buf[off + 3] !== H2_FRAME.SETTINGS || buf[off + 4] !== 0) return false;
  if (buf[off + 5] !== 0 || buf[off + 6] !== 0 || buf[off + 7] !== 0 || buf[off + 8] !== 0)
    return false;
  if (len % 6 !== 0 || len > 6 * 16) return false;
  // Every setting id present must be a known one (1..6, 8, 9) in the bytes we have.
  for (let p = off + 9; p + 2 <= Math.min(end, off + 9 + len); p += 6) {
    const id = ((buf[p] ?? 0) << 8) | (buf[p + 1] ?? 0);
    if (id === 0 || id > 0x10) return false;
  }
  return true;
}

/**
 * HTTP/2 cleartext: the client preface (all the bytes there are must match it, at least 4), or,
 * when the client side was missed, a server direction that opens with a SETTINGS frame.
 */
export const http2Recogniser: ProtoRecogniser = {
  name: 'HTTP/2',
  recognise(dir: Dir, buf: Uint8Array, off: number, end: number): boolean {
    const n = Math.min(end - off, PREFACE_BYTES.length);
    if (dir === 0 && n >= 4) {
      let ok = true;
      for (let i = 0; i < n && ok; i++) ok = buf[off + i] === PREFACE_BYTES[i];
      if (ok) return true;
    }
    return dir === 1 && looksLikeSettings(buf, off, end);
  },
  create(ctx: ProtoContext): StreamParser {
    return new Http2Parser(ctx);
  },
};

/**
 * Called by the HTTP/1 parser when a request with `Upgrade: h2c` got `101 Switching Protocols`.
 * Feed it the bytes after the request (client: the preface, then frames) and after the 101
 * response head (server: SETTINGS, then frames); the response to the upgrade request is stream 1.
 */
export function createHttp2AfterUpgrade(ctx: ProtoContext, req: Http2UpgradeRequest): StreamParser {
  return new Http2Parser(ctx, req);
}
