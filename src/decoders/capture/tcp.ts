// TCP conversations with Wireshark's sequence analysis (packet-tcp.c, tcp_analyze_sequence_number,
// as in Wireshark 4.0): retransmission, fast and spurious retransmission, out-of-order, duplicate
// ACK, zero window, keep-alive, lost segments; the handshake RTT (iRTT); RTO stalls; and in-order
// stream reassembly (retransmissions and overlaps trimmed, holes announced as gaps, buffered bytes
// bounded) feeding application parsers through the StreamParser interface.

import type { Connection, Dir, Exchange, RetransmissionEvent } from '../../model/records.js';
import type { ProtoContext, ProtoLimits, ProtoRecogniser, StreamParser } from '../proto/stream.js';
import { formatAddress, TH_ACK, TH_FIN, TH_RST, TH_SYN, type Packet } from './packet.js';

// Analysis flags (Wireshark's TCP_A_*).
export const A_RETRANSMISSION = 0x0001;
export const A_LOST_PACKET = 0x0002;
export const A_ACK_LOST_PACKET = 0x0004;
export const A_KEEP_ALIVE = 0x0008;
export const A_DUPLICATE_ACK = 0x0010;
export const A_ZERO_WINDOW = 0x0020;
export const A_ZERO_WINDOW_PROBE = 0x0040;
export const A_ZERO_WINDOW_PROBE_ACK = 0x0080;
export const A_KEEP_ALIVE_ACK = 0x0100;
export const A_OUT_OF_ORDER = 0x0200;
export const A_FAST_RETRANSMISSION = 0x0400;
export const A_WINDOW_UPDATE = 0x0800;
export const A_WINDOW_FULL = 0x1000;
export const A_REUSED_PORTS = 0x2000;
export const A_SPURIOUS_RETRANSMISSION = 0x4000;

const gtSeq = (a: number, b: number): boolean => ((b - a) | 0) < 0;
const ltSeq = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const leSeq = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
// Sequence numbers are kept as signed 32-bit integers (Packet.seq/ack): small integers to V8, not
// the heap numbers half of all unsigned values are. Comparisons are modular (above) or equality;
// `| 0` wraps a sum as `>>> 0` would, in the signed range.
const add32 = (a: number, b: number): number => (a + b) | 0;

export interface TcpLimits {
  /** Out-of-order bytes buffered per direction before a hole is declared a gap. */
  maxBufferedBytes: number;
  /** Unacked segments remembered per direction (for RTO stall measurement). */
  maxUnackedSegments: number;
  /** Recognition attempts on a connection's data before giving up on finding a protocol. */
  maxRecogniseAttempts: number;
  /**
   * Open conversations kept (default: no limit; live capture sets one). Past it the least
   * recently active tenth is finalised at once (emitted with close 'open', noted as
   * 'connection-evicted'), so a SYN flood cannot grow memory without bound.
   */
  maxOpenConnections?: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxBufferedBytes: 1 << 20,
  maxUnackedSegments: 1024,
  maxRecogniseAttempts: 16,
};

interface OooSegment {
  seq: number;
  data: Buffer;
  tsUs: number;
  frame: number;
}

/** One direction of a conversation: Wireshark's tcp_flow + tcp_analyze_seq_info. */
class Flow {
  baseSeqSet = false;
  baseSeq = 0;
  nextseq = 0;
  nextseqTime = 0;
  nextseqFrame = 0;
  lastack = 0;
  lastackTime = 0;
  window = -1; // unknown (Wireshark's 0xFFFFFFFF): no 16-bit window equals it
  dupacknum = 0;
  maxseqtobeacked = 0;
  lastsegmentflags = 0;
  // Unacked segments, oldest first: a ring of (nextseq, ts) pairs, unCount of them from pair
  // unHead on (capacity unMask + 1 pairs, grown by doubling). Two JS arrays trimmed by splice
  // were polymorphic (small-integer and double elements) and regrown after every trim: 3% of the
  // engine's time on the bench capture (468 → 452 ms).
  un = new Float64Array(8);
  unMask = 3;
  unHead = 0;
  unCount = 0;
  // Stream reassembly.
  rsInit = false;
  rsNext = 0;
  ooo: OooSegment[] = [];
  oooBytes = 0;
  finSeen = false;
  finSeq = 0;
}

/** Double the unacked ring of `f` (full), oldest pair first. */
function growUnacked(f: Flow): void {
  const cap = f.unMask + 1;
  const next = new Float64Array(cap * 4);
  const head = f.unHead << 1;
  next.set(f.un.subarray(head), 0);
  next.set(f.un.subarray(0, head), cap * 2 - head);
  f.un = next;
  f.unMask = cap * 2 - 1;
  f.unHead = 0;
}

