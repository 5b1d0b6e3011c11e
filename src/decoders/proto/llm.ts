// ML-serving API analysis, pure functions over bodies the HTTP/1 and HTTP/2 parsers hand over:
//  - analyzeMlRequest: endpoint kind from the path (OpenAI chat/completions/embeddings/responses,
//    Anthropic messages, Gemini, KServe v1 / TF Serving, KServe v2 / Triton, TorchServe,
//    SageMaker, TGI, Ollama), model, prompt size (chars and an estimated token count), max tokens,
//    stream flag.
//  - LlmStreamAnalyzer: a streamed (SSE) response fed chunk by chunk with capture times: TTFT,
//    inter-chunk gaps (p50/p95/max), content chunks and tokens (OpenAI chat/completions deltas,
//    Responses API events, TGI `token` events, Gemini `candidates`, Anthropic deltas), `usage`,
//    generation time, tokens/s and stalls.
// Token counts come from the server's `usage` when it sent one; otherwise one token per content
// chunk (OpenAI-style servers send one token per chunk; TGI always does) or, for servers sending
// text runs (Gemini), chars/4. `tokensSource` says which.

import type {
  ExchangeLlmRequest,
  ExchangeLlmStream,
  MlEndpointKindName,
} from '../../model/records.js';
import { SseParser, type SseEvent } from './sse.js';

export type MlEndpointKind = MlEndpointKindName;

export interface MlEndpoint {
  kind: MlEndpointKind;
  /** The verb within the API: 'predict', 'explain', 'infer', 'generate', 'invocations'… */
  operation: string | null;
  /** Model named by the path (KServe, TF Serving, TorchServe, Triton, SageMaker endpoint, Gemini). */
  model: string | null;
  /** The path itself says the response streams (TGI generate_stream, Gemini streamGenerateContent). */
  streamPath: boolean;
}

export type MlRequestInfo = ExchangeLlmRequest;

const utf8 = new TextDecoder('utf-8');

/** Endpoint kind from a request path (query ignored). */
export function mlEndpoint(path: string | null): MlEndpoint {
  const none: MlEndpoint = { kind: 'unknown', operation: null, model: null, streamPath: false };
  if (path === null) return none;
  const q = path.indexOf('?');
  const p = (q >= 0 ? path.slice(0, q) : path).replace(/\/+$/, '');
  let m: RegExpExecArray | null;
  if (/\/chat\/completions$/.test(p))
    return { ...none, kind: 'openai-chat', operation: 'chat.completions' };
  if (/\/v1\/completions$|\/openai\/deployments\/[^/]+\/completions$/.test(p))
    return { ...none, kind: 'openai-completions', operation: 'completions' };
  if (/\/embeddings$/.test(p))
    return { ...none, kind: 'openai-embeddings', operation: 'embeddings' };
  if (/\/v1\/responses$/.test(p))
    return { ...none, kind: 'openai-responses', operation: 'responses' };
  if (/\/v1\/messages$/.test(p))
    return { ...none, kind: 'anthropic-messages', operation: 'messages' };
  if ((m = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(p)))
    return {
      kind: 'gemini-generate',
      operation: m[2] ?? null,
      model: m[1] ?? null,
      streamPath: m[2] === 'streamGenerateContent',
    };
  // KServe v1 and TF Serving share /v1/models/<name>[/versions/<v>|/labels/<l>]:<verb>
  if (
    (m =
      /\/v1\/models\/([^/:]+)(?:\/(?:versions|labels)\/[^/:]+)?:(predict|explain|classify|regress)$/.exec(
        p,
      ))
  )
    return { kind: 'kserve-v1', operation: m[2] ?? null, model: m[1] ?? null, streamPath: false };
  // KServe v2 open inference protocol = Triton HTTP/REST (+ Triton's generate extension)
  if (
    (m =
      /\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/(infer|generate|generate_stream|ready)$/.exec(
        p,
      ))
  )
    return {
      kind: 'kserve-v2',
      operation: m[2] ?? null,
      model: m[1] ?? null,
      streamPath: m[2] === 'generate_stream',
    };
  if ((m = /\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?$/.exec(p)))
    return { kind: 'kserve-v2', operation: 'metadata', model: m[1] ?? null, streamPath: false };
  if ((m = /^\/(predictions|explanations)\/([^/]+)(?:\/[^/]+)?$/.exec(p)))
    return {
      kind: 'torchserve',
      operation: m[1] === 'predictions' ? 'predict' : 'explain',
      model: m[2] ?? null,
      streamPath: false,
    };
  if ((m = /\/endpoints\/([^/]+)\/invocations(?:-response-stream)?$/.exec(p)))
    return {
      kind: 'sagemaker',
      operation: 'invocations',
      model: m[1] ?? null,
      streamPath: p.endsWith('-response-stream'),
    };
  if (p === '/invocations') return { ...none, kind: 'sagemaker', operation: 'invocations' };
  if (p === '/generate' || p === '/generate_stream')
    return { ...none, kind: 'tgi', operation: p.slice(1), streamPath: p === '/generate_stream' };
  if ((m = /^\/api\/(generate|chat|embed|embeddings)$/.exec(p)))
    return { ...none, kind: 'ollama', operation: m[1] ?? null };
  return none;
}

