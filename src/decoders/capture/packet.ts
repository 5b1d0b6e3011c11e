// Link, network and transport header decoding into one reusable, fixed-shape Packet object (no
// allocation per packet on the hot path). IP fragments are reassembled by Defragmenter.
//
// Link layers (LINKTYPE_* from https://www.tcpdump.org/linktypes.html):
//   NULL (0): u32 address family in the capturing host's byte order (2 = IPv4; 24/28/30 = IPv6)
//   ETHERNET (1): 0 dst[6], 6 src[6], 12 u16 ethertype; 802.1Q/802.1ad/QinQ tags (4 bytes:
//     u16 TCI, u16 type), MPLS label stacks (u32 each until the bottom-of-stack bit), PPPoE session
//   RAW (101, also DLT 12/14), IPV4 (228), IPV6 (229): the IP header first
//   LOOP (108): u32 address family, network byte order
//   LINUX_SLL (113): 16 bytes, u16 protocol at offset 14
//   LINUX_SLL2 (276): 20 bytes, u16 protocol at offset 0
//   NFLOG (239): u8 family, u8 version, u16 resource id, then TLVs (u16 length and u16 type in host
//     byte order, length includes the 4-byte TLV header, padded to 4); type 9 = NFULA_PAYLOAD
// IPv4 (RFC 791): 0 ver/IHL, 2 u16 total length, 4 u16 id, 6 u16 flags/fragment offset, 9 u8 proto,
//   12 src, 16 dst. IPv6 (RFC 8200): 4 u16 payload length, 6 u8 next header, 8 src[16], 24 dst[16],
//   extension headers 0/43/60/51 and fragment (44: 2 u16 offset/M, 4 u32 id).
// TCP (RFC 9293): 0 sport, 2 dport, 4 seq, 8 ack, 12 data offset, 13 flags, 14 window, options.
// UDP (RFC 768): 0 sport, 2 dport, 4 length.

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_RAW = 101;
export const DLT_RAW_12 = 12;
export const DLT_RAW_14 = 14;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MC = 0x8848;
export const ETHERTYPE_PPPOE = 0x8864;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6_IN_IP = 41;
export const IPPROTO_GRE = 47;
/** UDP ports of overlay tunnels: VXLAN (IANA, and the Linux kernel's default used by flannel), Geneve. */
export const UDP_VXLAN = 4789;
export const UDP_VXLAN_LINUX = 8472;
export const UDP_GENEVE = 6081;
/** Tunnels decapsulated inside one another at most (hostile nesting). */
export const MAX_TUNNEL_DEPTH = 3;

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;

const MAX_VLAN_TAGS = 8;
const MAX_MPLS_LABELS = 16;
const MAX_IPV6_EXT_HEADERS = 16;

/** Why a frame was not decoded to a transport header (counted in data quality). */
export type PacketSkip =
  | 'unsupported-linktype'
  | 'non-ip'
  | 'truncated-link-header'
  | 'truncated-ip-header'
  | 'bad-ip-header'
  | 'truncated-transport-header'
  | 'bad-tcp-header'
  | 'fragment-pending'
  | 'other-ip-protocol';

/** The decoded headers of one frame. Reused: read it during the frame callback only. */
export class Packet {
  ipVersion = 0;
  /** Addresses: IPv4 in word 3 (words 0–2 zero); IPv6 in words 0–3, big-endian words. */
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  proto = 0;
  /** Bytes of the IP packet (header + payload) as the IP header states it. */
  ipLen = 0;
  sport = 0;
  dport = 0;
  /** TCP sequence and acknowledgment numbers as signed 32-bit integers (compare them modulo 2^32). */
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  /** TCP options seen on this segment (SYN only): MSS, window scale (-1 if absent). */
  mss = 0;
  wscale = -1;
  sackPermitted = false;
  /** Transport payload length as the IP header states it (what TCP sequence numbers count). */
  payloadLen = 0;
  /** Payload bytes actually present in `buf` (less than payloadLen when the snaplen cut it). */
  capPayloadLen = 0;
  payloadOff = 0;
  buf: Buffer = EMPTY;
  /** True when this packet came out of IP reassembly. */
  reassembled = false;
}

const EMPTY = Buffer.alloc(0);

