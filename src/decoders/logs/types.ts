// Types shared by the log decoders: format names, options, the parser interface.

import type { LogRecord } from '../../model/records.js';

/** Every format the log decoders know. 'plain' is the generic fallback. */
export const LOG_FORMATS = [
  'json',
  'tgi',
  'docker-json',
  'cri',
  'logfmt',
  'syslog-3164',
  'syslog-5424',
  'nginx-combined',
  'common',
  'nginx-custom',
  'nginx-error',
  'apache-error',
  'uvicorn-access',
  'uvicorn',
  'gunicorn-access',
  'gunicorn-error',
  'python-logging',
  'vllm',
  'triton',
  'torchserve',
  'ray-serve',
  'envoy',
  'haproxy',
  'aws-alb',
  'w3c',
  'spring-boot',
  'gin',
  'uwsgi',
  'bentoml',
  'tornado',
  'rust-tracing',
  'sglang',
  'llama-cpp',
  'plain',
] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function isLogFormat(s: string): s is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(s);
}

export interface LogParseOptions {
  /** Force a format ('auto' or absent: detect from the first lines). */
  format?: LogFormat | 'auto';
  /** An nginx `log_format` string; implies format 'nginx-custom'. */
  nginxFormat?: string;
  /** The log_format was declared with `escape=json`. */
  nginxEscapeJson?: boolean;
  /** Zone of timestamps written without one, minutes east of UTC (default 0 = UTC). */
  tzOffsetMinutes?: number;
  /** Year for year-less timestamps (syslog, glog, vLLM `MM-DD`). Default 1970: pass one. */
  referenceYear?: number;
  /** Max physical lines joined into one record (default 500). */
  maxJoinLines?: number;
  /** Max characters of a joined record body (default 64 KiB). */
  maxRecordChars?: number;
  /** Resource attributes stamped on every record. */
  service?: string | null;
  host?: string | null;
}

export interface FormatDetection {
  format: LogFormat;
  /** Share of the sampled non-blank lines the format's line parser accepted (0..1). */
  confidence: number;
  sampled: number;
}

/** One physical line (util/lines.ts `Line` satisfies it). */
export interface LogLine {
  text: string;
  lineNo: number;
  truncated?: boolean;
  invalidUtf8?: boolean;
}

export interface LogParser {
  /** The file's format (fixed after detection; individual records may carry another). */
  readonly format: LogFormat;
  push(line: LogLine, emit: (r: LogRecord) => void): void;
  /** Flush the pending (possibly multi-line) record. */
  end(emit: (r: LogRecord) => void): void;
  /**
   * The line number of the first line pushed but not yet part of an emitted record (held for
   * format detection, multi-line joining or a partial container line); null when none is held.
   * Every line before it is in a record already emitted (or skipped).
   */
  heldFrom(): number | null;
}
