// What an input holds, from its first (decompressed) bytes, for `mlscope ingest`: which reader and
// which tables it goes to. Reuses the detectors of the other commands, strictest first:
//   capture    pcap / pcapng magic (sniffCapture)                  → connections, exchanges, flows
//   flows      NetFlow/IPFIX payload, AWS VPC text (a sample of lines must parse as flow records),
//              GCP / Azure / CloudWatch JSON (JsonFlowDecoder must recognise the first value) → flows
//   telemetry  OTLP JSON (resourceSpans/Logs/Metrics), Jaeger, Zipkin (isJaegerDocument,
//              isZipkinDocument), OTLP protobuf (binary starting with field 1, length-delimited)
//                                                                     → spans, logs, points
//   logs       everything else (text; the log parser detects its format) → logs
// JSON that is none of the above (application logs, one object per line) stays logs: telemetry
// and flow JSON are recognised by their own keys, never by being JSON. Pure: bytes in, a verdict out.

import type { FlowRecord, FlowSink } from '../model/flow.js';
import { sniffCapture } from '../decoders/capture/capture-reader.js';
import { AwsVpcParser } from '../decoders/flow/aws-vpc.js';
import { JsonFlowDecoder } from '../decoders/flow/json-flowlogs.js';
import { isJaegerDocument } from '../decoders/otlp/jaeger-json.js';
import { isZipkinDocument } from '../decoders/otlp/zipkin-json.js';
import { isObject } from '../decoders/otlp/common/json.js';
import { detectFlowFormat } from './flows.js';
import { readChunks, type InputRef } from '../sources/files.js';
import { InputError } from '../util/errors.js';
import { looksLikeKeyLog } from '../decoders/proto/tls-decrypt.js';

export type InputKind = 'capture' | 'flows' | 'telemetry' | 'tls-keys' | 'logs';

export interface DetectedInput {
  kind: InputKind;
  /** The format as far as the head tells ('pcap', 'aws-vpc', 'otlp-json', 'auto' for logs…). */
  format: string;
}

/** Bytes of the decompressed head the detection reads. */
export const DETECT_HEAD_BYTES = 64 << 10;
/** AWS text: at most this many complete lines of the head are test-parsed. */
const AWS_SAMPLE_LINES = 32;

