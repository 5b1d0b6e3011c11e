import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  LlmStreamAnalyzer,
  analyzeLlmStream,
  analyzeMlRequest,
  mlEndpoint,
  type LlmStreamStats,
} from './llm.js';
import { ascii } from './proto-test-context.test-util.js';

const chat = (content: string, extra = '') =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"llama-3-8b","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${extra}}\n\n`;

/** Feeds SSE text pieces at the given times (µs); the request ended at t = 0. */
function stream(pieces: [number, string][], reqLastUs: number | null = 0): LlmStreamStats {
  return analyzeLlmStream(
    pieces.map(([tsUs, text]) => ({ bytes: ascii(text), tsUs })),
    reqLastUs,
  );
}

test('OpenAI chat stream: TTFT, gaps, usage, tokens/s, done', () => {
  const s = stream([
    [50_000, 'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'],
    [200_000, chat('Hello')],
    [220_000, chat(' wor')],
    [240_000, chat('ld') + chat('!')], // two chunks in one segment: a 0 ms gap
    [
      300_000,
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}\n\ndata: [DONE]\n\n',
    ],
  ]);
  assert.equal(s.format, 'openai-chat');
  assert.equal(s.events, 7);
  assert.equal(s.contentChunks, 4);
  assert.equal(s.tokens, 4);
  assert.equal(s.tokensSource, 'usage');
  assert.deepEqual(s.usage, { promptTokens: 9, completionTokens: 4, totalTokens: 13 });
  assert.equal(s.model, 'llama-3-8b');
  assert.equal(s.finishReason, 'stop');
  assert.equal(s.done, true);
  assert.equal(s.ttftMs, 200); // the empty role chunk is not content
  assert.equal(s.firstEventMs, 50);
  assert.equal(s.generationMs, 40);
  assert.equal(s.totalMs, 300);
  assert.deepEqual([s.gapP50Ms, s.gapP95Ms, s.gapMaxMs], [20, 20, 20]);
  assert.equal(s.tokensPerSec, 100);
  assert.equal(s.stalls, 0);
});

test('stalls: a gap far above the stream’s own median', () => {
  const pieces: [number, string][] = [];
  let t = 100_000;
  for (let i = 0; i < 20; i++) {
    t += i === 10 ? 1_500_000 : 25_000;
    pieces.push([t, chat(`t${i}`)]);
  }
  const s = stream(pieces);
  assert.equal(s.stalls, 1);
  assert.equal(s.stallMaxMs, 1500);
  assert.equal(s.gapP50Ms, 25);
  assert.equal(s.tokensSource, 'chunks');
  assert.equal(s.done, false);
});

test('OpenAI Responses API events', () => {
  const s = stream([
    [
      10_000,
      'event: response.created\ndata: {"type":"response.created","response":{"model":"gpt-4o-mini","status":"in_progress"}}\n\n',
    ],
    [
      30_000,
      'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi"}\n\n',
    ],
    [
      40_000,
      'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":" there"}\n\n',
    ],
    [
      50_000,
      'event: response.completed\ndata: {"type":"response.completed","response":{"model":"gpt-4o-mini","status":"completed","usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}}\n\n',
    ],
  ]);
  assert.equal(s.format, 'openai-responses');
  assert.equal(s.contentChunks, 2);
  assert.equal(s.tokens, 2);
  assert.equal(s.ttftMs, 30);
  assert.equal(s.done, true);
  assert.equal(s.finishReason, 'completed');
  assert.equal(s.model, 'gpt-4o-mini');
});

test('TGI token events (special tokens are not content), final details give the count', () => {
  const tok = (id: number, text: string, special = false) =>
    `data:{"index":${id},"token":{"id":${id},"text":${JSON.stringify(text)},"logprob":-0.1,"special":${special}},"generated_text":null,"details":null}\n\n`;
  const s = stream([
    [100_000, tok(1, 'Deep')],
    [130_000, tok(2, ' learning')],
    [
      160_000,
      'data:{"index":3,"token":{"id":2,"text":"</s>","special":true},"generated_text":"Deep learning","details":{"finish_reason":"eos_token","generated_tokens":3}}\n\n',
    ],
  ]);
  assert.equal(s.format, 'tgi');
  assert.equal(s.contentChunks, 2);
  assert.equal(s.tokens, 3);
  assert.equal(s.finishReason, 'eos_token');
  assert.equal(s.done, true);
});

test('Gemini candidates and Anthropic deltas', () => {
  const g = stream([
    [
      100_000,
      'data: {"candidates":[{"content":{"parts":[{"text":"When systems hum"}]}}],"modelVersion":"gemini-2.5-flash"}\r\n\r\n',
    ],
    [
      200_000,
      'data: {"candidates":[{"content":{"parts":[{"text":", bright."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":6,"totalTokenCount":14}}\r\n\r\n',
    ],
  ]);
  assert.equal(g.format, 'gemini');
  assert.equal(g.tokens, 6);
  assert.equal(g.done, true);
  assert.equal(g.model, 'gemini-2.5-flash');
  const a = stream([
    [
      10_000,
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":12,"output_tokens":1}}}\n\n',
    ],
    [
      20_000,
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
    ],
    [
      30_000,
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\n',
    ],
    [31_000, 'event: message_stop\ndata: {"type":"message_stop"}\n\n'],
  ]);
  assert.equal(a.format, 'anthropic');
  assert.equal(a.tokens, 3);
  assert.equal(a.usage?.promptTokens, 12);
  assert.equal(a.finishReason, 'end_turn');
  assert.equal(a.done, true);
});