/**
 * Analyses a request body for an ML API; null when neither the path nor the body looks like one.
 * `body` may be a prefix (`truncated`), then JSON parsing falls back to patterns.
 */
export function analyzeMlRequest(
  method: string | null,
  path: string | null,
  body: Uint8Array | string,
  truncated = false,
): MlRequestInfo | null {
  const ep = mlEndpoint(path);
  const text = typeof body === 'string' ? body : utf8.decode(body);
  let json: unknown = undefined;
  let parseError = false;
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      json = JSON.parse(text);
    } catch {
      parseError = true;
    }
  } else if (text.length > 0) {
    parseError = true;
  }
  if (ep.kind === 'unknown' && (json === undefined || !looksLikeMlBody(json))) return null;
  void method;
  const info: MlRequestInfo = {
    kind: ep.kind,
    operation: ep.operation,
    model: ep.model,
    promptChars: 0,
    estPromptTokens: 0,
    items: 0,
    maxTokens: null,
    stream: ep.streamPath,
    bodyTruncated: truncated,
    parseError,
  };
  if (isObj(json)) {
    if (typeof json['model'] === 'string') info.model = json['model'];
    if (json['stream'] === true) info.stream = true;
    info.maxTokens =
      num(json['max_tokens']) ??
      num(json['max_completion_tokens']) ??
      num(json['max_output_tokens']) ??
      num(json['max_new_tokens']) ??
      num(get(json, 'parameters', 'max_new_tokens')) ??
      num(get(json, 'generationConfig', 'maxOutputTokens')) ??
      num(get(json, 'options', 'num_predict'));
    const acc = { chars: 0, items: 0 };
    if (Array.isArray(json['messages'])) {
      for (const msg of json['messages']) {
        acc.items++;
        textChars(isObj(msg) ? msg['content'] : msg, acc, 0);
      }
    }
    for (const k of [
      'system',
      'instructions',
      'prompt',
      'input',
      'inputs',
      'text',
      'contents',
      'instances',
      'data',
    ]) {
      const v = json[k];
      if (v === undefined) continue;
      if (Array.isArray(v)) acc.items += v.length;
      else acc.items++;
      textChars(v, acc, 0);
    }
    info.promptChars = acc.chars;
    info.items = acc.items;
  } else if (Array.isArray(json)) {
    const acc = { chars: 0, items: json.length };
    textChars(json, acc, 0);
    info.promptChars = acc.chars;
    info.items = acc.items;
  } else if (parseError) {
    // A cut or non-JSON body: take what patterns can find.
    const m = /"model"\s*:\s*"([^"]{1,200})"/.exec(text);
    if (m?.[1]) info.model = m[1];
    if (/"stream"\s*:\s*true/.test(text)) info.stream = true;
    const mt =
      /"(?:max_tokens|max_completion_tokens|max_output_tokens|max_new_tokens|maxOutputTokens)"\s*:\s*(\d{1,9})/.exec(
        text,
      );
    if (mt?.[1]) info.maxTokens = Number(mt[1]);
    info.promptChars = ep.kind === 'unknown' ? 0 : text.length;
  }
  info.estPromptTokens = Math.ceil(info.promptChars / 4);
  return info;
}