export interface TcpSink {
  /** A connection is complete (closed and idle, replaced by port reuse, or the capture ended). */
  connection(c: Connection): void;
  exchange(x: Exchange): void;
  count(key: string, n: number): void;
  fact(key: string, value: string): void;
  skip(reason: string, frame: number, detail?: string): void;
  /** Optional: every retransmitted segment, as it is seen, with its (still open) connection. */
  retransmission?(e: RetransmissionEvent, c: Connection): void;
  /** Optional: the handshake RTT of a connection was just measured (it is still open). */
  handshake?(c: Connection): void;
}

/** A TCP connection as first seen: its endpoints and roles, every counter at zero. */
export function newConnection(
  id: number,
  client: Connection['client'],
  server: Connection['server'],
  roleBy: Connection['roleBy'],
  tsUs: number,
  frame: number,
): Connection {
  return {
    id,
    client,
    server,
    roleBy,
    firstUs: tsUs,
    lastUs: tsUs,
    firstFrame: frame,
    lastFrame: frame,
    handshake: false,
    handshakeRttMs: null,
    synToSynAckMs: null,
    synAckToAckMs: null,
    synCount: 0,
    packets: [0, 0],
    bytes: [0, 0],
    payloadBytes: [0, 0],
    retransmissions: [0, 0],
    fastRetransmissions: [0, 0],
    spuriousRetransmissions: [0, 0],
    duplicateAcks: [0, 0],
    zeroWindows: [0, 0],
    outOfOrder: [0, 0],
    lostSegments: [0, 0],
    resets: [0, 0],
    fins: [0, 0],
    maxRtoStallMs: 0,
    rtoStallMs: 0,
    retransmissionFrames: [],
    appProtocol: null,
    close: 'open',
    missingBytes: [0, 0],
  };
}

export class TcpConversation implements ProtoContext {
  readonly conn: Connection;
  readonly limits: ProtoLimits;
  // Endpoint A is the source of the first packet seen; flows[0] carries A→B.
  readonly ver: number;
  readonly a0: number;
  readonly a1: number;
  readonly a2: number;
  readonly a3: number;
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly b3: number;
  readonly aPort: number;
  readonly bPort: number;
  readonly flowA = new Flow();
  readonly flowB = new Flow();
  /** Direction (0 client→server, 1 server→client) of the A→B flow. */
  aDir: Dir = 0;
  tsMruSynUs = 0;
  firstRttUs = 0;
  synAckUs = 0;
  closedUs = 0;
  parser: StreamParser | null = null;
  recogniseAttempts = 0;
  curFrame = 0;
  private readonly engine: TcpEngine;

  constructor(engine: TcpEngine, id: number, p: Packet, tsUs: number, frame: number) {
    this.engine = engine;
    this.limits = engine.protoLimits;
    this.ver = p.ipVersion;
    this.a0 = p.src0;
    this.a1 = p.src1;
    this.a2 = p.src2;
    this.a3 = p.src3;
    this.b0 = p.dst0;
    this.b1 = p.dst1;
    this.b2 = p.dst2;
    this.b3 = p.dst3;
    this.aPort = p.sport;
    this.bPort = p.dport;
    const synOnly = (p.flags & (TH_SYN | TH_ACK)) === TH_SYN;
    const synAck = (p.flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK);
    let roleBy: Connection['roleBy'];
    if (synOnly) {
      this.aDir = 0;
      roleBy = 'syn';
    } else if (synAck) {
      this.aDir = 1;
      roleBy = 'syn-ack';
    } else if (looksLikeServerPort(p.sport, p.dport)) {
      this.aDir = 1;
      roleBy = 'port';
    } else if (looksLikeServerPort(p.dport, p.sport)) {
      this.aDir = 0;
      roleBy = 'port';
    } else {
      this.aDir = 0;
      roleBy = 'first-packet';
    }
    const aEp = {
      ip: formatAddress(this.ver, this.a0, this.a1, this.a2, this.a3),
      port: this.aPort,
    };
    const bEp = {
      ip: formatAddress(this.ver, this.b0, this.b1, this.b2, this.b3),
      port: this.bPort,
    };
    this.conn = newConnection(
      id,
      this.aDir === 0 ? aEp : bEp,
      this.aDir === 0 ? bEp : aEp,
      roleBy,
      tsUs,
      frame,
    );
  }

