// HTTP/1.x (RFC 9112) over a reassembled TCP stream: requests and responses with pipelining,
// keep-alive, Content-Length and chunked bodies, read-until-close responses, 1xx interim responses
// (100-continue), HEAD/204/304 without bodies, Upgrade/CONNECT tunnels (h2c handed to HTTP/2),
// gaps (resynchronising on the next message start). Recognised by content, on any port.
// Per exchange: request first/last byte, response first/last byte, server time, body sizes,
// request-id style headers and traceparent, and optionally a bounded prefix of each body.

import type { Dir, Endpoint, Exchange } from '../../model/records.js';
import type { ProtoContext, ProtoRecogniser, StreamParser } from './stream.js';

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

/** `METHOD SP` at `off` with a known method. Returns the method length, or 0. */
function methodAt(buf: Uint8Array, off: number, end: number): number {
  let i = off;
  const lim = Math.min(end, off + MAX_METHOD_LEN + 1);
  while (i < lim) {
    const b = buf[i]!;
    if (b === SP) break;
    if (b < 65 || b > 90) return 0;
    i++;
  }
  if (i >= lim || buf[i] !== SP || i === off) return 0;
  let m = '';
  for (let k = off; k < i; k++) m += String.fromCharCode(buf[k]!);
  return METHODS.has(m) ? i - off : 0;
}

export function looksLikeRequest(buf: Uint8Array, off: number, end: number): boolean {
  return methodAt(buf, off, end) > 0;
}

export function looksLikeResponse(buf: Uint8Array, off: number, end: number): boolean {
  return (
    startsWithAscii(buf, off, end, 'HTTP/1.') ||
    (end - off < 7 &&
      startsWithAscii(buf, off, end, 'HTTP/1.'.slice(0, end - off)) &&
      end - off >= 5)
  );
}

/** Find the end of a header block (index just past CRLFCRLF or LFLF), or -1. */
function findHeadEnd(buf: Uint8Array, off: number, end: number): number {
  for (let i = off; i < end; i++) {
    if (buf[i] !== LF) continue;
    if (i + 1 < end && buf[i + 1] === LF) return i + 2;
    if (i + 2 < end && buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
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
}

function parseHead(text: string, ctx: ProtoContext): Head | null {
  const lines = text.split(/\r?\n/);
  const first = lines[0] ?? '';
  const h: Head = {
    isRequest: false,
    method: '',
    target: '',
    version: '',
    status: 0,
    reason: '',
    headers: {},
    contentLength: -1,
    chunked: false,
    connectionClose: false,
    upgrade: null,
  };
  if (first.startsWith('HTTP/')) {
    const m = /^HTTP\/(\d\.\d) +(\d{3})(?: (.*))?$/.exec(first);
    if (!m) return null;
    h.version = m[1]!;
    h.status = Number(m[2]);
    h.reason = m[3] ?? '';
  } else {
    const m = /^([A-Z][A-Z_-]*) +(\S+) +HTTP\/(\d\.\d)$/.exec(first);
    if (!m) return null;
    h.isRequest = true;
    h.method = m[1]!;
    h.target = m[2]!;
    h.version = m[3]!;
  }
  const lim = ctx.limits;
  let n = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    let value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      const v = Number(value);
      if (Number.isInteger(v) && v >= 0) h.contentLength = v;
    } else if (name === 'transfer-encoding') {
      if (/chunked/i.test(value)) h.chunked = true;
    } else if (name === 'connection') {
      if (/close/i.test(value)) h.connectionClose = true;
    } else if (name === 'upgrade') {
      h.upgrade = value.toLowerCase();
    }
    if (n >= lim.maxHeaders) continue;
    if (value.length > lim.maxHeaderValueChars) value = value.slice(0, lim.maxHeaderValueChars);
    const prev = h.headers[name];
    h.headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    n++;
  }
  return h;
}

function requestIdOf(headers: Record<string, string>): string | null {
  for (const k of REQUEST_ID_HEADERS) {
    const v = headers[k];
    if (v) return v;
  }
  return null;
}

type BodyMode = 'none' | 'length' | 'chunked' | 'close';

