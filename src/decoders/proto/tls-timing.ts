// Request timing inside TLS that cannot be decrypted (no key log): the application-data records
// each way, paired as request/response bursts. A client record after the server has answered
// starts the next exchange; HTTP/1.1 over TLS (one request at a time per connection, as Python's
// requests, httpx, aiohttp and the OpenAI client send) comes out exactly; what is inside stays
// unknown (no method, path or status). Exchanges get protocol 'TLS' and are estimates:
//  - TLS 1.3 encrypts the handshake as application-data records: the server's flight before the
//    client's first record is not an answer, and the client's first record is its Finished.
//  - After the client's Finished a TLS 1.3 server sends session tickets, and an HTTP/2 server its
//    SETTINGS, before any answer: on a connection's first exchange, a first server burst of under
//    MAX_PREAMBLE_BYTES followed by another burst is taken as that preamble, not the answer.
//  - HTTP/2 multiplexes: overlapping requests on one connection cannot be told apart, so a
//    session that negotiated (or, TLS 1.3, offered) h2 marks its exchanges `TLS (h2?)`.
// Pure: fed by the TLS parser, reports through the proto context.

import { blankExchange, type Dir } from '../../model/records.js';
import type { ProtoContext } from './stream.js';

/** A first server burst smaller than this may be tickets or SETTINGS rather than the answer. */
const MAX_PREAMBLE_BYTES = 1200;
/** Server records further apart than this (µs) are separate bursts. */
const BURST_GAP_US = 1000;
/**
 * A client record this small is a control record (TLS 1.3 close_notify, an HTTP/2 SETTINGS ACK,
 * WINDOW_UPDATE, PING or GOAWAY), not a request: HTTP requests over TLS are larger.
 */
const MIN_REQUEST_BYTES = 48;
/** HTTP/2's connection preface with SETTINGS, as one client burst: at most this many bytes. */
const MAX_H2_PREFACE_BYTES = 200;
/** Exchanges per connection reported, at most (hostile captures). */
const MAX_EXCHANGES = 100_000;

interface Pending {
  reqFirstUs: number;
  reqLastUs: number;
  reqFirstFrame: number;
  reqBytes: number;
  respFirstUs: number | null;
  respFirstFrame: number | null;
  respLastUs: number | null;
  respLastFrame: number | null;
  respBytes: number;
  /** The first server burst: its bytes, and where the next one started (null while one). */
  firstBurstBytes: number;
  secondBurstUs: number | null;
  secondBurstFrame: number | null;
  lastRespEndUs: number;
}

export class TlsRecordTimer {
  /** TLS 1.3 (the handshake is in application-data records). */
  tls13 = false;
  /** The session may carry HTTP/2 (ALPN h2 chosen, or offered under TLS 1.3). */
  maybeH2 = false;
  private cur: Pending | null = null;
  private clientRecords = 0;
  private exchanges = 0;
  private off = false;

  constructor(private readonly ctx: ProtoContext) {}

  /** Stop: the session is being decrypted, its HTTP is parsed for real. */
  disable(): void {
    this.off = true;
    this.cur = null;
  }

  /**
   * A whole application-data record: first byte at `startUs` (frame), last at `endUs` (frame
   * `endFrame`, the current one unless given: records held for keys are timed later).
   */
  record(
    dir: Dir,
    startUs: number,
    startFrame: number,
    endUs: number,
    bytes: number,
    endFrame = this.ctx.frame(),
  ): void {
    if (this.off) return;
    if (dir === 0) {
      this.clientRecords++;
      // TLS 1.3: the client's first protected record is its Finished
      if (this.tls13 && this.clientRecords === 1) return;
      const c = this.cur;
      // control records (close_notify, HTTP/2 SETTINGS ACK, WINDOW_UPDATE, PING) are too small to
      // be a request: they neither start an exchange nor end the one being answered
      if (bytes < MIN_REQUEST_BYTES && (c === null || c.respFirstUs !== null)) return;
      if (c !== null && c.respFirstUs !== null) this.emit(false, true);
      if (this.cur === null) {
        this.cur = {
          reqFirstUs: startUs,
          reqLastUs: endUs,
          reqFirstFrame: startFrame,
          reqBytes: bytes,
          respFirstUs: null,
          respFirstFrame: null,
          respLastUs: null,
          respLastFrame: null,
          respBytes: 0,
          firstBurstBytes: 0,
          secondBurstUs: null,
          secondBurstFrame: null,
          lastRespEndUs: 0,
        };
      } else {
        this.cur.reqLastUs = endUs;
        this.cur.reqBytes += bytes;
      }
      return;
    }
    const c = this.cur;
    if (c === null) return; // server data before any request: handshake flight, tickets, push
    if (c.respFirstUs === null) {
      c.respFirstUs = startUs;
      c.respFirstFrame = startFrame;
    } else if (c.secondBurstUs === null && startUs - c.lastRespEndUs >= BURST_GAP_US) {
      c.secondBurstUs = startUs;
      c.secondBurstFrame = startFrame;
    }
    if (c.secondBurstUs === null) c.firstBurstBytes += bytes;
    c.respLastUs = endUs;
    c.respLastFrame = endFrame;
    c.respBytes += bytes;
    c.lastRespEndUs = endUs;
  }

  /** The connection closed or the capture ended: report what is pending. */
  end(reset: boolean): void {
    if (this.off || this.cur === null) return;
    this.emit(reset, false);
  }

  /** Report the current exchange; `followed`: another request came on the connection. */
  private emit(reset: boolean, followed: boolean): void {
    const c = this.cur!;
    this.cur = null;
    if (c.respFirstUs === null && c.reqBytes < MIN_REQUEST_BYTES) return;
    const first = this.exchanges === 0;
    this.exchanges++;
    // HTTP/2: the client's preface and SETTINGS answered by the server's SETTINGS (and TLS 1.3
    // tickets), before the first request
    if (
      first &&
      this.maybeH2 &&
      followed &&
      c.reqBytes <= MAX_H2_PREFACE_BYTES &&
      c.respBytes < MAX_PREAMBLE_BYTES
    )
      return;
    if (this.exchanges > MAX_EXCHANGES || !this.ctx.limits.exchanges) return;
    let respFirstUs = c.respFirstUs;
    let respFirstFrame = c.respFirstFrame;
    if (
      first &&
      (this.tls13 || this.maybeH2) &&
      c.secondBurstUs !== null &&
      c.firstBurstBytes < MAX_PREAMBLE_BYTES
    ) {
      respFirstUs = c.secondBurstUs;
      respFirstFrame = c.secondBurstFrame;
    }
    const conn = this.ctx.conn;
    const x = blankExchange({
      connId: conn.id,
      client: conn.client,
      server: conn.server,
      protocol: this.maybeH2 ? 'TLS (h2?)' : 'TLS',
      reqBodyBytes: c.reqBytes,
      respBodyBytes: c.respBytes,
      reqFirstUs: c.reqFirstUs,
      reqLastUs: c.reqLastUs,
      respFirstUs,
      respLastUs: c.respLastUs,
      reqFirstFrame: c.reqFirstFrame,
      respFirstFrame,
      respLastFrame: c.respLastFrame,
      serverTimeMs: respFirstUs !== null ? (respFirstUs - c.reqLastUs) / 1000 : null,
      totalMs: c.respLastUs !== null ? (c.respLastUs - c.reqFirstUs) / 1000 : null,
      state: respFirstUs !== null ? 'complete' : reset ? 'reset' : 'no-response',
    });
    this.ctx.exchange(x);
    this.ctx.count('tls.timedExchanges');
  }
}
