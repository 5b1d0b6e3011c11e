// Streaming reader for pcap and pcapng capture files. Fed chunks of any size, it emits frames
// and keeps only the unparsed tail between chunks (copying only a record that straddles two).
//
// pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-01.html):
//   global header, 24 bytes:
//     0  u32 magic   a1b2c3d4 (µs) | a1b23c4d (ns); byte-swapped when written big-endian
//     4  u16 version major, 6 u16 minor, 8 i32 thiszone, 12 u32 sigfigs
//    16  u32 snaplen
//    20  u32 linktype (low 16 bits; the upper bits carry FCS information)
//   record header, 16 bytes: 0 u32 ts_sec, 4 u32 ts_usec|ts_nsec, 8 u32 incl_len, 12 u32 orig_len
//
// pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): blocks of
//     0 u32 type, 4 u32 total length (multiple of 4, repeated at the end), body
//   SHB 0x0a0d0d0a: 8 u32 byte-order magic 1a2b3c4d, 12 u16 major, 14 u16 minor, 16 i64 section
//                   length, options. Each SHB starts a section with its own byte order and IDBs.
//   IDB 0x00000001: 8 u16 linktype, 10 u16 reserved, 12 u32 snaplen, 16 options
//                   (if_tsresol code 9: 1 byte; if_tsoffset code 14: i64 seconds)
//   EPB 0x00000006: 8 u32 interface id, 12 u32 ts high, 16 u32 ts low, 20 u32 captured length,
//                   24 u32 original length, 28 data (padded to 4), options
//   SPB 0x00000003: 8 u32 original length, 12 data (captured = min(orig, snaplen, block room))
//   PB  0x00000002 (obsolete): 8 u16 interface id, 10 u16 drops, 12 ts high, 16 ts low,
//                   20 caplen, 24 origlen, 28 data
//   DSB 0x0000000a: 8 u32 secrets type, 12 u32 secrets length, 16 secrets data (padded to 4),
//                   options. Type 544c534b 'TLSK' is an NSS key log (what `editcap
//                   --inject-secrets tls,keys.txt` writes); the data goes to the sink's secrets().
//   Every other block type is skipped by its length.

import type { Quality } from '../../model/quality.js';
import { MAX_KEYLOG_BYTES } from '../proto/tls-decrypt.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_PB = 0x00000002;
export const PCAPNG_SPB = 0x00000003;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_DSB = 0x0000000a;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Largest frame accepted (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD). */
export const MAX_FRAME_BYTES = 262144;
/** Largest pcapng block accepted (a frame plus generous options). */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/** Interfaces per section (hostile files declare thousands). */
export const MAX_INTERFACES = 65536;
/**
 * Largest Decryption Secrets Block accepted: one can carry a whole key log (as large as
 * MAX_KEYLOG_BYTES, the most read from a --tls-keylog file) plus its header and options.
 */
export const MAX_SECRETS_BLOCK_BYTES = MAX_KEYLOG_BYTES + 65536;

export interface FrameSink {
  /**
   * One frame. `buf[off, off+capLen)` holds the captured bytes and is only valid during the call.
   * `frameNo` is 1-based as in Wireshark; `tsUs` is UTC microseconds (fractional for ns).
   */
  frame(
    frameNo: number,
    tsUs: number,
    linktype: number,
    buf: Buffer,
    off: number,
    capLen: number,
    origLen: number,
    ifIndex: number,
  ): void;
  /**
   * The secrets of a pcapng Decryption Secrets Block (`type`: the spec's secrets type, e.g.
   * 0x544c534b TLS key log). `buf[off, off+len)` is only valid during the call; `at` is the
   * block's byte offset in the file. Called in file order, before the frames that follow it.
   */
  secrets?(type: number, buf: Buffer, off: number, len: number, at: number): void;
}

export type CaptureFormat = 'pcap' | 'pcapng';

