// Test helpers: build Ethernet/IPv4/IPv6/TCP frames and pcap/pcapng files byte by byte, so tests
// can state exactly what is on the wire.

export interface TcpSpec {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags: string; // letters: S A F R P
  win?: number;
  payload?: string | Buffer;
  options?: Buffer;
  /** Claim this many payload bytes in the IP length (snaplen simulation keeps fewer). */
  ipPayloadLen?: number;
}

export function ipv4(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

export function ipv6(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16 };

export function tcpSegment(t: TcpSpec): Buffer {
  const payload =
    typeof t.payload === 'string'
      ? Buffer.from(t.payload, 'latin1')
      : (t.payload ?? Buffer.alloc(0));
  const opts = t.options ?? Buffer.alloc(0);
  const hlen = 20 + opts.length;
  const h = Buffer.alloc(hlen);
  h.writeUInt16BE(t.sport ?? 40000, 0);
  h.writeUInt16BE(t.dport ?? 80, 2);
  h.writeUInt32BE(t.seq >>> 0, 4);
  h.writeUInt32BE((t.ack ?? 0) >>> 0, 8);
  h[12] = (hlen / 4) << 4;
  let f = 0;
  for (const c of t.flags) f |= FLAG_BITS[c] ?? 0;
  h[13] = f;
  h.writeUInt16BE(t.win ?? 65535, 14);
  opts.copy(h, 20);
  return Buffer.concat([h, payload]);
}

export function ipv4Packet(
  src: string,
  dst: string,
  proto: number,
  l4: Buffer,
  opts: { id?: number; fragOff?: number; more?: boolean; totalLen?: number } = {},
): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(opts.totalLen ?? 20 + l4.length, 2);
  h.writeUInt16BE(opts.id ?? 1, 4);
  h.writeUInt16BE(((opts.more ? 1 : 0) << 13) | ((opts.fragOff ?? 0) >> 3), 6);
  h[8] = 64;
  h[9] = proto;
  ipv4(src).copy(h, 12);
  ipv4(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

export function ipv6Packet(src: string, dst: string, next: number, l4: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(l4.length, 4);
  h[6] = next;
  h[7] = 64;
  ipv6(src).copy(h, 8);
  ipv6(dst).copy(h, 24);
  return Buffer.concat([h, l4]);
}

export function ethernet(ethertype: number, payload: Buffer, vlans: number[] = []): Buffer {
  const parts: Buffer[] = [Buffer.from('020000000002020000000001', 'hex')];
  for (const v of vlans) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(0x8100, 0);
    tag.writeUInt16BE(v, 2);
    parts.push(tag.subarray(0, 2));
    parts.push(tag.subarray(2, 4));
  }
  const et = Buffer.alloc(2);
  et.writeUInt16BE(ethertype, 0);
  parts.push(et, payload);
  return Buffer.concat(parts);
}

/** An Ethernet/IPv4/TCP frame. */
export function tcpFrame(t: TcpSpec): Buffer {
  const seg = tcpSegment(t);
  const claimed =
    t.ipPayloadLen !== undefined
      ? 20 +
        (seg.length -
          (typeof t.payload === 'string' ? t.payload.length : (t.payload?.length ?? 0))) +
        t.ipPayloadLen
      : undefined;
  return ethernet(
    0x0800,
    ipv4Packet(
      t.src ?? '10.0.0.1',
      t.dst ?? '10.0.0.2',
      6,
      seg,
      claimed !== undefined ? { totalLen: claimed } : {},
    ),
  );
}

export interface FrameRec {
  tsUs: number;
  data: Buffer;
  origLen?: number;
}

/** A classic pcap file (µs, little-endian unless told). */
export function pcapFile(
  frames: FrameRec[],
  opts: { linktype?: number; bigEndian?: boolean; nanos?: boolean; snaplen?: number } = {},
): Buffer {
  const le = !opts.bigEndian;
  const g = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number): void => {
    if (le) b.writeUInt32LE(v >>> 0, o);
    else b.writeUInt32BE(v >>> 0, o);
  };
  const w16 = (b: Buffer, v: number, o: number): void => {
    if (le) b.writeUInt16LE(v, o);
    else b.writeUInt16BE(v, o);
  };
  w32(g, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(g, 2, 4);
  w16(g, 4, 6);
  w32(g, opts.snaplen ?? 262144, 16);
  w32(g, opts.linktype ?? 1, 20);
  const parts: Buffer[] = [g];
  for (const f of frames) {
    const r = Buffer.alloc(16);
    const sec = Math.floor(f.tsUs / 1e6);
    const frac = opts.nanos
      ? Math.round((f.tsUs - sec * 1e6) * 1000)
      : Math.round(f.tsUs - sec * 1e6);
    w32(r, sec, 0);
    w32(r, frac, 4);
    w32(r, f.data.length, 8);
    w32(r, f.origLen ?? f.data.length, 12);
    parts.push(r, f.data);
  }
  return Buffer.concat(parts);
}

function pad4(b: Buffer): Buffer {
  const n = (4 - (b.length % 4)) % 4;
  return n ? Buffer.concat([b, Buffer.alloc(n)]) : b;
}

export interface NgInterface {
  linktype: number;
  tsresol?: number; // raw if_tsresol byte
}

/** A pcapng section: SHB, IDBs, then EPBs (and any extra raw blocks placed first). */
export function pcapngSection(
  ifaces: NgInterface[],
  packets: { iface: number; tsUnits: bigint; data: Buffer }[],
  opts: { bigEndian?: boolean; extraBlocks?: Buffer[] } = {},
): Buffer {
  const le = !opts.bigEndian;
  const block = (type: number, body: Buffer): Buffer => {
    const b = pad4(body);
    const out = Buffer.alloc(12 + b.length);
    const len = out.length;
    if (le) {
      out.writeUInt32LE(type, 0);
      out.writeUInt32LE(len, 4);
      out.writeUInt32LE(len, len - 4);
    } else {
      out.writeUInt32BE(type, 0);
      out.writeUInt32BE(len, 4);
      out.writeUInt32BE(len, len - 4);
    }
    b.copy(out, 8);
    return out;
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  };
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  };
  const shbBody = Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)]);
  const blocks = [block(0x0a0d0d0a, shbBody), ...(opts.extraBlocks ?? [])];
  for (const i of ifaces) {
    const optsBuf =
      i.tsresol !== undefined
        ? Buffer.concat([u16(9), u16(1), Buffer.from([i.tsresol, 0, 0, 0]), u16(0), u16(0)])
        : Buffer.alloc(0);
    blocks.push(block(1, Buffer.concat([u16(i.linktype), u16(0), u32(0), optsBuf])));
  }
  for (const p of packets) {
    const hi = Number(p.tsUnits >> 32n);
    const lo = Number(p.tsUnits & 0xffffffffn);
    blocks.push(
      block(
        6,
        Buffer.concat([
          u32(p.iface),
          u32(hi),
          u32(lo),
          u32(p.data.length),
          u32(p.data.length),
          pad4(p.data),
        ]),
      ),
    );
  }
  return Buffer.concat(blocks);
}