  /** Swap client and server (a parser found the roles reversed before any exchange). */
  swapRoles(): void {
    this.aDir = this.aDir === 0 ? 1 : 0;
    const c = this.conn;
    const t = c.client;
    c.client = c.server;
    c.server = t;
    c.roleBy = 'first-packet';
    const sw = (x: [number, number]): void => {
      const v = x[0];
      x[0] = x[1];
      x[1] = v;
    };
    sw(c.packets);
    sw(c.bytes);
    sw(c.payloadBytes);
    sw(c.retransmissions);
    sw(c.fastRetransmissions);
    sw(c.spuriousRetransmissions);
    sw(c.duplicateAcks);
    sw(c.zeroWindows);
    sw(c.outOfOrder);
    sw(c.lostSegments);
    sw(c.resets);
    sw(c.fins);
    sw(c.missingBytes);
  }

  // ProtoContext
  frame(): number {
    return this.curFrame;
  }
  exchange(x: Omit<Exchange, 'id'>): void {
    this.engine.emitExchange(x);
  }
  count(key: string, n = 1): void {
    this.engine.sink.count(key, n);
  }
  fact(key: string, value: string): void {
    this.engine.sink.fact(key, value);
  }
  skip(reason: string, detail?: string): void {
    this.engine.sink.skip(reason, this.curFrame, detail);
  }
}

/** A port that a server listens on, against an ephemeral peer. */
function looksLikeServerPort(port: number, other: number): boolean {
  if (port === other) return false;
  if (port < 1024 && other >= 1024) return true;
  if (other >= 32768 && port < 32768) return true;
  return false;
}

function hashTuple(p: Packet): number {
  // Symmetric: the same for both directions.
  const x = (p.src0 ^ p.src1 ^ p.src2 ^ p.src3) >>> 0;
  const y = (p.dst0 ^ p.dst1 ^ p.dst2 ^ p.dst3) >>> 0;
  const hx = Math.imul(x ^ (p.sport << 16), 0x9e3779b1) >>> 0;
  const hy = Math.imul(y ^ (p.dport << 16), 0x9e3779b1) >>> 0;
  // 30 bits: a small integer as the Map key (a 32-bit one is a heap number, boxed and hashed per
  // packet: 2% of the engine's time on the bench capture, 452 → 441 ms)
  return (hx ^ hy) & 0x3fffffff;
}

export interface TcpEngineOptions {
  recognisers: ProtoRecogniser[];
  protoLimits: ProtoLimits;
  tcpLimits?: TcpLimits;
}

const CLOSED_IDLE_US = 60e6;
const OPEN_IDLE_US = 3600e6;

export class TcpEngine {
  readonly sink: TcpSink;
  readonly protoLimits: ProtoLimits;
  readonly tcpLimits: TcpLimits;
  private readonly recognisers: ProtoRecogniser[];
  private readonly table = new Map<number, TcpConversation | TcpConversation[]>();
  private nextConnId = 1;
  private nextExchangeId = 1;
  openCount = 0;
  conversations = 0;
  private lastSweepUs = 0;
  /** The RTO stall of the retransmission just classified, ms. */
  private lastStallMs = 0;

  constructor(sink: TcpSink, opts: TcpEngineOptions) {
    this.sink = sink;
    this.recognisers = opts.recognisers;
    this.protoLimits = opts.protoLimits;
    this.tcpLimits = opts.tcpLimits ?? DEFAULT_TCP_LIMITS;
  }

  emitExchange(x: Omit<Exchange, 'id'>): void {
    (x as Exchange).id = this.nextExchangeId++;
    this.sink.exchange(x as Exchange);
  }

  /** lookup()'s second result: true when the packet goes A→B (no object per packet). */
  private lookupFromA = true;

  private lookup(p: Packet, h: number): TcpConversation | null {
    const e = this.table.get(h);
    if (!e) return null;
    if (Array.isArray(e)) {
      for (const c of e) {
        const r = match(c, p);
        if (r !== 0) {
          this.lookupFromA = r === 1;
          return c;
        }
      }
      return null;
    }
    const r = match(e, p);
    if (r === 0) return null;
    this.lookupFromA = r === 1;
    return e;
  }

  private insert(h: number, c: TcpConversation): void {
    const e = this.table.get(h);
    if (!e) this.table.set(h, c);
    else if (Array.isArray(e)) e.push(c);
    else this.table.set(h, [e, c]);
    this.openCount++;
    this.conversations++;
  }

  private remove(h: number, c: TcpConversation): void {
    const e = this.table.get(h);
    if (!e) return;
    if (Array.isArray(e)) {
      const i = e.indexOf(c);
      if (i >= 0) e.splice(i, 1);
      if (e.length === 1) this.table.set(h, e[0]!);
      else if (e.length === 0) this.table.delete(h);
    } else if (e === c) this.table.delete(h);
    this.openCount--;
  }

