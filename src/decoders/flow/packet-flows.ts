// Bidirectional flow records built from captured packets (what softflowd, YAF or Argus do), so a
// packet capture and a flow export are analysed the same way. Input: packets decoded by the
// capture engine's decodeFrame (src/decoders/capture/packet.ts: link layers, VLAN/MPLS/PPPoE,
// IPv4/IPv6, extension headers, reassembled fragments); output: FlowRecords (source 'capture').
//
// Flow key: protocol, both addresses and both ports, order-independent (side A is the lower
// (address, port)), so both directions of a conversation share one record (RFC 5103 biflow): the
// initiator is the source of the first packet (or the destination, when the first packet seen is
// a TCP SYN+ACK); bytes/packets count initiator → responder, reverseBytes/reversePackets the other
// way. ICMP/ICMPv6 carry type << 8 | code as the destination port (the NetFlow convention), so an
// echo request and its reply are two records. Bytes are IP bytes (the IP header's length), as in
// NetFlow/IPFIX octet counts, not frame bytes.
//
// A record ends (flowEndReason, IANA IPFIX IE 136):
//   idle-timeout       no packet for `idleTimeoutS` (default 15 s: Cisco's inactive timeout)
//   active-timeout     open for `activeTimeoutS` (default 1800 s: Cisco/YAF); the conversation
//                      continues in a new record with the same initiator
//   end-of-flow        TCP RST, or FIN seen from both sides, then `tcpEndTimeoutS` of quiet (default
//                      2 s, so the last ACK and retransmitted FINs stay in the record); a SYN that
//                      reuses the ports of a closed connection ends it at once
//   lack-of-resources  the table holds `maxFlows` live flows: the least recently seen one is ended
//   forced-end         the input ended
// Time is packet time (the capture's clock), never the wall clock.
//
// Hot path, no allocation per packet: flows live in typed arrays (struct of arrays) indexed by a
// flow id; an open-addressing hash index (linear probing, backward-shift delete) maps the key to
// the id; three doubly linked lists (least recently seen first; closing TCP flows; oldest start
// first) make every expiry check O(1) per packet.

import { emptyFlow, type FlowEndReason, type FlowRecord, type FlowSink } from '../../model/flow.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  TH_ACK,
  TH_FIN,
  TH_RST,
  TH_SYN,
  formatAddress,
  type Packet,
} from '../capture/packet.js';

export interface PacketFlowOptions {
  activeTimeoutS: number;
  idleTimeoutS: number;
  tcpEndTimeoutS: number;
  /** Live flows held at most; beyond it the least recently seen flow is ended early. */
  maxFlows: number;
}

export const DEFAULT_PACKET_FLOW_OPTIONS: PacketFlowOptions = {
  activeTimeoutS: 1800,
  idleTimeoutS: 15,
  tcpEndTimeoutS: 2,
  maxFlows: 262_144,
};

/** Hard ceiling for `maxFlows` (~130 bytes of typed arrays per flow slot). */
export const MAX_FLOW_TABLE = 1 << 24;

export interface PacketFlowStats {
  /** Packets counted into flows, and their IP bytes. */
  packets: number;
  bytes: number;
  /** Records emitted, by end reason. */
  records: number;
  ended: Record<FlowEndReason, number>;
  /** Most flows live at once. */
  maxLive: number;
}

const KEY_WORDS = 10; // a0..a3, b0..b3, portA << 16 | portB, proto << 8 | ipVersion
const INITIAL_CAPACITY = 4096;
const NIL = -1;
const L_IDLE = 0; // list of open flows, least recently seen first
const L_CLOSING = 1; // TCP flows after RST / both FINs, least recently seen first
const L_START = 2; // every flow, oldest record start first

// Per-flow flag bits.
const F_A_IS_INITIATOR = 1;
const F_FIN_A = 2;
const F_FIN_B = 4;
const F_CLOSING = 8;