function looksLikeMlBody(json: unknown): boolean {
  if (!isObj(json)) return false;
  return (
    Array.isArray(json['messages']) ||
    typeof json['prompt'] === 'string' ||
    (typeof json['model'] === 'string' &&
      ('input' in json || 'max_tokens' in json || 'stream' in json))
  );
}

/** Sums the characters of the prompt-like strings in `v` (strings, content parts, nested arrays). */
function textChars(v: unknown, acc: { chars: number; items: number }, depth: number): void {
  if (depth > 8) return;
  if (typeof v === 'string') {
    acc.chars += v.length;
  } else if (Array.isArray(v)) {
    for (const x of v) textChars(x, acc, depth + 1);
  } else if (isObj(v)) {
    // Content parts ({type:'text', text}), Gemini parts ({text}), Responses items ({content}),
    // KServe v2 tensors ({name, datatype, data}).
    for (const k of ['text', 'content', 'parts', 'input_text', 'data', 'prompt']) {
      if (k in v) textChars(v[k], acc, depth + 1);
    }
  }
}

// ---- streamed responses ------------------------------------------------------------------------

export type LlmStreamFormat =
  | 'openai-chat'
  | 'openai-completions'
  | 'openai-responses'
  | 'tgi'
  | 'gemini'
  | 'anthropic'
  | 'unknown';

export type LlmStreamStats = ExchangeLlmStream;

/** A gap is a stall when ≥ STALL_FACTOR × the median gap and ≥ STALL_MIN_MS. */
export const STALL_FACTOR = 8;
export const STALL_MIN_MS = 250;
const MAX_GAPS = 1 << 16;

export function isEventStream(ct: string | null | undefined): boolean {
  return ct !== null && ct !== undefined && /^\s*text\/event-stream\b/i.test(ct);
}

export class LlmStreamAnalyzer {
  private readonly reqLastUs: number | null;
  private readonly sse: SseParser;
  private format: LlmStreamFormat = 'unknown';
  private events = 0;
  private chunks = 0;
  private contentChars = 0;
  private firstEventUs: number | null = null;
  private lastEventUs: number | null = null;
  private firstContentUs: number | null = null;
  private lastContentUs: number | null = null;
  private gaps = new Float64Array(256);
  private nGaps = 0;
  private usage: LlmStreamStats['usage'] = null;
  private model: string | null = null;
  private finishReason: string | null = null;
  private done = false;
  private error: string | null = null;
  private malformed = 0;

  /** `reqLastUs`: when the request's last byte was seen (TTFT origin), if known. */
  constructor(reqLastUs: number | null) {
    this.reqLastUs = reqLastUs;
    this.sse = new SseParser((e) => this.onEvent(e));
  }

  feed(buf: Uint8Array, off: number, end: number, tsUs: number): void {
    this.sse.feed(buf, off, end, tsUs);
  }

  finish(_endUs?: number): LlmStreamStats {
    const incomplete = this.sse.end();
    const g = this.gaps.slice(0, this.nGaps).sort();
    const p50 = quantile(g, 0.5);
    const p95 = quantile(g, 0.95);
    const max = g.length > 0 ? (g[g.length - 1] ?? 0) : null;
    let stalls = 0;
    let stallMax = 0;
    if (p50 !== null && g.length >= 4) {
      const threshold = Math.max(STALL_FACTOR * p50, STALL_MIN_MS);
      for (let i = 0; i < this.nGaps; i++) {
        const v = this.gaps[i] ?? 0;
        if (v >= threshold) {
          stalls++;
          if (v > stallMax) stallMax = v;
        }
      }
    }
    let tokens: number;
    let tokensSource: LlmStreamStats['tokensSource'];
    if (this.usage?.completionTokens != null) {
      tokens = this.usage.completionTokens;
      tokensSource = 'usage';
    } else if (this.format === 'gemini' || this.format === 'unknown') {
      tokens = Math.ceil(this.contentChars / 4);
      tokensSource = 'chars';
    } else {
      tokens = this.chunks;
      tokensSource = 'chunks';
    }
    const genMs =
      this.firstContentUs !== null && this.lastContentUs !== null
        ? (this.lastContentUs - this.firstContentUs) / 1000
        : null;
    const origin = this.reqLastUs ?? this.firstEventUs;
    return {
      format: this.format,
      events: this.events,
      contentChunks: this.chunks,
      tokens,
      tokensSource,
      usage: this.usage,
      model: this.model,
      finishReason: this.finishReason,
      done: this.done,
      ttftMs:
        this.reqLastUs !== null && this.firstContentUs !== null
          ? (this.firstContentUs - this.reqLastUs) / 1000
          : null,
      firstEventMs:
        this.reqLastUs !== null && this.firstEventUs !== null
          ? (this.firstEventUs - this.reqLastUs) / 1000
          : null,
      generationMs: genMs,
      totalMs:
        origin !== null && this.lastEventUs !== null ? (this.lastEventUs - origin) / 1000 : null,
      gapP50Ms: p50,
      gapP95Ms: p95,
      gapMaxMs: max,
      stalls,
      stallMaxMs: stallMax,
      tokensPerSec:
        genMs !== null && genMs > 0 && this.chunks >= 2 ? tokens / (genMs / 1000) : null,
      error: this.error,
      malformedEvents: this.malformed,
      incompleteEvent: incomplete,
    };
  }

