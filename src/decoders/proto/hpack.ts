// HPACK header decompression (RFC 7541): static table (Appendix A), dynamic table with size
// updates and eviction (§4), integer (§5.1) and string (§5.2) literals, Huffman (hpack-huffman.ts).
//
// A passive observer may start mid-connection or lose bytes: the dynamic table is then unknown.
// `resetUnknown()` puts the decoder in a degraded mode where entries inserted from then on are
// tracked exactly (new entries take the lowest indices, the unknown older ones are evicted first),
// and references past them decode as `unknown` fields (counted in `unknownRefs`), never a throw.
// Bounds: integers > 2^28 and strings longer than the block are errors; the decoded list is cut at
// `maxHeaderListBytes` / `maxHeaders` / `maxValueChars`, but decoding goes on so the dynamic table
// stays in step with the encoder's.

import { huffmanDecode, huffmanLast } from './hpack-huffman.js';

export interface HeaderField {
  name: string;
  value: string;
}

/** RFC 7541 Appendix A; index 1..61 (index 0 unused). */
export const HPACK_STATIC_TABLE: readonly (readonly [string, string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = 61;

/** Name given to a field whose name or value came from an unknown dynamic-table entry. */
export const HPACK_UNKNOWN = '\u0000unknown';

/** Dynamic table size updates above this are treated as errors (hostile input). */
export const HPACK_MAX_TABLE_SIZE = 1 << 20;
const MAX_INT = 1 << 28;

export interface HpackOptions {
  /** Stop listing fields once name+value+32 summed over the list exceeds this. */
  maxHeaderListBytes: number;
  maxHeaders: number;
  maxValueChars: number;
}

export interface HpackResult {
  headers: HeaderField[];
  /** References to dynamic entries the decoder could not know (started mid-connection). */
  unknownRefs: number;
  /** Fields decoded but not listed (list size / count bound). */
  droppedFields: number;
  /** Set when the block is malformed; the decoder's table is then unknown (degraded mode). */
  error: string | null;
}

interface Entry {
  name: string;
  value: string;
  size: number;
  /** Octets of the name as sent (for sizing entries that reuse this name). */
  nameBytes: number;
}

export class HpackDecoder {
  /** Newest first is index 0 (HPACK index 62). Ring-free: small tables, unshift is rare enough. */
  private entries: Entry[] = [];
  private size = 0;
  private maxSize: number;
  /** The table may hold entries we never saw (older than all tracked ones). */
  private unknownTail: boolean;
  private readonly opts: HpackOptions;

  constructor(opts: HpackOptions, maxTableSize = 4096, startsUnknown = false) {
    this.opts = opts;
    this.maxSize = maxTableSize;
    this.unknownTail = startsUnknown;
  }

  /** True when references past the tracked entries cannot be resolved. */
  get degraded(): boolean {
    return this.unknownTail;
  }

  get tableSize(): number {
    return this.size;
  }

  get tableEntries(): number {
    return this.entries.length;
  }

  /** Forget the table (bytes were lost or a block could not be decoded). */
  resetUnknown(): void {
    this.entries = [];
    this.size = 0;
    this.unknownTail = true;
  }

  decode(buf: Uint8Array, off: number, end: number): HpackResult {
    const res: HpackResult = { headers: [], unknownRefs: 0, droppedFields: 0, error: null };
    let listBytes = 0;
    let p = off;
    while (p < end) {
      const b = buf[p] ?? 0;
      let name: string;
      let value: string;
      if ((b & 0x80) !== 0) {
        // Indexed field (§6.1): 1xxxxxxx
        const r = readInt(buf, p, end, 7);
        if (r < 0) return this.fail(res, 'bad integer');
        p = intEnd;
        if (r === 0) return this.fail(res, 'index 0');
        const e = this.lookup(r);
        if (e === null) return this.fail(res, 'index out of range');
        if (e === UNKNOWN_ENTRY) res.unknownRefs++;
        name = e.name;
        value = e.value;
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): 001xxxxx
        const r = readInt(buf, p, end, 5);
        if (r < 0) return this.fail(res, 'bad integer');
        p = intEnd;
        if (r > HPACK_MAX_TABLE_SIZE) return this.fail(res, 'table size update too large');
        this.maxSize = r;
        this.evict(0);
        continue;
      } else {
        // Literal (§6.2): 01xxxxxx incremental indexing, 0000xxxx without, 0001xxxx never indexed
        const indexing = (b & 0xc0) === 0x40;
        const prefix = indexing ? 6 : 4;
        const idx = readInt(buf, p, end, prefix);
        if (idx < 0) return this.fail(res, 'bad integer');
        p = intEnd;
        let nameBytes: number;
        if (idx === 0) {
          const s = readString(buf, p, end, this.opts.maxValueChars * 4);
          if (s === null) return this.fail(res, 'bad name string');
          name = s;
          nameBytes = strRawLen;
          p = strEnd;
        } else {
          const e = this.lookup(idx);
          if (e === null) return this.fail(res, 'index out of range');
          if (e === UNKNOWN_ENTRY) res.unknownRefs++;
          name = e.name;
          nameBytes = e.nameBytes;
        }
        const v = readString(buf, p, end, this.opts.maxValueChars * 4);
        if (v === null) return this.fail(res, 'bad value string');
        value = v;
        p = strEnd;
        if (indexing) {
          // An entry named from an unknown entry has an unknown size: the table can no longer be
          // sized exactly, so forget it rather than resolve later references wrongly.
          if (name === HPACK_UNKNOWN) this.resetUnknown();
          else this.insert(name, value, nameBytes, nameBytes + strRawLen + 32);
        }
      }
      listBytes += name.length + value.length + 32;
      if (listBytes > this.opts.maxHeaderListBytes || res.headers.length >= this.opts.maxHeaders) {
        res.droppedFields++;
      } else {
        res.headers.push({
          name,
          value:
            value.length > this.opts.maxValueChars
              ? value.slice(0, this.opts.maxValueChars)
              : value,
        });
      }
    }
    return res;
  }

  private fail(res: HpackResult, why: string): HpackResult {
    res.error = why;
    this.resetUnknown();
    return res;
  }

  private lookup(index: number): Entry | null {
    if (index <= STATIC_COUNT) {
      const s = HPACK_STATIC_TABLE[index];
      return s ? { name: s[0], value: s[1], size: 0, nameBytes: s[0].length } : null;
    }
    const e = this.entries[index - STATIC_COUNT - 1];
    if (e) return e;
    return this.unknownTail ? UNKNOWN_ENTRY : null;
  }

  /** `size` is name octets + value octets + 32 as sent (§4.1), whatever was kept of them. */
  private insert(name: string, value: string, nameBytes: number, size: number): void {
    if (size > this.maxSize) {
      // An entry larger than the table empties it (§4.4); the unknown tail is gone as well.
      this.entries = [];
      this.size = 0;
      this.unknownTail = false;
      return;
    }
    this.evict(size);
    this.entries.unshift({ name, value, size, nameBytes });
    this.size += size;
  }

  private evict(incoming: number): void {
    while (this.size + incoming > this.maxSize && this.entries.length > 0) {
      const e = this.entries.pop();
      if (e) this.size -= e.size;
    }
    if (this.maxSize === 0) this.unknownTail = false;
  }
}

const UNKNOWN_ENTRY: Entry = { name: HPACK_UNKNOWN, value: '', size: 0, nameBytes: 0 };

// Out-parameters of the readers (avoid allocating a tuple per field on the hot path).
let intEnd = 0;
let strEnd = 0;
let strRawLen = 0;

/** §5.1 prefixed integer at `p`; returns -1 when truncated or above 2^28. Sets intEnd. */
function readInt(buf: Uint8Array, p: number, end: number, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  let v = (buf[p] ?? 0) & mask;
  p++;
  if (v < mask) {
    intEnd = p;
    return v;
  }
  let shift = 0;
  for (;;) {
    if (p >= end) return -1;
    const b = buf[p++] ?? 0;
    v += (b & 0x7f) * 2 ** shift;
    if (v > MAX_INT) return -1;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  intEnd = p;
  return v;
}

/** §5.2 string literal at `p`; null when truncated or invalid. Sets strEnd and strRawLen. */
function readString(buf: Uint8Array, p: number, end: number, maxOutBytes: number): string | null {
  if (p >= end) return null;
  const huff = ((buf[p] ?? 0) & 0x80) !== 0;
  const len = readInt(buf, p, end, 7);
  if (len < 0) return null;
  p = intEnd;
  if (len > end - p) return null;
  strEnd = p + len;
  if (huff) {
    const s = huffmanDecode(buf, p, p + len, Math.max(maxOutBytes, 64));
    if (s === null) return null;
    strRawLen = huffmanLast.decodedBytes;
    return s;
  }
  strRawLen = len;
  const keep = Math.min(len, Math.max(maxOutBytes, 64));
  return Buffer.from(buf.buffer, buf.byteOffset + p, keep).toString('utf8');
}