interface FragEntry {
  key: string;
  firstUs: number;
  lastUs: number;
  parts: { off: number; data: Buffer }[];
  totalLen: number; // -1 until the last fragment is seen
  bytes: number;
  headerBuf: Buffer | null; // IPv4 header of the first fragment, or null for IPv6
  proto: number;
}

const MAX_FRAG_DATAGRAMS = 4096;
const MAX_FRAG_BYTES = 65535 + 64;
const FRAG_TIMEOUT_US = 60e6;

/** IP fragment reassembly (RFC 791 / RFC 8200), bounded in datagrams, bytes and time. */
export class Defragmenter {
  private readonly pending = new Map<string, FragEntry>();
  dropped = 0;

  /**
   * Add a fragment; returns the reassembled payload (transport header first) when complete.
   */
  add(
    key: string,
    tsUs: number,
    fragOff: number,
    more: boolean,
    data: Buffer,
    proto: number,
  ): Buffer | null {
    let e = this.pending.get(key);
    if (!e) {
      if (this.pending.size >= MAX_FRAG_DATAGRAMS) this.expire(tsUs, true);
      e = {
        key,
        firstUs: tsUs,
        lastUs: tsUs,
        parts: [],
        totalLen: -1,
        bytes: 0,
        headerBuf: null,
        proto,
      };
      this.pending.set(key, e);
    }
    e.lastUs = tsUs;
    if (fragOff + data.length > MAX_FRAG_BYTES) {
      this.pending.delete(key);
      this.dropped++;
      return null;
    }
    e.parts.push({ off: fragOff, data: Buffer.from(data) });
    e.bytes += data.length;
    if (!more) e.totalLen = fragOff + data.length;
    if (e.totalLen < 0) return null;
    // Complete when the parts cover [0, totalLen).
    e.parts.sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const p of e.parts) {
      if (p.off > covered) return null;
      covered = Math.max(covered, p.off + p.data.length);
    }
    if (covered < e.totalLen) return null;
    const out = Buffer.alloc(e.totalLen);
    for (const p of e.parts)
      p.data.copy(out, p.off, 0, Math.min(p.data.length, e.totalLen - p.off));
    this.pending.delete(key);
    return out;
  }

  /** Drop datagrams older than the timeout (or the oldest one when `force`). */
  expire(nowUs: number, force = false): void {
    for (const [k, e] of this.pending) {
      if (force || nowUs - e.lastUs > FRAG_TIMEOUT_US) {
        this.pending.delete(k);
        this.dropped++;
        if (force) return;
      }
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}

/**
 * Decode one frame into `p`. Returns null on success (p filled for TCP or UDP), or a skip reason.
 * `dv` must view `buf` from byte 0.
 */
export function decodeFrame(
  p: Packet,
  linktype: number,
  buf: Buffer,
  dv: DataView,
  off: number,
  capLen: number,
  tsUs: number,
  defrag: Defragmenter,
  tunnels = MAX_TUNNEL_DEPTH,
): PacketSkip | null {
  const end = off + capLen;
  let o = off;
  let ethertype = 0;
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      if (end - o < 14) return 'truncated-link-header';
      ethertype = dv.getUint16(o + 12);
      o += 14;
      break;
    }
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (end - o < 4) return 'truncated-link-header';
      let fam = linktype === LINKTYPE_LOOP ? dv.getUint32(o) : dv.getUint32(o, true);
      if (linktype === LINKTYPE_NULL && fam > 0xffff) fam = dv.getUint32(o); // written big-endian
      o += 4;
      if (fam === 2) ethertype = ETHERTYPE_IPV4;
      else if (fam === 24 || fam === 28 || fam === 30 || fam === 10) ethertype = ETHERTYPE_IPV6;
      else return 'non-ip';
      break;
    }
    case LINKTYPE_RAW:
    case DLT_RAW_12:
    case DLT_RAW_14:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6: {
      if (end - o < 1) return 'truncated-ip-header';
      const v = buf[o]! >> 4;
      ethertype = v === 4 ? ETHERTYPE_IPV4 : v === 6 ? ETHERTYPE_IPV6 : 0;
      if (!ethertype) return 'non-ip';
      break;
    }
    case LINKTYPE_LINUX_SLL: {
      if (end - o < 16) return 'truncated-link-header';
      ethertype = dv.getUint16(o + 14);
      o += 16;
      break;
    }
    case LINKTYPE_LINUX_SLL2: {
      if (end - o < 20) return 'truncated-link-header';
      ethertype = dv.getUint16(o);
      o += 20;
      break;
    }
    case LINKTYPE_NFLOG: {
      if (end - o < 4) return 'truncated-link-header';
      const fam = buf[o]!;
      o += 4;
      let found = -1;
      let plen = 0;
      while (o + 4 <= end) {
        const tlen = dv.getUint16(o, true);
        const ttype = dv.getUint16(o + 2, true);
        if (tlen < 4) return 'truncated-link-header';
        if (ttype === 9) {
          found = o + 4;
          plen = Math.min(tlen - 4, end - found);
          break;
        }
        o += (tlen + 3) & ~3;
      }
      if (found < 0) return 'non-ip';
      o = found;
      return decodeIp(p, fam === 10 ? 6 : 4, buf, dv, o, o + plen, tsUs, defrag, tunnels);
    }
    case LINKTYPE_PPP: {
      if (end - o < 4) return 'truncated-link-header';
      let pp = o;
      if (buf[pp] === 0xff && buf[pp + 1] === 0x03) pp += 2;
      const proto = dv.getUint16(pp);
      o = pp + 2;
      if (proto === 0x0021) ethertype = ETHERTYPE_IPV4;
      else if (proto === 0x0057) ethertype = ETHERTYPE_IPV6;
      else return 'non-ip';
      break;
    }
    default:
      return 'unsupported-linktype';
  }
  // VLAN tags, MPLS, PPPoE.
  for (let tags = 0; tags < MAX_VLAN_TAGS + 1; tags++) {
    if (
      ethertype === ETHERTYPE_VLAN ||
      ethertype === ETHERTYPE_QINQ ||
      ethertype === ETHERTYPE_QINQ_OLD
    ) {
      if (end - o < 4) return 'truncated-link-header';
      ethertype = dv.getUint16(o + 2);
      o += 4;
      continue;
    }
    break;
  }
  if (ethertype <= 1500) {
    // IEEE 802.3 length field: LLC, and SNAP (AA AA 03, OUI[3], type) carries an ethertype.
    if (end - o >= 8 && buf[o] === 0xaa && buf[o + 1] === 0xaa && buf[o + 2] === 0x03) {
      ethertype = dv.getUint16(o + 6);
      o += 8;
    } else return 'non-ip';
  }
  if (ethertype === ETHERTYPE_MPLS || ethertype === ETHERTYPE_MPLS_MC) {
    let n = 0;
    for (;;) {
      if (end - o < 4) return 'truncated-link-header';
      const bos = buf[o + 2]! & 1;
      o += 4;
      if (bos || ++n >= MAX_MPLS_LABELS) break;
    }
    if (end - o < 1) return 'truncated-ip-header';
    const v = buf[o]! >> 4;
    if (v === 4) ethertype = ETHERTYPE_IPV4;
    else if (v === 6) ethertype = ETHERTYPE_IPV6;
    else return 'non-ip';
  } else if (ethertype === ETHERTYPE_PPPOE) {
    if (end - o < 8) return 'truncated-link-header';
    const proto = dv.getUint16(o + 6);
    o += 8;
    if (proto === 0x0021) ethertype = ETHERTYPE_IPV4;
    else if (proto === 0x0057) ethertype = ETHERTYPE_IPV6;
    else return 'non-ip';
  }
  if (ethertype === ETHERTYPE_IPV4) return decodeIp(p, 4, buf, dv, o, end, tsUs, defrag, tunnels);
  if (ethertype === ETHERTYPE_IPV6) return decodeIp(p, 6, buf, dv, o, end, tsUs, defrag, tunnels);
  return 'non-ip';
}