  private onEvent(e: SseEvent): void {
    this.events++;
    this.firstEventUs ??= e.tsUs;
    this.lastEventUs = e.tsUs;
    const data = e.data.trim();
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    let j: unknown;
    try {
      j = JSON.parse(data);
    } catch {
      this.malformed++;
      return;
    }
    if (!isObj(j)) return;
    const chars = this.classify(e.event, j);
    if (chars > 0) {
      this.chunks++;
      this.contentChars += chars;
      if (this.lastContentUs !== null && this.nGaps < MAX_GAPS) {
        if (this.nGaps === this.gaps.length) {
          const g = new Float64Array(this.gaps.length * 2);
          g.set(this.gaps);
          this.gaps = g;
        }
        this.gaps[this.nGaps++] = (e.tsUs - this.lastContentUs) / 1000;
      }
      this.firstContentUs ??= e.tsUs;
      this.lastContentUs = e.tsUs;
    }
  }

  /** Updates format/usage/model from one event; returns the generated characters it carries. */
  private classify(eventName: string, j: Record<string, unknown>): number {
    const err = j['error'];
    if (err !== undefined && err !== null) {
      this.error =
        isObj(err) && typeof err['message'] === 'string'
          ? err['message']
          : String(JSON.stringify(err)).slice(0, 200);
    }
    if (typeof j['model'] === 'string') this.model = j['model'];
    const type = typeof j['type'] === 'string' ? j['type'] : eventName;
    // OpenAI Responses API
    if (type.startsWith('response.')) {
      this.format = 'openai-responses';
      const r = j['response'];
      if (isObj(r)) {
        if (typeof r['model'] === 'string') this.model = r['model'];
        const u = r['usage'];
        if (isObj(u))
          this.usage = {
            promptTokens: num(u['input_tokens']),
            completionTokens: num(u['output_tokens']),
            totalTokens: num(u['total_tokens']),
          };
        if (
          typeof r['status'] === 'string' &&
          type !== 'response.created' &&
          type !== 'response.in_progress'
        )
          this.finishReason = r['status'];
      }
      if (
        type === 'response.completed' ||
        type === 'response.failed' ||
        type === 'response.incomplete'
      )
        this.done = true;
      if (type.endsWith('.delta') && typeof j['delta'] === 'string') return j['delta'].length;
      return 0;
    }
    // Anthropic Messages
    if (
      type === 'message_start' ||
      type === 'content_block_delta' ||
      type === 'message_delta' ||
      type === 'message_stop' ||
      type === 'content_block_start' ||
      type === 'content_block_stop'
    ) {
      this.format = 'anthropic';
      const msg = j['message'];
      if (isObj(msg)) {
        if (typeof msg['model'] === 'string') this.model = msg['model'];
        const u = msg['usage'];
        if (isObj(u))
          this.usage = {
            promptTokens: num(u['input_tokens']),
            completionTokens: num(u['output_tokens']),
            totalTokens: null,
          };
      }
      const u = j['usage'];
      if (isObj(u) && num(u['output_tokens']) !== null) {
        this.usage = {
          promptTokens: this.usage?.promptTokens ?? null,
          completionTokens: num(u['output_tokens']),
          totalTokens: null,
        };
      }
      const d = j['delta'];
      if (isObj(d) && typeof d['stop_reason'] === 'string') this.finishReason = d['stop_reason'];
      if (type === 'message_stop') this.done = true;
      if (type === 'content_block_delta' && isObj(d)) {
        const t = d['text'] ?? d['partial_json'] ?? d['thinking'];
        return typeof t === 'string' ? t.length : 0;
      }
      return 0;
    }
    // TGI native (/generate_stream): {token:{id,text,special}, generated_text, details}
    const tok = j['token'];
    if (isObj(tok)) {
      this.format = 'tgi';
      const det = j['details'];
      if (isObj(det)) {
        if (typeof det['finish_reason'] === 'string') this.finishReason = det['finish_reason'];
        const n = num(det['generated_tokens']);
        if (n !== null) this.usage = { promptTokens: null, completionTokens: n, totalTokens: null };
      }
      if (typeof j['generated_text'] === 'string') this.done = true;
      if (tok['special'] === true) return 0;
      return typeof tok['text'] === 'string' ? Math.max(1, tok['text'].length) : 1;
    }
    // Gemini
    const cands = j['candidates'];
    const um = j['usageMetadata'];
    if (Array.isArray(cands) || isObj(um)) {
      this.format = 'gemini';
      if (typeof j['modelVersion'] === 'string') this.model = j['modelVersion'];
      if (
        isObj(um) &&
        (um['candidatesTokenCount'] !== undefined || um['promptTokenCount'] !== undefined)
      ) {
        this.usage = {
          promptTokens: num(um['promptTokenCount']),
          completionTokens: num(um['candidatesTokenCount']),
          totalTokens: num(um['totalTokenCount']),
        };
      }
      let chars = 0;
      if (Array.isArray(cands)) {
        for (const c of cands) {
          if (!isObj(c)) continue;
          if (typeof c['finishReason'] === 'string') {
            this.finishReason = c['finishReason'];
            this.done = true; // Gemini has no [DONE]: the last chunk carries finishReason
          }
          const parts = get(c, 'content', 'parts');
          if (Array.isArray(parts))
            for (const p of parts)
              if (isObj(p) && typeof p['text'] === 'string') chars += p['text'].length;
        }
      }
      return chars;
    }
    // OpenAI chat.completion.chunk / text_completion (and vLLM, TGI's OpenAI API, Ollama's)
    const u = j['usage'];
    if (isObj(u))
      this.usage = {
        promptTokens: num(u['prompt_tokens']),
        completionTokens: num(u['completion_tokens']),
        totalTokens: num(u['total_tokens']),
      };
    const choices = j['choices'];
    if (Array.isArray(choices)) {
      let chars = 0;
      let any = false;
      for (const c of choices) {
        if (!isObj(c)) continue;
        if (typeof c['finish_reason'] === 'string') this.finishReason = c['finish_reason'];
        const d = c['delta'];
        if (isObj(d)) {
          this.format = 'openai-chat';
          any = true;
          for (const k of ['content', 'reasoning_content', 'refusal']) {
            const v = d[k];
            if (typeof v === 'string') chars += v.length;
          }
          const tc = d['tool_calls'];
          if (Array.isArray(tc)) {
            for (const t of tc) {
              const a = get(t, 'function', 'arguments');
              if (typeof a === 'string') chars += Math.max(a.length, 1);
            }
          }
        } else if (typeof c['text'] === 'string') {
          this.format = 'openai-completions';
          any = true;
          chars += c['text'].length;
        }
      }
      if (any || this.format === 'unknown')
        this.format = this.format === 'unknown' ? 'openai-chat' : this.format;
      return chars;
    }
    return 0;
  }
}

function quantile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? null;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(v: unknown, a: string, b: string): unknown {
  if (!isObj(v)) return undefined;
  const inner = v[a];
  return isObj(inner) ? inner[b] : undefined;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * One-shot analysis of a whole streamed body (chunks with their capture times), for parsers that
 * buffer: equivalent to feeding an LlmStreamAnalyzer.
 */
export function analyzeLlmStream(
  chunks: readonly { bytes: Uint8Array; tsUs: number }[],
  reqLastUs: number | null,
): LlmStreamStats {
  const a = new LlmStreamAnalyzer(reqLastUs);
  for (const c of chunks) a.feed(c.bytes, 0, c.bytes.length, c.tsUs);
  return a.finish();
}
