// Normalized record types (DESIGN.md "Normalized model"). Timestamps are UTC microseconds since
// the epoch (`…Us`, a double: fractional for nanosecond captures); durations carry their unit.

/** Direction within a connection: 0 = client → server (initiator), 1 = server → client. */
export type Dir = 0 | 1;
export const DIR_CLIENT = 0 as const;
export const DIR_SERVER = 1 as const;

export interface Endpoint {
  ip: string;
  port: number;
}

/** `ip:port`, an IPv6 address in brackets (`[fd77::1]:8000`, as in URLs; bare it is ambiguous). */
export function endpointText(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** One TCP connection (a Wireshark "TCP conversation"). */
export interface Connection {
  id: number;
  client: Endpoint;
  server: Endpoint;
  /** How the client/server roles were decided. */
  roleBy: 'syn' | 'syn-ack' | 'port' | 'first-packet';
  firstUs: number;
  lastUs: number;
  firstFrame: number;
  lastFrame: number;
  /** SYN → SYN/ACK → ACK seen. */
  handshake: boolean;
  /** Wireshark's iRTT: first SYN to the ACK completing the handshake, ms; null without a handshake. */
  handshakeRttMs: number | null;
  /** Client-side (SYN → SYN/ACK) and server-side (SYN/ACK → ACK) parts of the handshake, ms. */
  synToSynAckMs: number | null;
  synAckToAckMs: number | null;
  /** SYNs the client sent (a value >1 means SYN retries). */
  synCount: number;
  packets: [number, number];
  /** IP bytes (frame length minus link header) each way. */
  bytes: [number, number];
  payloadBytes: [number, number];
  retransmissions: [number, number];
  fastRetransmissions: [number, number];
  spuriousRetransmissions: [number, number];
  duplicateAcks: [number, number];
  zeroWindows: [number, number];
  outOfOrder: [number, number];
  lostSegments: [number, number];
  resets: [number, number];
  fins: [number, number];
  /** Longest gap before a retransmission (an RTO stall), ms; 0 if none. */
  maxRtoStallMs: number;
  /** Sum of gaps before retransmissions, ms. */
  rtoStallMs: number;
  /** Frames of retransmissions (first few), for evidence. */
  retransmissionFrames: number[];
  /** Application protocol recognised on the stream, if any. */
  appProtocol: string | null;
  /** How the connection ended. */
  close: 'fin' | 'rst' | 'open';
  /** Bytes missing from the reassembled stream each way (capture loss or snaplen). */
  missingBytes: [number, number];
}

/** One retransmitted segment (Wireshark's retransmission, fast or spurious retransmission). */
export interface RetransmissionEvent {
  connId: number;
  dir: Dir;
  tsUs: number;
  frame: number;
  kind: 'retransmission' | 'fast' | 'spurious';
  /** Gap since the oldest unacknowledged segment (the RTO stall), ms; 0 for fast/spurious. */
  stallMs: number;
  /** A retransmitted SYN (a connect retry). */
  syn: boolean;
}

/** One HTTP request/response exchange (HTTP/1.x, HTTP/2 stream, gRPC call). */
export interface Exchange {
  id: number;
  connId: number;
  client: Endpoint;
  server: Endpoint;
  protocol: string; // 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2', …
  /** HTTP/2 stream id; null for HTTP/1.x. */
  streamId: number | null;
  method: string | null;
  host: string | null;
  path: string | null;
  status: number | null;
  reason: string | null;
  /** Selected headers (lower-case names), values cut to a bound. */
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
  /** X-Request-ID-style id: from the request, else echoed in the response. */
  requestId: string | null;
  traceparent: string | null;
  contentType: string | null;
  reqBodyBytes: number;
  respBodyBytes: number;
  reqFirstUs: number | null;
  reqLastUs: number | null;
  respFirstUs: number | null;
  respLastUs: number | null;
  reqFirstFrame: number | null;
  respFirstFrame: number | null;
  respLastFrame: number | null;
  /** Response first byte − request last byte, ms. */
  serverTimeMs: number | null;
  /** Request first byte → response last byte, ms. */
  totalMs: number | null;
  /** Captured body prefixes (bounded), when body capture is on; UTF-8 text or null. */
  reqBody: string | null;
  respBody: string | null;
  /** 'complete' | 'no-response' | 'reset' | 'truncated' (a gap or the capture ended mid-message). */
  state: 'complete' | 'no-response' | 'reset' | 'truncated';
  /** gRPC status from trailers, if any. */
  grpcStatus: number | null;
  grpcMessage: string | null;
  /**
   * ML API analysis: the request (endpoint kind, model, prompt size…) and, for a streamed (SSE)
   * response, its stream stats (TTFT, inter-chunk gaps, tokens, stalls); null when neither
   * applied. Optional: producers that do not analyse bodies leave it out.
   */
  llm?: ExchangeLlm | null;
  /** gRPC call details (HTTP/2 exchanges with an application/grpc content type). */
  grpc?: ExchangeGrpc | null;
  /** HTTP/2 stream details (HTTP/2 exchanges only). */
  http2?: ExchangeHttp2;
}

/**
 * An exchange between `client` and `server` with nothing known yet: no request or response seen,
 * state complete. Decoders that learn little (tls-timing.ts) and tests start from it.
 */
export function blankExchange(
  p: Partial<Exchange> & Pick<Exchange, 'client' | 'server'>,
): Exchange {
  return {
    id: 0,
    connId: 0,
    protocol: 'HTTP/1.1',
    streamId: null,
    method: null,
    host: null,
    path: null,
    status: null,
    reason: null,
    requestHeaders: {},
    responseHeaders: {},
    requestId: null,
    traceparent: null,
    contentType: null,
    reqBodyBytes: 0,
    respBodyBytes: 0,
    reqFirstUs: null,
    reqLastUs: null,
    respFirstUs: null,
    respLastUs: null,
    reqFirstFrame: null,
    respFirstFrame: null,
    respLastFrame: null,
    serverTimeMs: null,
    totalMs: null,
    reqBody: null,
    respBody: null,
    state: 'complete',
    grpcStatus: null,
    grpcMessage: null,
    ...p,
  };
}

// The analyses protocol decoders attach to exchanges (decoders/proto/llm.ts, grpc.ts, http2.ts
// use these types as theirs: the model is the one definition, since it may not import decoders).

export type MlEndpointKindName =
  | 'openai-chat'
  | 'openai-completions'
  | 'openai-embeddings'
  | 'openai-responses'
  | 'anthropic-messages'
  | 'gemini-generate'
  | 'kserve-v1'
  | 'kserve-v2'
  | 'torchserve'
  | 'sagemaker'
  | 'tgi'
  | 'ollama'
  | 'unknown';

/** `Exchange.llm.request`: what an ML API request asked for. */
export interface ExchangeLlmRequest {
  kind: MlEndpointKindName;
  /** The verb within the API: 'chat.completions', 'predict', 'infer', 'generate'… */
  operation: string | null;
  model: string | null;
  /** Characters of prompt text, summed, and ≈ promptChars / 4. */
  promptChars: number;
  estPromptTokens: number;
  items: number;
  maxTokens: number | null;
  stream: boolean;
  /** The body was cut before it ended (counts are then lower bounds). */
  bodyTruncated: boolean;
  parseError: boolean;
}

export type LlmStreamFormatName =
  | 'openai-chat'
  | 'openai-completions'
  | 'openai-responses'
  | 'tgi'
  | 'gemini'
  | 'anthropic'
  | 'unknown';

/** `Exchange.llm.stream`: a streamed (SSE) response, timed from the capture. */
export interface ExchangeLlmStream {
  format: LlmStreamFormatName;
  events: number;
  contentChunks: number;
  /** Completion tokens: `usage` when sent, else estimated (see tokensSource). */
  tokens: number;
  tokensSource: 'usage' | 'chunks' | 'chars';
  usage: {
    promptTokens: number | null;
    completionTokens: number | null;
    totalTokens: number | null;
  } | null;
  model: string | null;
  finishReason: string | null;
  done: boolean;
  /** Request last byte → first content chunk, ms. */
  ttftMs: number | null;
  firstEventMs: number | null;
  /** First → last content chunk, ms. */
  generationMs: number | null;
  totalMs: number | null;
  /** Gaps between content chunks, ms. */
  gapP50Ms: number | null;
  gapP95Ms: number | null;
  gapMaxMs: number | null;
  stalls: number;
  stallMaxMs: number;
  tokensPerSec: number | null;
  error: string | null;
  malformedEvents: number;
  incompleteEvent: boolean;
}

/** `Exchange.llm`. */
export interface ExchangeLlm {
  request: ExchangeLlmRequest | null;
  stream: ExchangeLlmStream | null;
}

/** `Exchange.grpc`. */
export interface ExchangeGrpc {
  service: string | null;
  method: string | null;
  kind: 'unary' | 'client-streaming' | 'server-streaming' | 'bidi-streaming';
  reqMessages: number;
  respMessages: number;
  reqMessageBytes: number;
  respMessageBytes: number;
  reqMaxMessageBytes: number;
  respMaxMessageBytes: number;
  compressedMessages: number;
  malformed: boolean;
  timeoutMs: number | null;
  encoding: string | null;
  statusName: string | null;
  trailersOnly: boolean;
}

/** `Exchange.http2`. */
export interface ExchangeHttp2 {
  /** RST_STREAM error code name, and who sent it. */
  rstError: string | null;
  rstBy: 'client' | 'server' | null;
  /** GOAWAY seen on the connection before the stream ended (error name). */
  goaway: string | null;
  flowControlStalled: boolean;
  flowControlStallMs: number;
  unknownHeaderFields: number;
  pushed: boolean;
  upgraded: boolean;
}

export type Severity = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';

/** Attribute values are typed: numbers stay numbers. */
export type AttrValue = string | number | boolean | null;

/** One log record (a line, or a multi-line record joined to its first line). */
export interface LogRecord {
  /** UTC µs; null when the record has no parseable timestamp. */
  tsUs: number | null;
  severity: Severity | null;
  /** The message part (without the header: timestamp, level, logger…). */
  body: string;
  /** Well-known fields, normalised from whatever names the source used (null when absent). */
  requestId: string | null;
  traceId: string | null;
  spanId: string | null;
  httpMethod: string | null;
  httpPath: string | null;
  httpStatus: number | null;
  /** Request duration/latency as logged, converted to ms. */
  durationMs: number | null;
  clientIp: string | null;
  /** Every other field, typed (nested objects flattened with dots). */
  attributes: Record<string, AttrValue>;
  /** Where it came from. */
  service: string | null;
  host: string | null;
  file: string;
  lineNo: number;
  /** The detected format, e.g. 'json', 'nginx-combined', 'uvicorn-access'. */
  format: string;
  /** Log template id (set by the template miner), or null. */
  templateId: string | null;
}
