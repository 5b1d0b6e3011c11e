// Test-only helpers for the protocol decoders: a recording ProtoContext, annotated-hex parsing,
// and a driver that feeds a scripted connection into a StreamParser.

import type { Connection, Dir, Exchange } from '../../model/records.js';
import { newConnection } from '../capture/tcp.js';
import {
  DEFAULT_PROTO_LIMITS,
  type ProtoLimits,
  type ProtoContext,
  type StreamParser,
} from './stream.js';

export interface RecordingContext extends ProtoContext {
  exchanges: Omit<Exchange, 'id'>[];
  counts: Record<string, number>;
  facts: Record<string, string[]>;
  skips: { reason: string; detail: string | undefined }[];
  setFrame(n: number): void;
}

export function testConnection(): Connection {
  const c = newConnection(
    7,
    { ip: '10.0.0.1', port: 50000 },
    { ip: '10.0.0.2', port: 8080 },
    'syn',
    0,
    1,
  );
  c.handshake = true;
  c.handshakeRttMs = 0.1;
  c.synToSynAckMs = 0.05;
  c.synAckToAckMs = 0.05;
  c.synCount = 1;
  return c;
}

export function recordingContext(
  limits: Partial<ProtoLimits> = {},
  conn?: Connection,
): RecordingContext {
  let frame = 1;
  const ctx: RecordingContext = {
    conn: conn ?? testConnection(),
    limits: { ...DEFAULT_PROTO_LIMITS, ...limits },
    exchanges: [],
    counts: {},
    facts: {},
    skips: [],
    frame: () => frame,
    setFrame(n: number) {
      frame = n;
    },
    exchange(x) {
      ctx.exchanges.push(x);
    },
    count(key, n = 1) {
      ctx.counts[key] = (ctx.counts[key] ?? 0) + n;
    },
    fact(key, value) {
      const list = (ctx.facts[key] ??= []);
      if (!list.includes(value)) list.push(value);
    },
    skip(reason, detail) {
      ctx.skips.push({ reason, detail });
    },
  };
  return ctx;
}

/** Hex with `#` comments and any whitespace: `"00 00 04 # length 4"`. */
export function hex(annotated: string): Uint8Array {
  const clean = annotated
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('')
    .replace(/[\s|]/g, '');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export interface Segment {
  dir: Dir;
  tsUs: number;
  bytes: Uint8Array;
  frame?: number;
}

/** Feeds segments (optionally re-split every `splitEvery` bytes) and ends the capture. */
export function drive(
  parser: StreamParser,
  ctx: RecordingContext,
  segments: Segment[],
  opts: { splitEvery?: number; endUs?: number } = {},
): void {
  let frame = 1;
  for (const s of segments) {
    ctx.setFrame(s.frame ?? frame++);
    const step = opts.splitEvery ?? s.bytes.length;
    for (let o = 0; o < s.bytes.length; o += Math.max(1, step)) {
      parser.data(s.dir, s.tsUs, s.bytes, o, Math.min(s.bytes.length, o + Math.max(1, step)));
    }
  }
  parser.end(opts.endUs ?? (segments.at(-1)?.tsUs ?? 0) + 1);
}