interface Iface {
  linktype: number;
  snaplen: number;
  /** Multiply a raw 64-bit timestamp (as hi*2^32+lo) by this to get µs. */
  unitsToUs: number;
  /** Divisor alternative for exactness with power-of-ten resolutions (units per second). */
  unitsPerSec: number;
  offsetSec: number;
}

export class CaptureFormatError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** Recognise a capture by its first 4 bytes. */
export function sniffCapture(head: Uint8Array): CaptureFormat | null {
  if (head.length < 4) return null;
  const le = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS || be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS)
    return 'pcap';
  if (le === PCAPNG_SHB) return 'pcapng';
  return null;
}

/**
 * Push-style capture reader. Call `push(chunk)` for each chunk, then `end()`. Structural damage
 * (a record length no reader could accept) throws CaptureFormatError with the byte offset; frames
 * before it have been delivered. A record cut short by the end of the file is counted, not thrown.
 */
export class CaptureReader {
  format: CaptureFormat | null = null;
  /** Frames delivered. */
  frames = 0;
  /** Set by end(): the input ended in the middle of a record. */
  cutShort = false;
  private tail: Buffer | null = null;
  /** A record spanning several chunks: its parts so far (`tail` is then null), and its length. */
  private gathered: Buffer[] | null = null;
  private gatheredBytes = 0;
  private gatherNeed = 0;
  /** File offset of the first byte of `tail` / of the next unparsed byte. */
  private pos = 0;
  // pcap state
  private pcapLe = true;
  private pcapNs = false;
  private pcapLinktype = 0;
  private pcapSnaplen = 0;
  private headerDone = false;
  // pcapng state
  private ngLe = true;
  private ifaces: Iface[] = [];
  private readonly sink: FrameSink;
  private readonly quality: Quality;

  /** `firstFrame`: frames already delivered by earlier streams (numbering continues after them). */
  constructor(sink: FrameSink, quality: Quality, firstFrame = 0) {
    this.sink = sink;
    this.quality = quality;
    this.frames = firstFrame;
  }

  /** Set when the capture is structurally damaged: reading stopped there. */
  failure: { message: string; offset: number } | null = null;

  /** Feed a chunk. Never throws: damage sets `failure` and further input is ignored. */
  push(chunk: Buffer): void {
    if (this.failure) return;
    try {
      this.pushUnsafe(chunk);
    } catch (err) {
      if (!(err instanceof CaptureFormatError)) throw err;
      this.failure = { message: err.message, offset: err.offset };
      this.tail = null;
    }
  }

  private pushUnsafe(chunk: Buffer): void {
    let buf = chunk;
    if (this.gathered !== null) {
      // A record larger than a chunk (a secrets block carrying a whole key log): its parts are
      // kept until it is complete, then joined once (joining at every chunk would be quadratic).
      this.gathered.push(Buffer.from(chunk));
      this.gatheredBytes += chunk.length;
      if (this.gatheredBytes < this.gatherNeed) return;
      buf = Buffer.concat(this.gathered);
      this.gathered = null;
      this.gatheredBytes = 0;
      this.tail = null;
    } else if (this.tail && this.tail.length > 0) {
      // A record straddles the chunks: copy only that record, then go on in the new chunk
      // (concatenating whole 1 MiB chunks cost ~5 % of a run).
      const need = this.straddleLength(this.tail, chunk);
      if (this.format === 'pcapng' && need > this.tail.length + chunk.length) {
        this.gathered = [this.tail, Buffer.from(chunk)];
        this.gatheredBytes = this.tail.length + chunk.length;
        this.gatherNeed = need;
        this.tail = null;
        return;
      }
      if (need > 0 && need <= this.tail.length + chunk.length) {
        const take = need - this.tail.length;
        const rec = Buffer.concat([this.tail, chunk.subarray(0, take)]);
        this.tail = null;
        const used = this.format === 'pcapng' ? this.parseNg(rec) : this.parsePcap(rec);
        this.pos += used;
        if (used < rec.length) {
          // Not consumed (damage is thrown above): fall back to joining everything.
          this.tail = Buffer.from(rec.subarray(used));
          buf = Buffer.concat([this.tail, chunk.subarray(take)]);
          this.tail = null;
        } else buf = chunk.subarray(take);
      } else {
        buf = Buffer.concat([this.tail, chunk]);
        this.tail = null;
      }
    }
    const used =
      this.format === 'pcapng' || (this.format === null && sniffCapture(buf) === 'pcapng')
        ? this.parseNg(buf)
        : this.parsePcap(buf);
    this.pos += used;
    this.tail = used < buf.length ? Buffer.from(buf.subarray(used)) : null;
  }