export class PacketFlowTable {
  readonly stats: PacketFlowStats = {
    packets: 0,
    bytes: 0,
    records: 0,
    ended: {
      'idle-timeout': 0,
      'active-timeout': 0,
      'end-of-flow': 0,
      'forced-end': 0,
      'lack-of-resources': 0,
    },
    maxLive: 0,
  };
  private readonly sink: FlowSink;
  private readonly activeUs: number;
  private readonly idleUs: number;
  private readonly tcpEndUs: number;
  private readonly maxFlows: number;
  private cap = 0;
  private live = 0;
  private nowUs = -Infinity;
  // Hash index: flow id + 1, 0 = empty.
  private index = new Int32Array(0);
  private mask = 0;
  // Flow slots.
  private keys = new Uint32Array(0);
  private hashes = new Uint32Array(0);
  private flags = new Uint8Array(0);
  private fwdBytes = new Float64Array(0);
  private fwdPackets = new Float64Array(0);
  private revBytes = new Float64Array(0);
  private revPackets = new Float64Array(0);
  private tcpFlags = new Uint16Array(0);
  private startUs = new Float64Array(0);
  private lastUs = new Float64Array(0);
  private free = new Int32Array(0);
  private freeTop = 0;
  // Lists: prev/next per list, interleaved (3 lists × 2 links per flow).
  private links = new Int32Array(0);
  private readonly heads = [NIL, NIL, NIL];
  private readonly tails = [NIL, NIL, NIL];
  // Key of the packet being processed (canonical order).
  private readonly k = new Uint32Array(KEY_WORDS);

  constructor(sink: FlowSink, opts: Partial<PacketFlowOptions> = {}) {
    const o = { ...DEFAULT_PACKET_FLOW_OPTIONS, ...opts };
    this.sink = sink;
    // A zero active timeout would restart records forever: at least 1 µs.
    this.activeUs = Math.max(1, o.activeTimeoutS * 1e6);
    this.idleUs = o.idleTimeoutS * 1e6;
    this.tcpEndUs = o.tcpEndTimeoutS * 1e6;
    this.maxFlows = Math.max(1, Math.min(MAX_FLOW_TABLE, Math.floor(o.maxFlows)));
    this.grow(Math.min(INITIAL_CAPACITY, this.maxFlows));
  }

  /** Flows currently open. */
  get liveFlows(): number {
    return this.live;
  }