function decodeIp(
  p: Packet,
  version: number,
  buf: Buffer,
  dv: DataView,
  o: number,
  end: number,
  tsUs: number,
  defrag: Defragmenter,
  tunnels: number,
): PacketSkip | null {
  p.reassembled = false;
  let proto: number;
  let l4: number;
  let l4End: number; // end of the transport segment per the IP length (may exceed `end`)
  if (version === 4) {
    if (end - o < 20) return 'truncated-ip-header';
    const vihl = buf[o]!;
    if (vihl >> 4 !== 4) return 'bad-ip-header';
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < 20) return 'bad-ip-header';
    if (end - o < ihl) return 'truncated-ip-header';
    let totalLen = dv.getUint16(o + 2);
    if (totalLen === 0) totalLen = end - o; // TSO: length left to the NIC
    if (totalLen < ihl) return 'bad-ip-header';
    const fragField = dv.getUint16(o + 6);
    proto = buf[o + 9]!;
    p.ipVersion = 4;
    p.src0 = p.src1 = p.src2 = 0;
    p.dst0 = p.dst1 = p.dst2 = 0;
    p.src3 = dv.getUint32(o + 12);
    p.dst3 = dv.getUint32(o + 16);
    p.ipLen = totalLen;
    l4 = o + ihl;
    l4End = o + totalLen;
    const more = (fragField & 0x2000) !== 0;
    const fragOff = (fragField & 0x1fff) * 8;
    if (more || fragOff > 0) {
      const avail = Math.min(l4End, end);
      const key = `4:${p.src3}:${p.dst3}:${dv.getUint16(o + 4)}:${proto}`;
      const whole = defrag.add(key, tsUs, fragOff, more, buf.subarray(l4, avail), proto);
      if (!whole) return 'fragment-pending';
      p.ipLen = ihl + whole.length;
      return decodeReassembled(p, proto, whole, tsUs, defrag, tunnels);
    }
  } else {
    if (end - o < 40) return 'truncated-ip-header';
    if (buf[o]! >> 4 !== 6) return 'bad-ip-header';
    const payloadLen = dv.getUint16(o + 4);
    let next = buf[o + 6]!;
    p.ipVersion = 6;
    p.src0 = dv.getUint32(o + 8);
    p.src1 = dv.getUint32(o + 12);
    p.src2 = dv.getUint32(o + 16);
    p.src3 = dv.getUint32(o + 20);
    p.dst0 = dv.getUint32(o + 24);
    p.dst1 = dv.getUint32(o + 28);
    p.dst2 = dv.getUint32(o + 32);
    p.dst3 = dv.getUint32(o + 36);
    l4End = o + 40 + (payloadLen === 0 ? end - o - 40 : payloadLen); // 0: jumbogram/TSO
    p.ipLen = l4End - o;
    l4 = o + 40;
    let fragInfo: { off: number; more: boolean; id: number } | null = null;
    for (let i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
      if (
        next === 0 ||
        next === 43 ||
        next === 60 ||
        next === 135 ||
        next === 139 ||
        next === 140
      ) {
        if (end - l4 < 8) return 'truncated-ip-header';
        const hlen = (buf[l4 + 1]! + 1) * 8;
        next = buf[l4]!;
        l4 += hlen;
      } else if (next === 51) {
        if (end - l4 < 8) return 'truncated-ip-header';
        const hlen = (buf[l4 + 1]! + 2) * 4;
        next = buf[l4]!;
        l4 += hlen;
      } else if (next === 44) {
        if (end - l4 < 8) return 'truncated-ip-header';
        const fo = dv.getUint16(l4 + 2);
        fragInfo = { off: fo & 0xfff8, more: (fo & 1) === 1, id: dv.getUint32(l4 + 4) };
        next = buf[l4]!;
        l4 += 8;
      } else break;
    }
    if (l4 > l4End) return 'bad-ip-header';
    proto = next;
    if (fragInfo && (fragInfo.more || fragInfo.off > 0)) {
      const avail = Math.min(l4End, end);
      const key = `6:${p.src0}:${p.src1}:${p.src2}:${p.src3}:${p.dst0}:${p.dst1}:${p.dst2}:${p.dst3}:${fragInfo.id}`;
      const whole = defrag.add(
        key,
        tsUs,
        fragInfo.off,
        fragInfo.more,
        buf.subarray(l4, avail),
        proto,
      );
      if (!whole) return 'fragment-pending';
      p.ipLen = 40 + whole.length;
      return decodeReassembled(p, proto, whole, tsUs, defrag, tunnels);
    }
  }
  return decodeL4(p, proto, buf, dv, l4, Math.min(end, l4End), l4End, false, tsUs, defrag, tunnels);
}