interface Pending {
  method: string | null;
  host: string | null;
  path: string | null;
  protocol: string;
  requestHeaders: Record<string, string>;
  reqFirstUs: number | null;
  reqLastUs: number | null;
  reqFirstFrame: number | null;
  reqBodyBytes: number;
  reqBody: Buffer[];
  reqBodyKept: number;
  upgrade: string | null;
}

/** Per-direction parse state. */
class Side {
  head: Buffer | null = null; // partial header bytes
  mode: BodyMode | 'head' | 'tunnel' | 'resync' = 'head';
  remaining = 0; // body bytes left (length mode) or in the current chunk
  chunkState: 'size' | 'data' | 'data-crlf' | 'trailer' = 'size';
  lineBuf = ''; // partial chunk-size or trailer line
  msgFirstUs = 0;
}

export class Http1Parser implements StreamParser {
  private readonly ctx: ProtoContext;
  private readonly req = new Side();
  private readonly resp = new Side();
  private readonly queue: Pending[] = [];
  /** The exchange whose response is being read. */
  private current:
    | (Pending & {
        status: number;
        reason: string;
        responseHeaders: Record<string, string>;
        respFirstUs: number;
        respFirstFrame: number;
        respBodyBytes: number;
        respBody: Buffer[];
        respBodyKept: number;
        interim: boolean;
      })
    | null = null;
  private readonly client: Endpoint;
  private readonly server: Endpoint;
  /** Set when the connection switched protocols (Upgrade/CONNECT); further bytes are not HTTP/1. */
  private tunnel: StreamParser | null | 'opaque' = null;
  /** Factory for the HTTP/2 parser after `Upgrade: h2c` (set by the engine when available). */
  static h2cUpgrade:
    ((ctx: ProtoContext, upgradeRequest: Omit<Exchange, 'id'>) => StreamParser) | null = null;

  constructor(ctx: ProtoContext) {
    this.ctx = ctx;
    this.bodyKeep = ctx.limits.bodyCaptureBytes;
    this.client = ctx.conn.client;
    this.server = ctx.conn.server;
  }

