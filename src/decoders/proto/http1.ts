// HTTP/1.x (RFC 9112) over a reassembled TCP stream: requests and responses with pipelining,
// keep-alive, Content-Length and chunked bodies, read-until-close responses, 1xx interim responses
// (100-continue), HEAD/204/304 without bodies, Upgrade/CONNECT tunnels (h2c handed to HTTP/2),
// gaps (resynchronising on the next message start). Recognised by content, on any port.
// Per exchange: request first/last byte, response first/last byte, server time, body sizes,
// request-id style headers and traceparent, and optionally a bounded prefix of each body.
// With exchanges on, ML API traffic is analysed on the fly (llm.ts): a bounded prefix of JSON
// request bodies, and text/event-stream responses (de-chunked) with their capture times.

import type { Dir, Endpoint, Exchange, ExchangeLlm } from '../../model/records.js';
import type { ProtoContext, ProtoRecogniser, StreamParser } from './stream.js';
import { LlmStreamAnalyzer, analyzeMlRequest, isEventStream, mlEndpoint } from './llm.js';

/** Request-body bytes kept for ML request analysis (JSON prompts), as for HTTP/2… */
const ML_REQUEST_BODY_BYTES = 256 * 1024;
/** …and of other JSON request bodies (enough to recognise an LLM request on an unknown path). */
const OTHER_JSON_BODY_BYTES = 8 * 1024;

const CR = 13;
const LF = 10;
const SP = 32;

/** Methods accepted at the start of a stream (RFC 9110, WebDAV, and a few common extensions). */
const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'SEARCH',
  'REPORT',
  'MKCALENDAR',
  'NOTIFY',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'PURGE',
  'LINK',
  'UNLINK',
]);
const MAX_METHOD_LEN = 12;

/** Headers that carry a request id (first found wins, in this order). */
export const REQUEST_ID_HEADERS = [
  'x-request-id',
  'x-correlation-id',
  'request-id',
  'x-amzn-requestid',
  'x-amz-request-id',
  'x-req-id',
  'x-trace-id',
  'x-cloud-trace-context',
];

