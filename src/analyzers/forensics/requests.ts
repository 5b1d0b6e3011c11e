// The request view `mlscope forensics` works on: every request seen in captures (HTTP exchanges),
// access logs and application logs, joined by request id, each with its source resolved through
// trusted X-Forwarded-For hops, its API key or user, sizes, prompt facts and outcome; plus the
// error lines (OOM, timeouts, other errors) found in the logs.

import { BlockList, isIP } from 'node:net';
import type { AttrValue, Exchange, LogRecord } from '../../model/records.js';
import { analyzeMlRequest } from '../../decoders/proto/llm.js';

export interface ForensicRequest {
  key: string;
  requestId: string | null;
  startUs: number;
  endUs: number;
  /** Client address as the service saw it, through trusted hops. */
  source: string;
  /** The TCP peer of the observation the source came from. */
  peer: string | null;
  /** Addresses the client itself put in X-Forwarded-For (left of the resolved source): untrusted. */
  spoofedHops: string[];
  apiKey: string | null;
  userAgent: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  /** 5xx, reset or no response. */
  failed: boolean;
  timeout: boolean;
  durationMs: number | null;
  /** Request body bytes (or the logged request length when that is all there is). */
  reqBytes: number | null;
  promptChars: number | null;
  /** Prompt text (prefix) from a captured body or a logged prompt field. */
  promptText: string | null;
  origins: ('capture' | 'access-log' | 'app-log')[];
}

export type ErrorKind = 'oom' | 'timeout' | 'error';

export interface ErrorEvent {
  tsUs: number;
  kind: ErrorKind;
  requestId: string | null;
  message: string;
  file: string;
}

export interface TrustConfig {
  /** CIDRs or addresses of proxies whose X-Forwarded-For entries are believed. */
  cidrs: string[];
  /** Addresses found to be proxies in captures (they serve and also forward). */
  autoProxies: string[];
}

export const DEFAULT_TRUSTED = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '::1/128',
  'fc00::/7',
];

export function makeTrust(t: TrustConfig): (ip: string) => boolean {
  const bl = new BlockList();
  for (const c of [...t.cidrs, ...t.autoProxies]) {
    const [addr, pfx] = c.split('/');
    const fam = isIP(addr ?? '');
    if (fam === 0) continue;
    const type = fam === 4 ? 'ipv4' : 'ipv6';
    if (pfx === undefined) bl.addAddress(addr!, type);
    else bl.addSubnet(addr!, Number(pfx), type);
  }
  return (ip) => {
    const fam = isIP(ip);
    if (fam === 0) return false;
    return bl.check(ip, fam === 4 ? 'ipv4' : 'ipv6');
  };
}

/** `1.2.3.4:5`, `[::1]:5`, `"1.2.3.4"`, `for=1.2.3.4` → bare address (or the token itself). */
export function cleanAddr(tok: string): string {
  let t = tok.trim().replace(/^"|"$/g, '');
  const fwd = /^for=(.*)$/i.exec(t);
  if (fwd) t = fwd[1]!.replace(/^"|"$/g, '');
  const br = /^\[([^\]]+)\](?::\d+)?$/.exec(t);
  if (br) return br[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(t);
  if (v4) return v4[1]!;
  return t;
}

export function parseXff(v: string | null | undefined): string[] {
  if (!v || v === '-') return [];
  return v
    .split(',')
    .map(cleanAddr)
    .filter((x) => x.length > 0 && x !== '-' && x.toLowerCase() !== 'unknown');
}

/**
 * Resolve the client through trusted hops, like nginx `real_ip_recursive on`: walk the chain
 * (X-Forwarded-For entries, then the TCP peer) from the right, skipping trusted proxies; the first
 * untrusted address is the client. Entries left of it were written by the client: untrusted.
 */