  /** Process one TCP segment. Returns the analysis flags (A_*) of this frame. */
  segment(p: Packet, tsUs: number, frame: number): number {
    const h = hashTuple(p);
    let c = this.lookup(p, h);
    let fromA = this.lookupFromA;
    let flagsOut = 0;
    const synOnly = (p.flags & (TH_SYN | TH_ACK)) === TH_SYN;
    const synAck = (p.flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK);
    if (c && (synOnly || synAck)) {
      // Port reuse: a SYN (or SYN/ACK) whose sequence number differs from the base of the
      // conversation in that direction starts a new conversation.
      const fwd = fromA ? c.flowA : c.flowB;
      if (fwd.baseSeqSet && p.seq !== fwd.baseSeq) {
        this.finish(c, h);
        c = null;
        flagsOut |= A_REUSED_PORTS;
      }
    }
    if (!c) {
      const max = this.tcpLimits.maxOpenConnections;
      if (max !== undefined && this.openCount >= max) this.evict(Math.max(1, Math.ceil(max / 10)));
      c = new TcpConversation(this, this.nextConnId++, p, tsUs, frame);
      this.insert(h, c);
      fromA = true;
    }
    c.curFrame = frame;
    const fwd = fromA ? c.flowA : c.flowB;
    const rev = fromA ? c.flowB : c.flowA;
    const dir: Dir = fromA ? c.aDir : c.aDir === 0 ? 1 : 0;
    const conn = c.conn;
    conn.lastUs = tsUs;
    conn.lastFrame = frame;
    conn.packets[dir]++;
    conn.bytes[dir] += p.ipLen;
    conn.payloadBytes[dir] += p.payloadLen;

    // Handshake bookkeeping (iRTT = ACK completing the handshake − most recent SYN).
    if (synOnly) {
      c.tsMruSynUs = tsUs;
      conn.synCount++;
    } else if (synAck) {
      if (c.synAckUs === 0) c.synAckUs = tsUs;
    } else if (
      p.flags & TH_ACK &&
      c.tsMruSynUs !== 0 &&
      c.firstRttUs === 0 &&
      tsUs > c.tsMruSynUs
    ) {
      // As Wireshark: an ACK with the same timestamp as the SYN gives a zero iRTT, which counts
      // as "not measured yet", so the next later ACK sets it.
      c.firstRttUs = tsUs - c.tsMruSynUs;
      conn.handshake = c.synAckUs !== 0;
      conn.handshakeRttMs = c.firstRttUs / 1000;
      if (c.synAckUs !== 0) {
        conn.synToSynAckMs = (c.synAckUs - c.tsMruSynUs) / 1000;
        conn.synAckToAckMs = (tsUs - c.synAckUs) / 1000;
      }
      this.sink.handshake?.(conn);
    }

    const ta = this.analyze(c, fwd, rev, p, tsUs, frame);
    flagsOut |= ta;
    if (ta & (A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION)) {
      conn.retransmissions[dir]++;
      if (conn.retransmissionFrames.length < 32) conn.retransmissionFrames.push(frame);
      if (ta & A_FAST_RETRANSMISSION) conn.fastRetransmissions[dir]++;
      if (ta & A_SPURIOUS_RETRANSMISSION) conn.spuriousRetransmissions[dir]++;
      this.sink.retransmission?.(
        {
          connId: conn.id,
          dir,
          tsUs,
          frame,
          kind:
            ta & A_FAST_RETRANSMISSION
              ? 'fast'
              : ta & A_SPURIOUS_RETRANSMISSION
                ? 'spurious'
                : 'retransmission',
          stallMs: ta & A_RETRANSMISSION ? this.lastStallMs : 0,
          syn: (p.flags & TH_SYN) !== 0,
        },
        conn,
      );
    }
    if (ta & A_DUPLICATE_ACK) conn.duplicateAcks[dir]++;
    if (ta & A_ZERO_WINDOW) conn.zeroWindows[dir]++;
    if (ta & A_OUT_OF_ORDER) conn.outOfOrder[dir]++;
    if (ta & A_LOST_PACKET) conn.lostSegments[dir]++;
    if (p.flags & TH_RST) {
      conn.resets[dir]++;
      conn.close = 'rst';
      c.closedUs = tsUs;
    }
    if (p.flags & TH_FIN) {
      conn.fins[dir]++;
      if (conn.close === 'open' && conn.fins[0] > 0 && conn.fins[1] > 0) {
        conn.close = 'fin';
        c.closedUs = tsUs;
      }
    }

    this.reassemble(c, fwd, rev, dir, p, tsUs);

    if (tsUs - this.lastSweepUs > 10e6) {
      if (this.lastSweepUs !== 0) this.sweep(tsUs);
      this.lastSweepUs = tsUs;
    }
    return flagsOut;
  }

