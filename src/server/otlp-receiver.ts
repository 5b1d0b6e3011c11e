// The OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/traces,
// /v1/logs, /v1/metrics with `application/x-protobuf` or `application/json` bodies, optionally
// gzip-compressed. Responses follow the spec:
//   200  Export<Signal>ServiceResponse in the request's encoding; `partial_success` with the
//        rejected count and the first reason when some records were dropped
//   400  malformed body (google.rpc.Status { 1 code int32 = 3 INVALID_ARGUMENT; 2 message string })
//   413  body (compressed or decompressed) over the size limit
//   415  unknown Content-Type or Content-Encoding
//   503  the ingest queue is full (with Retry-After), so memory stays bounded
// Decoding never throws; an unexpected exception still becomes a 400, never a 500.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { Quality } from '../model/quality.js';
import type { LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import {
  decodeLogsRequestJson,
  decodeLogsRequestProto,
  decodeMetricsRequestJson,
  decodeMetricsRequestProto,
  decodeTraceRequestJson,
  decodeTraceRequestProto,
  type DecodeOutcome,
} from '../decoders/otlp/index.js';
import { ProtoWriter } from '../decoders/otlp/writer.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

export const DEFAULT_MAX_BODY_BYTES = 16 << 20;

export type Signal = 'traces' | 'logs' | 'metrics';
export type Encoding = 'protobuf' | 'json';

export const SIGNAL_BY_PATH: Record<string, Signal> = {
  '/v1/traces': 'traces',
  '/v1/logs': 'logs',
  '/v1/metrics': 'metrics',
};

/** Partial-success field names per signal (ExportTracePartialSuccess.rejected_spans, …). */
const REJECTED_FIELD: Record<Signal, string> = {
  traces: 'rejectedSpans',
  logs: 'rejectedLogRecords',
  metrics: 'rejectedDataPoints',
};

export interface ReceiverHooks {
  spans(batch: Span[]): void;
  logs(batch: LogRecord[]): void;
  points(batch: MetricPoint[]): void;
  /** True when the queue cannot take more now (→ 503). */
  full(): boolean;
  /** After each request: what was decoded, for /metrics. */
  observe(
    signal: Signal,
    encoding: Encoding | null,
    status: number,
    outcome: DecodeOutcome | null,
  ): void;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Read a request body up to `limit` bytes (413 past it, checked against Content-Length first). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new HttpError(413, `body of ${declared} bytes exceeds the limit of ${limit}`));
      return;
    }
    const parts: Buffer[] = [];
    let n = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      n += c.length;
      if (n > limit) {
        failed = true;
        parts.length = 0;
        reject(new HttpError(413, `body exceeds the limit of ${limit} bytes`));
        return;
      }
      parts.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n));
    });
    req.on('error', (e) => {
      if (!failed) reject(new HttpError(400, `request body could not be read: ${e.message}`));
    });
  });
}

function encodingOf(contentType: string | undefined): Encoding | null {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return 'protobuf';
  if (ct === 'application/json') return 'json';
  return null;
}

async function decompress(body: Buffer, enc: string | undefined, limit: number): Promise<Buffer> {
  const e = (enc ?? 'identity').trim().toLowerCase();
  if (e === 'identity' || e === '') return body;
  if (e !== 'gzip' && e !== 'deflate')
    throw new HttpError(415, `unsupported Content-Encoding '${e}'`);
  try {
    return e === 'gzip'
      ? await gunzipAsync(body, { maxOutputLength: limit })
      : await inflateAsync(body, { maxOutputLength: limit });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw new HttpError(413, `decompressed body exceeds the limit of ${limit} bytes`);
    throw new HttpError(400, `${e} body is corrupt: ${(err as Error).message}`);
  }
}

/** Decode one export request; never throws. */
export function decodeExport(
  signal: Signal,
  encoding: Encoding,
  body: Buffer,
  out: { spans: Span[]; logs: LogRecord[]; points: MetricPoint[] },
  q: Quality,
): DecodeOutcome {
  let doc: unknown = null;
  if (encoding === 'json') {
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (err) {
      q.skip('malformed-request', 0, (err as Error).message);
      return {
        accepted: 0,
        rejected: 0,
        rejectMessage: null,
        error: `invalid JSON: ${(err as Error).message}`,
        errorAt: -1,
      };
    }
  }
  switch (signal) {
    case 'traces':
      return encoding === 'json'
        ? decodeTraceRequestJson(doc, out.spans, q)
        : decodeTraceRequestProto(body, out.spans, q);
    case 'logs':
      return encoding === 'json'
        ? decodeLogsRequestJson(doc, out.logs, q)
        : decodeLogsRequestProto(body, out.logs, q);
    case 'metrics':
      return encoding === 'json'
        ? decodeMetricsRequestJson(doc, out.points, q)
        : decodeMetricsRequestProto(body, out.points, q);
  }
}