export function resolveSource(
  peer: string | null,
  xff: string[],
  trusted: (ip: string) => boolean,
): { source: string; spoofed: string[] } {
  const chain = peer !== null ? [...xff, peer] : [...xff];
  if (chain.length === 0) return { source: 'unknown', spoofed: [] };
  for (let i = chain.length - 1; i >= 0; i--) {
    const a = chain[i]!;
    if (isIP(a) === 0) {
      // garbage in the chain: the hop to its right is the last one we can stand on
      return { source: chain[i + 1] ?? a, spoofed: chain.slice(0, i + 1) };
    }
    if (!trusted(a)) return { source: a, spoofed: chain.slice(0, i) };
  }
  return { source: chain[0]!, spoofed: [] };
}

/** Keep enough of an API key to tell keys apart, never the whole secret. */
export function maskKey(k: string): string {
  if (k.length <= 10) return k.length <= 4 ? k : `${k.slice(0, 2)}…${k.slice(-2)}`;
  return `${k.slice(0, 6)}…${k.slice(-4)}`;
}

function attr(a: Record<string, AttrValue>, names: string[]): AttrValue | undefined {
  for (const n of names) {
    const v = a[n];
    if (v !== undefined && v !== null && v !== '' && v !== '-') return v;
  }
  return undefined;
}

function numAttr(a: Record<string, AttrValue>, names: string[]): number | null {
  const v = attr(a, names);
  if (v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

const KEY_ATTRS = [
  'api_key',
  'apikey',
  'http_x_api_key',
  'x_api_key',
  'api_key_id',
  'key_id',
  'key',
];
const USER_ATTRS = ['user', 'user_id', 'username', 'remote_user', 'auth_user', 'tenant'];
const BYTES_ATTRS = [
  'content_length',
  'http_content_length',
  'request_body_bytes',
  'req_body_bytes',
  'body_bytes_received',
  'request_bytes',
  'req_bytes',
  'request_length',
  'rl',
];
const PROMPT_CHARS_ATTRS = ['prompt_chars', 'prompt_length', 'prompt_len', 'input_chars'];
const PROMPT_TOKENS_ATTRS = ['prompt_tokens', 'input_tokens', 'usage.prompt_tokens'];
const PROMPT_TEXT_ATTRS = ['prompt', 'prompt_text', 'prompt_preview', 'input_text'];
const UA_ATTRS = ['user_agent', 'http_user_agent', 'ua'];

function keyFromHeaders(h: Record<string, string>): string | null {
  const auth = h['authorization'];
  if (auth) {
    const m = /^\s*(?:Bearer|Token|Api-Key)\s+(\S+)/i.exec(auth);
    if (m) return m[1]!;
  }
  return h['x-api-key'] ?? h['api-key'] ?? null;
}

function keyFromAttrs(a: Record<string, AttrValue>): string | null {
  const k = attr(a, KEY_ATTRS);
  if (k !== undefined) return String(k);
  const u = attr(a, USER_ATTRS);
  if (u !== undefined) return `user:${String(u)}`;
  return null;
}

function normKey(k: string | null): string | null {
  if (k === null) return null;
  return k.startsWith('user:') ? k : maskKey(k);
}

/** Prompt text out of a JSON request body: chat messages, prompt, input(s); raw text otherwise. */
export function promptTextOf(body: string): string {
  const t = body.trimStart();
  if (!t.startsWith('{')) return body;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return body; // a prefix: patterns still find things in the raw text
  }
  const parts: string[] = [];
  const walk = (v: unknown, depth: number, key: string): void => {
    if (depth > 8 || parts.length > 256) return;
    if (typeof v === 'string') {
      if (['content', 'prompt', 'input', 'inputs', 'text', 'system', 'query'].includes(key))
        parts.push(v);
    } else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1, key);
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, depth + 1, k);
  };
  walk(json, 0, '');
  return parts.join('\n');
}

const OOM_RE = /out of memory|\bOOM\b|OutOfMemoryError|CUDA error: out of memory|oom-kill/i;
const TIMEOUT_RE = /timed?\s?out|timeout|deadline exceeded/i;
const ERROR_RE = /\b(?:error|exception|traceback|fatal|panic|killed)\b/i;

function errorText(r: LogRecord): string {
  let s = r.body;
  for (const k of ['error', 'exception', 'exc_info', 'err', 'error.message', 'exception.message']) {
    const v = r.attributes[k];
    if (typeof v === 'string') s += ' ' + v;
  }
  return s;
}