  /** Wireshark's tcp_analyze_sequence_number for one segment; returns its flags. */
  private analyze(
    c: TcpConversation,
    fwd: Flow,
    rev: Flow,
    p: Packet,
    tsUs: number,
    frame: number,
  ): number {
    const seq = p.seq;
    const ack = p.ack;
    const flags = p.flags;
    const window = p.window;
    const seglen = p.payloadLen;
    let ta = 0;

    if (!fwd.baseSeqSet) {
      fwd.baseSeq = flags & TH_SYN ? seq : (seq - 1) | 0;
      fwd.baseSeqSet = true;
    }
    if (!rev.baseSeqSet && flags & TH_ACK) {
      rev.baseSeq = (ack - 1) | 0;
      rev.baseSeqSet = true;
    }

    checks: {
      // ZERO WINDOW PROBE
      if (seglen === 1 && seq === fwd.nextseq && rev.window === 0) {
        ta |= A_ZERO_WINDOW_PROBE;
        break checks;
      }
      // ZERO WINDOW
      if (window === 0 && (flags & (TH_RST | TH_FIN | TH_SYN)) === 0) ta |= A_ZERO_WINDOW;
      // LOST PACKET
      if (fwd.nextseq !== 0 && gtSeq(seq, fwd.nextseq) && (flags & TH_RST) === 0)
        ta |= A_LOST_PACKET;
      // KEEP ALIVE
      if (
        seglen <= 1 &&
        seq === ((fwd.nextseq - 1) | 0) &&
        (flags & (TH_SYN | TH_FIN | TH_RST)) === 0
      )
        ta |= A_KEEP_ALIVE;
      const pureAckSame =
        seglen === 0 &&
        seq === fwd.nextseq &&
        ack === fwd.lastack &&
        (flags & (TH_SYN | TH_FIN | TH_RST)) === 0;
      // WINDOW UPDATE
      if (pureAckSame && window !== 0 && window !== fwd.window) ta |= A_WINDOW_UPDATE;
      // KEEP ALIVE ACK
      if (
        pureAckSame &&
        window !== 0 &&
        window === fwd.window &&
        rev.lastsegmentflags & A_KEEP_ALIVE
      ) {
        ta |= A_KEEP_ALIVE_ACK;
        break checks;
      }
      // ZERO WINDOW PROBE ACK
      if (
        pureAckSame &&
        window === 0 &&
        window === fwd.window &&
        rev.lastsegmentflags & A_ZERO_WINDOW_PROBE
      ) {
        ta |= A_ZERO_WINDOW_PROBE_ACK;
        break checks;
      }
      // DUPLICATE ACK
      if (pureAckSame && window !== 0 && window === fwd.window) {
        fwd.dupacknum = fwd.dupacknum === -1 ? 1 : fwd.dupacknum + 1;
        ta |= A_DUPLICATE_ACK;
      }
    }
    // finished_fwd: a changed ACK resets the dup-ack counter.
    if (ack !== fwd.lastack) fwd.dupacknum = 0;

    // ACKED LOST PACKET
    if (rev.maxseqtobeacked !== 0 && gtSeq(ack, rev.maxseqtobeacked) && flags & TH_ACK) {
      // (an unsigned comparison in Wireshark, not a modular one)
      if (rev.maxseqtobeacked >>> 0 > rev.nextseq >>> 0) {
        rev.maxseqtobeacked = rev.nextseq;
        ta |= A_ACK_LOST_PACKET;
      } else {
        if (rev.dupacknum === 0) ta |= A_ACK_LOST_PACKET;
        rev.dupacknum = -1;
      }
    }

    // RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER / SPURIOUS
    if (seglen > 0 || flags & (TH_SYN | TH_FIN)) {
      let seqNotAdvanced = fwd.nextseq !== 0 && ltSeq(seq, fwd.nextseq);
      classify: {
        if (ta & A_KEEP_ALIVE) break classify;
        // One byte behind the highest segment with more than one byte: new data after a
        // zero-window probe, not a retransmission (spurious is still checked).
        if (seglen > 1 && ((fwd.nextseq - 1) | 0) === seq) seqNotAdvanced = false;
        // Spurious: every byte was already acknowledged by the other side.
        if (seglen > 0 && rev.lastack !== 0 && leSeq(add32(seq, seglen), rev.lastack)) {
          ta |= A_SPURIOUS_RETRANSMISSION;
          break classify;
        }
        // Fast retransmission: ≥2 dup ACKs the other way for this seq, within 20 ms of the last.
        if (
          seqNotAdvanced &&
          rev.dupacknum >= 2 &&
          rev.lastack === seq &&
          tsUs - rev.lastackTime < 20000
        ) {
          ta |= A_FAST_RETRANSMISSION;
          break classify;
        }
        // Out-of-order: close in time to the highest segment and not a plain resend of it.
        const oooThresholdUs = c.firstRttUs > 0 ? c.firstRttUs : 3000;
        const segEnd = add32(seq, seglen + (flags & (TH_SYN | TH_FIN) ? 1 : 0));
        if (seqNotAdvanced && tsUs - fwd.nextseqTime < oooThresholdUs && fwd.nextseq !== segEnd) {
          ta |= A_OUT_OF_ORDER;
          break classify;
        }
        if (!seqNotAdvanced) break classify;
        ta |= A_RETRANSMISSION;
        // RTO stall: time since the oldest unacked segment (else since the highest segment).
        const since = fwd.unCount > 0 ? fwd.un[(fwd.unHead << 1) + 1]! : fwd.nextseqTime;
        const stallMs = (tsUs - since) / 1000;
        this.lastStallMs = Math.max(0, stallMs);
        if (stallMs > 0) {
          c.conn.rtoStallMs += stallMs;
          if (stallMs > c.conn.maxRtoStallMs) c.conn.maxRtoStallMs = stallMs;
        }
      }
    }

    // finished_checking_retransmission_type
    let nextseq = add32(seq, seglen);
    if (seglen > 0 || flags & (TH_SYN | TH_FIN)) {
      if (flags & (TH_SYN | TH_FIN)) nextseq = add32(nextseq, 1);
      if (fwd.unCount < this.tcpLimits.maxUnackedSegments) {
        if (fwd.unCount > fwd.unMask) growUnacked(fwd);
        const i = ((fwd.unHead + fwd.unCount) & fwd.unMask) << 1;
        fwd.un[i] = nextseq;
        fwd.un[i + 1] = tsUs;
        fwd.unCount++;
      }
    }
    if ((gtSeq(nextseq, fwd.nextseq) || fwd.nextseq === 0) && (ta & A_ZERO_WINDOW_PROBE) === 0) {
      fwd.nextseq = nextseq;
      fwd.nextseqFrame = frame;
      fwd.nextseqTime = tsUs;
    }
    if (
      (seq === fwd.maxseqtobeacked || fwd.maxseqtobeacked === 0) &&
      (ta & A_ZERO_WINDOW_PROBE) === 0
    ) {
      fwd.maxseqtobeacked = fwd.nextseq;
    }
    fwd.window = window;
    fwd.lastack = ack;
    fwd.lastackTime = tsUs;
    fwd.lastsegmentflags = ta;

    // Drop segments this ACK covers from the other direction's unacked list.
    if (flags & TH_ACK) {
      const un = rev.un;
      const mask = rev.unMask;
      let head = rev.unHead;
      let n = rev.unCount;
      while (n > 0 && leSeq(un[head << 1]!, ack)) {
        head = (head + 1) & mask;
        n--;
      }
      rev.unHead = head;
      rev.unCount = n;
    }
    return ta;
  }