/** The payload of a reassembled IP datagram (its own buffer). */
function decodeReassembled(
  p: Packet,
  proto: number,
  whole: Buffer,
  tsUs: number,
  defrag: Defragmenter,
  tunnels: number,
): PacketSkip | null {
  const dv = new DataView(whole.buffer, whole.byteOffset, whole.length);
  return decodeL4(p, proto, whole, dv, 0, whole.length, whole.length, true, tsUs, defrag, tunnels);
}

/**
 * The IP payload: tunnels are opened (IP-in-IP, IPv6-in-IPv4, GRE with ERSPAN, VXLAN, Geneve) and
 * `p` describes the innermost packet, as Wireshark dissects them — a capture on a Kubernetes node
 * or behind a cloud mirror carries the pods' TCP inside these. Then TCP/UDP headers.
 */
function decodeL4(
  p: Packet,
  proto: number,
  buf: Buffer,
  dv: DataView,
  l4: number,
  capEnd: number,
  ipEnd: number,
  reassembled: boolean,
  tsUs: number,
  defrag: Defragmenter,
  tunnels: number,
): PacketSkip | null {
  if (tunnels > 0) {
    if (proto === IPPROTO_IPIP || proto === IPPROTO_IPV6_IN_IP)
      return decodeIp(
        p,
        proto === IPPROTO_IPIP ? 4 : 6,
        buf,
        dv,
        l4,
        capEnd,
        tsUs,
        defrag,
        tunnels - 1,
      );
    if (proto === IPPROTO_GRE) {
      const inner = greInner(buf, dv, l4, capEnd);
      if (inner !== null) return decodeInner(p, inner, buf, dv, capEnd, tsUs, defrag, tunnels - 1);
    }
  }
  const why = decodeTransport(p, proto, buf, dv, l4, capEnd, ipEnd, reassembled);
  if (why === null && tunnels > 0 && proto === IPPROTO_UDP) {
    const d = p.dport;
    if (d === UDP_VXLAN || d === UDP_VXLAN_LINUX || d === UDP_GENEVE) {
      const inner =
        d === UDP_GENEVE
          ? geneveInner(buf, dv, p.payloadOff, capEnd)
          : vxlanInner(buf, p.payloadOff, capEnd);
      if (inner !== null) return decodeInner(p, inner, buf, dv, capEnd, tsUs, defrag, tunnels - 1);
    }
  }
  return why;
}

