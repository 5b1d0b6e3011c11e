// `mlscope llm <capture…> [--json] [--requests]`: LLM/ML API traffic in captures, per (model,
// endpoint): requests, streamed responses, time to first token, inter-token gaps, tokens/s, stalls
// and errors; `--requests` lists each request. The numbers come from the HTTP/1 and HTTP/2
// decoders' on-the-fly analysis (decoders/proto/llm.ts) attached to each exchange as `llm`.

import { endpointText, type Exchange, type ExchangeLlmStream } from '../../model/records.js';
import { expandInputs } from '../../sources/files.js';
import { analyzeCapture } from '../../ingest/capture.js';
import { allRecognisers } from '../../decoders/proto/registry.js';
import { fmtMs, renderTable, safeText, aligns } from '../../outputs/text.js';
import { ExitCode, parseCommandArgs, writeJson, type Command, type Io } from '../command.js';
import { UsageError, type InputError } from '../../util/errors.js';
import { isoMicro } from './http.js';
import { keyLogFlag } from '../../ingest/keylog.js';

/** One ML request as `--requests` and `--json` list it. */
export interface LlmRequestRow {
  file: string;
  id: number;
  protocol: string;
  streamId: number | null;
  client: string;
  server: string;
  time: string | null;
  requestId: string | null;
  method: string | null;
  endpoint: string;
  kind: string;
  model: string | null;
  status: number | null;
  grpcStatus: number | null;
  state: Exchange['state'];
  stream: boolean;
  format: string | null;
  promptChars: number | null;
  estPromptTokens: number | null;
  maxTokens: number | null;
  ttftMs: number | null;
  gapP50Ms: number | null;
  gapP95Ms: number | null;
  gapMaxMs: number | null;
  generationMs: number | null;
  totalMs: number | null;
  chunks: number | null;
  tokens: number | null;
  tokensSource: string | null;
  tokensPerSec: number | null;
  usage: ExchangeLlmStream['usage'];
  finishReason: string | null;
  done: boolean | null;
  stalls: number;
  stallMaxMs: number;
  error: string | null;
}

export interface LlmGroup {
  model: string | null;
  endpoint: string;
  kind: string;
  requests: number;
  streamed: number;
  errors: number;
  stalls: number;
  tokens: number;
  ttftMs: { p50: number | null; p95: number | null; max: number | null };
  /** Inter-token gaps: p50 of the requests' medians, p95 of their p95s, the largest gap. */
  gapMs: { p50: number | null; p95: number | null; max: number | null };
  tokensPerSec: { p50: number | null; p5: number | null };
  totalMs: { p50: number | null; p95: number | null };
}

function r3(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000;
}

/** Nearest-rank quantile (as the stream analyser uses); null for no values. */
function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? null;
}

function endpointOf(path: string | null): string {
  if (path === null) return '-';
  const q = path.indexOf('?');
  return q >= 0 ? path.slice(0, q) : path;
}

/** Why a request counts as an error, or null. */
function errorOf(r: LlmRequestRow): string | null {
  if (r.error !== null) return `stream error: ${r.error}`;
  if (r.status !== null && r.status >= 400) return `HTTP ${r.status}`;
  if (r.grpcStatus !== null && r.grpcStatus !== 0) return `grpc-status ${r.grpcStatus}`;
  if (r.state !== 'complete') return r.state;
  if (r.stream && r.done === false && r.format !== 'unknown') return 'stream ended without [DONE]';
  return null;
}

export function llmRow(file: string, x: Exchange): LlmRequestRow | null {
  const llm = x.llm;
  if (!llm) return null;
  const q = llm.request;
  const s = llm.stream;
  const row: LlmRequestRow = {
    file,
    id: x.id,
    protocol: x.protocol,
    streamId: x.streamId,
    client: endpointText(x.client),
    server: endpointText(x.server),
    time: isoMicro(x.reqFirstUs ?? x.respFirstUs),
    requestId: x.requestId,
    method: x.method,
    endpoint: endpointOf(x.path),
    kind: q?.kind ?? 'unknown',
    model: s?.model ?? q?.model ?? null,
    status: x.status,
    grpcStatus: x.grpcStatus,
    state: x.state,
    stream: s !== null,
    format: s?.format ?? null,
    promptChars: q?.promptChars ?? null,
    estPromptTokens: q?.estPromptTokens ?? null,
    maxTokens: q?.maxTokens ?? null,
    ttftMs: r3(s?.ttftMs),
    gapP50Ms: r3(s?.gapP50Ms),
    gapP95Ms: r3(s?.gapP95Ms),
    gapMaxMs: r3(s?.gapMaxMs),
    generationMs: r3(s?.generationMs),
    totalMs: r3(s?.totalMs ?? x.totalMs),
    chunks: s?.contentChunks ?? null,
    tokens: s?.tokens ?? null,
    tokensSource: s?.tokensSource ?? null,
    tokensPerSec: r3(s?.tokensPerSec),
    usage: s?.usage ?? null,
    finishReason: s?.finishReason ?? null,
    done: s ? s.done : null,
    stalls: s?.stalls ?? 0,
    stallMaxMs: r3(s?.stallMaxMs) ?? 0,
    error: s?.error ?? null,
  };
  return row;
}

