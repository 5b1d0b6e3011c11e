// Flow ingest: inputs → format detection per input → flow decoders → FlowRecords, with a
// data-quality report per input. Formats, told apart by their first bytes:
//   pcap / pcapng            captures: NetFlow/IPFIX export datagrams are decoded as exports, every
//                            other packet is counted into bidirectional flows (capture-flows.ts)
//   00 05 | 00 09 | 00 0a    raw export payloads (one or more concatenated datagrams per file)
//   '{' or '['               JSON flow logs: GCP, Azure NSG/VNet, CloudWatch subscription envelopes
//   other text               AWS VPC / Transit Gateway flow logs (header line optional)
// NetFlow template state is shared across inputs (a template file, then data files, works),
// keyed by exporter address: payload files (no address) share the key ''.
// Each record is handed out with the index of the input it came from (data that waited for a
// template in a later input still belongs to the input that carried it). An optional tap sees every
// chunk (to feed a second decoder, e.g. `ingest`'s capture engine) and is awaited between chunks,
// so a consumer that writes records asynchronously keeps memory to about one chunk's records.

import { ByteLineSplitter, LineSplitter, type ByteLineHandler, type Line } from '../util/lines.js';
import { readChunks, type InputRef } from '../sources/files.js';
import { ErrorCode, InputError, errorMessage } from '../util/errors.js';
import { Quality, type QualityReport } from '../model/quality.js';
import type { FlowRecord, FlowSink } from '../model/flow.js';
import { NetflowState, decodeNetflowPacket, type NetflowLimits } from '../decoders/flow/netflow.js';
import { sniffCapture } from '../decoders/capture/capture-reader.js';
import {
  CaptureFlowDecoder,
  type CaptureFlowMode,
  type CaptureFlowReport,
} from '../decoders/flow/capture-flows.js';
import type { PacketFlowOptions } from '../decoders/flow/packet-flows.js';
import { AwsVpcParser } from '../decoders/flow/aws-vpc.js';
import { JsonFlowDecoder, JsonValueScanner } from '../decoders/flow/json-flowlogs.js';

/** Raw payload files are held whole (datagrams are ≤ 64 KiB; a file of them stays small). */
const MAX_RAW_PAYLOAD_FILE_BYTES = 256 << 20;
const MAX_JSON_LINE_BYTES = 64 << 20;
const MAX_TEXT_LINE_BYTES = 64 << 10;

export interface FlowIngestOptions {
  /** AWS custom format (field names) for headerless AWS records; null = AWS order / inferred. */
  awsFormat?: readonly string[] | null;
  /** Multiply NetFlow/IPFIX counters by known sampling rates (default true). */
  applySampling?: boolean;
  netflowLimits?: Partial<NetflowLimits>;
  /** How captures are read: exports and packet flows ('auto'), or only one of them. */
  captureMode?: CaptureFlowMode;
  /** Timeouts and table size for flows built from packets. */
  packetFlows?: Partial<PacketFlowOptions>;
}

export type FlowInputFormat =
  | 'netflow-pcap'
  | 'capture'
  | 'capture+netflow'
  | 'netflow-payload'
  | 'aws-vpc'
  | 'gcp-vpc'
  | 'azure-nsg'
  | 'azure-vnet'
  | 'aws-cloudwatch'
  | 'json'
  | 'unknown';

/** Called with each record and the input it came from (its Quality). */
type RoutedFlow = (f: FlowRecord, from: Quality) => void;

/**
 * Receives each record and the index of the input it belongs to (0 for the first `ingest` call);
 * -1 for none (cannot happen for records: only skips are counted against no input).
 */
export type OnFlow = (f: FlowRecord, input: number) => void;

/** Sees an input's chunks as they are read (see the file comment). */
export interface FlowInputTap {
  /** Every decompressed chunk, before the flow decoder reads it. */
  chunk?(c: Buffer): void;
  /** Awaited after the records of one chunk were handed out, before the next chunk is read. */
  between?(): Promise<void>;
}

/** Raw payload files: the tap's `between` is awaited after about this many bytes of datagrams. */
const PAYLOAD_TAP_BYTES = 1 << 20;

/** Routes decoder output to the current input's Quality and the caller's callback. */
class RoutingSink implements FlowSink {
  q: Quality;
  /** NetFlow state whose `tag` (a Quality) wins while buffered data is replayed or dropped. */
  state: NetflowState | null = null;
  private readonly onFlow: RoutedFlow;
  constructor(q: Quality, onFlow: RoutedFlow) {
    this.q = q;
    this.onFlow = onFlow;
  }
  private cur(): Quality {
    const t = this.state?.tag;
    return t instanceof Quality ? t : this.q;
  }
  flow(f: FlowRecord): void {
    const q = this.cur();
    q.ok();
    this.onFlow(f, q);
  }
  /** Flow records skipped per input (a capture's Quality also counts its bad frames). */
  readonly recordSkips = new Map<Quality, number>();
  skip(reason: string, detail?: string): void {
    const q = this.cur();
    q.skip(reason, `record ${q.seen + 1}`, detail);
    this.recordSkips.set(q, (this.recordSkips.get(q) ?? 0) + 1);
  }
  note(reason: string, detail?: string): void {
    this.cur().note(reason, undefined, detail);
  }
}

