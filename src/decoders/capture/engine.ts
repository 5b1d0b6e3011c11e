// The capture engine: capture bytes in (pcap/pcapng chunks), packets → TCP conversations →
// application exchanges out, with a Wireshark-comparable summary and a data-quality block.
// Pure: no I/O; the caller feeds chunks (see ingest/capture.ts).
//
// TLS secrets embedded in a pcapng capture (Decryption Secrets Blocks, as `editcap
// --inject-secrets tls,keys.txt` writes) join the key log (`protoLimits.tlsKeys`, the
// --tls-keylog file beneath them) from the moment their block is read, so the sessions whose
// ServerHello follows decrypt as with a key log file. Once a capture has shown such a block it
// may bring more, so a session missing at its ServerHello is held (bounded) until a later block
// has it, as with a live key log; a session whose ServerHello came while there was no key log
// at all is looked up at its first protected record. A session looked up against the
// --tls-keylog file alone before the first block and not found there stays encrypted (counted
// as not in the key log; its requests are timed from TLS records).

import type { Connection, Exchange, RetransmissionEvent } from '../../model/records.js';
import { Quality } from '../../model/quality.js';
import { DEFAULT_PROTO_LIMITS, type ProtoLimits, type ProtoRecogniser } from '../proto/stream.js';
import { http1Recogniser } from '../proto/http1.js';
import { addKeyLogText, MAX_KEYLOG_BYTES, type TlsKeyLog } from '../proto/tls-decrypt.js';
import { looksLikeQuicInitial, QuicInitialObserver } from '../proto/tls-quic.js';
import { CaptureReader, type FrameSink } from './capture-reader.js';
import {
  Defragmenter,
  decodeFrame,
  IPPROTO_TCP,
  IPPROTO_UDP,
  Packet,
  TH_RST,
  type PacketSkip,
} from './packet.js';
import {
  A_DUPLICATE_ACK,
  A_FAST_RETRANSMISSION,
  A_OUT_OF_ORDER,
  A_RETRANSMISSION,
  A_SPURIOUS_RETRANSMISSION,
  A_ZERO_WINDOW,
  TcpEngine,
  type TcpLimits,
  type TcpSink,
} from './tcp.js';

/** The `mlscope pcap --json` document (DESIGN.md), plus extra keys. */
export interface CaptureSummary {
  packets: number;
  bytes: number;
  firstUs: number | null;
  lastUs: number | null;
  linktypes: number[];
  tcp: {
    connections: number;
    packets: number;
    retransmissions: number;
    fastRetransmissions: number;
    spuriousRetransmissions: number;
    duplicateAcks: number;
    zeroWindows: number;
    outOfOrder: number;
    resets: number;
    handshakes: number;
    medianHandshakeRttMs: number | null;
  };
  udp: { packets: number };
  http: { requests: number; responses: number; exchanges: number };
  http2: { streams: number };
  tls: {
    clientHellos: number;
    sni: string[];
    /** With a key log: sessions decrypted, and sessions the key log had no secrets for. */
    decrypted: number;
    notInKeyLog: number;
    /** Sessions the capture's own Decryption Secrets Blocks (pcapng) carry secrets for. */
    embeddedSecrets: number;
  };
  skipped: Record<string, number>;
}

export interface CaptureSink {
  connection?(c: Connection): void;
  exchange?(x: Exchange): void;
  retransmission?(e: RetransmissionEvent, c: Connection): void;
  /** The handshake RTT of a connection was just measured (the connection is still open). */
  handshake?(c: Connection): void;
  /** A UDP datagram (e.g. NetFlow/IPFIX export packets); `p.buf[p.payloadOff…]` during the call. */
  udp?(p: Packet, tsUs: number, frame: number): void;
}

export interface CaptureEngineOptions {
  source: string;
  sink?: CaptureSink;
  recognisers?: ProtoRecogniser[];
  protoLimits?: Partial<ProtoLimits>;
  tcpLimits?: TcpLimits;
  /** Bytes of TLS secrets taken from the capture's Decryption Secrets Blocks (MAX_KEYLOG_BYTES). */
  maxSecretsBytes?: number;
}

/** Skip reasons that mean "not for us", not "damaged": counted as decoded. */
const BENIGN: ReadonlySet<PacketSkip> = new Set([
  'non-ip',
  'other-ip-protocol',
  'fragment-pending',
]);

