// Scenario `llm-stream`: OpenAI-style streamed chat completions from real servers, captured on the
// wire, with the servers' own per-token send times as the answer key.
//
// Topology (one /16 on the bridge in the hub namespace):
//   client 10.10.0.5 ── python client (HTTP/1.1 keep-alive, 2 connections)
//                     └ node client (HTTP/2 h2c, 3 streams multiplexed on one connection)
//   server 10.10.2.20:8000  FastAPI under uvicorn: /v1/chat/completions, SSE over chunked HTTP/1.1
//          10.10.2.21:8002  node:http2 server:    /v1/chat/completions, SSE over HTTP/2 DATA
// Both servers inject a time to first token, per-token gaps and (for some requests) one stall,
// drawn from (seed, request id), and log the time they hand each token to the network stack
// (truth/server-*.jsonl). tcpdump -i br0 in the hub writes bundle/cap.pcap.

import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run, sleep } from './exec.js';
import { LAB_ASSETS, PYTHON } from './env.js';
import { LabError } from './errors.js';
import { inNs } from './netns.js';
import { LabSession, type Progress } from './session.js';

export interface LlmStreamOptions {
  outDir: string;
  seed: number;
  /** HTTP/1.1 requests (python client) and HTTP/2 requests (node client). */
  requests: number;
  h2Requests: number;
  keepWork: boolean;
}

export const LLM_ADDR = {
  client: '10.10.0.5',
  http1: '10.10.2.20',
  http1Port: 8000,
  h2: '10.10.2.21',
  h2Port: 8002,
} as const;

/** What a server logged for one request (server.py / h2.mjs). */
export interface LlmServerRecord {
  request_id: string;
  protocol?: string;
  model: string;
  stream: boolean;
  status: number;
  /** Server clock (µs) after the request body was read. */
  t_request_us: number;
  /** Server clock right before each content chunk was handed to the server stack. */
  t_tokens_us?: number[];
  /** Server clock before and after each content chunk's write: the chunk left in between. */
  t_tokens_before_us?: number[];
  t_tokens_after_us?: number[];
  t_done_us?: number;
  tokens?: number;
  ttft_ms?: number;
  gaps_ms?: number[];
  /** Added by the lab: the client's clock when it sent the request, and first token − that. */
  t_sent_us?: number | null;
  ttft_sent_ms?: number | null;
  /** Added by the lab: the interval the server's stamps allow for TTFT and each gap (ms). */
  ttft_range_ms?: [number, number];
  gaps_range_ms?: [number, number][];
  injected?: {
    tokens: number;
    ttft_ms: number;
    gaps_ms: number[];
    stall_token: number | null;
  };
}

/** What a client logged for one request (client.py / h2.mjs), client clock. */
export interface LlmClientRecord {
  request_id: string;
  /** Client clock before and after the request was written. */
  t_sent_us: number;
  t_sent_after_us?: number;
  status?: number;
  error?: string;
}

export interface LlmStreamResult {
  outDir: string;
  summary: Record<string, unknown>;
}

async function preflightLlm(): Promise<void> {
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    problems.push('must run as root (network namespaces, tcpdump)');
  for (const [path, pkg] of [
    ['/usr/sbin/ip', 'iproute2'],
    ['/usr/bin/tcpdump', 'tcpdump'],
    [PYTHON, 'python3'],
  ] as const)
    if (!existsSync(path)) problems.push(`missing ${path} (apt-get install -y ${pkg})`);
  if (problems.length === 0) {
    const r = await run(PYTHON, ['-c', 'import fastapi, uvicorn'], { allowFail: true });
    if (r.code !== 0)
      problems.push('missing python3-fastapi / python3-uvicorn (apt-get install -y both)');
  }
  if (!existsSync(join(LAB_ASSETS, 'llm-stream', 'server.py')))
    problems.push(`scenario assets not found at ${join(LAB_ASSETS, 'llm-stream')}`);
  if (problems.length)
    throw new LabError('E_LAB_ENV', `lab llm-stream cannot run:\n  ${problems.join('\n  ')}`);
}