  /**
   * Length of the record that starts the tail, reading its length field across tail and chunk;
   * -1 when unknown (header still incomplete, or before the file header was parsed).
   */
  private straddleLength(tail: Buffer, chunk: Buffer): number {
    const at = (i: number): number => (i < tail.length ? tail[i]! : (chunk[i - tail.length] ?? -1));
    const u32 = (o: number, le: boolean): number => {
      const b0 = at(o);
      const b1 = at(o + 1);
      const b2 = at(o + 2);
      const b3 = at(o + 3);
      if (b3 < 0) return -1;
      return le
        ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
        : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
    };
    if (this.format === 'pcap' && this.headerDone) {
      const incl = u32(8, this.pcapLe);
      return incl < 0 || incl > MAX_BLOCK_BYTES ? -1 : 16 + incl;
    }
    if (this.format === 'pcapng') {
      // The first block of a section decides its own byte order: leave that to the slow path.
      if (u32(0, true) === PCAPNG_SHB) return -1;
      const len = u32(4, this.ngLe);
      return len < 12 || len % 4 !== 0 || len > blockLimit(u32(0, this.ngLe)) ? -1 : len;
    }
    return -1;
  }

  /** The input ended. Returns the number of leftover bytes (a record cut short), 0 if clean. */
  end(): number {
    if (this.failure) return 0;
    const left = this.tail ? this.tail.length : this.gatheredBytes;
    if (this.format === null) {
      this.failure = {
        message: left > 0 ? 'too short to be a capture' : 'empty file, not a capture',
        offset: 0,
      };
    } else if (left > 0) {
      this.cutShort = true;
      this.quality.skip(
        'truncated-record',
        `byte ${this.pos}`,
        `capture ends ${left} bytes into a record`,
      );
    }
    this.tail = null;
    this.gathered = null;
    this.gatheredBytes = 0;
    return left;
  }

  /** Offset of the next unparsed byte in the file. */
  get offset(): number {
    return this.pos;
  }