/** Where a tunnel's payload starts and what it is (an ethertype; ETHERTYPE_TEB = Ethernet). */
interface Inner {
  off: number;
  ethertype: number;
}
const ETHERTYPE_TEB = 0x6558;
const ETHERTYPE_ERSPAN_2 = 0x88be;
const ETHERTYPE_ERSPAN_3 = 0x22eb;

function decodeInner(
  p: Packet,
  inner: Inner,
  buf: Buffer,
  dv: DataView,
  capEnd: number,
  tsUs: number,
  defrag: Defragmenter,
  tunnels: number,
): PacketSkip | null {
  if (inner.ethertype === ETHERTYPE_TEB)
    return decodeFrame(
      p,
      LINKTYPE_ETHERNET,
      buf,
      dv,
      inner.off,
      capEnd - inner.off,
      tsUs,
      defrag,
      tunnels,
    );
  if (inner.ethertype === ETHERTYPE_IPV4)
    return decodeIp(p, 4, buf, dv, inner.off, capEnd, tsUs, defrag, tunnels);
  if (inner.ethertype === ETHERTYPE_IPV6)
    return decodeIp(p, 6, buf, dv, inner.off, capEnd, tsUs, defrag, tunnels);
  return 'non-ip';
}

/** GRE (RFC 2784/2890), version 0: optional checksum, key, sequence; ERSPAN II/III mirrors. */
function greInner(buf: Buffer, dv: DataView, o: number, end: number): Inner | null {
  if (end - o < 4) return null;
  const flags = dv.getUint16(o);
  if ((flags & 7) !== 0) return null; // version 1 is PPTP's enhanced GRE
  let type = dv.getUint16(o + 2);
  let q = o + 4;
  if (flags & 0x8000) q += 4; // checksum + reserved
  if (flags & 0x2000) q += 4; // key
  if (flags & 0x1000) q += 4; // sequence number
  if (type === ETHERTYPE_ERSPAN_2) {
    q += 8;
    type = ETHERTYPE_TEB;
  } else if (type === ETHERTYPE_ERSPAN_3) {
    if (end - q < 12) return null;
    const optional = (buf[q + 11]! & 1) !== 0; // O bit: an 8-byte platform-specific subheader
    q += optional ? 20 : 12;
    type = ETHERTYPE_TEB;
  }
  if (q >= end) return null;
  return { off: q, ethertype: type };
}

