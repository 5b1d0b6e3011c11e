// Minimal capture reader for flow-export captures: classic pcap and pcapng, Ethernet (+VLAN), raw
// IP, Linux cooked (SLL/SLL2) and BSD loopback link types, IPv4/IPv6 → UDP datagrams. Stand-in
// until the capture engine (src/decoders/capture/) offers UDP payloads; it does no reassembly
// (IP fragments are counted, not joined). Chunked: keeps only the unparsed tail between chunks.
//
// pcap file header (24): 0 magic a1b2c3d4 (µs) / a1b23c4d (ns), either byte order | 4 version |
//   8 thiszone | 12 sigfigs | 16 snaplen | 20 linktype
// pcap record (16 + caplen): 0 ts_sec | 4 ts_usec/nsec | 8 caplen | 12 origlen
// pcapng block: 0 type | 4 total length | body | total length. SHB 0x0a0d0d0a (byte-order magic
//   1a2b3c4d at 8), IDB 1 (linktype(2) reserved(2) snaplen(4) options: if_tsresol = 9),
//   EPB 6 (interface(4) ts_hi(4) ts_lo(4) caplen(4) origlen(4) data), SPB 3 (origlen(4) data).

import { readIpv6 } from './ip.js';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const IPPROTO_UDP = 17;
const MAX_RECORD_BYTES = 256 * 1024;
const MAX_BLOCK_BYTES = 16 << 20;
const TWO_POW_32 = 4294967296;

export interface UdpDatagram {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  tsUs: number;
  /** Frame number, 1-based. */
  frame: number;
}

export interface UdpHandler {
  /** `buf[off, end)` is only valid during the call. */
  datagram(d: UdpDatagram, buf: Uint8Array, off: number, end: number): void;
  /** A frame that did not yield a UDP datagram (reason counted by the caller). */
  skip(reason: string, detail?: string): void;
}

export function isPcapMagic(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const m = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  return (
    m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1 || m === 0x0a0d0d0a
  );
}

interface Iface {
  linktype: number;
  /** Timestamp units per second. */
  tsPerSec: number;
}

/** Streams a capture; call `push` per chunk and `end` once. Errors are returned, never thrown. */
export class PcapUdpReader {
  private readonly h: UdpHandler;
  private tail: Uint8Array | null = null;
  private consumed = 0;
  private mode: 'start' | 'pcap' | 'pcapng' | 'failed' = 'start';
  private le = true;
  private linktype = LINKTYPE_ETHERNET;
  private tsPerSec = 1e6;
  private ifaces: Iface[] = [];
  private frame = 0;
  /** Set when the capture cannot be read further: a one-line reason with the byte offset. */
  error: { offset: number; message: string } | null = null;

  constructor(h: UdpHandler) {
    this.h = h;
  }

  get frames(): number {
    return this.frame;
  }

  push(chunk: Uint8Array): void {
    if (this.mode === 'failed') return;
    let buf = chunk;
    if (this.tail) {
      const b = new Uint8Array(this.tail.length + chunk.length);
      b.set(this.tail, 0);
      b.set(chunk, this.tail.length);
      buf = b;
      this.tail = null;
    }
    const used = this.parse(buf);
    this.consumed += used;
    if (used < buf.length && this.error === null) this.tail = buf.slice(used);
  }

  end(): void {
    if (this.mode === 'failed') return;
    if (this.tail && this.tail.length > 0) {
      this.fail(this.consumed, `capture ends inside a record (${this.tail.length} bytes left)`);
    } else if (this.mode === 'start') {
      this.fail(0, 'empty capture');
    }
    this.tail = null;
  }

  private fail(offset: number, message: string): void {
    this.mode = 'failed';
    this.error = { offset, message };
  }