  private parsePcap(buf: Buffer): number {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    let off = 0;
    if (!this.headerDone) {
      if (buf.length < 24) return 0;
      const magicLe = dv.getUint32(0, true);
      if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) {
        this.pcapLe = true;
        this.pcapNs = magicLe === PCAP_MAGIC_NS;
      } else {
        const magicBe = dv.getUint32(0, false);
        if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) {
          this.pcapLe = false;
          this.pcapNs = magicBe === PCAP_MAGIC_NS;
        } else {
          throw new CaptureFormatError(
            `not a pcap or pcapng capture (magic 0x${magicLe.toString(16).padStart(8, '0')})`,
            0,
          );
        }
      }
      this.format = 'pcap';
      this.pcapSnaplen = dv.getUint32(16, this.pcapLe);
      this.pcapLinktype = dv.getUint32(20, this.pcapLe) & 0xffff;
      this.headerDone = true;
      off = 24;
    }
    const le = this.pcapLe;
    const div = this.pcapNs ? 1000 : 1;
    const maxLen = Math.max(
      MAX_FRAME_BYTES,
      this.pcapSnaplen > MAX_BLOCK_BYTES ? 0 : this.pcapSnaplen,
    );
    const linktype = this.pcapLinktype;
    const sink = this.sink;
    while (off + 16 <= buf.length) {
      const inclLen = dv.getUint32(off + 8, le);
      if (inclLen > maxLen) {
        throw new CaptureFormatError(
          `record ${this.frames + 1} claims ${inclLen} captured bytes (limit ${maxLen}); the file is damaged`,
          this.pos + off,
        );
      }
      if (off + 16 + inclLen > buf.length) break;
      const sec = dv.getUint32(off, le);
      const frac = dv.getUint32(off + 4, le);
      const origLen = dv.getUint32(off + 12, le);
      const tsUs = sec * 1e6 + frac / div;
      this.frames++;
      sink.frame(
        this.frames,
        tsUs,
        linktype,
        buf,
        off + 16,
        inclLen,
        Math.max(origLen, inclLen),
        0,
      );
      off += 16 + inclLen;
    }
    return off;
  }

  private parseNg(buf: Buffer): number {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    let off = 0;
    this.format = 'pcapng';
    while (off + 12 <= buf.length) {
      const typeLe = dv.getUint32(off, true);
      if (typeLe === PCAPNG_SHB) {
        // Byte order comes from the SHB itself.
        const bom = dv.getUint32(off + 8, true);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.ngLe = true;
        else if (dv.getUint32(off + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) this.ngLe = false;
        else
          throw new CaptureFormatError(
            'pcapng section header has a bad byte-order magic',
            this.pos + off,
          );
      } else if (this.frames === 0 && this.pos + off === 0) {
        throw new CaptureFormatError('not a pcap or pcapng capture', 0);
      }
      const le = this.ngLe;
      const type = dv.getUint32(off, le);
      const len = dv.getUint32(off + 4, le);
      if (len < 12 || len % 4 !== 0 || len > blockLimit(type)) {
        throw new CaptureFormatError(
          `pcapng block of type 0x${type.toString(16)} has an invalid length ${len}; the file is damaged`,
          this.pos + off,
        );
      }
      if (off + len > buf.length) break;
      const end = off + len - 4;
      switch (type) {
        case PCAPNG_SHB:
          this.ifaces = [];
          break;
        case PCAPNG_IDB:
          this.readIdb(dv, off, end, le);
          break;
        case PCAPNG_EPB:
        case PCAPNG_PB:
          this.readEpb(buf, dv, off, end, le, type === PCAPNG_PB);
          break;
        case PCAPNG_SPB:
          this.readSpb(buf, dv, off, end, le);
          break;
        case PCAPNG_DSB:
          this.readDsb(buf, dv, off, end, le);
          break;
        default:
          break; // NRB, ISB, custom and unknown blocks: skipped by length
      }
      off += len;
    }
    return off;
  }

  private readIdb(dv: DataView, off: number, end: number, le: boolean): void {
    if (end - off < 16) {
      this.quality.note('bad-interface-block', `byte ${this.pos + off}`);
      return;
    }
    const linktype = dv.getUint16(off + 8, le);
    const snaplen = dv.getUint32(off + 12, le);
    let unitsPerSec = 1e6;
    let offsetSec = 0;
    // Options: code u16, length u16, value padded to 4.
    let o = off + 16;
    while (o + 4 <= end) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === 0) break;
      if (o + 4 + olen > end) break;
      if (code === 9 && olen >= 1) {
        const r = dv.getUint8(o + 4);
        const exp = r & 0x7f;
        unitsPerSec = r & 0x80 ? 2 ** Math.min(exp, 63) : 10 ** Math.min(exp, 18);
      } else if (code === 14 && olen >= 8) {
        offsetSec = Number(dv.getBigInt64(o + 4, le));
      }
      o += 4 + ((olen + 3) & ~3);
    }
    if (this.ifaces.length >= MAX_INTERFACES) {
      this.quality.note('too-many-interfaces', `byte ${this.pos + off}`);
      return;
    }
    this.ifaces.push({ linktype, snaplen, unitsToUs: 1e6 / unitsPerSec, unitsPerSec, offsetSec });
  }

  private tsToUs(iface: Iface, hi: number, lo: number): number {
    const units = hi * 4294967296 + lo;
    let us: number;
    if (iface.unitsPerSec === 1e6) us = units;
    else if (iface.unitsPerSec === 1e9) us = units / 1000;
    else {
      // Split into whole seconds and a remainder to keep precision for large unit counts.
      const sec = Math.floor(units / iface.unitsPerSec);
      us = sec * 1e6 + (units - sec * iface.unitsPerSec) * iface.unitsToUs;
    }
    return us + iface.offsetSec * 1e6;
  }

  private readEpb(
    buf: Buffer,
    dv: DataView,
    off: number,
    end: number,
    le: boolean,
    obsolete: boolean,
  ): void {
    if (end - off < 28) {
      this.quality.skip('bad-packet-block', `byte ${this.pos + off}`);
      return;
    }
    const ifIndex = obsolete ? dv.getUint16(off + 8, le) : dv.getUint32(off + 8, le);
    const hi = dv.getUint32(off + 12, le);
    const lo = dv.getUint32(off + 16, le);
    let capLen = dv.getUint32(off + 20, le);
    const origLen = dv.getUint32(off + 24, le);
    const iface = this.ifaces[ifIndex];
    if (!iface) {
      this.quality.skip('unknown-interface', `byte ${this.pos + off}`, `interface ${ifIndex}`);
      return;
    }
    if (capLen > end - (off + 28)) {
      this.quality.note('block-shorter-than-captured-length', `byte ${this.pos + off}`);
      capLen = end - (off + 28);
    }
    if (capLen > MAX_FRAME_BYTES && capLen > iface.snaplen) {
      this.quality.skip('oversized-frame', `byte ${this.pos + off}`, `${capLen} bytes`);
      return;
    }
    this.frames++;
    this.sink.frame(
      this.frames,
      this.tsToUs(iface, hi, lo),
      iface.linktype,
      buf,
      off + 28,
      capLen,
      Math.max(origLen, capLen),
      ifIndex,
    );
  }

  /**
   * A Decryption Secrets Block: its secrets to the sink. A secrets length the block cannot hold
   * skips the block (counted with its offset); reading goes on with the next block.
   */
  private readDsb(buf: Buffer, dv: DataView, off: number, end: number, le: boolean): void {
    const at = `byte ${this.pos + off}`;
    if (end - off < 16) {
      this.quality.skip('bad-secrets-block', at, 'block too short for a secrets header');
      return;
    }
    const type = dv.getUint32(off + 8, le);
    const len = dv.getUint32(off + 12, le);
    const room = end - (off + 16);
    if (len > room) {
      this.quality.skip(
        'bad-secrets-block',
        at,
        `secrets length ${len} exceeds the block's ${room} bytes`,
      );
      return;
    }
    this.sink.secrets?.(type, buf, off + 16, len, this.pos + off);
  }

  private readSpb(buf: Buffer, dv: DataView, off: number, end: number, le: boolean): void {
    const iface = this.ifaces[0];
    if (!iface || end - off < 12) {
      this.quality.skip('bad-simple-packet-block', `byte ${this.pos + off}`);
      return;
    }
    const origLen = dv.getUint32(off + 8, le);
    let capLen = Math.min(origLen, end - (off + 12));
    if (iface.snaplen > 0) capLen = Math.min(capLen, iface.snaplen);
    this.frames++;
    // Simple packet blocks carry no timestamp.
    this.sink.frame(this.frames, 0, iface.linktype, buf, off + 12, capLen, origLen, 0);
  }
}

/** Largest pcapng block of this type accepted. */
function blockLimit(type: number): number {
  return type === PCAPNG_DSB ? MAX_SECRETS_BLOCK_BYTES : MAX_BLOCK_BYTES;
}