  // ---- stream reassembly -------------------------------------------------------------------

  private reassemble(
    c: TcpConversation,
    fwd: Flow,
    rev: Flow,
    dir: Dir,
    p: Packet,
    tsUs: number,
  ): void {
    const flags = p.flags;
    if (!fwd.rsInit) {
      if (flags & TH_SYN) {
        fwd.rsNext = add32(p.seq, 1);
        fwd.rsInit = true;
      } else if (p.payloadLen > 0 || flags & TH_FIN) {
        fwd.rsNext = p.seq;
        fwd.rsInit = true;
      }
    }
    // The other side acknowledged bytes we never saw: they were lost from the capture.
    if (flags & TH_ACK && rev.rsInit && rev.ooo.length > 0 && !leSeq(p.ack, rev.rsNext)) {
      this.fillGapsUpTo(c, rev, dir === 0 ? 1 : 0, p.ack);
    }
    if (p.payloadLen > 0 && fwd.rsInit) {
      // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
      let seq = flags & TH_SYN ? add32(p.seq, 1) : p.seq;
      let off = p.payloadOff;
      let len = p.capPayloadLen;
      const missingTail = p.payloadLen - p.capPayloadLen; // snaplen cut
      // Trim what was already delivered.
      const behind = (fwd.rsNext - seq) | 0;
      if (behind > 0) {
        if (behind >= p.payloadLen) {
          len = 0;
        } else {
          seq = fwd.rsNext;
          off += Math.min(behind, len);
          len = Math.max(0, len - behind);
        }
      }
      if (len > 0 || (missingTail > 0 && behind < p.payloadLen)) {
        if (seq === fwd.rsNext) {
          if (len > 0) this.deliver(c, dir, tsUs, p.buf, off, off + len);
          fwd.rsNext = add32(seq, len);
          if (missingTail > 0) {
            // The cut bytes are behind us too: without this, the next segment looked like one
            // after a hole, was buffered and waited for an ACK to be delivered, after its answer.
            const missing = p.payloadLen - Math.max(0, behind) - len;
            if (missing > 0) {
              this.gap(c, fwd, dir, tsUs, missing);
              fwd.rsNext = add32(fwd.rsNext, missing);
            }
          }
          if (fwd.ooo.length > 0) this.drainOoo(c, fwd, dir, tsUs);
        } else if (len > 0) {
          this.buffer(c, fwd, dir, seq, p.buf, off, len, tsUs);
        }
      }
    }
    if (flags & TH_FIN && fwd.rsInit) {
      fwd.finSeen = true;
      fwd.finSeq = add32(p.seq, p.payloadLen);
    }
    if (flags & (TH_FIN | TH_RST)) {
      if (flags & TH_RST || fwd.ooo.length === 0) {
        if (flags & TH_RST) {
          // Flush whatever is buffered in both directions: no more data will come.
          this.flushAll(c, c.flowA, c.aDir);
          this.flushAll(c, c.flowB, c.aDir === 0 ? 1 : 0);
        }
        this.ensureParser(c);
        c.parser?.close(flags & TH_RST ? null : dir, tsUs, (flags & TH_RST) !== 0);
      }
    }
  }