function startsWithAscii(buf: Uint8Array, off: number, end: number, s: string): boolean {
  if (end - off < s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Known methods as bytes, grouped by first letter, for allocation-free matching. */
const METHODS_BY_FIRST: (Uint8Array[] | undefined)[] = [];
for (const m of METHODS) {
  const b = Buffer.from(`${m} `, 'latin1');
  (METHODS_BY_FIRST[b[0]!] ??= []).push(new Uint8Array(b));
}

/** `HTTP/1.` at `off` (7 bytes the caller checked are there), byte by byte. */
function isHttp1At(buf: Uint8Array, off: number): boolean {
  return (
    buf[off] === 72 /* H */ &&
    buf[off + 1] === 84 /* T */ &&
    buf[off + 2] === 84 /* T */ &&
    buf[off + 3] === 80 /* P */ &&
    buf[off + 4] === 47 /* / */ &&
    buf[off + 5] === 49 /* 1 */ &&
    buf[off + 6] === 46 /* . */
  );
}

/** `METHOD SP` at `off` with a known method. Returns the method length, or 0. */
function methodAt(buf: Uint8Array, off: number, end: number): number {
  // GET without the table walk (the one method starting with G; every request passes here twice)
  if (buf[off] === 71 /* G */)
    return end - off >= 4 && buf[off + 1] === 69 && buf[off + 2] === 84 && buf[off + 3] === SP
      ? 3
      : 0;
  const cands = METHODS_BY_FIRST[buf[off] ?? 0];
  if (!cands) return 0;
  outer: for (const m of cands) {
    if (end - off < m.length) continue;
    for (let i = 1; i < m.length; i++) if (buf[off + i] !== m[i]) continue outer;
    return m.length - 1;
  }
  return 0;
}

export function looksLikeRequest(buf: Uint8Array, off: number, end: number): boolean {
  return methodAt(buf, off, end) > 0;
}

export function looksLikeResponse(buf: Uint8Array, off: number, end: number): boolean {
  return (
    // byte by byte: startsWithAscii's charCodeAt per character is several times slower
    (end - off >= 7 && isHttp1At(buf, off)) ||
    (end - off < 7 &&
      startsWithAscii(buf, off, end, 'HTTP/1.'.slice(0, end - off)) &&
      end - off >= 5)
  );
}

/** Find the end of a header block (index just past CRLFCRLF or LFLF), or -1. */
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** Find the end of a header block (index just past CRLFCRLF, or LFLF), or -1. */
function findHeadEnd(buf: Uint8Array, off: number, from: number, end: number): number {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  // Line endings follow the head's first line (at `off`, however the head was segmented): CRLF
  // (the norm, found by the native search) or bare LF. The search resumes at `from` (the bytes
  // before it were searched when they arrived).
  const firstLf = b.indexOf(LF, off);
  if (firstLf < 0 || firstLf >= end) return -1;
  if (firstLf > off && b[firstLf - 1] === CR) {
    const i = b.indexOf(CRLFCRLF, Math.max(from, firstLf - 1));
    return i >= 0 && i + 4 <= end ? i + 4 : -1;
  }
  let j = from - 2 > firstLf ? b.indexOf(LF, from - 2) : firstLf;
  while (j >= 0 && j + 1 < end) {
    if (b[j + 1] === LF) return j + 2;
    if (b[j + 1] === CR && j + 2 < end && b[j + 2] === LF) return j + 3;
    j = b.indexOf(LF, j + 1);
  }
  return -1;
}

interface Head {
  isRequest: boolean;
  method: string;
  target: string;
  version: string;
  status: number;
  reason: string;
  headers: Record<string, string>;
  contentLength: number; // -1 if absent/invalid
  chunked: boolean;
  connectionClose: boolean;
  upgrade: string | null;
  /** `Expect: 100-continue`: the client may hold the body back until the server agrees. */
  expectContinue: boolean;
}

/** A head before its start line is read: framing as given, everything else empty. */
function newHead(
  headers: Record<string, string>,
  contentLength: number,
  chunked: boolean,
  upgrade: string | null,
): Head {
  return {
    isRequest: false,
    method: '',
    target: '',
    version: '',
    status: 0,
    reason: '',
    headers,
    contentLength,
    chunked,
    connectionClose: false,
    upgrade,
    expectContinue: false,
  };
}

/** Lower-cased header names, interned (headers repeat on every message). */
const lowerNames = new Map<string, string>();
function lowerName(raw: string): string {
  let v = lowerNames.get(raw);
  if (v === undefined) {
    v = raw.trim().toLowerCase();
    if (lowerNames.size < 4096) lowerNames.set(raw, v);
  }
  return v;
}

function parseHead(text: string, ctx: ProtoContext): Head | null {
  let eol = text.indexOf('\n');
  if (eol < 0) eol = text.length;
  const first = text.charCodeAt(eol - 1) === CR ? text.slice(0, eol - 1) : text.slice(0, eol);
  const h = newHead({}, -1, false, null);
  if (first.startsWith('HTTP/')) {
    const m = /^HTTP\/(\d\.\d) +(\d{3})(?: (.*))?$/.exec(first);
    if (!m) return null;
    h.version = m[1]!;
    h.status = Number(m[2]);
    h.reason = m[3] ?? '';
  } else {
    const m = /^([A-Z][A-Z_-]*) +(\S+)(?: +HTTP\/(\d\.\d))?$/.exec(first);
    // the methods the recogniser and the framing-only scan know (a head that arrived a byte at a
    // time was never checked at its start)
    if (!m || !METHODS.has(m[1]!)) return null;
    h.isRequest = true;
    h.method = m[1]!;
    h.target = m[2]!;
    h.version = m[3] ?? '0.9';
  }
  const lim = ctx.limits;
  let n = 0;
  let pos = eol + 1;
  while (pos < text.length) {
    let e = text.indexOf('\n', pos);
    if (e < 0) e = text.length;
    const lineEnd = text.charCodeAt(e - 1) === CR ? e - 1 : e;
    const colon = text.indexOf(':', pos);
    const start = pos;
    pos = e + 1;
    if (colon <= start || colon >= lineEnd) continue;
    const name = lowerName(text.slice(start, colon));
    let value = text.slice(colon + 1, lineEnd).trim();
    switch (name) {
      case 'content-length': {
        const v = Number(value);
        if (Number.isInteger(v) && v >= 0) h.contentLength = v;
        break;
      }
      case 'transfer-encoding':
        if (/chunked/i.test(value)) h.chunked = true;
        break;
      case 'connection':
        if (/close/i.test(value)) h.connectionClose = true;
        break;
      case 'upgrade':
        h.upgrade = value.toLowerCase();
        break;
      case 'expect':
        if (/100-continue/i.test(value)) h.expectContinue = true;
        break;
      default:
        break;
    }
    if (n >= lim.maxHeaders) continue;
    if (value.length > lim.maxHeaderValueChars) value = value.slice(0, lim.maxHeaderValueChars);
    const prev = h.headers[name];
    h.headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    n++;
  }
  return h;
}

/** Whether the start line [off, lf) ends with ` HTTP/d.d` (optionally followed by CR). */
function lineHasVersion(buf: Uint8Array, off: number, lf: number): boolean {
  const e = lf > off && buf[lf - 1] === CR ? lf - 1 : lf;
  return (
    e - off >= 9 &&
    buf[e - 9] === SP &&
    buf[e - 8] === 72 /* H */ &&
    buf[e - 7] === 84 /* T */ &&
    buf[e - 6] === 84 /* T */ &&
    buf[e - 5] === 80 /* P */ &&
    buf[e - 4] === 47 /* / */
  );
}

/** Case-insensitive match of a lower-case ASCII name followed by ':' at `o`. */
function nameIs(buf: Uint8Array, o: number, end: number, lower: string): boolean {
  const n = lower.length;
  if (end - o <= n || buf[o + n] !== 58 /* ':' */) return false;
  for (let i = 0; i < n; i++) if ((buf[o + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * nameIs(buf, o, e, 'content-length') four bytes at a time (`dv` views `buf`): each word folded
 * with | 0x20 as nameIs folds each byte, the colon exact. Half the header lines of a response
 * start with a C; comparing a character at a time cost ≈20 ns a response head.
 */
function isContentLength(dv: DataView, buf: Uint8Array, o: number, e: number): boolean {
  return (
    e - o > 14 &&
    buf[o + 14] === 58 /* ':' */ &&
    (dv.getUint32(o, true) | 0x20202020) === 0x746e6f63 /* cont */ &&
    (dv.getUint32(o + 4, true) | 0x20202020) === 0x2d746e65 /* ent- */ &&
    (dv.getUint32(o + 8, true) | 0x20202020) === 0x676e656c /* leng */ &&
    (buf[o + 12]! | 0x20) === 116 /* t */ &&
    (buf[o + 13]! | 0x20) === 104 /* h */
  );
}

/** Whether `chunked` (case-sensitive, as a substring) occurs in buf[from, end). */
function hasChunked(buf: Uint8Array, from: number, end: number): boolean {
  for (let i = from; i + 7 <= end; i++)
    if (
      buf[i] === 99 /* c */ &&
      buf[i + 1] === 104 /* h */ &&
      buf[i + 2] === 117 /* u */ &&
      buf[i + 3] === 110 /* n */ &&
      buf[i + 4] === 107 /* k */ &&
      buf[i + 5] === 101 /* e */ &&
      buf[i + 6] === 100 /* d */
    )
      return true;
  return false;
}

const VALUE_100_CONTINUE = Uint8Array.from(Buffer.from('100-continue', 'latin1'));

/** Whether the bytes of `pat` occur in buf[from, end) (for rare headers: a byte loop). */
function hasBytes(buf: Uint8Array, from: number, end: number, pat: Uint8Array): boolean {
  const n = pat.length;
  outer: for (let i = from; i + n <= end; i++) {
    for (let k = 0; k < n; k++) if (buf[i + k] !== pat[k]) continue outer;
    return true;
  }
  return false;
}

/** A DataView over the last buffer scanned (segments of one capture chunk share it). */
let lfViewOf: Uint8Array | null = null;
let lfView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * Index of the first LF in buf[from, end), or -1: four bytes per step through a DataView (the
 * zero-byte test on the word XOR 0x0a0a0a0a). A response head of the bench capture (7 lines, 147
 * bytes) takes ≈90 ns against ≈130 ns with a native `buf.indexOf(LF)` per line (its argument
 * checks cost more than the search) and ≈150 ns with a byte loop; with no Buffer conversion per
 * head, the engine's time on the bench capture fell 14% (480 → 412 ms).
 */
function findLf(buf: Uint8Array, from: number, end: number): number {
  if (buf !== lfViewOf) {
    lfViewOf = buf;
    lfView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const dv = lfView;
  let i = from;
  for (; i + 4 <= end; i += 4) {
    const v = dv.getUint32(i, true) ^ 0x0a0a0a0a;
    const m = (v - 0x01010101) & ~v & 0x80808080;
    // the lowest flagged byte is the first LF (a borrow only flags bytes above it)
    if (m !== 0) return i + ((31 - Math.clz32(m & -m)) >> 3);
  }
  for (; i < end; i++) if (buf[i] === LF) return i;
  return -1;
}

/** Set by scanHeadFraming: the end of the head (just past its blank line), or -1 if incomplete. */
let framingEnd = -1;

/**
 * The framing-only head parse used when nobody consumes exchanges (e.g. `mlscope pcap`), in one
 * pass over the lines: finds the end of the head exactly as findHeadEnd does (CRLFCRLF after a
 * CRLF start line, else LFLF or LF CRLF; a request line without a version is a whole HTTP/0.9
 * head), reading on the way the headers that decide the body (Content-Length,
 * Transfer-Encoding, Upgrade) straight from the bytes, building no strings or header maps. Sets
 * `framingEnd`; returns null when the head is incomplete (framingEnd -1) or its start line is
 * not HTTP/1 (framingEnd set).
 */
const EMPTY_HEADERS: Record<string, string> = Object.freeze({});
const FRAMING_HEAD: Head = newHead(EMPTY_HEADERS, -1, false, null);

function scanHeadFraming(
  buf: Uint8Array,
  off: number,
  end: number,
  isRequest: boolean,
): Head | null {
  framingEnd = -1;
  const firstLf = findLf(buf, off, end);
  if (firstLf < 0) return null;
  const crlf = firstLf > off && buf[firstLf - 1] === CR;
  const versioned = lineHasVersion(buf, off, firstLf);
  let contentLength = -1;
  let chunked = false;
  let upgrade: string | null = null;
  let expectContinue = false;
  let he = -1;
  if (isRequest && !versioned) he = firstLf + 1;
  else
    for (let pos = firstLf + 1; ;) {
      // a line start: the blank line that ends the head?
      if (crlf) {
        if (pos + 1 >= end) break;
        if (buf[pos] === CR && buf[pos + 1] === LF && buf[pos - 2] === CR) {
          he = pos + 2;
          break;
        }
      } else {
        if (pos >= end) break;
        const c0 = buf[pos];
        if (c0 === LF) {
          he = pos + 1;
          break;
        }
        if (c0 === CR) {
          if (pos + 1 >= end) break;
          if (buf[pos + 1] === LF) {
            he = pos + 2;
            break;
          }
        }
      }
      const e = findLf(buf, pos, end);
      if (e < 0) break;
      const c = buf[pos]! | 0x20;
      if (c === 99 /* c */ && isContentLength(lfView, buf, pos, e)) {
        let v = 0;
        let digits = 0;
        for (let i = pos + 15; i < e; i++) {
          const d = buf[i]! - 48;
          if (d >= 0 && d <= 9) {
            v = v * 10 + d;
            digits++;
          } else if (digits > 0) break;
        }
        if (digits > 0 && digits < 16) contentLength = v;
      } else if (c === 116 /* t */ && nameIs(buf, pos, e, 'transfer-encoding')) {
        if (hasChunked(buf, pos + 18, e)) chunked = true;
      } else if (c === 101 /* e */ && nameIs(buf, pos, e, 'expect')) {
        if (hasBytes(buf, pos + 7, e, VALUE_100_CONTINUE)) expectContinue = true;
      } else if (c === 117 /* u */ && nameIs(buf, pos, e, 'upgrade')) {
        upgrade = latin1(buf, pos + 8, e)
          .trim()
          .toLowerCase();
      }
      pos = e + 1;
    }
  if (he < 0) return null;
  framingEnd = he;
  const lineEnd = crlf ? firstLf - 1 : firstLf;
  // One scratch head for every framing-only parse: its callers copy the fields they keep.
  const h = FRAMING_HEAD;
  h.isRequest = false;
  h.method = '';
  h.version = '';
  h.status = 0;
  h.contentLength = contentLength;
  h.chunked = chunked;
  h.upgrade = upgrade;
  h.expectContinue = expectContinue;
  if (!isRequest && lineEnd - off >= 7 && isHttp1At(buf, off)) {
    if (lineEnd - off < 12 || buf[off + 8] !== SP) return null;
    const d0 = buf[off + 9]! - 48;
    const d1 = buf[off + 10]! - 48;
    const d2 = buf[off + 11]! - 48;
    if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return null;
    h.status = d0 * 100 + d1 * 10 + d2;
    h.version = buf[off + 7] === 48 ? '1.0' : '1.1';
  } else {
    const ml = methodAt(buf, off, lineEnd);
    if (ml === 0 || lineEnd - off < ml + 2) return null;
    h.isRequest = true;
    h.method =
      ml === 4 && buf[off] === 72 ? 'HEAD' : ml === 7 && buf[off] === 67 ? 'CONNECT' : 'GET';
    if (versioned) h.version = buf[lineEnd - 1] === 48 ? '1.0' : '1.1';
    else h.version = '0.9';
  }
  return h;
}

/** buf[from, to) as a latin1 string. */
function latin1(buf: Uint8Array, from: number, to: number): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.toString('latin1', from, to);
}

function requestIdOf(headers: Record<string, string>): string | null {
  for (const k of REQUEST_ID_HEADERS) {
    const v = headers[k];
    if (v) return v;
  }
  return null;
}

type BodyMode = 'none' | 'length' | 'chunked' | 'close';

/** One exchange being assembled: request fields first, response fields when it arrives. */
class Pending {
  method: string | null = null;
  host: string | null = null;
  path: string | null = null;
  protocol = 'HTTP/1.1';
  requestHeaders: Record<string, string> = EMPTY_HEADERS;
  reqFirstUs: number | null = null;
  reqLastUs: number | null = null;
  reqFirstFrame: number | null = null;
  reqBodyBytes = 0;
  reqBody: Buffer[] | null = null;
  reqBodyKept = 0;
  upgrade: string | null = null;
  expectContinue = false;
  status = 0;
  reason = '';
  responseHeaders: Record<string, string> = EMPTY_HEADERS;
  respFirstUs = 0;
  respFirstFrame = 0;
  respLastUs = 0;
  respBodyBytes = 0;
  respBody: Buffer[] | null = null;
  respBodyKept = 0;
  hasResponse = false;
  /** ML analysis (full mode only): JSON request body prefix, and the SSE response analyser. */
  mlBody: Buffer[] | null = null;
  mlBodyKept = 0;
  mlBodyLimit = 0;
  llm: LlmStreamAnalyzer | null = null;
  llmResult: ExchangeLlm | null | undefined = undefined;

  /** Back to the state of a new Pending (framing-only parses recycle them, see recycle()). */
  reset(): void {
    this.method = null;
    this.host = null;
    this.path = null;
    this.protocol = 'HTTP/1.1';
    this.requestHeaders = EMPTY_HEADERS;
    this.reqFirstUs = null;
    this.reqLastUs = null;
    this.reqFirstFrame = null;
    this.reqBodyBytes = 0;
    this.reqBody = null;
    this.reqBodyKept = 0;
    this.upgrade = null;
    this.expectContinue = false;
    this.status = 0;
    this.reason = '';
    this.responseHeaders = EMPTY_HEADERS;
    this.respFirstUs = 0;
    this.respFirstFrame = 0;
    this.respLastUs = 0;
    this.respBodyBytes = 0;
    this.respBody = null;
    this.respBodyKept = 0;
    this.hasResponse = false;
    this.mlBody = null;
    this.mlBodyKept = 0;
    this.mlBodyLimit = 0;
    this.llm = null;
    this.llmResult = undefined;
  }
}

/**
 * Framing-only parses (capture summaries) count exchanges and drop them: their Pending objects
 * are reused (one per message was a visible share of allocation and GC on large captures).
 */
const PENDING_POOL: Pending[] = [];
const MAX_PENDING_POOL = 256;

function newPending(): Pending {
  const p = PENDING_POOL.pop();
  return p ?? new Pending();
}

function recycle(p: Pending): void {
  if (PENDING_POOL.length >= MAX_PENDING_POOL) return;
  p.reset();
  PENDING_POOL.push(p);
}

/** For tests: a recycled Pending must look like a new one. */
export function pendingAfterReset(): { fresh: object; reset: object } {
  const used = new Pending();
  // every own field (the methods live on the prototype) set to something a new one never has
  const fields = used as unknown as Record<string, unknown>;
  for (const k of Object.keys(fields)) {
    const v = fields[k];
    fields[k] =
      typeof v === 'number' ? 7 : typeof v === 'string' ? 'x' : typeof v === 'boolean' ? !v : [];
  }
  used.reset();
  return { fresh: new Pending(), reset: used };
}

/** Per-direction parse state. */
class Side {
  head: Buffer | null = null; // partial header bytes
  mode: BodyMode | 'head' | 'tunnel' | 'resync' = 'head';
  remaining = 0; // body bytes left (length mode) or in the current chunk
  chunkState: 'size' | 'data' | 'data-crlf' | 'trailer' = 'size';
  lineBuf = ''; // partial chunk-size or trailer line
  msgFirstUs = 0;
  /**
   * The server gave its final answer to an `Expect: 100-continue` request before any of its
   * body came: the client may send the body or, as curl does after a 417, drop it and send its
   * next request. Decided by the next bytes.
   */
  bodyOptional = false;
}

export class Http1Parser implements StreamParser {
  private readonly ctx: ProtoContext;
  private readonly req = new Side();
  private readonly resp = new Side();
  private readonly queue: Pending[] = [];
  /** The exchange whose response is being read. */
  private current: Pending | null = null;
  /**
   * The request whose body is being read (not always the last one queued: a server may answer
   * before the body is complete, e.g. a 413 or 417, and the answer takes it off the queue).
   */
  private reqInBody: Pending | null = null;
  /**
   * Response bytes were lost from the capture where a message boundary lay (the parser
   * resynchronises on the next status line): whole responses may have been lost with them.
   */
  private respAfterGap = false;
  /** The client was seen sending a request before the previous one was answered. */
  private pipelined = false;
  /** An exchange answered while its request body was still coming: emitted when the body ends. */
  private answered: Pending | null = null;
  private answeredState: Exchange['state'] = 'complete';

  private releaseAnswered(): void {
    const p = this.answered;
    if (!p) return;
    this.answered = null;
    this.emit(p, this.answeredState);
    if (this.framingOnly) recycle(p);
  }
  private readonly client: Endpoint;
  private readonly server: Endpoint;
  /** Set when the connection switched protocols (Upgrade/CONNECT); further bytes are not HTTP/1. */
  private tunnel: StreamParser | null | 'opaque' | 'pending' = null;
  /** Factory for the HTTP/2 parser after `Upgrade: h2c` (set by the engine when available). */
  /** Recognisers tried on the first bytes inside a CONNECT tunnel (set by the registry). */
  static tunnelRecognisers: ProtoRecogniser[] = [];

  private openTunnel(dir: Dir, buf: Uint8Array, off: number, end: number): StreamParser | 'opaque' {
    for (const r of Http1Parser.tunnelRecognisers) {
      if (r.recognise(dir, buf, off, end)) return r.create(this.ctx);
    }
    return 'opaque';
  }

  static h2cUpgrade:
    ((ctx: ProtoContext, upgradeRequest: Omit<Exchange, 'id'>) => StreamParser) | null = null;

  constructor(ctx: ProtoContext) {
    this.ctx = ctx;
    this.bodyKeep = ctx.limits.bodyCaptureBytes;
    this.framingOnly = !ctx.limits.exchanges;
    this.client = ctx.conn.client;
    this.server = ctx.conn.server;
  }

  data(dir: Dir, tsUs: number, buf: Uint8Array, off: number, end: number): void {
    if (this.tunnel) {
      if (this.tunnel === 'pending') this.tunnel = this.openTunnel(dir, buf, off, end);
      const t = this.tunnel;
      if (t !== 'opaque') t.data(dir, tsUs, buf, off, end);
      return;
    }
    const side = dir === 0 ? this.req : this.resp;
    let o = off;
    let guard = 0;
    while (o < end && !this.tunnel) {
      if (++guard > 100000) return; // defensive: progress is guaranteed, but never spin
      const before = o;
      const beforeMode = side.mode;
      o = this.step(dir, side, tsUs, buf, o, end);
      if (o === before && side.mode === beforeMode) break;
    }
    let t = this.tunnel as StreamParser | null | 'opaque' | 'pending';
    if (t === 'pending' && o < end) t = this.tunnel = this.openTunnel(dir, buf, o, end);
    if (t && t !== 'opaque' && t !== 'pending' && o < end) t.data(dir, tsUs, buf, o, end);
  }

  /** Consume from `o`; returns the new offset. */
  private step(
    dir: Dir,
    side: Side,
    tsUs: number,
    buf: Uint8Array,
    o: number,
    end: number,
  ): number {
    if (side.bodyOptional) {
      side.bodyOptional = false;
      if ((side.mode === 'length' || side.mode === 'chunked') && looksLikeRequest(buf, o, end)) {
        // the body was never sent: this is the next request
        side.mode = 'head';
        side.remaining = 0;
        this.reqInBody = null;
        this.releaseAnswered();
        return o;
      }
    }
    switch (side.mode) {
      case 'resync': {
        // After a gap: only a message start at a segment boundary brings us back.
        if ((dir === 0 ? looksLikeRequest : looksLikeResponse)(buf, o, end)) {
          side.mode = 'head';
          return o;
        }
        return end;
      }
      case 'head':
        return this.readHead(dir, side, tsUs, buf, o, end);
      case 'length': {
        const n = Math.min(side.remaining, end - o);
        this.body(dir, buf, o, o + n, tsUs);
        side.remaining -= n;
        o += n;
        if (side.remaining === 0) this.messageDone(dir, tsUs);
        return o;
      }
      case 'close': {
        this.body(dir, buf, o, end, tsUs);
        return end;
      }
      case 'chunked':
        return this.readChunked(dir, side, tsUs, buf, o, end);
      case 'none':
        side.mode = 'head';
        return o;
      case 'tunnel':
        return end;
    }
  }

  private readHead(
    dir: Dir,
    side: Side,
    tsUs: number,
    buf: Uint8Array,
    o: number,
    end: number,
  ): number {
    if (!side.head) {
      // Skip stray CRLFs between messages.
      while (o < end && (buf[o] === CR || buf[o] === LF)) o++;
      if (o >= end) return end;
      const ok =
        dir === 0
          ? looksLikeRequest(buf, o, end) || end - o < MAX_METHOD_LEN + 1
          : looksLikeResponse(buf, o, end) || end - o < 8;
      if (!ok) {
        if (dir === 1 && this.queue.length > 0 && !this.current) {
          // An HTTP/0.9 response: no status line, the body runs until the server closes.
          this.startHttp09Response(tsUs, side);
          return o;
        }
        this.ctx.skip(dir === 0 ? 'http-bad-request-start' : 'http-bad-response-start');
        side.mode = 'resync';
        return end;
      }
      side.msgFirstUs = tsUs;
      if (dir === 0) this.reqStart(tsUs);
      else this.respFirstByte(tsUs);
    }
    let scanFrom: Uint8Array;
    let sOff: number;
    let sEnd: number;
    const prevLen = side.head ? side.head.length : 0;
    if (side.head) {
      const merged = Buffer.concat([side.head, buf.subarray(o, end)]);
      scanFrom = merged;
      sOff = 0;
      sEnd = merged.length;
    } else {
      scanFrom = buf;
      sOff = o;
      sEnd = end;
    }
    let he: number;
    let framed: Head | null = null;
    if (this.framingOnly) {
      // one pass: the end of the head and the framing headers together
      framed = scanHeadFraming(scanFrom, sOff, sEnd, dir === 0);
      he = framingEnd;
    } else {
      he = findHeadEnd(scanFrom, sOff, Math.max(sOff, sOff + prevLen - 3), sEnd);
      if (dir === 0) {
        // An HTTP/0.9 request is a single line without a version and without headers.
        const lf = indexOfByte(scanFrom, LF, sOff, sEnd);
        if (lf >= 0 && (he < 0 || lf + 1 < he) && !lineHasVersion(scanFrom, sOff, lf)) he = lf + 1;
      }
    }
    if (he < 0) {
      if (sEnd - sOff > this.ctx.limits.maxHeaderBytes) {
        this.ctx.skip('http-header-too-large', `${sEnd - sOff} bytes without end of headers`);
        side.head = null;
        side.mode = 'resync';
        return end;
      }
      side.head = Buffer.from(scanFrom.subarray(sOff, sEnd));
      return end;
    }
    side.head = null;
    const consumed = o + (he - sOff) - prevLen;
    const head = this.framingOnly ? framed : parseHead(latin1(scanFrom, sOff, he), this.ctx);
    if (!head || head.isRequest !== (dir === 0)) {
      this.ctx.skip(
        dir === 0 ? 'http-bad-request-head' : 'http-bad-response-head',
        latin1(scanFrom, sOff, Math.min(he, sOff + 80)),
      );
      side.mode = 'resync';
      return consumed;
    }
    if (dir === 0) this.onRequestHead(head, tsUs, side);
    else this.onResponseHead(head, tsUs, side);
    if (side.mode === 'none') this.messageDone(dir, tsUs);
    return consumed;
  }

  private readChunked(
    dir: Dir,
    side: Side,
    tsUs: number,
    buf: Uint8Array,
    o: number,
    end: number,
  ): number {
    while (o < end) {
      if (side.chunkState === 'data') {
        const n = Math.min(side.remaining, end - o);
        this.body(dir, buf, o, o + n, tsUs);
        side.remaining -= n;
        o += n;
        if (side.remaining === 0) side.chunkState = 'data-crlf';
        continue;
      }
      // Line-oriented states: chunk size, CRLF after data, trailers.
      const nl = indexOfByte(buf, LF, o, end);
      const lineEnd = nl < 0 ? end : nl;
      side.lineBuf += Buffer.from(buf.buffer, buf.byteOffset + o, lineEnd - o).toString('latin1');
      if (side.lineBuf.length > 4096) {
        this.ctx.skip('http-bad-chunk', 'chunk line too long');
        side.lineBuf = '';
        side.mode = 'resync';
        this.messageDone(dir, tsUs, true);
        return end;
      }
      if (nl < 0) return end;
      o = nl + 1;
      const line = side.lineBuf.replace(/\r$/, '');
      side.lineBuf = '';
      if (side.chunkState === 'data-crlf') {
        side.chunkState = 'size';
        if (line !== '') {
          this.ctx.skip('http-bad-chunk', 'missing CRLF after chunk data');
          side.mode = 'resync';
          this.messageDone(dir, tsUs, true);
          return o;
        }
        continue;
      }
      if (side.chunkState === 'size') {
        const m = /^([0-9a-fA-F]{1,15})\s*(?:;.*)?$/.exec(line);
        if (!m) {
          this.ctx.skip('http-bad-chunk', `bad chunk size line '${line.slice(0, 40)}'`);
          side.mode = 'resync';
          this.messageDone(dir, tsUs, true);
          return o;
        }
        const size = parseInt(m[1]!, 16);
        if (size === 0) side.chunkState = 'trailer';
        else {
          side.remaining = size;
          side.chunkState = 'data';
        }
        continue;
      }
      // trailer
      if (line === '') {
        side.chunkState = 'size';
        this.messageDone(dir, tsUs);
        return o;
      }
      // Response trailers join its headers (full parses only: a framing-only head shares one
      // frozen empty header map, and nothing reads trailers there), as many as headers may be.
      const rh = dir === 1 && this.current ? this.current.responseHeaders : null;
      if (rh && rh !== EMPTY_HEADERS) {
        const c = line.indexOf(':');
        const name = c > 0 ? line.slice(0, c).trim().toLowerCase() : '';
        if (
          name !== '' &&
          (Object.hasOwn(rh, name) || Object.keys(rh).length < this.ctx.limits.maxHeaders)
        )
          rh[name] = line
            .slice(c + 1)
            .trim()
            .slice(0, this.ctx.limits.maxHeaderValueChars);
      }
    }
    return o;
  }

  private readonly bodyKeep: number;
  /** No exchange consumer: parse only what frames messages, and count exchanges. */
  private readonly framingOnly: boolean;

  private body(dir: Dir, buf: Uint8Array, o: number, e: number, tsUs: number): void {
    const n = e - o;
    if (n <= 0) return;
    if (dir === 0) {
      const p = this.reqInBody;
      if (!p) return;
      p.reqBodyBytes += n;
      if (p.reqBodyKept < this.bodyKeep) {
        const k = Math.min(n, this.bodyKeep - p.reqBodyKept);
        (p.reqBody ??= []).push(Buffer.from(buf.subarray(o, o + k)));
        p.reqBodyKept += k;
      }
      if (p.mlBody && p.mlBodyKept < p.mlBodyLimit) {
        const k = Math.min(n, p.mlBodyLimit - p.mlBodyKept);
        p.mlBody.push(Buffer.from(buf.subarray(o, o + k)));
        p.mlBodyKept += k;
      }
    } else if (this.current) {
      const c = this.current;
      c.respBodyBytes += n;
      if (c.respBodyKept < this.bodyKeep) {
        const k = Math.min(n, this.bodyKeep - c.respBodyKept);
        (c.respBody ??= []).push(Buffer.from(buf.subarray(o, o + k)));
        c.respBodyKept += k;
      }
      if (c.llm) c.llm.feed(buf, o, e, tsUs);
    }
  }

  // ---- message events ----------------------------------------------------------------------

  private pendingReqFirstUs = 0;
  private pendingReqFirstFrame = 0;
  private respFirstUs = 0;
  private respFirstFrame = 0;

  private reqStart(tsUs: number): void {
    this.pendingReqFirstUs = tsUs;
    this.pendingReqFirstFrame = this.ctx.frame();
  }

  private respFirstByte(tsUs: number): void {
    this.respFirstUs = tsUs;
    this.respFirstFrame = this.ctx.frame();
  }

  private onRequestHead(h: Head, tsUs: number, side: Side): void {
    this.ctx.count('http.requests');
    this.releaseAnswered();
    let host = h.headers['host'] ?? null;
    let path = h.target;
    // (framing-only heads carry no target)
    if (h.target !== '' && h.target.charCodeAt(0) !== 47 /* '/' */) {
      const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(h.target);
      if (abs) {
        host = host ?? abs[1]!;
        path = abs[2] || '/';
      }
    }
    const p = this.framingOnly ? newPending() : new Pending();
    p.method = h.method;
    p.host = host;
    p.path = path;
    p.protocol = h.version === '1.1' ? 'HTTP/1.1' : `HTTP/${h.version}`;
    p.requestHeaders = h.headers;
    p.reqFirstUs = this.pendingReqFirstUs || tsUs;
    p.reqLastUs = tsUs;
    p.reqFirstFrame = this.pendingReqFirstFrame || this.ctx.frame();
    p.upgrade = h.upgrade;
    p.expectContinue = h.expectContinue;
    if (!this.framingOnly && h.method === 'POST' && /json/i.test(h.headers['content-type'] ?? '')) {
      p.mlBody = [];
      p.mlBodyLimit =
        mlEndpoint(path).kind !== 'unknown' ? ML_REQUEST_BODY_BYTES : OTHER_JSON_BODY_BYTES;
    }
    this.queue.push(p);
    if (this.queue.length > 1024) {
      // A client that never gets answers: keep the queue bounded.
      this.emit(this.queue.shift()!, 'no-response');
    }
    side.bodyOptional = false;
    if (h.chunked) {
      side.mode = 'chunked';
      side.chunkState = 'size';
    } else if (h.contentLength > 0) {
      side.mode = 'length';
      side.remaining = h.contentLength;
    } else side.mode = 'none';
    this.reqInBody = side.mode === 'none' ? null : p;
  }

  private startHttp09Response(tsUs: number, side: Side): void {
    this.ctx.count('http.responses');
    const p = this.queue.shift()!;
    p.hasResponse = true;
    p.status = 0;
    p.reason = 'HTTP/0.9 (no status line)';
    p.protocol = 'HTTP/0.9';
    p.respFirstUs = tsUs;
    p.respFirstFrame = this.ctx.frame();
    this.current = p;
    side.mode = 'close';
  }

  private onResponseHead(h: Head, tsUs: number, side: Side): void {
    this.ctx.count('http.responses');
    if (h.status >= 100 && h.status < 200 && h.status !== 101) {
      // 100 Continue and friends: no body, the final response follows.
      side.mode = 'none';
      this.current = null;
      return;
    }
    const respFirstUs = this.respFirstUs || tsUs;
    if (this.respAfterGap && !this.pipelined && this.queue.length > 1) {
      // The first answer after a gap on a connection that does not pipeline answers the latest
      // request the client had sent by then; the answers to those before it were in the gap
      // (FIFO would shift every later exchange on the keep-alive connection by one).
      let k = 0;
      for (let i = 1; i < this.queue.length; i++)
        if ((this.queue[i]!.reqFirstUs ?? Infinity) <= respFirstUs) k = i;
      for (; k > 0; k--) this.emit(this.queue.shift()!, 'truncated');
    }
    const afterGap = this.respAfterGap;
    this.respAfterGap = false;
    let p = this.queue.length > 0 ? this.queue.shift()! : null;
    // the next request was sent before this one was answered: the client pipelines
    if (!afterGap && p && (this.queue[0]?.reqFirstUs ?? Infinity) < respFirstUs)
      this.pipelined = true;
    if (!p) {
      this.ctx.skip('http-response-without-request');
      p = new Pending();
      p.protocol = `HTTP/${h.version}`;
    }
    p.hasResponse = true;
    p.status = h.status;
    p.reason = h.reason;
    if (p === this.reqInBody && p.expectContinue && p.reqBodyBytes === 0 && h.status !== 101)
      this.req.bodyOptional = true;
    p.responseHeaders = h.headers;
    p.respFirstUs = respFirstUs;
    p.respFirstFrame = this.respFirstFrame || this.ctx.frame();
    this.current = p;
    // A streamed (SSE) response: TTFT and gaps from the request's last byte.
    if (!this.framingOnly && isEventStream(h.headers['content-type']))
      p.llm = new LlmStreamAnalyzer(p.reqLastUs);
    const method = p.method;
    if (h.status === 101 || (method === 'CONNECT' && h.status >= 200 && h.status < 300)) {
      side.mode = 'none';
      return;
    }
    if (method === 'HEAD' || h.status === 204 || h.status === 304) side.mode = 'none';
    else if (h.chunked) {
      side.mode = 'chunked';
      side.chunkState = 'size';
    } else if (h.contentLength >= 0) {
      side.mode = h.contentLength > 0 ? 'length' : 'none';
      side.remaining = h.contentLength;
    } else side.mode = 'close';
  }

  /** A message in `dir` is complete at `tsUs`. */
  private messageDone(dir: Dir, tsUs: number, broken = false): void {
    const side = dir === 0 ? this.req : this.resp;
    if (side.mode !== 'resync') side.mode = 'head';
    this.respFirstUs = 0;
    if (dir === 0) {
      this.pendingReqFirstUs = 0;
      this.pendingReqFirstFrame = 0;
      const p = this.reqInBody ?? this.queue[this.queue.length - 1];
      this.reqInBody = null;
      if (p) p.reqLastUs = tsUs;
      this.releaseAnswered();
      return;
    }
    const c = this.current;
    if (!c) return;
    this.current = null;
    c.respLastUs = tsUs;
    if (c === this.reqInBody) {
      // its request body is still coming: the exchange is emitted when it ends
      this.answered = c;
      this.answeredState = broken ? 'truncated' : 'complete';
    } else this.emit(c, broken ? 'truncated' : 'complete');
    // Switching protocols: the rest of the stream is not HTTP/1.
    if (c.status === 101 || (c.method === 'CONNECT' && c.status >= 200 && c.status < 300)) {
      const up = c.upgrade ?? c.responseHeaders['upgrade'] ?? '';
      if (c.status === 101 && /h2c/i.test(up) && Http1Parser.h2cUpgrade) {
        this.tunnel = Http1Parser.h2cUpgrade(this.ctx, this.toExchange(c, 'complete'));
      } else if (c.method === 'CONNECT' && Http1Parser.tunnelRecognisers.length > 0) {
        // A proxy tunnel: whatever runs inside (TLS, h2c, HTTP/1) is recognised from its first bytes.
        this.tunnel = 'pending';
      } else this.tunnel = 'opaque';
      this.req.mode = 'tunnel';
      this.resp.mode = 'tunnel';
    }
    // Counted and done with (a tunnel above keeps only a copy, via toExchange), unless its
    // request body is still being read.
    if (this.framingOnly && c !== this.answered) recycle(c);
  }

  private toExchange(p: Pending, state: Exchange['state']): Omit<Exchange, 'id'> {
    const r = p.hasResponse;
    const rh = p.responseHeaders;
    const conn = this.ctx.conn;
    return {
      connId: conn.id,
      client: conn.client,
      server: conn.server,
      protocol: p.protocol,
      streamId: null,
      method: p.method,
      host: p.host,
      path: p.path,
      status: r && p.status > 0 ? p.status : null,
      reason: r ? p.reason : null,
      requestHeaders: p.requestHeaders,
      responseHeaders: rh,
      requestId: requestIdOf(p.requestHeaders) ?? requestIdOf(rh),
      traceparent: p.requestHeaders['traceparent'] ?? null,
      contentType: rh['content-type'] ?? null,
      reqBodyBytes: p.reqBodyBytes,
      respBodyBytes: p.respBodyBytes,
      reqFirstUs: p.reqFirstUs,
      reqLastUs: p.reqLastUs,
      respFirstUs: r ? p.respFirstUs : null,
      respLastUs: r ? p.respLastUs : null,
      reqFirstFrame: p.reqFirstFrame,
      respFirstFrame: r ? p.respFirstFrame : null,
      respLastFrame: r ? this.ctx.frame() : null,
      serverTimeMs: r && p.reqLastUs !== null ? (p.respFirstUs - p.reqLastUs) / 1000 : null,
      totalMs: r && p.reqFirstUs !== null ? (p.respLastUs - p.reqFirstUs) / 1000 : null,
      reqBody: p.reqBody ? Buffer.concat(p.reqBody).toString('utf8') : null,
      respBody: p.respBody ? Buffer.concat(p.respBody).toString('utf8') : null,
      state,
      grpcStatus: null,
      grpcMessage: null,
      llm: this.llmOf(p),
    };
  }

  /** The ML analysis of an exchange (computed once: toExchange may run twice for h2c). */
  private llmOf(p: Pending): ExchangeLlm | null {
    if (p.llmResult !== undefined) return p.llmResult;
    let request = null;
    if (p.mlBody && p.mlBody.length > 0) {
      const body = p.mlBody.length === 1 ? p.mlBody[0]! : Buffer.concat(p.mlBody);
      request = analyzeMlRequest(p.method, p.path, body, p.mlBodyKept < p.reqBodyBytes);
    }
    p.mlBody = null;
    const stream = p.llm ? p.llm.finish(p.respLastUs) : null;
    p.llm = null;
    p.llmResult = request !== null || stream !== null ? { request, stream } : null;
    return p.llmResult;
  }

  private emit(p: Pending, state: Exchange['state']): void {
    if (this.framingOnly) this.ctx.count('http.exchanges');
    else this.ctx.exchange(this.toExchange(p, state));
  }

  gap(dir: Dir, tsUs: number, lengthBytes: number): void {
    if (this.tunnel) {
      if (this.tunnel !== 'opaque' && this.tunnel !== 'pending')
        this.tunnel.gap(dir, tsUs, lengthBytes);
      return;
    }
    const side = dir === 0 ? this.req : this.resp;
    if (side.mode === 'length' && lengthBytes <= side.remaining) {
      // The body lost some bytes but its end is still known (they count in its size).
      side.remaining -= lengthBytes;
      if (dir === 1 && this.current) this.current.respBodyBytes += lengthBytes;
      else if (dir === 0 && this.reqInBody) this.reqInBody.reqBodyBytes += lengthBytes;
      if (side.remaining === 0) this.messageDone(dir, tsUs, true);
      return;
    }
    if (side.mode === 'close') return;
    if (side.mode === 'head' && side.head) {
      // Bytes of a message head were seen, then lost (snaplen or capture loss): keep what the
      // start line and complete header lines say.
      this.salvageHead(dir, side, tsUs);
    } else if (dir === 1 && this.current) this.messageDone(1, tsUs, true);
    side.head = null;
    side.lineBuf = '';
    side.mode = 'resync';
    if (dir === 1) this.respAfterGap = true;
  }

  private salvageHead(dir: Dir, side: Side, tsUs: number): void {
    const text = side.head!.toString('latin1');
    side.head = null;
    const nl = text.lastIndexOf('\n');
    const lines = nl >= 0 ? text.slice(0, nl) : text;
    const first = (lines.split('\n')[0] ?? '').replace(/\r$/, '');
    let start: string | null = null;
    if (dir === 0) {
      const m = /^([A-Z][A-Z_-]*) +(\S+)(?: +HTTP\/(\d\.\d))?/.exec(first);
      if (m) start = `${m[1]} ${m[2]} HTTP/${m[3] ?? '1.1'}`;
    } else {
      const m = /^HTTP\/(\d\.\d) +(\d{3})/.exec(first);
      if (m) start = `HTTP/${m[1]} ${m[2]}`;
    }
    if (!start) return;
    const rest = nl >= 0 ? lines.split('\n').slice(1).join('\n') : '';
    const head = parseHead(`${start}\r\n${rest}`, this.ctx);
    if (!head) return;
    this.ctx.skip(dir === 0 ? 'http-request-head-cut' : 'http-response-head-cut');
    if (dir === 0) this.onRequestHead(head, tsUs, side);
    else this.onResponseHead(head, tsUs, side);
    this.messageDone(dir, tsUs, true);
  }

  close(dir: Dir | null, tsUs: number, reset: boolean): void {
    if (this.tunnel) {
      if (this.tunnel !== 'opaque' && this.tunnel !== 'pending')
        this.tunnel.close(dir, tsUs, reset);
      return;
    }
    // A read-until-close response ends with the server's FIN (or a reset).
    if ((dir === 1 || dir === null) && this.current && this.resp.mode === 'close') {
      this.messageDone(1, tsUs, reset);
    }
    if (reset) this.flush(tsUs, 'reset');
  }

  end(tsUs: number): void {
    if (this.tunnel) {
      if (this.tunnel !== 'opaque' && this.tunnel !== 'pending') this.tunnel.end(tsUs);
      return;
    }
    if (this.current && this.resp.mode === 'close') this.messageDone(1, tsUs);
    this.flush(tsUs, 'no-response');
  }

  private flush(tsUs: number, state: 'reset' | 'no-response'): void {
    this.reqInBody = null;
    this.releaseAnswered();
    if (this.current) {
      const c = this.current;
      this.current = null;
      c.respLastUs = tsUs;
      this.emit(c, state === 'reset' ? 'reset' : 'truncated');
    }
    while (this.queue.length) this.emit(this.queue.shift()!, state);
  }
}

function indexOfByte(buf: Uint8Array, b: number, off: number, end: number): number {
  const i = buf.indexOf(b, off);
  return i < 0 || i >= end ? -1 : i;
}

export const http1Recogniser: ProtoRecogniser = {
  name: 'http/1',
  recognise(_dir, buf, off, end) {
    return looksLikeRequest(buf, off, end) || startsWithAscii(buf, off, end, 'HTTP/1.');
  },
  clientDir(dir, buf, off, end) {
    if (looksLikeRequest(buf, off, end)) return dir;
    if (startsWithAscii(buf, off, end, 'HTTP/1.')) return dir === 0 ? 1 : 0;
    return null;
  },
  create(ctx) {
    return new Http1Parser(ctx);
  },
};