export function detectFlowFormat(head: Uint8Array): FlowInputFormat {
  if (head.length === 0) return 'unknown';
  if (sniffCapture(head) !== null) return 'netflow-pcap';
  if (head.length >= 2 && head[0] === 0 && (head[1] === 5 || head[1] === 9 || head[1] === 10))
    return 'netflow-payload';
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  while (i < head.length && (head[i] === 32 || head[i] === 9 || head[i] === 10 || head[i] === 13))
    i++;
  if (i >= head.length) return 'unknown';
  const c = head[i]!;
  if (c === 123 || c === 91) return 'json';
  // AWS text: printable ASCII, first token a version number or a header name.
  for (let j = i; j < Math.min(head.length, i + 512); j++) {
    const b = head[j]!;
    if (b < 9 || (b > 13 && b < 32) || b === 127) return 'unknown';
  }
  const firstLineEnd = head.indexOf(10, i);
  const first = Buffer.from(head.subarray(i, firstLineEnd < 0 ? head.length : firstLineEnd))
    .toString('latin1')
    .trim()
    .split(/\s+/);
  if (AwsVpcParser.isHeader(first)) return 'aws-vpc';
  if (/^\d{1,2}$/.test(first[0] ?? '') && first.length >= 4) return 'aws-vpc';
  return 'unknown';
}

/** Ingests flow inputs one after another; one NetFlow state across all of them. */
export class FlowIngest {
  readonly netflow: NetflowState;
  private readonly sink: RoutingSink;
  private readonly opts: FlowIngestOptions;
  private readonly reports: Quality[] = [];
  /** Input index of each input's Quality (records are routed by Quality). */
  private readonly index = new Map<Quality, number>();
  /** The tap of the input being read; set while its calls are in progress so their errors pass. */
  private tap: FlowInputTap | null = null;
  private tapError: { err: unknown } | null = null;
  private readonly pendingQuality = new Quality('(netflow data without template)', 'netflow');
  /** One entry per capture input: what it held and what its packets became. */
  readonly captures: CaptureFlowReport[] = [];

  constructor(onFlow: OnFlow, opts: FlowIngestOptions = {}) {
    this.opts = opts;
    this.sink = new RoutingSink(this.pendingQuality, (f, q) => onFlow(f, this.index.get(q) ?? -1));
    this.netflow = new NetflowState(this.sink, opts.netflowLimits ?? {});
    this.netflow.applySampling = opts.applySampling ?? true;
    this.sink.state = this.netflow;
  }

  /**
   * Read and decode one input. Never throws for bad input: the report's `error` says why it
   * stopped. Errors thrown by the tap (a store that cannot be written) are not input errors: they
   * propagate.
   */
  async ingest(ref: InputRef, tap: FlowInputTap | null = null): Promise<QualityReport> {
    const q = new Quality(ref.name, 'unknown');
    this.index.set(q, this.reports.length);
    this.reports.push(q);
    this.sink.q = q;
    this.netflow.tag = q;
    this.tap = tap;
    this.tapError = null;
    try {
      await this.run(ref, q);
    } catch (err) {
      if (this.fromTap(err)) throw err;
      q.error = err instanceof InputError ? err.message : `${ref.name}: ${errorMessage(err)}`;
    } finally {
      this.tap = null;
    }
    return q.report();
  }

  /**
   * Flow records (not frames or lines) skipped so far for input `input` (its index): for a capture,
   * what the flow decoder skipped beyond the frames any capture reader rejects.
   */
  recordsSkipped(input: number): number {
    const q = this.reports[input];
    return q ? (this.sink.recordSkips.get(q) ?? 0) : 0;
  }

  private fromTap(err: unknown): boolean {
    return this.tapError !== null && this.tapError.err === err;
  }

  private tapChunk(c: Buffer): void {
    if (!this.tap?.chunk) return;
    try {
      this.tap.chunk(c);
    } catch (err) {
      this.tapError = { err };
      throw err;
    }
  }

  private async tapBetween(): Promise<void> {
    if (!this.tap?.between) return;
    try {
      await this.tap.between();
    } catch (err) {
      this.tapError = { err };
      throw err;
    }
  }

  /** End of all inputs: data still waiting for templates is counted (against the input it came from). */
  finish(): QualityReport[] {
    this.netflow.flush();
    return this.reports.map((r) => r.report());
  }