  data(dir: Dir, tsUs: number, buf: Uint8Array, off: number, end: number): void {
    if (this.tunnel) {
      if (this.tunnel !== 'opaque') this.tunnel.data(dir, tsUs, buf, off, end);
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
    const t = this.tunnel as StreamParser | null | 'opaque';
    if (t && t !== 'opaque' && o < end) t.data(dir, tsUs, buf, o, end);
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
        this.body(dir, buf, o, o + n);
        side.remaining -= n;
        o += n;
        if (side.remaining === 0) this.messageDone(dir, tsUs);
        return o;
      }
      case 'close': {
        this.body(dir, buf, o, end);
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
    const he = findHeadEnd(scanFrom, Math.max(sOff, sOff + prevLen - 3), sEnd);
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
    const text = Buffer.from(scanFrom.buffer, scanFrom.byteOffset + sOff, he - sOff).toString(
      'latin1',
    );
    side.head = null;
    const consumed = o + (he - sOff) - prevLen;
    const head = parseHead(text, this.ctx);
    if (!head || head.isRequest !== (dir === 0)) {
      this.ctx.skip(
        dir === 0 ? 'http-bad-request-head' : 'http-bad-response-head',
        text.slice(0, 80),
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
        this.body(dir, buf, o, o + n);
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
      if (dir === 1 && this.current) {
        const c = line.indexOf(':');
        if (c > 0)
          this.current.responseHeaders[line.slice(0, c).trim().toLowerCase()] = line
            .slice(c + 1)
            .trim()
            .slice(0, this.ctx.limits.maxHeaderValueChars);
      }
    }
    return o;
  }

  private readonly bodyKeep: number;

  private body(dir: Dir, buf: Uint8Array, o: number, e: number): void {
    const n = e - o;
    if (n <= 0) return;
    if (dir === 0) {
      const p = this.queue[this.queue.length - 1];
      if (!p) return;
      p.reqBodyBytes += n;
      if (p.reqBodyKept < this.bodyKeep) {
        const k = Math.min(n, this.bodyKeep - p.reqBodyKept);
        p.reqBody.push(Buffer.from(buf.subarray(o, o + k)));
        p.reqBodyKept += k;
      }
    } else if (this.current) {
      const c = this.current;
      c.respBodyBytes += n;
      if (c.respBodyKept < this.bodyKeep) {
        const k = Math.min(n, this.bodyKeep - c.respBodyKept);
        c.respBody.push(Buffer.from(buf.subarray(o, o + k)));
        c.respBodyKept += k;
      }
    }
  }

  // ---- message events ----------------------------------------------------------------------

  private pendingReqFirstUs = 0;
  private pendingReqFirstFrame = 0;

  private reqStart(tsUs: number): void {
    this.pendingReqFirstUs = tsUs;
    this.pendingReqFirstFrame = this.ctx.frame();
  }

  private respFirstUs = 0;
  private respFirstFrame = 0;

  private respFirstByte(tsUs: number): void {
    this.respFirstUs = tsUs;
    this.respFirstFrame = this.ctx.frame();
  }

  private onRequestHead(h: Head, tsUs: number, side: Side): void {
    this.ctx.count('http.requests');
    let host = h.headers['host'] ?? null;
    let path = h.target;
    const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(h.target);
    if (abs) {
      host = host ?? abs[1]!;
      path = abs[2] || '/';
    }
    const p: Pending = {
      method: h.method,
      host,
      path,
      protocol: `HTTP/${h.version}`,
      requestHeaders: h.headers,
      reqFirstUs: this.pendingReqFirstUs || tsUs,
      reqLastUs: tsUs,
      reqFirstFrame: this.pendingReqFirstFrame || this.ctx.frame(),
      reqBodyBytes: 0,
      reqBody: [],
      reqBodyKept: 0,
      upgrade: h.upgrade,
    };
    this.queue.push(p);
    if (this.queue.length > 1024) {
      // A client that never gets answers: keep the queue bounded.
      const dropped = this.queue.shift()!;
      this.emit(dropped, null, 'no-response');
    }
    if (h.chunked) {
      side.mode = 'chunked';
      side.chunkState = 'size';
    } else if (h.contentLength > 0) {
      side.mode = 'length';
      side.remaining = h.contentLength;
    } else side.mode = 'none';
  }

  private onResponseHead(h: Head, tsUs: number, side: Side): void {
    this.ctx.count('http.responses');
    const interim = h.status >= 100 && h.status < 200 && h.status !== 101;
    const p = this.queue[0] ?? null;
    const base: Pending = p ?? {
      method: null,
      host: null,
      path: null,
      protocol: `HTTP/${h.version}`,
      requestHeaders: {},
      reqFirstUs: null,
      reqLastUs: null,
      reqFirstFrame: null,
      reqBodyBytes: 0,
      reqBody: [],
      reqBodyKept: 0,
      upgrade: null,
    };
    if (interim) {
      // 100 Continue and friends: no body, the final response follows.
      side.mode = 'none';
      this.current = null;
      return;
    }
    if (p) this.queue.shift();
    else this.ctx.skip('http-response-without-request');
    this.current = {
      ...base,
      status: h.status,
      reason: h.reason,
      responseHeaders: h.headers,
      respFirstUs: this.respFirstUs || tsUs,
      respFirstFrame: this.respFirstFrame || this.ctx.frame(),
      respBodyBytes: 0,
      respBody: [],
      respBodyKept: 0,
      interim: false,
    };
    const method = base.method;
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
      const p = this.queue[this.queue.length - 1];
      if (p) p.reqLastUs = tsUs;
      return;
    }
    const c = this.current;
    if (!c) return;
    this.current = null;
    this.emit(c, { ...c, respLastUs: tsUs }, broken ? 'truncated' : 'complete');
    // Switching protocols: the rest of the stream is not HTTP/1.
    if (c.status === 101 || (c.method === 'CONNECT' && c.status >= 200 && c.status < 300)) {
      const up = c.upgrade ?? c.responseHeaders['upgrade'] ?? '';
      if (c.status === 101 && /h2c/i.test(up) && Http1Parser.h2cUpgrade) {
        this.tunnel = Http1Parser.h2cUpgrade(this.ctx, this.toExchange(c, null, 'complete'));
      } else this.tunnel = 'opaque';
      this.req.mode = 'tunnel';
      this.resp.mode = 'tunnel';
    }
  }

  private toExchange(
    p: Pending,
    r: {
      status: number;
      reason: string;
      responseHeaders: Record<string, string>;
      respFirstUs: number;
      respFirstFrame: number;
      respLastUs: number;
      respBodyBytes: number;
      respBody: Buffer[];
    } | null,
    state: Exchange['state'],
  ): Omit<Exchange, 'id'> {
    const rh = r ? r.responseHeaders : {};
    const serverTimeMs = r && p.reqLastUs !== null ? (r.respFirstUs - p.reqLastUs) / 1000 : null;
    const totalMs = r && p.reqFirstUs !== null ? (r.respLastUs - p.reqFirstUs) / 1000 : null;
    return {
      connId: this.ctx.conn.id,
      client: this.ctx.conn.client,
      server: this.ctx.conn.server,
      protocol: p.protocol,
      streamId: null,
      method: p.method,
      host: p.host,
      path: p.path,
      status: r ? r.status : null,
      reason: r ? r.reason : null,
      requestHeaders: p.requestHeaders,
      responseHeaders: rh,
      requestId: requestIdOf(p.requestHeaders) ?? requestIdOf(rh),
      traceparent: p.requestHeaders['traceparent'] ?? null,
      contentType: rh['content-type'] ?? null,
      reqBodyBytes: p.reqBodyBytes,
      respBodyBytes: r ? r.respBodyBytes : 0,
      reqFirstUs: p.reqFirstUs,
      reqLastUs: p.reqLastUs,
      respFirstUs: r ? r.respFirstUs : null,
      respLastUs: r ? r.respLastUs : null,
      reqFirstFrame: p.reqFirstFrame,
      respFirstFrame: r ? r.respFirstFrame : null,
      respLastFrame: r ? this.ctx.frame() : null,
      serverTimeMs,
      totalMs,
      reqBody: p.reqBody.length ? Buffer.concat(p.reqBody).toString('utf8') : null,
      respBody: r && r.respBody.length ? Buffer.concat(r.respBody).toString('utf8') : null,
      state,
      grpcStatus: null,
      grpcMessage: null,
    };
  }

  private emit(
    p: Pending,
    r: Parameters<Http1Parser['toExchange']>[1],
    state: Exchange['state'],
  ): void {
    this.ctx.exchange(this.toExchange(p, r, state));
  }

  gap(dir: Dir, _tsUs: number, lengthBytes: number): void {
    if (this.tunnel) {
      if (this.tunnel !== 'opaque') this.tunnel.gap(dir, _tsUs, lengthBytes);
      return;
    }
    const side = dir === 0 ? this.req : this.resp;
    if (side.mode === 'length' && lengthBytes < side.remaining) {
      // The body lost some bytes but its end is still known.
      side.remaining -= lengthBytes;
      if (dir === 1 && this.current) this.current.respBodyBytes += lengthBytes;
      return;
    }
    if (side.mode === 'close') return;
    if (side.mode === 'length' && lengthBytes === side.remaining) {
      side.remaining = 0;
      this.messageDone(dir, _tsUs, true);
      return;
    }
    if (side.mode === 'head' && side.head) {
      // Bytes of a message head were seen, then lost (snaplen or capture loss): keep what the
      // start line and complete header lines say.
      this.salvageHead(dir, side, _tsUs);
    } else if (dir === 1 && this.current) this.messageDone(1, _tsUs, true);
    side.head = null;
    side.lineBuf = '';
    side.mode = 'resync';
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
      if (this.tunnel !== 'opaque') this.tunnel.close(dir, tsUs, reset);
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
      if (this.tunnel !== 'opaque') this.tunnel.end(tsUs);
      return;
    }
    if (this.current) {
      if (this.resp.mode === 'close') this.messageDone(1, tsUs);
      else {
        const c = this.current;
        this.current = null;
        this.emit(c, { ...c, respLastUs: tsUs }, 'truncated');
      }
    }
    this.flush(tsUs, 'no-response');
  }

  private flush(tsUs: number, state: Exchange['state']): void {
    if (this.current) {
      const c = this.current;
      this.current = null;
      this.emit(c, { ...c, respLastUs: tsUs }, state === 'reset' ? 'reset' : 'truncated');
    }
    while (this.queue.length) this.emit(this.queue.shift()!, null, state);
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