export function classifyError(r: LogRecord): ErrorKind | null {
  const text = errorText(r);
  const sevErr = r.severity === 'ERROR' || r.severity === 'FATAL';
  if (OOM_RE.test(text)) return 'oom';
  if ((sevErr || r.httpStatus === null) && TIMEOUT_RE.test(text) && (sevErr || ERROR_RE.test(text)))
    return 'timeout';
  if (/upstream timed out/i.test(text)) return 'timeout';
  if (sevErr) return 'error';
  return null;
}

function isRequestRecord(r: LogRecord): boolean {
  if (r.httpStatus === null || r.tsUs === null) return false;
  return (
    r.httpMethod !== null ||
    r.clientIp !== null ||
    attr(r.attributes, ['x_forwarded_for', ...KEY_ATTRS, ...PROMPT_CHARS_ATTRS]) !== undefined
  );
}

interface Obs {
  req: ForensicRequest;
  priority: number;
  resolvedTrusted: boolean;
}

export interface RequestSet {
  requests: ForensicRequest[];
  errors: ErrorEvent[];
  /** Addresses found to be forwarding proxies in captures. */
  autoProxies: string[];
  /** Log request records left out because they had no request id to join on. */
  unjoinedLogRequests: number;
}

export interface BuildOptions {
  trustedCidrs: string[];
  charsPerToken: number;
}