export function groupLlm(rows: LlmRequestRow[]): LlmGroup[] {
  const groups = new Map<string, LlmRequestRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r.model, r.endpoint]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out: LlmGroup[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    const vals = (f: (r: LlmRequestRow) => number | null): number[] =>
      g.map(f).filter((v): v is number => v !== null);
    const gapMax = vals((r) => r.gapMaxMs);
    const ttft = vals((r) => r.ttftMs);
    out.push({
      model: first.model,
      endpoint: first.endpoint,
      kind: first.kind,
      requests: g.length,
      streamed: g.filter((r) => r.stream).length,
      errors: g.filter((r) => errorOf(r) !== null).length,
      stalls: g.reduce((a, r) => a + r.stalls, 0),
      tokens: g.reduce((a, r) => a + (r.tokens ?? 0), 0),
      ttftMs: {
        p50: quantile(ttft, 0.5),
        p95: quantile(ttft, 0.95),
        max: ttft.length ? Math.max(...ttft) : null,
      },
      gapMs: {
        p50: quantile(
          vals((r) => r.gapP50Ms),
          0.5,
        ),
        p95: quantile(
          vals((r) => r.gapP95Ms),
          0.95,
        ),
        max: gapMax.length ? Math.max(...gapMax) : null,
      },
      tokensPerSec: {
        p50: r3(
          quantile(
            vals((r) => r.tokensPerSec),
            0.5,
          ),
        ),
        p5: r3(
          quantile(
            vals((r) => r.tokensPerSec),
            0.05,
          ),
        ),
      },
      totalMs: {
        p50: quantile(
          vals((r) => r.totalMs),
          0.5,
        ),
        p95: quantile(
          vals((r) => r.totalMs),
          0.95,
        ),
      },
    });
  }
  return out.sort(
    (a, b) =>
      b.requests - a.requests ||
      String(a.model).localeCompare(String(b.model)) ||
      a.endpoint.localeCompare(b.endpoint),
  );
}

export const llmCommand: Command = {
  name: 'llm',
  summary: 'LLM/ML API traffic in captures: TTFT, inter-token gaps, tokens/s, stalls, errors',
  usage: 'mlscope llm <capture…> [--json] [--requests] [--tls-keylog FILE]',
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('llm', argv, {
      json: { type: 'boolean' },
      requests: { type: 'boolean' },
      'tls-keylog': { type: 'string' },
    });
    if (positionals.length === 0) throw new UsageError('llm: give a capture file (or - for stdin)');
    const tlsKeys = await keyLogFlag(values['tls-keylog']);
    const errors: InputError[] = [];
    const refs = await expandInputs(positionals, (e) => errors.push(e));
    const rows: LlmRequestRow[] = [];
    let exchanges = 0;
    for (const ref of refs) {
      const run = await analyzeCapture(ref, {
        recognisers: allRecognisers(),
        // The decoders keep their own bounded prefix of ML request bodies and analyse streamed
        // responses as they pass; no raw body needs to be kept here.
        protoLimits: { bodyCaptureBytes: 0, exchanges: true, tlsKeys },
        sink: {
          exchange(x) {
            exchanges++;
            const r = llmRow(ref.name, x);
            if (r) rows.push(r);
          },
        },
      });
      if (run.error) errors.push(run.error);
    }
    for (const e of errors) io.stderr.write(`mlscope: ${e.message}\n`);
    rows.sort((a, b) => String(a.time).localeCompare(String(b.time)) || a.id - b.id);
    const groups = groupLlm(rows);
    if (values.json) {
      const doc: Record<string, unknown> = {
        exchanges,
        mlRequests: rows.length,
        streamed: rows.filter((r) => r.stream).length,
        groups,
      };
      if (values.requests) doc['requests'] = rows.map((r) => ({ ...r, errorReason: errorOf(r) }));
      writeJson(io, doc);
    } else {
      io.stdout.write(renderGroups(groups) + '\n');
      if (values.requests) io.stdout.write('\n' + renderRequests(rows) + '\n');
      io.stdout.write(
        `${rows.length} ML requests (${rows.filter((r) => r.stream).length} streamed) in ${exchanges} exchanges\n`,
      );
    }
    return errors.length > 0 ? ExitCode.INPUT_ERROR : ExitCode.OK;
  },
};

function renderGroups(groups: LlmGroup[]): string {
  return renderTable(
    [
      'model',
      'endpoint',
      'reqs',
      'stream',
      'TTFT p50',
      'TTFT p95',
      'gap p50',
      'gap p95',
      'gap max',
      'tok/s p50',
      'stalls',
      'errors',
    ],
    groups.map((g) => [
      safeText(g.model ?? '-', 32),
      safeText(g.endpoint, 40),
      g.requests,
      g.streamed,
      fmtMs(g.ttftMs.p50),
      fmtMs(g.ttftMs.p95),
      fmtMs(g.gapMs.p50),
      fmtMs(g.gapMs.p95),
      fmtMs(g.gapMs.max),
      g.tokensPerSec.p50 === null ? '-' : g.tokensPerSec.p50.toFixed(1),
      g.stalls,
      g.errors,
    ]),
    aligns('llrrrrrrrrrr'),
  );
}

function renderRequests(rows: LlmRequestRow[]): string {
  return renderTable(
    [
      'time',
      'model',
      'endpoint',
      'status',
      'TTFT',
      'gap p50',
      'gap max',
      'gen',
      'tokens',
      'tok/s',
      'stalls',
      'error',
    ],
    rows.map((r) => [
      (r.time ?? '-').slice(11, 26),
      safeText(r.model ?? '-', 32),
      safeText(r.endpoint, 40),
      r.grpcStatus !== null ? `grpc ${r.grpcStatus}` : r.status,
      fmtMs(r.ttftMs),
      fmtMs(r.gapP50Ms),
      fmtMs(r.gapMaxMs),
      fmtMs(r.generationMs),
      r.tokens,
      r.tokensPerSec === null ? '-' : r.tokensPerSec.toFixed(1),
      r.stalls,
      safeText(errorOf(r) ?? '-', 40),
    ]),
    aligns('lllrrrrrrrrl'),
  );
}
