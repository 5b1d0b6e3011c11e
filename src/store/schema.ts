// The store's tables described as data, so every backend (DuckDB now, ClickHouse later) builds the
// same schema from one list and appends columns in the same order. Each column has a portable
// type and a getter from the normalized record (model/records.ts) to a plain JS value.
//
// Time: every record table keeps the model's µs clock in a numeric column (`ts_us` BIGINT for
// logs, `*_us` DOUBLE for captures, which can be fractional for nanosecond captures) plus a
// TIMESTAMP column for humans. The numeric columns are what portable SQL should use (ClickHouse
// 18.16 has no DateTime64).

import type { AttrValue, Connection, Exchange, LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import { protoName, type FlowRecord } from '../model/flow.js';

/**
 * Bump when a table or column changes. A database of an older version is upgraded in place when
 * the versions since only added tables (TABLES_ADDED_IN); any other difference is refused.
 */
export const SCHEMA_VERSION = 5;

/**
 * Portable column types. `bigint` and `ts` take a JS number (an integer count; `ts` is µs since the
 * epoch), `int` a 32-bit integer, `json` a string holding a JSON document.
 */
export type ColumnType = 'bigint' | 'int' | 'double' | 'text' | 'ts' | 'bool' | 'json';

export type ColumnValue = number | string | boolean | null;

export interface ColumnSpec<R> {
  name: string;
  type: ColumnType;
  /** Reads the value from a record; `inputId` is the `inputs.id` the batch came from. */
  get: (r: R, inputId: number | null) => ColumnValue;
  /**
   * JSON columns of a flat object: the object whose JSON.stringify text `get` gives (an object
   * without keys: NULL). Encoders may write its bytes themselves (columns.ts, json-bytes.ts).
   */
  object?: (r: R) => Readonly<Record<string, unknown>> | null;
}

export interface TableSpec<R> {
  name: string;
  columns: readonly ColumnSpec<R>[];
}

/** Attributes as one JSON object; `{}` is stored as NULL to save space on plain-text logs. */
function attributesJson(a: Record<string, AttrValue>): string | null {
  for (const _ in a) return JSON.stringify(a);
  return null;
}

export const LOGS: TableSpec<LogRecord> = {
  name: 'logs',
  columns: [
    { name: 'ts', type: 'ts', get: (r) => r.tsUs },
    { name: 'ts_us', type: 'bigint', get: (r) => r.tsUs },
    { name: 'severity', type: 'text', get: (r) => r.severity },
    { name: 'body', type: 'text', get: (r) => r.body },
    { name: 'template_id', type: 'text', get: (r) => r.templateId },
    { name: 'request_id', type: 'text', get: (r) => r.requestId },
    { name: 'trace_id', type: 'text', get: (r) => r.traceId },
    { name: 'span_id', type: 'text', get: (r) => r.spanId },
    { name: 'http_method', type: 'text', get: (r) => r.httpMethod },
    { name: 'http_path', type: 'text', get: (r) => r.httpPath },
    { name: 'http_status', type: 'int', get: (r) => r.httpStatus },
    { name: 'duration_ms', type: 'double', get: (r) => r.durationMs },
    { name: 'client_ip', type: 'text', get: (r) => r.clientIp },
    { name: 'service', type: 'text', get: (r) => r.service },
    { name: 'host', type: 'text', get: (r) => r.host },
    { name: 'file', type: 'text', get: (r) => r.file },
    { name: 'line_no', type: 'bigint', get: (r) => r.lineNo },
    { name: 'format', type: 'text', get: (r) => r.format },
    {
      name: 'attributes',
      type: 'json',
      get: (r) => attributesJson(r.attributes),
      object: (r) => r.attributes,
    },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

function headersJson(h: Record<string, string>): string | null {
  for (const _ in h) return JSON.stringify(h);
  return null;
}

export const CONNECTIONS: TableSpec<Connection> = {
  name: 'connections',
  columns: [
    { name: 'id', type: 'bigint', get: (r) => r.id },
    { name: 'client_ip', type: 'text', get: (r) => r.client.ip },
    { name: 'client_port', type: 'int', get: (r) => r.client.port },
    { name: 'server_ip', type: 'text', get: (r) => r.server.ip },
    { name: 'server_port', type: 'int', get: (r) => r.server.port },
    { name: 'role_by', type: 'text', get: (r) => r.roleBy },
    { name: 'first_ts', type: 'ts', get: (r) => r.firstUs },
    { name: 'last_ts', type: 'ts', get: (r) => r.lastUs },
    { name: 'first_us', type: 'double', get: (r) => r.firstUs },
    { name: 'last_us', type: 'double', get: (r) => r.lastUs },
    { name: 'first_frame', type: 'bigint', get: (r) => r.firstFrame },
    { name: 'last_frame', type: 'bigint', get: (r) => r.lastFrame },
    { name: 'handshake', type: 'bool', get: (r) => r.handshake },
    { name: 'handshake_rtt_ms', type: 'double', get: (r) => r.handshakeRttMs },
    { name: 'syn_to_syn_ack_ms', type: 'double', get: (r) => r.synToSynAckMs },
    { name: 'syn_ack_to_ack_ms', type: 'double', get: (r) => r.synAckToAckMs },
    { name: 'syn_count', type: 'int', get: (r) => r.synCount },
    ...pair('packets', (r) => r.packets),
    ...pair('bytes', (r) => r.bytes),
    ...pair('payload_bytes', (r) => r.payloadBytes),
    ...pair('retransmissions', (r) => r.retransmissions),
    ...pair('fast_retransmissions', (r) => r.fastRetransmissions),
    ...pair('spurious_retransmissions', (r) => r.spuriousRetransmissions),
    ...pair('duplicate_acks', (r) => r.duplicateAcks),
    ...pair('zero_windows', (r) => r.zeroWindows),
    ...pair('out_of_order', (r) => r.outOfOrder),
    ...pair('lost_segments', (r) => r.lostSegments),
    ...pair('resets', (r) => r.resets),
    ...pair('fins', (r) => r.fins),
    ...pair('missing_bytes', (r) => r.missingBytes),
    { name: 'max_rto_stall_ms', type: 'double', get: (r) => r.maxRtoStallMs },
    { name: 'rto_stall_ms', type: 'double', get: (r) => r.rtoStallMs },
    {
      name: 'retransmission_frames',
      type: 'json',
      get: (r) => (r.retransmissionFrames.length ? JSON.stringify(r.retransmissionFrames) : null),
    },
    { name: 'app_protocol', type: 'text', get: (r) => r.appProtocol },
    { name: 'close', type: 'text', get: (r) => r.close },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

/** A [client→server, server→client] counter as two BIGINT columns `<name>_c2s`, `<name>_s2c`. */
function pair(name: string, get: (r: Connection) => [number, number]): ColumnSpec<Connection>[] {
  return [
    { name: `${name}_c2s`, type: 'bigint', get: (r) => get(r)[0] },
    { name: `${name}_s2c`, type: 'bigint', get: (r) => get(r)[1] },
  ];
}

export const EXCHANGES: TableSpec<Exchange> = {
  name: 'exchanges',
  columns: [
    { name: 'id', type: 'bigint', get: (r) => r.id },
    { name: 'conn_id', type: 'bigint', get: (r) => r.connId },
    { name: 'ts', type: 'ts', get: (r) => r.reqFirstUs ?? r.respFirstUs },
    { name: 'client_ip', type: 'text', get: (r) => r.client.ip },
    { name: 'client_port', type: 'int', get: (r) => r.client.port },
    { name: 'server_ip', type: 'text', get: (r) => r.server.ip },
    { name: 'server_port', type: 'int', get: (r) => r.server.port },
    { name: 'protocol', type: 'text', get: (r) => r.protocol },
    { name: 'stream_id', type: 'bigint', get: (r) => r.streamId },
    { name: 'method', type: 'text', get: (r) => r.method },
    { name: 'host', type: 'text', get: (r) => r.host },
    { name: 'path', type: 'text', get: (r) => r.path },
    { name: 'status', type: 'int', get: (r) => r.status },
    { name: 'reason', type: 'text', get: (r) => r.reason },
    { name: 'request_headers', type: 'json', get: (r) => headersJson(r.requestHeaders) },
    { name: 'response_headers', type: 'json', get: (r) => headersJson(r.responseHeaders) },
    { name: 'request_id', type: 'text', get: (r) => r.requestId },
    { name: 'traceparent', type: 'text', get: (r) => r.traceparent },
    { name: 'content_type', type: 'text', get: (r) => r.contentType },
    { name: 'req_body_bytes', type: 'bigint', get: (r) => r.reqBodyBytes },
    { name: 'resp_body_bytes', type: 'bigint', get: (r) => r.respBodyBytes },
    { name: 'req_first_us', type: 'double', get: (r) => r.reqFirstUs },
    { name: 'req_last_us', type: 'double', get: (r) => r.reqLastUs },
    { name: 'resp_first_us', type: 'double', get: (r) => r.respFirstUs },
    { name: 'resp_last_us', type: 'double', get: (r) => r.respLastUs },
    { name: 'req_first_frame', type: 'bigint', get: (r) => r.reqFirstFrame },
    { name: 'resp_first_frame', type: 'bigint', get: (r) => r.respFirstFrame },
    { name: 'resp_last_frame', type: 'bigint', get: (r) => r.respLastFrame },
    { name: 'server_time_ms', type: 'double', get: (r) => r.serverTimeMs },
    { name: 'total_ms', type: 'double', get: (r) => r.totalMs },
    { name: 'req_body', type: 'text', get: (r) => r.reqBody },
    { name: 'resp_body', type: 'text', get: (r) => r.respBody },
    { name: 'state', type: 'text', get: (r) => r.state },
    { name: 'grpc_status', type: 'int', get: (r) => r.grpcStatus },
    { name: 'grpc_message', type: 'text', get: (r) => r.grpcMessage },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

/** One row per ingested input (see store/inputs.ts for how re-ingests are decided). */
export interface InputRow {
  id: number;
  path: string;
  sizeBytes: number;
  /** File modification time, ms since the epoch. */
  mtimeMs: number;
  /** SHA-256 (hex) of the first and of the last `windowBytes` bytes as stored on disk. */
  headHash: string;
  tailHash: string;
  windowBytes: number;
  /** 'logs' | 'capture' | … */
  kind: string;
  format: string | null;
  records: number;
  skipped: number;
  /** 'ingesting' while rows are being appended, 'done' after; 'ingesting' rows left by a crash are replaced. */
  status: 'ingesting' | 'done';
  error: string | null;
}

export const INPUTS: TableSpec<InputRow> = {
  name: 'inputs',
  columns: [
    { name: 'id', type: 'int', get: (r) => r.id },
    { name: 'path', type: 'text', get: (r) => r.path },
    { name: 'size_bytes', type: 'bigint', get: (r) => r.sizeBytes },
    { name: 'mtime', type: 'ts', get: (r) => Math.round(r.mtimeMs * 1000) },
    { name: 'head_hash', type: 'text', get: (r) => r.headHash },
    { name: 'tail_hash', type: 'text', get: (r) => r.tailHash },
    { name: 'window_bytes', type: 'bigint', get: (r) => r.windowBytes },
    { name: 'kind', type: 'text', get: (r) => r.kind },
    { name: 'format', type: 'text', get: (r) => r.format },
    { name: 'records', type: 'bigint', get: (r) => r.records },
    { name: 'skipped', type: 'bigint', get: (r) => r.skipped },
    { name: 'status', type: 'text', get: (r) => r.status },
    { name: 'error', type: 'text', get: (r) => r.error },
  ],
};

/**
 * Where `mlscope serve` stands in one tailed file (server/tail.ts), saved in the same transaction
 * as the rows read up to there, so a restart resumes exactly after them. One row per file the path
 * names while it is tailed (the current file, and a rotated-away one still being drained).
 * Identity is `dev`+`ino` plus SHA-256 of the first `headBytes` bytes (≤ 1 KiB), which tells a
 * path reused by another file, or a file truncated and rewritten, from the file we read.
 */
export interface TailPosition {
  /** The tailed path as given on the command line. */
  path: string;
  /** Device and inode numbers (decimal text: inode numbers can exceed BIGINT on some file systems). */
  dev: string;
  ino: string;
  headBytes: number;
  /** SHA-256 (hex) of the first `headBytes` bytes of the file. */
  headHash: string;
  /** Byte offset just after the last line whose records are in the store (a line start). */
  offset: number;
  /** Lines before `offset`, counted from where tailing this file began (0 there). */
  lineNo: number;
  /** When the position was saved, ms since the epoch. */
  updatedMs: number;
}

export const TAIL_POSITIONS: TableSpec<TailPosition> = {
  name: 'tail_positions',
  columns: [
    { name: 'path', type: 'text', get: (r) => r.path },
    { name: 'dev', type: 'text', get: (r) => r.dev },
    { name: 'ino', type: 'text', get: (r) => r.ino },
    { name: 'head_bytes', type: 'int', get: (r) => r.headBytes },
    { name: 'head_hash', type: 'text', get: (r) => r.headHash },
    { name: 'byte_offset', type: 'bigint', get: (r) => r.offset },
    { name: 'line_no', type: 'bigint', get: (r) => r.lineNo },
    { name: 'updated', type: 'ts', get: (r) => Math.round(r.updatedMs * 1000) },
  ],
};

/**
 * One row per log template id found in `logs.template_id` (analyzers/templates: the id is a hash of
 * the template text, so the same template gets the same id in every input and run). `count` is
 * the number of `logs` rows carrying the id, kept up to date as inputs are added and removed;
 * `example` is the first line mined into the template (in the input it was first seen in).
 */
export interface TemplateRow {
  templateId: string;
  template: string;
  count: number;
  example: string;
  firstInputId: number | null;
}

export const TEMPLATES: TableSpec<TemplateRow> = {
  name: 'templates',
  columns: [
    { name: 'template_id', type: 'text', get: (r) => r.templateId },
    { name: 'template', type: 'text', get: (r) => r.template },
    { name: 'count', type: 'bigint', get: (r) => r.count },
    { name: 'example', type: 'text', get: (r) => r.example },
    { name: 'first_input_id', type: 'int', get: (r) => r.firstInputId },
  ],
};

/** Resource objects are shared by every span of a ResourceSpans: serialise each once. */
const resourceJson = new WeakMap<object, string | null>();
function resourceOf(r: Record<string, AttrValue>): string | null {
  let s = resourceJson.get(r);
  if (s === undefined) {
    s = jsonOrNull(r);
    resourceJson.set(r, s);
  }
  return s;
}

function jsonOrNull(a: Record<string, unknown>): string | null {
  for (const _ in a) return JSON.stringify(a);
  return null;
}

export const SPANS: TableSpec<Span> = {
  name: 'spans',
  columns: [
    { name: 'ts', type: 'ts', get: (r) => r.startUs },
    { name: 'trace_id', type: 'text', get: (r) => r.traceId },
    { name: 'span_id', type: 'text', get: (r) => r.spanId },
    { name: 'parent_span_id', type: 'text', get: (r) => r.parentSpanId },
    { name: 'service', type: 'text', get: (r) => r.service },
    { name: 'name', type: 'text', get: (r) => r.name },
    { name: 'kind', type: 'text', get: (r) => r.kind },
    { name: 'start_us', type: 'bigint', get: (r) => r.startUs },
    { name: 'end_us', type: 'bigint', get: (r) => r.endUs },
    { name: 'duration_ms', type: 'double', get: (r) => (r.endUs - r.startUs) / 1000 },
    { name: 'status', type: 'text', get: (r) => r.status },
    { name: 'status_message', type: 'text', get: (r) => r.statusMessage },
    { name: 'attributes', type: 'json', get: (r) => jsonOrNull(r.attributes) },
    {
      name: 'events',
      type: 'json',
      get: (r) => (r.events.length ? JSON.stringify(r.events) : null),
    },
    { name: 'links', type: 'json', get: (r) => (r.links.length ? JSON.stringify(r.links) : null) },
    { name: 'resource', type: 'json', get: (r) => resourceOf(r.resource) },
    { name: 'scope', type: 'text', get: (r) => r.scope },
    { name: 'format', type: 'text', get: (r) => r.format },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

export const POINTS: TableSpec<MetricPoint> = {
  name: 'points',
  columns: [
    { name: 'ts', type: 'ts', get: (r) => r.tsUs },
    { name: 'ts_us', type: 'bigint', get: (r) => r.tsUs },
    { name: 'name', type: 'text', get: (r) => r.name },
    { name: 'labels', type: 'json', get: (r) => jsonOrNull(r.labels) },
    { name: 'value', type: 'double', get: (r) => r.value },
    { name: 'kind', type: 'text', get: (r) => r.kind },
    { name: 'temporality', type: 'text', get: (r) => r.temporality },
    { name: 'unit', type: 'text', get: (r) => r.unit },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

/** Flow records (VPC / NSG flow logs, NetFlow, IPFIX): model/flow.ts, one row per record. */
export const FLOWS: TableSpec<FlowRecord> = {
  name: 'flows',
  columns: [
    { name: 'ts', type: 'ts', get: (r) => r.startUs ?? r.endUs },
    { name: 'start_us', type: 'bigint', get: (r) => r.startUs },
    { name: 'end_us', type: 'bigint', get: (r) => r.endUs },
    { name: 'source', type: 'text', get: (r) => r.source },
    { name: 'src', type: 'text', get: (r) => r.src },
    { name: 'dst', type: 'text', get: (r) => r.dst },
    { name: 'src_port', type: 'int', get: (r) => r.srcPort },
    { name: 'dst_port', type: 'int', get: (r) => r.dstPort },
    { name: 'proto', type: 'text', get: (r) => (r.proto < 0 ? null : protoName(r.proto)) },
    { name: 'proto_number', type: 'int', get: (r) => (r.proto < 0 ? null : r.proto) },
    { name: 'bytes', type: 'bigint', get: (r) => r.bytes },
    { name: 'packets', type: 'bigint', get: (r) => r.packets },
    { name: 'reverse_bytes', type: 'bigint', get: (r) => r.reverseBytes },
    { name: 'reverse_packets', type: 'bigint', get: (r) => r.reversePackets },
    { name: 'end_reason', type: 'text', get: (r) => r.endReason },
    { name: 'exporter', type: 'text', get: (r) => r.exporter },
    { name: 'action', type: 'text', get: (r) => r.action },
    { name: 'tcp_flags', type: 'int', get: (r) => r.tcpFlags },
    { name: 'sampling_rate', type: 'double', get: (r) => r.samplingRate },
    { name: 'tos', type: 'int', get: (r) => r.tos },
    { name: 'in_if', type: 'bigint', get: (r) => r.inIf },
    { name: 'out_if', type: 'bigint', get: (r) => r.outIf },
    { name: 'direction', type: 'text', get: (r) => r.direction },
    { name: 'domain_id', type: 'bigint', get: (r) => r.domainId },
    { name: 'interface_id', type: 'text', get: (r) => r.interfaceId },
    { name: 'vpc_id', type: 'text', get: (r) => r.vpcId },
    { name: 'account_id', type: 'text', get: (r) => r.accountId },
    { name: 'log_status', type: 'text', get: (r) => r.logStatus },
    { name: 'detail', type: 'text', get: (r) => r.detail },
    { name: 'input_id', type: 'int', get: (_r, inputId) => inputId },
  ],
};

/** The record tables (they carry `input_id`), in creation order. */
export const RECORD_TABLES = [LOGS, CONNECTIONS, EXCHANGES, SPANS, POINTS, FLOWS] as const;

/** Schema versions that only added tables, with the tables they added (older files upgrade). */
export const TABLES_ADDED_IN: Readonly<Record<number, readonly TableSpec<never>[]>> = {
  3: [FLOWS],
  4: [TAIL_POSITIONS],
  5: [TEMPLATES],
};