/** pcapng Decryption Secrets Block secrets types (pcapng spec, "Decryption Secrets Block"). */
export const SECRETS_TYPE_TLS = 0x544c534b;
const SECRETS_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x544c534b: 'TLS key log',
  0x57474b4c: 'WireGuard key log',
  0x5a4e574b: 'ZigBee NWK key',
  0x5a415053: 'ZigBee APS key',
  0x55414b4c: 'OPC UA key log',
};

const MAX_SNI = 1000;
const MAX_QUIC_FLOWS = 10000;
const MAX_RTT_SAMPLES = 1 << 20;

export class CaptureEngine implements FrameSink {
  readonly quality: Quality;
  private reader: CaptureReader;
  private readonly tcp: TcpEngine;
  private readonly pkt = new Packet();
  private readonly defrag = new Defragmenter();
  private readonly sink: CaptureSink;
  private dvBuf: Buffer | null = null;
  private dv: DataView = new DataView(new ArrayBuffer(0));
  private readonly counts = new Map<string, number>();
  private httpRequests = 0;
  private httpResponses = 0;
  private httpFramedExchanges = 0;
  private http1Exchanges = 0;
  private readonly sni = new Set<string>();
  private readonly quicFlows = new Map<string, QuicInitialObserver | null>();
  private readonly rtts: number[] = [];
  private readonly linktypes = new Set<number>();
  private readonly protoLimits: ProtoLimits;
  /** TLS secrets from the capture's Decryption Secrets Blocks; null until one is read. */
  private embeddedKeys: TlsKeyLog | null = null;
  private embeddedBytes = 0;
  private readonly maxSecretsBytes: number;
  // First/last timestamps as plain numbers (valid once packets > 0): a `number | null` field boxed
  // each frame's timestamp into a new heap number; with a linktype Set lookup per frame (now only
  // on a change of linktype) that was 5% of the engine's time on the bench capture (480 → 455 ms).
  private firstTsUs = 0;
  private lastTsUs = 0;
  private lastLinktype = -1;
  readonly s = {
    packets: 0,
    bytes: 0,
    tcpPackets: 0,
    udpPackets: 0,
    retransmissions: 0,
    fast: 0,
    spurious: 0,
    dupAcks: 0,
    zeroWindows: 0,
    ooo: 0,
    resets: 0,
    connections: 0,
    exchanges: 0,
  };

  constructor(opts: CaptureEngineOptions) {
    this.quality = new Quality(opts.source, 'capture');
    this.sink = opts.sink ?? {};
    this.reader = new CaptureReader(this, this.quality);
    const tcpSink: TcpSink = {
      connection: (c) => {
        this.s.connections++;
        if (c.handshakeRttMs !== null && this.rtts.length < MAX_RTT_SAMPLES)
          this.rtts.push(c.handshakeRttMs);
        this.sink.connection?.(c);
      },
      exchange: (x) => {
        // requests timed inside TLS without keys are not HTTP exchanges the capture showed
        // (they count as tls.timedExchanges)
        if (x.path !== null || !x.protocol.startsWith('TLS')) this.s.exchanges++;
        // the summary's http.exchanges are HTTP/1.x ones, as framing-only parsing counts them
        if (x.protocol.startsWith('HTTP/') && x.protocol !== 'HTTP/2') this.http1Exchanges++;
        this.sink.exchange?.(x);
      },
      count: (key, n) => {
        // the per-message HTTP/1 counters as fields: three Map updates per exchange were a
        // measurable share of a capture summary
        if (key === 'http.requests') this.httpRequests += n;
        else if (key === 'http.responses') this.httpResponses += n;
        else if (key === 'http.exchanges') this.httpFramedExchanges += n;
        else this.counts.set(key, (this.counts.get(key) ?? 0) + n);
      },
      fact: (key, value) => {
        if (key === 'tls.sni' && this.sni.size < MAX_SNI) this.sni.add(value);
      },
      skip: (reason, frame, detail) => {
        this.quality.note(reason, `frame ${frame}`, detail);
      },
      ...(this.sink.retransmission
        ? {
            retransmission: (e: RetransmissionEvent, c: Connection) =>
              this.sink.retransmission?.(e, c),
          }
        : {}),
      ...(this.sink.handshake ? { handshake: (c: Connection) => this.sink.handshake?.(c) } : {}),
    };
    this.maxSecretsBytes = opts.maxSecretsBytes ?? MAX_KEYLOG_BYTES;
    // one object shared with every parser: a secrets block later in the capture sets tlsKeys
    this.protoLimits = {
      ...DEFAULT_PROTO_LIMITS,
      exchanges: this.sink.exchange !== undefined,
      ...opts.protoLimits,
    };
    this.tcp = new TcpEngine(tcpSink, {
      recognisers: opts.recognisers ?? [http1Recogniser],
      protoLimits: this.protoLimits,
      ...(opts.tcpLimits ? { tcpLimits: opts.tcpLimits } : {}),
    });
  }

