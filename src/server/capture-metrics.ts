// /metrics families fed by live capture (server/capture.ts): what the packets say about the
// observed service. Every family is shared by all capture interfaces (the registry hands back a
// family already registered under the same name) and every label is bounded by the registry's
// `maxValuesPerLabel` ("other" past it).
//
//   mlscope_observed_requests_total{service,route,status}            also fed by OTLP server spans
//   mlscope_observed_request_duration_seconds{service,route,status}  request first byte → response
//       last byte. service = the server's address "ip:port"; route = the path without query, with
//       id-like segments folded to {id} (see routeOf); status = the HTTP status, else the
//       exchange's state (no-response, reset, truncated…).
//   mlscope_tcp_handshake_rtt_seconds{server,client}   iRTT (SYN → ACK that completes the
//       handshake, as Wireshark), observed as soon as the handshake completes.
//   mlscope_tcp_retransmissions_total{server,client}   retransmitted segments (Wireshark's
//       retransmission + fast + spurious), counted as they are seen; the series exists (at 0)
//       from the connection's handshake on.
//   mlscope_llm_requests_total{model,endpoint,status}
//   mlscope_llm_time_to_first_token_seconds{model,endpoint}   request last byte → first content
//   mlscope_llm_inter_token_latency_seconds{model,endpoint}   per request: (first → last content
//       chunk) / (completion tokens − 1), as vLLM's time per output token; one observation per
//       request, since the stream analyser keeps quantiles, not every gap
//   mlscope_llm_tokens_per_second{model,endpoint}             per request (decoders/proto/llm.ts)
//   mlscope_llm_completion_tokens_total{model,endpoint}       rate() of it is the token throughput

import { endpointText, type Connection, type Exchange } from '../model/records.js';
import type { Counter, Histogram, Registry } from './prometheus.js';
import { observedFamilies } from './server.js';

/** Handshake RTTs on loopback are tens of µs; across a WAN up to seconds. */
export const RTT_BUCKETS_S = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3,
];
export const TTFT_BUCKETS_S = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60];
export const ITL_BUCKETS_S = [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5];
export const TOKENS_PER_S_BUCKETS = [1, 5, 10, 20, 30, 50, 75, 100, 150, 250, 500, 1000];

const MAX_ROUTE_CHARS = 128;
const ID_SEGMENT =
  /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[A-Za-z0-9_-]{32,})$/i;

/** A route label from a request path: no query, id-like segments as {id}, bounded length. */
export function routeOf(path: string | null): string {
  if (path === null || path === '') return '';
  let p = path;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  if (p.length > 4 * MAX_ROUTE_CHARS) p = p.slice(0, 4 * MAX_ROUTE_CHARS);
  p = p
    .split('/')
    .map((seg) => (ID_SEGMENT.test(seg) ? '{id}' : seg))
    .join('/');
  return p.length > MAX_ROUTE_CHARS ? p.slice(0, MAX_ROUTE_CHARS) + '…' : p;
}

const endpoint = endpointText;

export class CaptureMetrics {
  private readonly obsReq: Counter;
  private readonly obsDur: Histogram;
  private readonly rtt: Histogram;
  private readonly retrans: Counter;
  private readonly llmReq: Counter;
  private readonly ttft: Histogram;
  private readonly itl: Histogram;
  private readonly tps: Histogram;
  private readonly tokens: Counter;

  constructor(reg: Registry) {
    const obs = observedFamilies(reg);
    this.obsReq = obs.requests;
    this.obsDur = obs.duration;
    this.rtt = reg.histogram(
      'mlscope_tcp_handshake_rtt_seconds',
      'TCP handshake RTT (SYN to the ACK completing the handshake) of captured connections, by server and client.',
      ['server', 'client'],
      RTT_BUCKETS_S,
    );
    this.retrans = reg.counter(
      'mlscope_tcp_retransmissions_total',
      'Retransmitted TCP segments (retransmission, fast, spurious) in captured connections, by server and client.',
      ['server', 'client'],
    );
    this.llmReq = reg.counter(
      'mlscope_llm_requests_total',
      'Captured ML API requests (OpenAI-style, TGI, Ollama…), by model, endpoint and status.',
      ['model', 'endpoint', 'status'],
    );
    this.ttft = reg.histogram(
      'mlscope_llm_time_to_first_token_seconds',
      'Time from the last byte of the request to the first content chunk of a streamed response.',
      ['model', 'endpoint'],
      TTFT_BUCKETS_S,
    );
    this.itl = reg.histogram(
      'mlscope_llm_inter_token_latency_seconds',
      'Per streamed response: generation time over completion tokens minus one.',
      ['model', 'endpoint'],
      ITL_BUCKETS_S,
    );
    this.tps = reg.histogram(
      'mlscope_llm_tokens_per_second',
      'Per streamed response: completion tokens per second of generation.',
      ['model', 'endpoint'],
      TOKENS_PER_S_BUCKETS,
    );
    this.tokens = reg.counter(
      'mlscope_llm_completion_tokens_total',
      'Completion tokens of captured streamed responses (usage when sent, else estimated).',
      ['model', 'endpoint'],
    );
  }

  private peer(c: Connection): { server: string; client: string } {
    return { server: endpoint(c.server), client: c.client.ip };
  }

  handshake(c: Connection): void {
    const labels = this.peer(c);
    this.retrans.inc(labels, 0);
    if (c.handshakeRttMs !== null) this.rtt.observe(labels, c.handshakeRttMs / 1000);
  }

  /** A finalised connection: its retransmission series exists even without a handshake seen. */
  connection(c: Connection): void {
    this.retrans.inc(this.peer(c), 0);
  }

  retransmission(c: Connection): void {
    this.retrans.inc(this.peer(c));
  }

  exchange(x: Exchange): void {
    const service = endpoint(x.server);
    const route = routeOf(x.path);
    const status =
      x.status !== null ? String(x.status) : x.state === 'complete' ? 'unknown' : x.state;
    this.obsReq.inc({ service, route, status });
    if (x.totalMs !== null && Number.isFinite(x.totalMs) && x.totalMs >= 0)
      this.obsDur.observe({ service, route, status }, x.totalMs / 1000);
    const llm = x.llm;
    if (!llm) return;
    const s = llm.stream;
    const model = s?.model ?? llm.request?.model ?? '';
    const ep = route;
    this.llmReq.inc({ model, endpoint: ep, status });
    if (!s) return;
    const labels = { model, endpoint: ep };
    if (s.ttftMs !== null && s.ttftMs >= 0) this.ttft.observe(labels, s.ttftMs / 1000);
    if (s.generationMs !== null && s.tokens > 1)
      this.itl.observe(labels, s.generationMs / 1000 / (s.tokens - 1));
    if (s.tokensPerSec !== null && Number.isFinite(s.tokensPerSec))
      this.tps.observe(labels, s.tokensPerSec);
    if (s.tokens > 0) this.tokens.inc(labels, s.tokens);
  }
}