/** A simple TCP conversation builder that tracks sequence numbers. */
export class Conversation {
  frames: FrameRec[] = [];
  private cseq: number;
  private sseq: number;
  private t: number;
  constructor(
    private readonly client = '10.0.0.1',
    private readonly server = '10.0.0.2',
    private readonly cport = 40000,
    private readonly sport = 80,
    startUs = 1_700_000_000_000_000,
    cisn = 1000,
    sisn = 5000,
  ) {
    this.cseq = cisn;
    this.sseq = sisn;
    this.t = startUs;
  }
  at(us: number): this {
    this.t += us;
    return this;
  }
  private push(
    fromClient: boolean,
    flags: string,
    payload: string | Buffer = '',
    opts: { seq?: number; win?: number; ack?: number } = {},
  ): this {
    const seq = opts.seq ?? (fromClient ? this.cseq : this.sseq);
    const ack = opts.ack ?? (fromClient ? this.sseq : this.cseq);
    this.frames.push({
      tsUs: this.t,
      data: tcpFrame({
        src: fromClient ? this.client : this.server,
        dst: fromClient ? this.server : this.client,
        sport: fromClient ? this.cport : this.sport,
        dport: fromClient ? this.sport : this.cport,
        seq,
        ack: flags.includes('A') ? ack : 0,
        flags,
        payload,
        ...(opts.win !== undefined ? { win: opts.win } : {}),
      }),
    });
    if (opts.seq === undefined) {
      const len =
        (typeof payload === 'string' ? Buffer.byteLength(payload, 'latin1') : payload.length) +
        (flags.includes('S') || flags.includes('F') ? 1 : 0);
      if (fromClient) this.cseq = (this.cseq + len) >>> 0;
      else this.sseq = (this.sseq + len) >>> 0;
    }
    return this;
  }
  handshake(rttUs = 1000): this {
    this.push(true, 'S');
    this.at(rttUs / 2);
    this.push(false, 'SA');
    this.at(rttUs / 2);
    return this.push(true, 'A');
  }
  c(
    flags: string,
    payload: string | Buffer = '',
    opts: { seq?: number; win?: number; ack?: number } = {},
  ): this {
    return this.push(true, flags, payload, opts);
  }
  s(
    flags: string,
    payload: string | Buffer = '',
    opts: { seq?: number; win?: number; ack?: number } = {},
  ): this {
    return this.push(false, flags, payload, opts);
  }
  get clientSeq(): number {
    return this.cseq;
  }
  get serverSeq(): number {
    return this.sseq;
  }
}