  /**
   * A pcapng Decryption Secrets Block (the reader checked its length against the block). TLS key
   * log text joins the key log, up to maxSecretsBytes per capture; other secrets are counted.
   */
  secrets(type: number, buf: Buffer, off: number, len: number, at: number): void {
    this.counts.set('pcapng.secretsBlocks', (this.counts.get('pcapng.secretsBlocks') ?? 0) + 1);
    if (type !== SECRETS_TYPE_TLS) {
      const name = SECRETS_TYPE_NAMES[type] ?? `type 0x${type.toString(16).padStart(8, '0')}`;
      this.quality.note('secrets-not-used', `byte ${at}`, `${name}, ${len} bytes`);
      return;
    }
    if (this.embeddedBytes + len > this.maxSecretsBytes) {
      this.quality.skip(
        'secrets-over-limit',
        `byte ${at}`,
        `${len} bytes of TLS secrets past the ${this.maxSecretsBytes} bytes read from a capture`,
      );
      return;
    }
    this.embeddedBytes += len;
    let log = this.embeddedKeys;
    if (log === null) {
      const under = this.protoLimits.tlsKeys ?? null;
      log = { sessions: new Map(), lines: 0, used: 0, rejected: 0 };
      if (under !== null) log.under = under;
      // present: the capture may carry more secrets further on (a session missing now is held)
      log.refresh = under?.refresh !== undefined ? () => under.refresh?.() : noRefresh;
      this.embeddedKeys = log;
      this.protoLimits.tlsKeys = log;
    }
    const rejected = log.rejected;
    addKeyLogText(log, buf.toString('latin1', off, off + len));
    if (log.rejected > rejected)
      this.quality.note(
        'secrets-not-key-log-lines',
        `byte ${at}`,
        `${log.rejected - rejected} lines of a TLS secrets block are not key log lines`,
      );
  }

  get format(): string | null {
    return this.reader.format;
  }

  /** Byte offset reached in the capture file. */
  get offset(): number {
    return this.reader.offset;
  }

