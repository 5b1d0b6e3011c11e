// The interface between TCP reassembly and application-protocol parsers (HTTP/1.x, HTTP/2, TLS…).
// A parser gets each direction's bytes in order, exactly once, with the capture time of the
// segment that carried them; gaps (bytes the capture lost) are announced, never papered over.
// Parsers are pure: no I/O, no clocks; they report exchanges and facts through the context.

import type { Connection, Dir, Exchange } from '../../model/records.js';
import type { TlsKeyLog } from './tls-decrypt.js';

export interface ProtoLimits {
  /** Max bytes of a header block (HTTP/1 head, HPACK block) before the message is abandoned. */
  maxHeaderBytes: number;
  /** Max header fields kept per message. */
  maxHeaders: number;
  /** Max chars of one header value kept. */
  maxHeaderValueChars: number;
  /** Bytes of each body kept for later analysers (0 = off). */
  bodyCaptureBytes: number;
  /**
   * Whether anybody consumes exchanges. When false, parsers only frame messages and count them
   * (`ctx.count('http.exchanges')`), which is several times faster (summaries like `mlscope pcap`).
   */
  exchanges: boolean;
  /** A TLS key log: sessions it has keys for are decrypted and their HTTP parsed (tls-decrypt.ts). */
  tlsKeys?: TlsKeyLog | null;
}

export const DEFAULT_PROTO_LIMITS: ProtoLimits = {
  maxHeaderBytes: 64 * 1024,
  maxHeaders: 128,
  maxHeaderValueChars: 1024,
  bodyCaptureBytes: 0,
  exchanges: true,
};

/** What a parser can tell the engine. */
export interface ProtoContext {
  readonly conn: Connection;
  readonly limits: ProtoLimits;
  /** Frame number of the segment currently being delivered (1-based, as in Wireshark). */
  frame(): number;
  /** A finished (or abandoned) exchange. The engine assigns `id`. */
  exchange(x: Omit<Exchange, 'id'>): void;
  /** Count a protocol fact: e.g. 'http2.streams', 'tls.clientHellos'. */
  count(key: string, n?: number): void;
  /** Record a string fact: e.g. ('tls.sni', 'example.com'). Deduplicated by the engine. */
  fact(key: string, value: string): void;
  /** A message the parser could not decode (counted by reason in the data-quality block). */
  skip(reason: string, detail?: string): void;
}

export interface StreamParser {
  /** In-order bytes of one direction; `buf[off, end)` is only valid during the call. */
  data(dir: Dir, tsUs: number, buf: Uint8Array, off: number, end: number): void;
  /** `lengthBytes` bytes are missing in `dir` before the next data (capture loss). */
  gap(dir: Dir, tsUs: number, lengthBytes: number): void;
  /** A FIN (dir given) or RST (dir null = whole connection) was seen. */
  close(dir: Dir | null, tsUs: number, reset: boolean): void;
  /** The capture ended: flush what is pending (e.g. requests without a response). */
  end(tsUs: number): void;
}

/**
 * A protocol recogniser: looks at the first bytes of a direction (at least `minBytes` or all there
 * is) and says whether it speaks this protocol. `dir` is the direction of those bytes.
 */
export interface ProtoRecogniser {
  name: string;
  recognise(dir: Dir, buf: Uint8Array, off: number, end: number): boolean;
  create(ctx: ProtoContext): StreamParser;
  /**
   * Optional: which direction is the client, judged from these first bytes (e.g. an HTTP request
   * line marks its sender as the client). The engine swaps its guess of the roles when they differ.
   */
  clientDir?(dir: Dir, buf: Uint8Array, off: number, end: number): Dir | null;
}