  private async run(ref: InputRef, q: Quality): Promise<void> {
    const it = readChunks(ref)[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) {
      q.format = 'empty';
      return;
    }
    const head = first.value;
    const format = detectFlowFormat(head);
    q.format = format;
    const chunks: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        let sentFirst = false;
        return {
          next: async () => {
            if (!sentFirst) {
              sentFirst = true;
              this.tapChunk(head);
              return { done: false, value: head };
            }
            // The previous chunk's records are out: let the tap write them before reading on.
            await this.tapBetween();
            const r = await it.next();
            if (!r.done) this.tapChunk(r.value);
            return r;
          },
        };
      },
    };
    switch (format) {
      case 'netflow-pcap':
      case 'capture':
      case 'capture+netflow':
        return this.pcap(ref, q, chunks);
      case 'netflow-payload':
        return this.payload(ref, q, chunks);
      case 'json':
        return this.json(q, chunks);
      case 'aws-vpc':
        return this.aws(q, chunks);
      case 'aws-cloudwatch':
      case 'azure-nsg':
      case 'azure-vnet':
      case 'gcp-vpc':
      case 'unknown':
        throw new InputError(
          ErrorCode.INPUT_FORMAT,
          ref.name,
          'not a flow input (expected a NetFlow/IPFIX capture or payload, AWS/GCP/Azure flow logs)',
          { offset: 0 },
        );
    }
  }

  private async pcap(ref: InputRef, q: Quality, chunks: AsyncIterable<Buffer>): Promise<void> {
    const dec = new CaptureFlowDecoder(
      q,
      this.netflow,
      this.sink,
      this.opts.captureMode ?? 'auto',
      this.opts.packetFlows ?? {},
    );
    for await (const c of chunks) {
      dec.push(c);
      if (dec.failure) break;
    }
    // Flows counted so far are emitted even when the capture is damaged.
    this.captures.push(dec.end());
    if (dec.failure)
      throw new InputError(ErrorCode.INPUT_TRUNCATED, ref.name, dec.failure.message, {
        offset: dec.failure.offset,
      });
  }

  private async payload(ref: InputRef, q: Quality, chunks: AsyncIterable<Buffer>): Promise<void> {
    const parts: Buffer[] = [];
    let len = 0;
    for await (const c of chunks) {
      len += c.length;
      if (len > MAX_RAW_PAYLOAD_FILE_BYTES)
        throw new InputError(
          ErrorCode.LIMIT,
          ref.name,
          `payload file over ${MAX_RAW_PAYLOAD_FILE_BYTES} bytes`,
          {
            offset: MAX_RAW_PAYLOAD_FILE_BYTES,
          },
        );
      parts.push(c);
    }
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const state = this.netflow;
    let off = 0;
    let tapAt = PAYLOAD_TAP_BYTES;
    while (off < buf.length) {
      if (off >= tapAt) {
        await this.tapBetween();
        tapAt = off + PAYLOAD_TAP_BYTES;
      }
      const used = decodeNetflowPacket(null, 0, buf, off, buf.length, state);
      if (used === 0) {
        // Trailing bytes that are not a datagram (zero fill after the last one is common).
        let zeros = true;
        for (let i = off; i < buf.length; i++) if (buf[i] !== 0) zeros = false;
        if (!zeros) q.skip('not-netflow', `byte ${off}`, `${buf.length - off} trailing bytes`);
        break;
      }
      off += used;
    }
  }

  private async aws(q: Quality, chunks: AsyncIterable<Buffer>): Promise<void> {
    const parser = new AwsVpcParser(this.sink, this.opts.awsFormat ?? null);
    // Bytes, not strings: ~2× the records/s of decoding each line first (bench/flows.ts).
    const split = new ByteLineSplitter(MAX_TEXT_LINE_BYTES);
    const onLine: ByteLineHandler = (buf, start, end, lineNo, truncated) => {
      if (truncated) q.skip('line-too-long', `line ${lineNo}`);
      else parser.parseBytes(buf, start, end);
    };
    for await (const c of chunks) split.push(c, onLine);
    split.end(onLine);
  }

  private async json(q: Quality, chunks: AsyncIterable<Buffer>): Promise<void> {
    const dec = new JsonFlowDecoder(this.sink, this.opts.awsFormat ?? null);
    const scan = new JsonValueScanner();
    const split = new LineSplitter(MAX_JSON_LINE_BYTES);
    let lineNo = 0;
    const onValue = (t: string): void => dec.decodeText(t);
    const onError = (reason: string): void => q.skip(reason, `line ${lineNo}`);
    const onLine = (l: Line): void => {
      lineNo = l.lineNo;
      if (l.truncated) {
        q.skip('line-too-long', `line ${l.lineNo}`);
        return;
      }
      scan.push(l.text, onValue, onError);
    };
    try {
      for await (const c of chunks) split.push(c, onLine);
      split.end(onLine);
      scan.end(onError);
    } finally {
      // Also when the input stops early: the kind seen so far names it.
      q.format = dec.kind ?? 'json';
    }
  }
}