  private buffer(
    c: TcpConversation,
    f: Flow,
    dir: Dir,
    seq: number,
    buf: Buffer,
    off: number,
    len: number,
    tsUs: number,
  ): void {
    // Keep segments sorted by seq; drop exact duplicates.
    const data = Buffer.from(buf.subarray(off, off + len));
    let i = f.ooo.length;
    while (i > 0 && gtSeq(f.ooo[i - 1]!.seq, seq)) i--;
    if (i > 0 && f.ooo[i - 1]!.seq === seq && f.ooo[i - 1]!.data.length >= len) return;
    f.ooo.splice(i, 0, { seq, data, tsUs, frame: c.curFrame });
    f.oooBytes += len;
    if (f.oooBytes > this.tcpLimits.maxBufferedBytes) {
      // Give up waiting for the hole: declare it a gap and move on.
      this.sink.skip('tcp-reassembly-buffer-full', c.curFrame, `${f.oooBytes} bytes buffered`);
      const first = f.ooo[0]!;
      this.gap(c, f, dir, first.tsUs, (first.seq - f.rsNext) >>> 0);
      f.rsNext = first.seq;
      this.drainOoo(c, f, dir, null);
    }
  }

  /**
   * Deliver buffered segments that are now in order. After a hole was filled by the current
   * segment, they became usable now (`fillTsUs`); after a gap was declared, they are delivered
   * with their own arrival time. Either way they keep their own frame numbers for evidence.
   */
  private drainOoo(c: TcpConversation, f: Flow, dir: Dir, fillTsUs: number | null): void {
    const cur = c.curFrame;
    while (f.ooo.length > 0) {
      const s = f.ooo[0]!;
      const behind = (f.rsNext - s.seq) | 0;
      if (behind < 0) break; // still a hole
      f.ooo.shift();
      f.oooBytes -= s.data.length;
      if (behind < s.data.length) {
        c.curFrame = s.frame;
        this.deliver(c, dir, fillTsUs ?? s.tsUs, s.data, behind, s.data.length);
        f.rsNext = add32(s.seq, s.data.length);
      }
    }
    c.curFrame = cur;
  }

  private fillGapsUpTo(c: TcpConversation, f: Flow, dir: Dir, ack: number): void {
    while (f.ooo.length > 0 && leSeq(f.ooo[0]!.seq, ack) && gtSeq(f.ooo[0]!.seq, f.rsNext)) {
      const first = f.ooo[0]!;
      this.gap(c, f, dir, first.tsUs, (first.seq - f.rsNext) >>> 0);
      f.rsNext = first.seq;
      this.drainOoo(c, f, dir, null);
    }
  }