function send(
  res: ServerResponse,
  status: number,
  encoding: Encoding,
  body: Uint8Array | string,
  extra: Record<string, string> = {},
): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
    'content-length': String(buf.length),
    ...extra,
  });
  res.end(buf);
}

/** google.rpc.Status for error responses; code 3 = INVALID_ARGUMENT, 8 = RESOURCE_EXHAUSTED, 14 = UNAVAILABLE. */
function sendStatus(
  res: ServerResponse,
  status: number,
  encoding: Encoding,
  message: string,
  extra: Record<string, string> = {},
): void {
  const code = status === 503 ? 14 : status === 413 ? 8 : 3;
  if (encoding === 'json') send(res, status, 'json', JSON.stringify({ code, message }), extra);
  else
    send(
      res,
      status,
      'protobuf',
      new ProtoWriter(64).uint(1, code).string(2, message).finish(),
      extra,
    );
}

function sendSuccess(
  res: ServerResponse,
  signal: Signal,
  encoding: Encoding,
  o: DecodeOutcome,
): void {
  const partial = o.rejected > 0;
  const msg = o.rejectMessage ?? '';
  if (encoding === 'json') {
    const body = partial
      ? { partialSuccess: { [REJECTED_FIELD[signal]]: String(o.rejected), errorMessage: msg } }
      : {};
    send(res, 200, 'json', JSON.stringify(body));
    return;
  }
  // Export*ServiceResponse { 1 partial_success { 1 rejected_* int64; 2 error_message string } }
  const w = new ProtoWriter(64);
  if (partial) w.message(1, new ProtoWriter(64).int(1, o.rejected).string(2, msg));
  send(res, 200, 'protobuf', w.finish());
}

export interface ReceiverOptions {
  maxBodyBytes: number;
}

export async function handleOtlp(
  req: IncomingMessage,
  res: ServerResponse,
  signal: Signal,
  hooks: ReceiverHooks,
  opts: ReceiverOptions,
): Promise<void> {
  const encoding = encodingOf(req.headers['content-type']);
  if (req.method !== 'POST') {
    req.resume();
    sendStatus(res, 405, encoding ?? 'json', `${req.method ?? ''} not allowed; use POST`, {
      allow: 'POST',
    });
    hooks.observe(signal, encoding, 405, null);
    return;
  }
  if (encoding === null) {
    req.resume();
    sendStatus(
      res,
      415,
      'json',
      `unsupported Content-Type '${req.headers['content-type'] ?? ''}'; use application/x-protobuf or application/json`,
    );
    hooks.observe(signal, null, 415, null);
    return;
  }
  if (hooks.full()) {
    req.resume();
    sendStatus(res, 503, encoding, 'ingest queue is full, retry later', { 'retry-after': '1' });
    hooks.observe(signal, encoding, 503, null);
    return;
  }
  let outcome: DecodeOutcome | null = null;
  let status = 200;
  try {
    const raw = await readBody(req, opts.maxBodyBytes);
    const body = await decompress(raw, req.headers['content-encoding'], opts.maxBodyBytes);
    const out = { spans: [] as Span[], logs: [] as LogRecord[], points: [] as MetricPoint[] };
    const q = new Quality('otlp', `otlp-${encoding}`);
    outcome = decodeExport(signal, encoding, body, out, q);
    if (outcome.error !== null) {
      status = 400;
      sendStatus(
        res,
        400,
        encoding,
        `malformed ${signal} request: ${outcome.error}${outcome.errorAt >= 0 ? ` at byte ${outcome.errorAt}` : ''}`,
      );
    } else {
      if (out.spans.length) hooks.spans(out.spans);
      if (out.logs.length) hooks.logs(out.logs);
      if (out.points.length) hooks.points(out.points);
      sendSuccess(res, signal, encoding, outcome);
    }
  } catch (err) {
    status = err instanceof HttpError ? err.status : 400;
    const msg = err instanceof Error ? err.message : String(err);
    if (status === 413) res.setHeader('connection', 'close');
    sendStatus(res, status, encoding, msg);
  }
  hooks.observe(signal, encoding, status, outcome);
}