/** Build the request set from a bundle's exchanges and log records. */
export function buildRequests(
  exchanges: readonly Exchange[],
  logs: readonly LogRecord[],
  opts: BuildOptions,
): RequestSet {
  // Proxies in captures: an address that serves HTTP and also opens requests itself.
  const servers = new Set(exchanges.map((x) => x.server.ip));
  const inner = (x: Exchange) => servers.has(x.client.ip);
  const hasFront = exchanges.some((x) => !inner(x));
  const autoProxies = [...new Set(exchanges.filter(inner).map((x) => x.client.ip))].sort();
  const trusted = makeTrust({ cidrs: opts.trustedCidrs, autoProxies });
  const obs: Obs[] = [];
  let n = 0;

  for (const x of exchanges) {
    if (hasFront && inner(x)) continue;
    if (x.method === null || x.reqFirstUs === null) continue;
    const xff = parseXff(x.requestHeaders['x-forwarded-for'] ?? x.requestHeaders['forwarded']);
    const { source, spoofed } = resolveSource(x.client.ip, xff, trusted);
    let promptText: string | null = null;
    let promptChars: number | null = null;
    if (x.reqBody !== null && x.reqBody.length > 0) {
      promptText = promptTextOf(x.reqBody);
      const info = analyzeMlRequest(x.method, x.path, x.reqBody, x.reqBody.length < x.reqBodyBytes);
      promptChars = info && info.promptChars > 0 ? info.promptChars : promptText.length;
      if (x.reqBody.length < x.reqBodyBytes && promptChars !== null)
        promptChars = Math.max(promptChars, Math.round(x.reqBodyBytes * 0.95));
    }
    const status = x.status;
    const failed =
      (status !== null && status >= 500) || x.state === 'reset' || x.state === 'no-response';
    const endUs = x.respLastUs ?? x.reqLastUs ?? x.reqFirstUs;
    obs.push({
      priority: 0,
      resolvedTrusted: trusted(source),
      req: {
        key: `c${n++}`,
        requestId: x.requestId,
        startUs: x.reqFirstUs,
        endUs,
        source,
        peer: x.client.ip,
        spoofedHops: spoofed,
        apiKey: normKey(keyFromHeaders(x.requestHeaders)),
        userAgent: x.requestHeaders['user-agent'] ?? null,
        method: x.method,
        path: x.path,
        status,
        failed,
        timeout: status === 504 || x.state === 'no-response',
        durationMs: x.totalMs,
        reqBytes: x.reqBodyBytes,
        promptChars,
        promptText,
        origins: ['capture'],
      },
    });
  }

  const errors: ErrorEvent[] = [];
  for (const r of logs) {
    const kind = classifyError(r);
    const reqRec = isRequestRecord(r);
    // a request line logged at ERROR is a failed request, counted as such, not an error line
    if (
      kind !== null &&
      r.tsUs !== null &&
      !(reqRec && kind === 'error') &&
      !(r.httpStatus !== null && r.httpStatus < 500)
    )
      errors.push({
        tsUs: r.tsUs,
        kind,
        requestId: r.requestId,
        message: errorText(r).slice(0, 200),
        file: r.file,
      });
    if (!reqRec) continue;
    const a = r.attributes;
    const access = r.httpMethod !== null;
    const xff = parseXff(typeof a['x_forwarded_for'] === 'string' ? a['x_forwarded_for'] : null);
    const peer = r.clientIp !== null ? cleanAddr(r.clientIp) : null;
    const { source, spoofed } = resolveSource(peer, xff, trusted);
    const dur = r.durationMs;
    let promptChars = numAttr(a, PROMPT_CHARS_ATTRS);
    if (promptChars === null) {
      const tok = numAttr(a, PROMPT_TOKENS_ATTRS);
      if (tok !== null) promptChars = Math.round(tok * opts.charsPerToken);
    }
    const pt = attr(a, PROMPT_TEXT_ATTRS);
    const ua = attr(a, UA_ATTRS);
    const status = r.httpStatus!;
    obs.push({
      priority: access ? 1 : 2,
      resolvedTrusted: trusted(source),
      req: {
        key: `l${n++}`,
        requestId: r.requestId,
        startUs: r.tsUs! - (dur ?? 0) * 1000,
        endUs: r.tsUs!,
        source,
        peer,
        spoofedHops: spoofed,
        apiKey: normKey(keyFromAttrs(a)),
        userAgent: ua !== undefined ? String(ua) : null,
        method: r.httpMethod,
        path: r.httpPath,
        status,
        failed: status >= 500,
        timeout: status === 504 || status === 408,
        durationMs: dur,
        reqBytes: numAttr(a, BYTES_ATTRS),
        promptChars,
        promptText: pt !== undefined ? String(pt) : null,
        origins: [access ? 'access-log' : 'app-log'],
      },
    });
  }

  // Join by request id, best observation first (capture, access log, app log).
  obs.sort((a, b) => a.priority - b.priority);
  const byId = new Map<string, Obs>();
  const out: ForensicRequest[] = [];
  const basePriority = obs.length ? obs[0]!.priority : 0;
  let unjoined = 0;
  for (const o of obs) {
    const id = o.req.requestId;
    const prev = id !== null ? byId.get(id) : undefined;
    if (prev) {
      mergeInto(prev, o);
      continue;
    }
    if (id === null && o.priority > basePriority) {
      // no id to join on and a better source already counts the requests: not a new request
      unjoined++;
      continue;
    }
    if (id !== null) byId.set(id, o);
    out.push(o.req);
  }
  out.sort((a, b) => a.startUs - b.startUs);
  errors.sort((a, b) => a.tsUs - b.tsUs);
  return { requests: out, errors, autoProxies, unjoinedLogRequests: unjoined };
}

function mergeInto(p: Obs, o: Obs): void {
  const a = p.req;
  const b = o.req;
  if (p.resolvedTrusted && !o.resolvedTrusted) {
    a.source = b.source;
    a.spoofedHops = b.spoofedHops;
    p.resolvedTrusted = false;
  }
  if (b.spoofedHops.length > a.spoofedHops.length && b.source === a.source)
    a.spoofedHops = b.spoofedHops;
  a.apiKey ??= b.apiKey;
  a.userAgent ??= b.userAgent;
  a.method ??= b.method;
  a.path ??= b.path;
  if (a.status === null) {
    a.status = b.status;
    a.failed = b.failed;
    a.timeout = b.timeout;
  }
  a.durationMs ??= b.durationMs;
  a.reqBytes ??= b.reqBytes;
  // a logged prompt length is exact; a capture-derived one may be from a cut body
  if (b.promptChars !== null && (a.promptChars === null || b.origins[0] === 'app-log'))
    a.promptChars = b.promptChars;
  a.promptText ??= b.promptText;
  for (const x of b.origins) if (!a.origins.includes(x)) a.origins.push(x);
}
