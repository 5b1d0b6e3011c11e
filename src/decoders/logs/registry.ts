// Which line parsers make up each format, and the ordered list used for per-line auto-detection
// (most specific first: a line is given to the first parser that accepts it).

import type { LogRecord } from '../../model/records.js';
import type { Ctx } from './fields.js';
import type { LogFormat } from './types.js';
import { parseJsonLine } from './json.js';
import { parseLogfmt } from './logfmt.js';
import { parseSyslog3164, parseSyslog5424 } from './syslog.js';
import {
  parseAccessLine,
  parseApacheError,
  parseNginxError,
  parseUvicornAccess,
} from './access.js';
import { parseGunicornError, parseLevelColon, parsePlain, parsePythonLogging } from './python.js';
import {
  parseGlog,
  parseRay,
  parseSglang,
  parseSglangAny,
  parseTorchServe,
  parseVllm,
} from './ml.js';
import type { TextParser } from './text.js';
import { parseAlb, parseEnvoyAccess, parseHaproxyHttp } from './proxy.js';
import { parseW3c } from './w3c.js';
import { llamaContinues, parseLlamaCpp, parseLlamaCppAny } from './llama-cpp.js';
import {
  parseBentoml,
  parseGin,
  parseRustTracing,
  parseSpringBoot,
  parseTornado,
  parseUwsgi,
} from './apps.js';

export const parseJson: TextParser = (s, p, ctx) => {
  if (s.charCodeAt(p) !== 123) return null;
  return parseJsonLine(p === 0 ? s : s.slice(p), ctx, 'json');
};

const parseAccess: TextParser = (s, p, ctx) => parseAccessLine(s, p, ctx);
const parseGunicornAccess: TextParser = (s, p, ctx) =>
  parseAccessLine(s, p, ctx, 'gunicorn-access');

/**
 * Per-line auto-detection order. Every parser rejects most lines on their first characters; the
 * application-server ones sit after the formats they could shadow and before the generic ones
 * that would take their lines (BentoML's `ts [LEVEL] [component]` before TorchServe's `ts [LEVEL]
 * thread logger - `, Spring Boot and Rust tracing `ts LEVEL …` before Ray core's `ts LEVEL src --`,
 * rsyslog's ISO form and python logging). W3C data lines come first: only a file's `#Fields:`
 * directive lets them parse (parseW3c returns null before any), and then they are that file's;
 * llama.cpp's lines before the generic text formats that would take its `INFO [func] msg |` and
 * `name: msg` lines.
 */
export const AUTO_PARSERS: readonly TextParser[] = [
  parseW3c,
  parseJson,
  parseEnvoyAccess,
  parseSyslog5424,
  parseBentoml,
  parseTorchServe,
  parseGunicornError,
  parseApacheError,
  parseTornado,
  parseGin,
  parseUwsgi,
  parseNginxError,
  parseGlog,
  parseVllm,
  parseSglang,
  parseLlamaCpp,
  parseSpringBoot,
  parseRustTracing,
  parseRay,
  parseHaproxyHttp,
  parseAlb,
  parseAccess,
  parseUvicornAccess,
  parseSyslog3164,
  parseLevelColon,
  parsePythonLogging,
  parseLogfmt,
];

/** The parsers a file of a given format tries, in order, before falling back to auto. */
export function parsersFor(f: LogFormat): readonly TextParser[] {
  switch (f) {
    case 'json':
    case 'tgi':
      return [parseJson];
    case 'logfmt':
      return [parseLogfmt];
    case 'syslog-3164':
      return [parseSyslog3164];
    case 'syslog-5424':
      return [parseSyslog5424, parseSyslog3164];
    case 'nginx-combined':
    case 'common':
      return [parseAccess];
    case 'gunicorn-access':
      return [parseGunicornAccess, parseUvicornAccess];
    case 'nginx-error':
      return [parseNginxError];
    case 'apache-error':
      return [parseApacheError];
    case 'uvicorn-access':
    case 'uvicorn':
      return [parseUvicornAccess, parseLevelColon];
    case 'gunicorn-error':
      return [parseGunicornError];
    case 'python-logging':
      return [parseLevelColon, parsePythonLogging];
    case 'vllm':
      return [parseVllm, parseUvicornAccess, parseLevelColon];
    case 'triton':
      return [parseGlog];
    case 'torchserve':
      return [parseTorchServe];
    case 'ray-serve':
      return [parseRay];
    case 'envoy':
      return [parseEnvoyAccess];
    case 'haproxy':
      return [parseHaproxyHttp, parseSyslog3164, parseSyslog5424];
    case 'aws-alb':
      return [parseAlb];
    case 'w3c':
      return [parseW3c];
    case 'spring-boot':
      return [parseSpringBoot];
    case 'gin':
      return [parseGin];
    case 'uwsgi':
      return [parseUwsgi];
    case 'bentoml':
      return [parseBentoml];
    case 'tornado':
      return [parseTornado];
    case 'rust-tracing':
      return [parseRustTracing];
    case 'sglang':
      return [parseSglangAny, parseUvicornAccess, parseLevelColon];
    case 'llama-cpp':
      return [parseLlamaCppAny, parseJson];
    case 'plain':
      return [parsePlain];
    case 'docker-json':
    case 'cri':
    case 'nginx-custom':
      return [];
  }
}

/** Formats whose lines commonly share a file with another one's (vLLM's API server is uvicorn). */
export const COMPANIONS: Partial<Record<LogFormat, readonly LogFormat[]>> = {
  tgi: ['json'],
  vllm: ['uvicorn', 'uvicorn-access', 'python-logging'],
  sglang: ['uvicorn', 'uvicorn-access'],
  uvicorn: ['uvicorn-access'],
  'uvicorn-access': ['uvicorn'],
  'ray-serve': ['python-logging'],
  'gunicorn-error': ['uvicorn'],
  'nginx-combined': ['common'],
  common: ['nginx-combined'],
  'syslog-5424': ['syslog-3164'],
  // 2024 servers logged JSON lines between the library's text lines
  'llama-cpp': ['json'],
};

/**
 * Formats that print one record over several lines that each parse (llama.cpp's timing block):
 * `continues(pending, r)` says the record `r` of a line is part of the pending record, which then
 * takes its body line and fields. `parse` reads a continuation line joined by indentation (in a
 * file of another format) for the same fields.
 */
export interface Continuation {
  parse: TextParser;
  continues(pending: LogRecord, r: LogRecord): boolean;
}
export const CONTINUATIONS: Partial<Record<LogFormat, Continuation>> = {
  'llama-cpp': { parse: parseLlamaCpp, continues: llamaContinues },
};

/** Run the auto list on a line (after any process prefix at p). */
export function parseAuto(
  s: string,
  p: number,
  ctx: Ctx,
  first: TextParser | null,
): LogRecord | null {
  if (first !== null) {
    const r = first(s, p, ctx);
    if (r !== null) {
      lastAuto = first;
      return r;
    }
  }
  for (const fn of AUTO_PARSERS) {
    if (fn === first) continue;
    const r = fn(s, p, ctx);
    if (r !== null) {
      lastAuto = fn;
      return r;
    }
  }
  return null;
}

/** The parser that accepted the last parseAuto line (for sticky per-line detection). */
export let lastAuto: TextParser | null = null;

export { parsePlain };