  /**
   * Count one decoded packet (TCP, UDP, or another IP protocol: `p.proto`, addresses and `p.ipLen`
   * are what is read; ports for TCP/UDP, type/code for ICMP). `tsUs` is the capture timestamp.
   */
  packet(p: Packet, tsUs: number): void {
    if (tsUs > this.nowUs) {
      this.nowUs = tsUs;
      this.expire(tsUs);
    }
    const proto = p.proto;
    let sport = p.sport;
    let dport = p.dport;
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      sport = 0;
      dport = p.capPayloadLen >= 2 ? (p.buf[p.payloadOff]! << 8) | p.buf[p.payloadOff + 1]! : 0;
    }
    // Canonical order: side A is the lower (address, port).
    const k = this.k;
    let aIsSrc: boolean;
    if (p.src0 !== p.dst0) aIsSrc = p.src0 < p.dst0;
    else if (p.src1 !== p.dst1) aIsSrc = p.src1 < p.dst1;
    else if (p.src2 !== p.dst2) aIsSrc = p.src2 < p.dst2;
    else if (p.src3 !== p.dst3) aIsSrc = p.src3 < p.dst3;
    else aIsSrc = sport <= dport;
    if (aIsSrc) {
      k[0] = p.src0;
      k[1] = p.src1;
      k[2] = p.src2;
      k[3] = p.src3;
      k[4] = p.dst0;
      k[5] = p.dst1;
      k[6] = p.dst2;
      k[7] = p.dst3;
      k[8] = (sport << 16) | dport;
    } else {
      k[0] = p.dst0;
      k[1] = p.dst1;
      k[2] = p.dst2;
      k[3] = p.dst3;
      k[4] = p.src0;
      k[5] = p.src1;
      k[6] = p.src2;
      k[7] = p.src3;
      k[8] = (dport << 16) | sport;
    }
    k[9] = (proto << 8) | p.ipVersion;
    const h = hashKey(k);
    let id = this.find(h);
    const tcp = proto === IPPROTO_TCP;
    const fl = tcp ? p.flags : 0;
    if (id >= 0 && tcp && this.flags[id]! & F_CLOSING && fl & TH_SYN && !(fl & TH_ACK)) {
      // A new connection on the ports of a closed one.
      this.end(id, 'end-of-flow');
      id = NIL;
    }
    if (id < 0) {
      id = this.insert(h, tsUs);
      // Initiator: the first packet's source, unless that packet is a SYN+ACK (a reply).
      const replyFirst = tcp && (fl & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK);
      if (aIsSrc !== replyFirst) this.flags[id] = F_A_IS_INITIATOR;
    } else if (this.fwdPackets[id]! + this.revPackets[id]! === 0) {
      // First packet after an active-timeout restart.
      this.startUs[id] = tsUs;
    }
    const bytes = p.ipLen;
    const forward = aIsSrc === ((this.flags[id]! & F_A_IS_INITIATOR) !== 0);
    if (forward) {
      this.fwdBytes[id] = this.fwdBytes[id]! + bytes;
      this.fwdPackets[id] = this.fwdPackets[id]! + 1;
    } else {
      this.revBytes[id] = this.revBytes[id]! + bytes;
      this.revPackets[id] = this.revPackets[id]! + 1;
    }
    if (tsUs > this.lastUs[id]!) this.lastUs[id] = tsUs;
    else if (tsUs < this.startUs[id]!) this.startUs[id] = tsUs;
    this.stats.packets++;
    this.stats.bytes += bytes;
    let f = this.flags[id]!;
    if (tcp) {
      this.tcpFlags[id]! |= fl;
      if (fl & TH_FIN) f |= aIsSrc ? F_FIN_A : F_FIN_B;
      if (!(f & F_CLOSING) && (fl & TH_RST || (f & (F_FIN_A | F_FIN_B)) === (F_FIN_A | F_FIN_B))) {
        f |= F_CLOSING;
        this.unlink(L_IDLE, id);
        this.append(L_CLOSING, id);
      }
      this.flags[id] = f;
    }
    this.touch(f & F_CLOSING ? L_CLOSING : L_IDLE, id);
  }

  /** The input ended: every open flow is emitted (oldest first). */
  flush(): void {
    for (let id = this.heads[L_START]!; id !== NIL; id = this.heads[L_START]!)
      this.end(id, this.flags[id]! & F_CLOSING ? 'end-of-flow' : 'forced-end');
  }

  // ---------------------------------------------------------------- expiry

  private expire(now: number): void {
    for (let id = this.heads[L_CLOSING]!; id !== NIL; id = this.heads[L_CLOSING]!) {
      if (this.lastUs[id]! + this.tcpEndUs >= now) break;
      this.end(id, 'end-of-flow');
    }
    for (let id = this.heads[L_IDLE]!; id !== NIL; id = this.heads[L_IDLE]!) {
      if (this.lastUs[id]! + this.idleUs >= now) break;
      this.end(id, 'idle-timeout');
    }
    // Each pass moves the head to the tail with a start of `now`, so the loop ends (activeUs > 0).
    for (let id = this.heads[L_START]!; id !== NIL; id = this.heads[L_START]!) {
      if (this.startUs[id]! + this.activeUs > now) break;
      if (this.fwdPackets[id]! + this.revPackets[id]! > 0) {
        this.emit(id, 'active-timeout');
        this.fwdBytes[id] = this.fwdPackets[id] = this.revBytes[id] = this.revPackets[id] = 0;
        this.tcpFlags[id] = 0;
      }
      // The record restarts: its start is the next packet's time (now until one comes); lastUs
      // stays, so a conversation that stopped still ends by the idle timeout, without a record.
      this.startUs[id] = now;
      this.unlink(L_START, id);
      this.append(L_START, id);
    }
  }

  /** Emit the flow's record (if it has packets) and free its slot. */
  private end(id: number, reason: FlowEndReason): void {
    if (this.fwdPackets[id]! + this.revPackets[id]! > 0) this.emit(id, reason);
    this.unlink(this.flags[id]! & F_CLOSING ? L_CLOSING : L_IDLE, id);
    this.unlink(L_START, id);
    this.removeIndex(id);
    this.flags[id] = 0;
    this.free[this.freeTop++] = id;
    this.live--;
  }

  private emit(id: number, reason: FlowEndReason): void {
    const k = this.keys;
    const o = id * KEY_WORDS;
    const ver = k[o + 9]! & 0xff;
    const proto = k[o + 9]! >>> 8;
    const a = formatAddress(ver, k[o]!, k[o + 1]!, k[o + 2]!, k[o + 3]!);
    const b = formatAddress(ver, k[o + 4]!, k[o + 5]!, k[o + 6]!, k[o + 7]!);
    const portA = k[o + 8]! >>> 16;
    const portB = k[o + 8]! & 0xffff;
    const aInit = (this.flags[id]! & F_A_IS_INITIATOR) !== 0;
    const r: FlowRecord = emptyFlow('capture');
    r.src = aInit ? a : b;
    r.dst = aInit ? b : a;
    r.srcPort = aInit ? portA : portB;
    r.dstPort = aInit ? portB : portA;
    r.proto = proto;
    r.bytes = this.fwdBytes[id]!;
    r.packets = this.fwdPackets[id]!;
    r.reverseBytes = this.revBytes[id]!;
    r.reversePackets = this.revPackets[id]!;
    r.startUs = this.startUs[id]!;
    r.endUs = this.lastUs[id]!;
    r.tcpFlags = proto === IPPROTO_TCP ? this.tcpFlags[id]! : null;
    r.endReason = reason;
    this.stats.records++;
    this.stats.ended[reason]++;
    this.sink.flow(r);
  }

  // ---------------------------------------------------------------- table

  private find(h: number): number {
    const index = this.index;
    const keys = this.keys;
    const k = this.k;
    const mask = this.mask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = index[slot]!;
      if (e === 0) return NIL;
      const id = e - 1;
      if (this.hashes[id] !== h) continue;
      const o = id * KEY_WORDS;
      if (
        keys[o + 3] === k[3] &&
        keys[o + 7] === k[7] &&
        keys[o + 8] === k[8] &&
        keys[o + 9] === k[9] &&
        keys[o] === k[0] &&
        keys[o + 1] === k[1] &&
        keys[o + 2] === k[2] &&
        keys[o + 4] === k[4] &&
        keys[o + 5] === k[5] &&
        keys[o + 6] === k[6]
      )
        return id;
    }
  }

  private insert(h: number, tsUs: number): number {
    if (this.live >= this.cap) {
      if (this.cap < this.maxFlows) this.grow(Math.min(this.cap * 2, this.maxFlows));
      else {
        // Full: end a closing TCP flow if there is one (it is over anyway), else the least
        // recently seen open flow.
        const c = this.heads[L_CLOSING]!;
        if (c !== NIL) this.end(c, 'end-of-flow');
        else this.end(this.heads[L_IDLE]!, 'lack-of-resources');
      }
    }
    const id = this.free[--this.freeTop]!;
    this.keys.set(this.k, id * KEY_WORDS);
    this.hashes[id] = h;
    this.flags[id] = 0;
    this.fwdBytes[id] = this.fwdPackets[id] = this.revBytes[id] = this.revPackets[id] = 0;
    this.tcpFlags[id] = 0;
    this.startUs[id] = tsUs;
    this.lastUs[id] = tsUs;
    const index = this.index;
    const mask = this.mask;
    let slot = h & mask;
    while (index[slot] !== 0) slot = (slot + 1) & mask;
    index[slot] = id + 1;
    this.append(L_IDLE, id);
    this.append(L_START, id);
    if (++this.live > this.stats.maxLive) this.stats.maxLive = this.live;
    return id;
  }

  /** Backward-shift deletion keeps probe sequences intact without tombstones. */
  private removeIndex(id: number): void {
    const index = this.index;
    const mask = this.mask;
    let i = this.hashes[id]! & mask;
    while (index[i] !== id + 1) i = (i + 1) & mask;
    for (let j = i; ;) {
      j = (j + 1) & mask;
      const e = index[j]!;
      if (e === 0) break;
      const home = this.hashes[e - 1]! & mask;
      // Leave e where it is when its home slot lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      index[i] = e;
      i = j;
    }
    index[i] = 0;
  }

  private grow(cap: number): void {
    const old = this.cap;
    const copy = <T extends Uint32Array | Uint8Array | Uint16Array | Float64Array | Int32Array>(
      a: T,
      n: number,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.keys = copy(this.keys, cap * KEY_WORDS, (n) => new Uint32Array(n));
    this.hashes = copy(this.hashes, cap, (n) => new Uint32Array(n));
    this.flags = copy(this.flags, cap, (n) => new Uint8Array(n));
    this.fwdBytes = copy(this.fwdBytes, cap, (n) => new Float64Array(n));
    this.fwdPackets = copy(this.fwdPackets, cap, (n) => new Float64Array(n));
    this.revBytes = copy(this.revBytes, cap, (n) => new Float64Array(n));
    this.revPackets = copy(this.revPackets, cap, (n) => new Float64Array(n));
    this.tcpFlags = copy(this.tcpFlags, cap, (n) => new Uint16Array(n));
    this.startUs = copy(this.startUs, cap, (n) => new Float64Array(n));
    this.lastUs = copy(this.lastUs, cap, (n) => new Float64Array(n));
    this.links = copy(this.links, cap * 6, (n) => new Int32Array(n));
    // Free ids: the new ones, highest first so low ids are used first.
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeTop));
    let top = this.freeTop;
    for (let id = cap - 1; id >= old; id--) free[top++] = id;
    this.free = free;
    this.freeTop = top;
    this.cap = cap;
    // Index at most half full.
    let size = 1;
    while (size < cap * 2) size <<= 1;
    this.index = new Int32Array(size);
    this.mask = size - 1;
    // Called only when every slot is taken (or at construction): ids below `old` are all live.
    for (let id = 0; id < old; id++) {
      let slot = this.hashes[id]! & this.mask;
      while (this.index[slot] !== 0) slot = (slot + 1) & this.mask;
      this.index[slot] = id + 1;
    }
  }

  // ---------------------------------------------------------------- lists

  private append(list: number, id: number): void {
    const l = this.links;
    const o = id * 6 + list * 2;
    const tail = this.tails[list]!;
    l[o] = tail;
    l[o + 1] = NIL;
    if (tail === NIL) this.heads[list] = id;
    else l[tail * 6 + list * 2 + 1] = id;
    this.tails[list] = id;
  }

  private unlink(list: number, id: number): void {
    const l = this.links;
    const o = id * 6 + list * 2;
    const prev = l[o]!;
    const next = l[o + 1]!;
    if (prev === NIL) this.heads[list] = next;
    else l[prev * 6 + list * 2 + 1] = next;
    if (next === NIL) this.tails[list] = prev;
    else l[next * 6 + list * 2] = prev;
    l[o] = l[o + 1] = NIL;
  }

  /** Move to the tail (most recently seen) of its list. */
  private touch(list: number, id: number): void {
    if (this.tails[list] === id) return;
    this.unlink(list, id);
    this.append(list, id);
  }
}

/** 32-bit hash of the canonical key (murmur3-style mixing). */
function hashKey(k: Uint32Array): number {
  let h = 0x9747b28c;
  for (let i = 0; i < KEY_WORDS; i++) {
    let w = Math.imul(k[i]!, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