  private flushAll(c: TcpConversation, f: Flow, dir: Dir): void {
    while (f.ooo.length > 0) {
      const first = f.ooo[0]!;
      if (gtSeq(first.seq, f.rsNext)) {
        this.gap(c, f, dir, first.tsUs, (first.seq - f.rsNext) >>> 0);
        f.rsNext = first.seq;
      }
      this.drainOoo(c, f, dir, null);
    }
  }

  private gap(c: TcpConversation, _f: Flow, dir: Dir, tsUs: number, len: number): void {
    if (len <= 0) return;
    c.conn.missingBytes[dir] += len;
    c.parser?.gap(dir, tsUs, len);
  }

  private deliver(
    c: TcpConversation,
    dir: Dir,
    tsUs: number,
    buf: Buffer,
    off: number,
    end: number,
  ): void {
    if (!c.parser) {
      if (c.recogniseAttempts >= this.tcpLimits.maxRecogniseAttempts) return;
      c.recogniseAttempts++;
      for (const r of this.recognisers) {
        if (r.recognise(dir, buf, off, end)) {
          const cd = r.clientDir?.(dir, buf, off, end) ?? null;
          if (cd === 1 && (c.conn.roleBy === 'port' || c.conn.roleBy === 'first-packet')) {
            c.swapRoles();
            dir = dir === 0 ? 1 : 0;
          }
          c.parser = r.create(c);
          c.conn.appProtocol = r.name;
          break;
        }
      }
      if (!c.parser) return;
    }
    c.parser.data(dir, tsUs, buf, off, end);
  }

  private ensureParser(_c: TcpConversation): void {
    // Parsers are only created from data; nothing to do for data-less connections.
  }

  /** Finalise a conversation: flush buffers, end its parser, emit its record. */
  private finish(c: TcpConversation, h: number): void {
    const ts = c.conn.lastUs;
    this.flushAll(c, c.flowA, c.aDir);
    this.flushAll(c, c.flowB, c.aDir === 0 ? 1 : 0);
    c.parser?.end(ts);
    c.parser = null;
    this.remove(h, c);
    this.sink.connection(c.conn);
  }

  /** Finalise the `n` least recently active conversations (the open-connection bound). */
  private evict(n: number): void {
    const all: { c: TcpConversation; h: number }[] = [];
    for (const [h, e] of this.table) {
      if (Array.isArray(e)) for (const c of e) all.push({ c, h });
      else all.push({ c: e, h });
    }
    all.sort((x, y) => x.c.conn.lastUs - y.c.conn.lastUs);
    for (const { c, h } of all.slice(0, n)) {
      this.sink.skip('connection-evicted', c.curFrame, 'too many open connections');
      this.finish(c, h);
    }
  }

  /**
   * Finalise conversations idle long enough (closed ones after a minute, open ones after an
   * hour) as of `nowUs`. Packets call it as they pass; a live capture also calls it on a timer
   * with the wall clock, so closed connections surface while the link is quiet.
   */
  sweep(nowUs: number): void {
    for (const [h, e] of this.table) {
      const list = Array.isArray(e) ? e.slice() : [e];
      for (const c of list) {
        const idle = nowUs - c.conn.lastUs;
        if ((c.closedUs !== 0 && idle > CLOSED_IDLE_US) || idle > OPEN_IDLE_US) this.finish(c, h);
      }
    }
  }

  /** The capture ended: finalise every conversation, in order of first appearance. */
  endAll(): void {
    const all: { c: TcpConversation; h: number }[] = [];
    for (const [h, e] of this.table) {
      if (Array.isArray(e)) for (const c of e) all.push({ c, h });
      else all.push({ c: e, h });
    }
    all.sort((x, y) => x.c.conn.id - y.c.conn.id);
    for (const { c, h } of all) this.finish(c, h);
  }
}

/** 1 if the packet goes A→B, 2 if B→A, 0 if another conversation. */
function match(c: TcpConversation, p: Packet): number {
  if (c.ver !== p.ipVersion) return 0;
  if (
    p.sport === c.aPort &&
    p.dport === c.bPort &&
    p.src3 === c.a3 &&
    p.dst3 === c.b3 &&
    p.src0 === c.a0 &&
    p.src1 === c.a1 &&
    p.src2 === c.a2 &&
    p.dst0 === c.b0 &&
    p.dst1 === c.b1 &&
    p.dst2 === c.b2
  )
    return 1;
  if (
    p.sport === c.bPort &&
    p.dport === c.aPort &&
    p.src3 === c.b3 &&
    p.dst3 === c.a3 &&
    p.src0 === c.b0 &&
    p.src1 === c.b1 &&
    p.src2 === c.b2 &&
    p.dst0 === c.a0 &&
    p.dst1 === c.a1 &&
    p.dst2 === c.a2
  )
    return 2;
  return 0;
}
