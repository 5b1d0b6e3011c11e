// Format detection from a file's first lines: every sampled line is given to the per-line auto
// parsers and the formats of the records they produce are tallied. The winner is the best share
// (a format's own lines plus its companions', e.g. uvicorn lines in a vLLM log); near-ties go to
// the more specific format. Continuation lines (tracebacks, indented) are not sampled. W3C
// directives count for 'w3c' (and `#Fields:` lets the data lines after it parse as W3C).

import { Quality } from '../../model/quality.js';
import { isCriLine, isDockerLine } from './container.js';
import { newCtx } from './fields.js';
import { COMPANIONS, parseAuto } from './registry.js';
import { skipProcPrefix } from './text.js';
import { readW3cDirective } from './w3c.js';
import type { FormatDetection, LogFormat, LogParseOptions } from './types.js';

/** Most specific first: near-ties are resolved in this order. */
const PRIORITY: readonly LogFormat[] = [
  'docker-json',
  'cri',
  'tgi',
  'vllm',
  'sglang',
  'llama-cpp',
  'triton',
  'torchserve',
  'ray-serve',
  'gunicorn-error',
  'nginx-error',
  'apache-error',
  'syslog-5424',
  'envoy',
  'haproxy',
  'aws-alb',
  'w3c',
  'bentoml',
  'spring-boot',
  'tornado',
  'uwsgi',
  'gin',
  'rust-tracing',
  'nginx-combined',
  'common',
  'gunicorn-access',
  'uvicorn-access',
  'uvicorn',
  'syslog-3164',
  'python-logging',
  'json',
  'logfmt',
  'plain',
];

const MAX_SAMPLE = 200;
/** Below this share of the sample no format is claimed: 'plain'. */
const MIN_SHARE = 0.3;
const TIE = 0.05;

const CONT_RE =
  /^(?:[ \t]|Traceback \(most recent call last\)|During handling of the above|The above exception|Caused by: |\.\.\. \d+ (?:more|common frames)|[\w.$]*(?:Error|Exception|Warning|Interrupt|Exit)(?::|$)|[}\])]+,?$)/;

/** A line that continues the previous record (stack frames, exception lines, indented text). */
export function isContinuationLike(s: string): boolean {
  return CONT_RE.test(s);
}

export function detectLogFormat(
  sample: readonly string[],
  opts: LogParseOptions = {},
): FormatDetection {
  if (opts.nginxFormat !== undefined) return { format: 'nginx-custom', confidence: 1, sampled: 0 };
  const ctx = newCtx('<detect>', new Quality('<detect>', 'detect'), opts);
  const tally = new Map<LogFormat, number>();
  let n = 0;
  for (const line of sample) {
    if (n >= MAX_SAMPLE) break;
    if (line.trim() === '' || isContinuationLike(line)) continue;
    n++;
    let f: LogFormat | null = null;
    // a W3C directive (`#Fields:` sets the columns the data lines after it are parsed by)
    if (line.charCodeAt(0) === 35 && readW3cDirective(line, ctx, true)) f = 'w3c';
    else if (isDockerLine(line)) f = 'docker-json';
    else if (isCriLine(line)) f = 'cri';
    else {
      const p = skipProcPrefix(line);
      const r = parseAuto(line, p, ctx, null);
      if (r !== null) f = r.format as LogFormat;
    }
    if (f !== null) tally.set(f, (tally.get(f) ?? 0) + 1);
  }
  if (n === 0) return { format: 'plain', confidence: 0, sampled: 0 };
  const scores = new Map<LogFormat, number>();
  let best = 0;
  for (const [f, own] of tally) {
    let total = own;
    for (const c of COMPANIONS[f] ?? []) total += tally.get(c) ?? 0;
    const share = Math.min(1, total / n);
    scores.set(f, share);
    if (share > best) best = share;
  }
  if (best < MIN_SHARE) return { format: 'plain', confidence: 1 - best, sampled: n };
  for (const f of PRIORITY) {
    const s = scores.get(f);
    if (s !== undefined && s >= best - TIE) return { format: f, confidence: s, sampled: n };
  }
  return { format: 'plain', confidence: 0, sampled: n };
}