  push(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  /**
   * A new capture stream follows the current one on the same link (live capture: tcpdump was
   * restarted and writes a new file header). Connection state is kept, so a conversation that
   * spans the restart stays one; frame numbers continue. A record the old stream left half-written
   * is counted as skipped (the reader's end()).
   */
  newStream(): void {
    const frames = this.reader.frames;
    this.reader.end();
    this.reader = new CaptureReader(this, this.quality, frames);
  }

  /** The input ended (cleanly or not): flush every connection. Never throws. */
  end(): void {
    this.reader.end();
    this.tcp.endAll();
  }

  /** Finalise connections idle as of `nowUs` (see TcpEngine.sweep); live capture's timer. */
  sweep(nowUs: number): void {
    this.tcp.sweep(nowUs);
  }

  /** TCP conversations open now. */
  get openConnections(): number {
    return this.tcp.openCount;
  }

  /** Structural damage that stopped reading (file offset and message), or null. */
  get failure(): { message: string; offset: number } | null {
    return this.reader.failure;
  }

  /** True when the capture ended in the middle of a record. */
  get cutShort(): boolean {
    return this.reader.cutShort;
  }

  frame(
    frameNo: number,
    tsUs: number,
    linktype: number,
    buf: Buffer,
    off: number,
    capLen: number,
    origLen: number,
  ): void {
    const s = this.s;
    if (s.packets++ === 0) this.firstTsUs = tsUs;
    s.bytes += origLen;
    this.lastTsUs = tsUs;
    if (linktype !== this.lastLinktype) {
      this.lastLinktype = linktype;
      this.linktypes.add(linktype);
    }
    if (buf !== this.dvBuf) {
      this.dvBuf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    }
    const p = this.pkt;
    const why = decodeFrame(p, linktype, buf, this.dv, off, capLen, tsUs, this.defrag);
    if (why !== null) {
      if (BENIGN.has(why)) {
        this.quality.ok();
        return;
      }
      this.quality.skip(why, `frame ${frameNo}`);
      return;
    }
    this.quality.ok();
    if (p.proto === IPPROTO_TCP) {
      s.tcpPackets++;
      if (p.flags & TH_RST) s.resets++;
      const ta = this.tcp.segment(p, tsUs, frameNo);
      if (ta & (A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION)) {
        s.retransmissions++;
        if (ta & A_FAST_RETRANSMISSION) s.fast++;
        if (ta & A_SPURIOUS_RETRANSMISSION) s.spurious++;
      }
      if (ta & A_DUPLICATE_ACK) s.dupAcks++;
      if (ta & A_ZERO_WINDOW) s.zeroWindows++;
      if (ta & A_OUT_OF_ORDER) s.ooo++;
    } else if (p.proto === IPPROTO_UDP) {
      s.udpPackets++;
      if (p.capPayloadLen > 0) this.quic(p);
      this.sink.udp?.(p, tsUs, frameNo);
    }
  }

  summary(): CaptureSummary {
    const s = this.s;
    const rtts = this.rtts.slice().sort((a, b) => a - b);
    let median: number | null = null;
    if (rtts.length > 0) {
      const m = rtts.length >> 1;
      median = rtts.length % 2 ? rtts[m]! : (rtts[m - 1]! + rtts[m]!) / 2;
      median = Math.round(median * 1e6) / 1e6;
    }
    return {
      packets: s.packets,
      bytes: s.bytes,
      firstUs: s.packets > 0 ? this.firstTsUs : null,
      lastUs: s.packets > 0 ? this.lastTsUs : null,
      linktypes: [...this.linktypes],
      tcp: {
        connections: this.tcp.conversations,
        packets: s.tcpPackets,
        retransmissions: s.retransmissions,
        fastRetransmissions: s.fast,
        spuriousRetransmissions: s.spurious,
        duplicateAcks: s.dupAcks,
        zeroWindows: s.zeroWindows,
        outOfOrder: s.ooo,
        resets: s.resets,
        handshakes: rtts.length,
        medianHandshakeRttMs: median,
      },
      udp: { packets: s.udpPackets },
      http: {
        requests: this.httpRequests,
        responses: this.httpResponses,
        exchanges: this.http1Exchanges + this.httpFramedExchanges,
      },
      http2: { streams: this.counts.get('http2.streams') ?? 0 },
      tls: {
        clientHellos: this.counts.get('tls.clientHellos') ?? 0,
        sni: [...this.sni].sort(),
        decrypted: this.counts.get('tls.decryptedSessions') ?? 0,
        notInKeyLog: this.counts.get('tls.notInKeyLog') ?? 0,
        embeddedSecrets: this.embeddedKeys?.sessions.size ?? 0,
      },
      skipped: this.quality.report().skippedByReason,
    };
  }

  /**
   * QUIC: the ClientHello of a QUIC connection travels encrypted (with keys derived from the
   * connection id) in the client's Initial packets; decrypt it to count TLS ClientHellos and SNI
   * like TLS over TCP. One observer per UDP flow, bounded in number.
   */
  private quic(p: Packet): void {
    // Only Initial packets carry the ClientHello: other UDP costs one header check, no key.
    if (!looksLikeQuicInitial(p.buf, p.payloadOff, p.payloadOff + p.capPayloadLen)) return;
    const key = `${p.ipVersion}|${p.src0}|${p.src1}|${p.src2}|${p.src3}|${p.sport}|${p.dst0}|${p.dst1}|${p.dst2}|${p.dst3}|${p.dport}`;
    let o = this.quicFlows.get(key);
    if (o === undefined) {
      if (this.quicFlows.size >= MAX_QUIC_FLOWS) return;
      o = new QuicInitialObserver();
      this.quicFlows.set(key, o);
    }
    if (o === null || o.done) return;
    const hello = o.datagram(p.buf, p.payloadOff, p.payloadOff + p.capPayloadLen);
    if (hello) {
      this.counts.set('tls.clientHellos', (this.counts.get('tls.clientHellos') ?? 0) + 1);
      this.counts.set('quic.clientHellos', (this.counts.get('quic.clientHellos') ?? 0) + 1);
      if (hello.sni && this.sni.size < MAX_SNI) this.sni.add(hello.sni);
      this.quicFlows.set(key, null);
    }
  }

  /** Other protocol counters reported by parsers (e.g. 'grpc.calls'). */
  counters(): Record<string, number> {
    const out = Object.fromEntries(this.counts);
    if (this.httpRequests) out['http.requests'] = this.httpRequests;
    if (this.httpResponses) out['http.responses'] = this.httpResponses;
    if (this.httpFramedExchanges) out['http.exchanges'] = this.httpFramedExchanges;
    return out;
  }
}

/** The refresh hook of a capture's embedded key log: its blocks are added as they are read. */
function noRefresh(): void {}