const OTLP_KEYS = ['resourceSpans', 'resource_spans', 'resourceLogs', 'resource_logs'];
const OTLP_METRIC_KEYS = ['resourceMetrics', 'resource_metrics'];
/** Key patterns for a JSON head too long to parse (a big document that does not end in the head). */
const OTLP_KEY_RE = /"resource(?:Spans|Logs|Metrics)"\s*:|"resource_(?:spans|logs|metrics)"\s*:/;
const JAEGER_RE =
  /^\s*\{\s*"data"\s*:\s*\[\s*\{\s*"traceID"\s*:|^\s*\{\s*"traceID"\s*:[^]*"spans"\s*:/;
const ZIPKIN_RE = /^\s*\[\s*\{\s*"traceId"\s*:\s*"[0-9a-fA-F]{16,32}"/;
const FLOW_JSON_RE =
  /"logEvents"\s*:|"messageType"\s*:\s*"(?:DATA|CONTROL)_MESSAGE"|"flowTuples"\s*:|"flowRecords"\s*:|"jsonPayload"\s*:\s*\{\s*"(?:bytes_sent|connection)"/;

/**
 * Classify an input from its head. `complete` says the head is the whole input (so a JSON
 * document in it can be parsed whole).
 */
export function detectInput(head: Uint8Array, complete: boolean): DetectedInput {
  const cap = sniffCapture(head);
  if (cap !== null) return { kind: 'capture', format: cap };
  // Before the text detectors: the byte after 0x0a is a length, which may happen to be '{' or '['.
  if (looksLikeOtlpProto(head)) return { kind: 'telemetry', format: 'otlp-proto' };
  const flow = detectFlowFormat(head);
  if (flow === 'netflow-payload') return { kind: 'flows', format: flow };
  if (flow === 'aws-vpc' && awsSampleParses(head, complete)) return { kind: 'flows', format: flow };
  if (flow === 'json') return detectJson(head, complete);
  if (
    looksLikeKeyLog(
      Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, 4096)).toString('latin1'),
    )
  )
    return { kind: 'tls-keys', format: 'nss-keylog' };
  return { kind: 'logs', format: 'auto' };
}

/** A sink that only counts (detection must not emit records). */
class CountingSink implements FlowSink {
  flows = 0;
  /** AWS records that carry no flow by design (NODATA, SKIPDATA): still flow-log records. */
  empty = 0;
  skips = 0;
  flow(_f: FlowRecord): void {
    this.flows++;
  }
  skip(reason: string): void {
    if (reason === 'aws-nodata' || reason === 'aws-skipdata') this.empty++;
    else this.skips++;
  }
  note(): void {}
}

/** Do the head's complete lines parse as AWS flow-log records (more records than rejects)? */
function awsSampleParses(head: Uint8Array, complete: boolean): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8');
  const lines = text.split('\n');
  if (!complete) lines.pop(); // the last line may be cut by the head's end
  const sink = new CountingSink();
  const parser = new AwsVpcParser(sink);
  for (const l of lines.slice(0, AWS_SAMPLE_LINES)) parser.parseLine(l);
  const records = sink.flows + sink.empty;
  return records > 0 && records >= sink.skips;
}

function detectJson(head: Uint8Array, complete: boolean): DetectedInput {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8');
  const doc = sampleJson(text, complete);
  if (doc === undefined) {
    // A document that does not fit in the head: its first keys tell.
    if (OTLP_KEY_RE.test(text)) return { kind: 'telemetry', format: 'otlp-json' };
    if (JAEGER_RE.test(text)) return { kind: 'telemetry', format: 'jaeger-json' };
    if (ZIPKIN_RE.test(text)) return { kind: 'telemetry', format: 'zipkin-json' };
    if (FLOW_JSON_RE.test(text)) return { kind: 'flows', format: 'json' };
    return { kind: 'logs', format: 'auto' };
  }
  if (isZipkinDocument(doc)) return { kind: 'telemetry', format: 'zipkin-json' };
  if (isObject(doc)) {
    for (const k of [...OTLP_KEYS, ...OTLP_METRIC_KEYS])
      if (k in doc) return { kind: 'telemetry', format: 'otlp-json' };
    if (isJaegerDocument(doc)) return { kind: 'telemetry', format: 'jaeger-json' };
  }
  const sink = new CountingSink();
  const dec = new JsonFlowDecoder(sink);
  dec.decodeValue(doc as Parameters<JsonFlowDecoder['decodeValue']>[0], 0);
  if (dec.kind !== null) return { kind: 'flows', format: dec.kind };
  return { kind: 'logs', format: 'auto' };
}

/**
 * The first JSON value of the head: the whole head when it is the whole input and parses, else its
 * first line (JSON lines); undefined when neither parses.
 */
function sampleJson(text: string, complete: boolean): unknown {
  if (complete) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // not one document: JSON lines, or damaged
    }
  }
  const start = text.search(/\S/);
  if (start < 0) return undefined;
  const nl = text.indexOf('\n', start);
  if (nl < 0 && !complete) return undefined;
  try {
    return JSON.parse(nl < 0 ? text.slice(start) : text.slice(start, nl)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * An OTLP ExportTraceServiceRequest in protobuf: field 1 (resource_spans), wire type 2, so the
 * first byte is 0x0a; and binary (NUL or many control bytes), so not a text line starting with LF.
 */
function looksLikeOtlpProto(head: Uint8Array): boolean {
  if (head.length < 2 || head[0] !== 0x0a) return false;
  const n = Math.min(head.length, 1024);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const c = head[i]!;
    if (c === 0) return true;
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) bad++;
  }
  return bad / n > 0.1;
}

/**
 * The first `n` decompressed bytes of an input, for detection; a read error ends the head early
 * (the reader chosen then reports it, with its offset, and keeps what it could read).
 */
export async function peekHead(
  ref: InputRef,
  n: number,
): Promise<{ bytes: Buffer; complete: boolean }> {
  const parts: Buffer[] = [];
  let len = 0;
  let complete = false;
  try {
    let whole = true;
    for await (const c of readChunks(ref)) {
      parts.push(c);
      len += c.length;
      if (len >= n) {
        whole = false;
        break;
      }
    }
    complete = whole;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
  }
  return { bytes: Buffer.concat(parts, len).subarray(0, n), complete };
}

/** Classify an input by the first DETECT_HEAD_BYTES of its decompressed content. */
export async function detectFile(ref: InputRef): Promise<DetectedInput> {
  const head = await peekHead(ref, DETECT_HEAD_BYTES);
  return detectInput(head.bytes, head.complete);
}
