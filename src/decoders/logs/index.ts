// Log decoding: format detection and parsing of text log lines into `LogRecord`s. Pure: text in,
// records out; no I/O, no clocks (year-less timestamps take `referenceYear` from the caller).
//
// Public API (stable; the store/ingest side builds on these):
//
//   detectLogFormat(sample: readonly string[], opts?): FormatDetection
//       Pick the format of a file from its first lines (≈64 non-blank lines is plenty).
//   createLogParser(file: string, quality: Quality, opts?: LogParseOptions): LogParser
//       A stateful line parser for one file: `push(line, emit)` for each line in order, then
//       `end(emit)`. Multi-line records (tracebacks, stack traces, indented continuations, CRI
//       partial lines) are joined to their first line, so a record is emitted when the next one
//       starts. Every record is counted on `quality` (ok / skip by reason / note); never throws.
//   parseLogText(text: string, file?, opts?): { records, quality, format }
//       Convenience for tests and small inputs.
//   compileNginxFormat(logFormat: string, { escapeJson }): NginxLineParser
//   extractNginxLogFormats(nginxConf: string): Map<name, { format, escapeJson }>
//
// Formats (`LogFormat`): see formats.ts. Severity is normalised to TRACE…FATAL; timestamps to
// UTC µs (zone-less ones are taken in `tzOffsetMinutes`, default UTC).

export type { LogFormat, LogParseOptions, FormatDetection, LogParser, LogLine } from './types.js';
export { LOG_FORMATS, isLogFormat } from './types.js';
export { detectLogFormat } from './detect.js';
export { createLogParser, parseLogText } from './parser.js';
export { compileNginxFormat, extractNginxLogFormats } from './nginx-format.js';
export type { NginxLineParser, NginxFormatDef } from './nginx-format.js';
export { normalizeSeverity } from './severity.js';