test('errors in the stream and non-JSON events are reported, unknown request end leaves TTFT null', () => {
  const s = stream(
    [
      [1, 'data: not json\n\n'],
      [2, 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n'],
      [3, 'data: {"choices":[{"delta":{"content":"x"}}]}\n\ndata: {"choi'],
    ],
    null,
  );
  assert.equal(s.malformedEvents, 1);
  assert.equal(s.error, 'overloaded');
  assert.equal(s.ttftMs, null);
  assert.equal(s.incompleteEvent, true);
});

test('endpoint kinds from paths', () => {
  const k = (p: string) => {
    const e = mlEndpoint(p);
    return [e.kind, e.operation, e.model];
  };
  assert.deepEqual(k('/v1/chat/completions'), ['openai-chat', 'chat.completions', null]);
  assert.deepEqual(k('/openai/deployments/gpt4/chat/completions?api-version=2024-02-01'), [
    'openai-chat',
    'chat.completions',
    null,
  ]);
  assert.deepEqual(k('/v1/completions'), ['openai-completions', 'completions', null]);
  assert.deepEqual(k('/v1/embeddings'), ['openai-embeddings', 'embeddings', null]);
  assert.deepEqual(k('/v1/responses'), ['openai-responses', 'responses', null]);
  assert.deepEqual(k('/v1/models/flowers:predict'), ['kserve-v1', 'predict', 'flowers']);
  assert.deepEqual(k('/v1/models/half_plus_two/versions/2:regress'), [
    'kserve-v1',
    'regress',
    'half_plus_two',
  ]);
  assert.deepEqual(k('/v2/models/resnet/versions/1/infer'), ['kserve-v2', 'infer', 'resnet']);
  assert.deepEqual(k('/v2/models/llama/generate_stream'), [
    'kserve-v2',
    'generate_stream',
    'llama',
  ]);
  assert.deepEqual(k('/predictions/densenet161/2.0'), ['torchserve', 'predict', 'densenet161']);
  assert.deepEqual(k('/endpoints/my-ep/invocations'), ['sagemaker', 'invocations', 'my-ep']);
  assert.deepEqual(k('/invocations'), ['sagemaker', 'invocations', null]);
  assert.deepEqual(k('/generate_stream'), ['tgi', 'generate_stream', null]);
  assert.deepEqual(k('/v1beta/models/gemini-2.5-flash:streamGenerateContent'), [
    'gemini-generate',
    'streamGenerateContent',
    'gemini-2.5-flash',
  ]);
  assert.deepEqual(k('/v1/messages'), ['anthropic-messages', 'messages', null]);
  assert.deepEqual(k('/api/chat'), ['ollama', 'chat', null]);
  assert.deepEqual(k('/healthz'), ['unknown', null, null]);
});

test('request bodies: model, prompt size, max tokens, stream', () => {
  const chatBody = JSON.stringify({
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'What is HPACK?' }] },
    ],
    max_tokens: 128,
    stream: true,
  });
  assert.deepEqual(analyzeMlRequest('POST', '/v1/chat/completions', chatBody), {
    kind: 'openai-chat',
    operation: 'chat.completions',
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    promptChars: 23,
    estPromptTokens: 6,
    items: 2,
    maxTokens: 128,
    stream: true,
    bodyTruncated: false,
    parseError: false,
  });
  const tgi = analyzeMlRequest(
    'POST',
    '/generate_stream',
    '{"inputs":"abcd","parameters":{"max_new_tokens":20}}',
  );
  assert.equal(tgi?.stream, true);
  assert.equal(tgi?.maxTokens, 20);
  assert.equal(tgi?.promptChars, 4);
  const v2 = analyzeMlRequest(
    'POST',
    '/v2/models/m/infer',
    '{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["hello"]}]}',
  );
  assert.equal(v2?.promptChars, 5);
  assert.equal(v2?.model, 'm');
  // A body cut in the middle still yields model/stream/max_tokens by pattern.
  const cut = analyzeMlRequest(
    'POST',
    '/v1/completions',
    '{"model":"gpt-3.5","stream":true,"max_tokens":7,"prompt":"aaaa',
    true,
  );
  assert.equal(cut?.model, 'gpt-3.5');
  assert.equal(cut?.stream, true);
  assert.equal(cut?.maxTokens, 7);
  assert.equal(cut?.parseError, true);
  assert.equal(cut?.bodyTruncated, true);
  // Non-ML: unknown path and a body that does not look like a prompt.
  assert.equal(analyzeMlRequest('POST', '/api/users', '{"name":"x"}'), null);
  // Unknown path, but the body is clearly an LLM request.
  assert.equal(
    analyzeMlRequest('POST', '/proxy', '{"model":"m","messages":[{"role":"user","content":"hi"}]}')
      ?.promptChars,
    2,
  );
});

test('random bytes and random JSON never throw', () => {
  const deadline = Date.now() + 1500;
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 8 }),
      fc.string(),
      (chunks, path) => {
        if (Date.now() > deadline) return;
        const a = new LlmStreamAnalyzer(0);
        chunks.forEach((c, i) => a.feed(c, 0, c.length, i));
        a.finish();
        analyzeMlRequest('POST', path, chunks[0] ?? new Uint8Array(0));
      },
    ),
    { numRuns: 1500 },
  );
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
      if (Date.now() > deadline + 1000) return;
      const text = JSON.stringify(v) ?? 'null';
      stream([[1, `data: ${text}\n\n`]]);
      analyzeMlRequest('POST', '/v1/chat/completions', text);
    }),
    { numRuns: 1500 },
  );
});