export function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

export async function runLlmStream(
  opts: LlmStreamOptions,
  progress: Progress,
): Promise<LlmStreamResult> {
  await preflightLlm();
  const out = resolve(opts.outDir);
  const bundle = join(out, 'bundle');
  const logs = join(bundle, 'logs');
  const truthDir = join(out, 'truth');
  const work = join(out, 'work');
  for (const d of [bundle, truthDir, work]) rmSync(d, { recursive: true, force: true });
  for (const d of [logs, truthDir, work]) mkdirSync(d, { recursive: true });
  const assets = join(LAB_ASSETS, 'llm-stream');
  const pcap = join(bundle, 'cap.pcap');
  const truth1 = join(truthDir, 'server-http1.jsonl');
  const truth2 = join(truthDir, 'server-h2.jsonl');
  const client1 = join(work, 'client-http1.jsonl');
  const client2 = join(work, 'client-h2.jsonl');
  const started = Date.now();
  const s = new LabSession(work, progress);
  let tcpdumpStats = '';
  try {
    progress(
      `lab llm-stream: ${opts.requests} HTTP/1.1 + ${opts.h2Requests} HTTP/2 requests, seed ${opts.seed}`,
    );
    await s.up([
      { role: 'client', addrs: [LLM_ADDR.client] },
      { role: 'server', addrs: [LLM_ADDR.http1, LLM_ADDR.h2] },
    ]);
    const uv = s.start(
      'uvicorn :8000',
      'server',
      PYTHON,
      [
        '-m',
        'uvicorn',
        'server:app',
        '--app-dir',
        assets,
        '--host',
        LLM_ADDR.http1,
        '--port',
        String(LLM_ADDR.http1Port),
        '--workers',
        '1',
      ],
      { stdout: join(logs, 'uvicorn.log') },
      { LAB_TRUTH: truth1, LAB_SEED: String(opts.seed) },
    );
    const h2 = s.start(
      'node http2 :8002',
      'server',
      process.execPath,
      [
        join(assets, 'h2.mjs'),
        'server',
        LLM_ADDR.h2,
        String(LLM_ADDR.h2Port),
        String(opts.seed),
        truth2,
      ],
      { stdout: join(work, 'h2-server.log') },
    );
    await Promise.all([
      s.waitListening(uv, 'server', LLM_ADDR.http1, LLM_ADDR.http1Port),
      s.waitListening(h2, 'server', LLM_ADDR.h2, LLM_ADDR.h2Port),
    ]);
    const capture = await s.captureBridge(pcap, 'tcp');
    progress('lab: clients streaming');
    const [c1, a1] = inNs(s.ns('client'), PYTHON, [
      join(assets, 'client.py'),
      LLM_ADDR.http1,
      String(LLM_ADDR.http1Port),
      String(opts.requests),
      String(opts.seed),
      '2',
      client1,
    ]);
    const [c2, a2] = inNs(s.ns('client'), process.execPath, [
      join(assets, 'h2.mjs'),
      'client',
      LLM_ADDR.h2,
      String(LLM_ADDR.h2Port),
      String(opts.h2Requests),
      String(opts.seed),
      '3',
      client2,
    ]);
    await Promise.all([
      run(c1, a1, { timeoutMs: 180_000 }),
      opts.h2Requests > 0 ? run(c2, a2, { timeoutMs: 180_000 }) : Promise.resolve(),
    ]);
    await sleep(500);
    tcpdumpStats = await capture.stop();
  } finally {
    await s.cleanup();
  }

  const clients = [...readJsonl<LlmClientRecord>(client1), ...readJsonl<LlmClientRecord>(client2)];
  const sentAt = new Map(clients.map((c) => [c.request_id, c.t_sent_us]));
  const sentAfter = new Map(clients.map((c) => [c.request_id, c.t_sent_after_us ?? c.t_sent_us]));
  // Each server record, with the client's clock for when it sent the request (same host, same
  // clock): `ttft_sent_ms` is request sent → first token sent, the TTFT the capture measures
  // (the server's own `ttft_ms` starts when its app got the request, after any accept/dispatch
  // delay in the server process).
  const records = [
    ...readJsonl<LlmServerRecord>(truth1).map((r) => ({ protocol: 'HTTP/1.1', ...r })),
    ...readJsonl<LlmServerRecord>(truth2),
  ]
    .map((r) => {
      const sent = sentAt.get(r.request_id) ?? null;
      const first = r.t_tokens_us?.[0];
      return {
        ...r,
        t_sent_us: sent,
        ttft_sent_ms: sent !== null && first !== undefined ? (first - sent) / 1000 : null,
        ...brackets(r, sent, sentAfter.get(r.request_id) ?? sent),
      };
    })
    .sort((a, b) => a.t_request_us - b.t_request_us);
  writeFileSync(
    join(truthDir, 'truth.jsonl'),
    records.map((r) => JSON.stringify(r)).join('\n') + '\n',
  );
  const streamed = records.filter((r) => r.stream && r.t_tokens_us);
  const summary = {
    scenario: 'llm-stream',
    n_requests: clients.length,
    n_streamed: streamed.length,
    n_stalled: streamed.filter((r) => r.injected?.stall_token != null).length,
    status_counts: records.reduce<Record<string, number>>((acc, r) => {
      acc[String(r.status)] = (acc[String(r.status)] ?? 0) + 1;
      return acc;
    }, {}),
    client_errors: clients.filter((c) => c.error).length,
    capture: { file: 'bundle/cap.pcap', size_bytes: statSync(pcap).size, tcpdump: tcpdumpStats },
    duration_s: Math.round((Date.now() - started) / 100) / 10,
    params: {
      seed: opts.seed,
      http1: `${LLM_ADDR.http1}:${LLM_ADDR.http1Port} FastAPI/uvicorn, SSE over chunked HTTP/1.1`,
      http2: `${LLM_ADDR.h2}:${LLM_ADDR.h2Port} node:http2 h2c, SSE over HTTP/2 DATA`,
      truth:
        'truth/truth.jsonl: per request the server clock when its app got the request (t_request_us) and before each content chunk (t_tokens_us), the client clock when it sent the request (t_sent_us); ttft_ms, ttft_sent_ms and gaps_ms derive from them',
    },
  };
  writeFileSync(join(truthDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  if (!opts.keepWork) rmSync(work, { recursive: true, force: true });
  const expected = opts.requests + opts.h2Requests;
  if (records.length !== expected)
    throw new LabError('E_LAB_RUN', `servers recorded ${records.length} of ${expected} requests`);
  return { outDir: out, summary };
}

/**
 * What the server's own stamps allow for each timing: a token left between the stamp before its
 * write and the one after, so TTFT and every gap lie in an interval (user-space stamps cannot be
 * exact on a loaded machine).
 */
function brackets(
  r: LlmServerRecord,
  sent: number | null,
  sentAfter: number | null,
): { ttft_range_ms?: [number, number]; gaps_range_ms?: [number, number][] } {
  const b = r.t_tokens_before_us;
  const a = r.t_tokens_after_us;
  if (!b || !a || b.length !== a.length || b.length === 0) return {};
  const gaps: [number, number][] = [];
  for (let i = 1; i < b.length; i++)
    gaps.push([(b[i]! - a[i - 1]!) / 1000, (a[i]! - b[i - 1]!) / 1000]);
  return {
    ...(sent !== null
      ? {
          // The request left in [sent, sentAfter], the first token in [b0, a0].
          ttft_range_ms: [(b[0]! - (sentAfter ?? sent)) / 1000, (a[0]! - sent) / 1000] as [
            number,
            number,
          ],
        }
      : {}),
    gaps_range_ms: gaps,
  };
}