/** VXLAN (RFC 7348): 8 bytes, the I flag set, then an Ethernet frame. */
function vxlanInner(buf: Buffer, o: number, end: number): Inner | null {
  if (end - o < 8 + 14) return null;
  if ((buf[o]! & 0x08) === 0 || buf[o + 1] !== 0 || buf[o + 2] !== 0 || buf[o + 7] !== 0)
    return null;
  return { off: o + 8, ethertype: ETHERTYPE_TEB };
}

/** Geneve (RFC 8926): version 0, options length in 4-byte words, a protocol type. */
function geneveInner(buf: Buffer, dv: DataView, o: number, end: number): Inner | null {
  if (end - o < 8) return null;
  if (buf[o]! >> 6 !== 0) return null;
  const q = o + 8 + (buf[o]! & 0x3f) * 4;
  if (q >= end) return null;
  return { off: q, ethertype: dv.getUint16(o + 2) };
}

function decodeTransport(
  p: Packet,
  proto: number,
  buf: Buffer,
  dv: DataView,
  l4: number,
  capEnd: number,
  ipEnd: number,
  reassembled: boolean,
): PacketSkip | null {
  p.proto = proto;
  // (the same chunk for thousands of packets: a pointer store into the old-generation Packet
  // costs a write barrier each time)
  if (p.buf !== buf) p.buf = buf;
  p.reassembled = reassembled;
  if (proto === IPPROTO_TCP) {
    if (capEnd - l4 < 20) return 'truncated-transport-header';
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.seq = dv.getInt32(l4 + 4);
    p.ack = dv.getInt32(l4 + 8);
    const hlen = (buf[l4 + 12]! >> 4) * 4;
    p.flags = buf[l4 + 13]! | ((buf[l4 + 12]! & 1) << 8);
    p.window = dv.getUint16(l4 + 14);
    if (hlen < 20 || l4 + hlen > ipEnd) return 'bad-tcp-header';
    p.mss = 0;
    p.wscale = -1;
    p.sackPermitted = false;
    if (p.flags & TH_SYN && hlen > 20)
      readSynOptions(p, buf, dv, l4 + 20, Math.min(l4 + hlen, capEnd));
    p.payloadOff = l4 + hlen;
    p.payloadLen = ipEnd - (l4 + hlen);
    p.capPayloadLen = Math.max(0, capEnd - (l4 + hlen));
    return null;
  }
  if (proto === IPPROTO_UDP) {
    if (capEnd - l4 < 8) return 'truncated-transport-header';
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.seq = p.ack = p.flags = p.window = 0;
    p.payloadOff = l4 + 8;
    p.payloadLen = Math.max(0, ipEnd - l4 - 8);
    p.capPayloadLen = Math.max(0, capEnd - l4 - 8);
    return null;
  }
  p.sport = p.dport = 0;
  p.payloadOff = l4;
  p.payloadLen = Math.max(0, ipEnd - l4);
  p.capPayloadLen = Math.max(0, capEnd - l4);
  return 'other-ip-protocol';
}

function readSynOptions(p: Packet, buf: Buffer, dv: DataView, o: number, end: number): void {
  while (o < end) {
    const kind = buf[o]!;
    if (kind === 0) return;
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= end) return;
    const len = buf[o + 1]!;
    if (len < 2 || o + len > end) return;
    if (kind === 2 && len === 4) p.mss = dv.getUint16(o + 2);
    else if (kind === 3 && len === 3) p.wscale = Math.min(buf[o + 2]!, 14);
    else if (kind === 4) p.sackPermitted = true;
    o += len;
  }
}

/** Format an address held in a Packet-style 4-word form. */
export function formatAddress(
  version: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): string {
  if (version === 4) return `${w3 >>> 24}.${(w3 >>> 16) & 255}.${(w3 >>> 8) & 255}.${w3 & 255}`;
  const groups = [
    w0 >>> 16,
    w0 & 0xffff,
    w1 >>> 16,
    w1 & 0xffff,
    w2 >>> 16,
    w2 & 0xffff,
    w3 >>> 16,
    w3 & 0xffff,
  ];
  // RFC 5952: compress the longest run of two or more zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] === 0) {
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > bestLen && j - i >= 2) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    } else i++;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