  private parse(buf: Uint8Array): number {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let p = 0;
    if (this.mode === 'start') {
      if (buf.length < 24) return 0;
      const m = dv.getUint32(0, false);
      if (m === 0x0a0d0d0a) {
        this.mode = 'pcapng';
      } else if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) {
        this.mode = 'pcap';
        this.le = false;
        this.tsPerSec = m === 0xa1b23c4d ? 1e9 : 1e6;
      } else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1) {
        this.mode = 'pcap';
        this.le = true;
        this.tsPerSec = m === 0x4d3cb2a1 ? 1e9 : 1e6;
      } else {
        this.fail(0, 'not a pcap or pcapng capture');
        return 0;
      }
      if (this.mode === 'pcap') {
        this.linktype = dv.getUint32(20, this.le) & 0xffff;
        p = 24;
      }
    }
    if (this.mode === 'pcap') {
      while (p + 16 <= buf.length) {
        const tsSec = dv.getUint32(p, this.le);
        const tsFrac = dv.getUint32(p + 4, this.le);
        const caplen = dv.getUint32(p + 8, this.le);
        if (caplen > MAX_RECORD_BYTES) {
          this.fail(this.consumed + p, `record caplen ${caplen} exceeds ${MAX_RECORD_BYTES}`);
          return p;
        }
        if (p + 16 + caplen > buf.length) break;
        const tsUs = tsSec * 1e6 + (this.tsPerSec === 1e9 ? Math.floor(tsFrac / 1000) : tsFrac);
        this.frame++;
        this.link(this.linktype, tsUs, buf, dv, p + 16, p + 16 + caplen);
        p += 16 + caplen;
      }
      return p;
    }
    // pcapng
    while (p + 12 <= buf.length) {
      const type0 = dv.getUint32(p, this.le);
      if (type0 === 0x0a0d0d0a || dv.getUint32(p, false) === 0x0a0d0d0a) {
        const bom = dv.getUint32(p + 8, true);
        if (bom === 0x1a2b3c4d) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else {
          this.fail(this.consumed + p, 'pcapng section header has a bad byte-order magic');
          return p;
        }
        this.ifaces = [];
      }
      const type = dv.getUint32(p, this.le);
      const len = dv.getUint32(p + 4, this.le);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES) {
        this.fail(this.consumed + p, `pcapng block length ${len} is invalid`);
        return p;
      }
      if (p + len > buf.length) break;
      const body = p + 8;
      const bodyEnd = p + len - 4;
      if (type === 1 && bodyEnd - body >= 8) {
        let tsPerSec = 1e6;
        // Options: code(2) length(2) value padded to 4.
        let o = body + 8;
        while (o + 4 <= bodyEnd) {
          const code = dv.getUint16(o, this.le);
          const olen = dv.getUint16(o + 2, this.le);
          if (code === 0) break;
          if (code === 9 && olen >= 1 && o + 5 <= bodyEnd) {
            const v = buf[o + 4]!;
            tsPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
          }
          o += 4 + ((olen + 3) & ~3);
        }
        this.ifaces.push({ linktype: dv.getUint16(body, this.le), tsPerSec });
      } else if (type === 6 && bodyEnd - body >= 20) {
        const ifc = this.ifaces[dv.getUint32(body, this.le)];
        const caplen = dv.getUint32(body + 12, this.le);
        this.frame++;
        if (!ifc) this.h.skip('pcapng-unknown-interface');
        else if (body + 20 + caplen > bodyEnd) this.h.skip('bad-caplen');
        else {
          const ts = dv.getUint32(body + 4, this.le) * TWO_POW_32 + dv.getUint32(body + 8, this.le);
          const tsUs = Math.floor((ts / ifc.tsPerSec) * 1e6);
          this.link(ifc.linktype, tsUs, buf, dv, body + 20, body + 20 + caplen);
        }
      } else if (type === 3 && bodyEnd - body >= 4) {
        const ifc = this.ifaces[0];
        this.frame++;
        if (!ifc) this.h.skip('pcapng-unknown-interface');
        else this.link(ifc.linktype, 0, buf, dv, body + 4, bodyEnd);
      }
      p += len;
    }
    return p;
  }

  private link(
    linktype: number,
    tsUs: number,
    buf: Uint8Array,
    dv: DataView,
    p: number,
    end: number,
  ): void {
    let etype = -1;
    switch (linktype) {
      case LINKTYPE_ETHERNET: {
        if (end - p < 14) return this.h.skip('truncated-link');
        etype = dv.getUint16(p + 12);
        p += 14;
        while ((etype === ETHERTYPE_VLAN || etype === ETHERTYPE_QINQ) && end - p >= 4) {
          etype = dv.getUint16(p + 2);
          p += 4;
        }
        break;
      }
      case LINKTYPE_LINUX_SLL:
        if (end - p < 16) return this.h.skip('truncated-link');
        etype = dv.getUint16(p + 14);
        p += 16;
        break;
      case LINKTYPE_LINUX_SLL2:
        if (end - p < 20) return this.h.skip('truncated-link');
        etype = dv.getUint16(p);
        p += 20;
        break;
      case LINKTYPE_NULL:
      case LINKTYPE_LOOP: {
        if (end - p < 4) return this.h.skip('truncated-link');
        const fam = linktype === LINKTYPE_LOOP ? dv.getUint32(p) : dv.getUint32(p, true);
        const famBe = dv.getUint32(p);
        etype = fam === 2 || famBe === 2 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
        p += 4;
        break;
      }
      case LINKTYPE_RAW:
      case LINKTYPE_IPV4:
      case LINKTYPE_IPV6:
        if (end - p < 1) return this.h.skip('truncated-link');
        etype = buf[p]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
        break;
      default:
        return this.h.skip('unsupported-linktype', `linktype ${linktype}`);
    }
    if (etype === ETHERTYPE_IPV4) this.ipv4(tsUs, buf, dv, p, end);
    else if (etype === ETHERTYPE_IPV6) this.ipv6(tsUs, buf, dv, p, end);
    else this.h.skip('not-ip', `ethertype 0x${etype.toString(16)}`);
  }

  private ipv4(tsUs: number, buf: Uint8Array, dv: DataView, p: number, end: number): void {
    if (end - p < 20) return this.h.skip('truncated-ip');
    const ihl = (buf[p]! & 15) * 4;
    const total = dv.getUint16(p + 2);
    if (ihl < 20 || end - p < ihl) return this.h.skip('truncated-ip');
    const fragField = dv.getUint16(p + 6);
    if (fragField & 0x3fff) return this.h.skip('ip-fragment');
    if (buf[p + 9] !== IPPROTO_UDP) return this.h.skip('not-udp');
    const ipEnd = total >= ihl && p + total <= end ? p + total : end;
    const srcIp = `${buf[p + 12]}.${buf[p + 13]}.${buf[p + 14]}.${buf[p + 15]}`;
    const dstIp = `${buf[p + 16]}.${buf[p + 17]}.${buf[p + 18]}.${buf[p + 19]}`;
    this.udp(srcIp, dstIp, tsUs, buf, dv, p + ihl, ipEnd);
  }

  private ipv6(tsUs: number, buf: Uint8Array, dv: DataView, p: number, end: number): void {
    if (end - p < 40) return this.h.skip('truncated-ip');
    const payloadLen = dv.getUint16(p + 4);
    let next = buf[p + 6]!;
    const srcIp = readIpv6(buf, p + 8);
    const dstIp = readIpv6(buf, p + 24);
    const ipEnd = p + 40 + payloadLen <= end ? p + 40 + payloadLen : end;
    let q = p + 40;
    // Skip hop-by-hop, routing, destination options; a fragment header means no reassembly here.
    for (let guard = 0; guard < 8 && (next === 0 || next === 43 || next === 60); guard++) {
      if (q + 8 > ipEnd) return this.h.skip('truncated-ip');
      next = buf[q]!;
      q += (buf[q + 1]! + 1) * 8;
    }
    if (next === 44) return this.h.skip('ip-fragment');
    if (next !== IPPROTO_UDP) return this.h.skip('not-udp');
    this.udp(srcIp, dstIp, tsUs, buf, dv, q, ipEnd);
  }

  private udp(
    srcIp: string,
    dstIp: string,
    tsUs: number,
    buf: Uint8Array,
    dv: DataView,
    p: number,
    end: number,
  ): void {
    if (end - p < 8) return this.h.skip('truncated-udp');
    const len = dv.getUint16(p + 4);
    const udpEnd = len >= 8 && p + len <= end ? p + len : end;
    this.h.datagram(
      {
        srcIp,
        dstIp,
        srcPort: dv.getUint16(p),
        dstPort: dv.getUint16(p + 2),
        tsUs,
        frame: this.frame,
      },
      buf,
      p + 8,
      udpEnd,
    );
  }
}
