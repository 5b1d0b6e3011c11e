// The stateful per-file log parser: detection (unless forced), per-line parsing with the file's
// format, multi-line joining, container unwrapping, and the quality accounting.
//
// Accounting (per file, model/quality.ts): one `ok` per emitted record, one `skip` per line that
// yields no record (binary garbage, malformed JSON, a truncated line that no longer parses), and
// `note`s for facts that lose nothing: continuation lines joined, blank lines, lines of another
// format than the file's (still parsed by their own format), truncated or invalid UTF-8 lines,
// records without a timestamp. Invariant: decoded + skipped === seen.
//
// Lines that do not fit the file's format: continuation-like lines (indented, traceback and
// stack-trace lines) join the pending record; in a text format with a header (python logging,
// vLLM, log4j…) any line that no known format accepts joins it too; otherwise the line is parsed
// by per-line auto-detection (sticky: the last format that matched is tried first), falling back
// to 'plain'. A format that prints one record over lines that each parse (llama.cpp's timing
// block, registry.ts CONTINUATIONS) has them merged into the pending record: body line and fields.
//
// W3C extended log directives (`#Fields:`, `#Version:`…, w3c.ts) set the file's column layout and
// yield no record: each is a `w3c-directive` note.

import type { LogRecord } from '../../model/records.js';
import { Quality } from '../../model/quality.js';
import { unwrapCri, unwrapDocker, type Unwrapped } from './container.js';
import { detectLogFormat, isContinuationLike } from './detect.js';
import { fieldsFromMessage, idsFromMessage, mayBeInnerLine, mergeEmbedded } from './embedded.js';
import { newCtx, type Ctx } from './fields.js';
import { compileNginxFormat, type NginxLineParser } from './nginx-format.js';
import { CONTINUATIONS, lastAuto, parseAuto, parsePlain, parsersFor } from './registry.js';
import { procName, procPid, skipProcPrefix, type TextParser } from './text.js';
import { readW3cDirective } from './w3c.js';
import type { LogFormat, LogLine, LogParseOptions, LogParser } from './types.js';

/** Formats whose key=value pairs are already their fields (fieldsFromMessage is not tried). */
const KV_FORMATS: ReadonlySet<string> = new Set(['json', 'logfmt', 'rust-tracing', 'torchserve']);
const DEFAULT_MAX_JOIN_LINES = 500;
const DEFAULT_MAX_RECORD_CHARS = 64 * 1024;
/** Lines buffered for detection when the format is not given. */
export const DETECT_LINES = 64;
const MAX_PARTIAL_CHARS = 1024 * 1024;

/** Formats whose records start with a recognisable header, so unmatched lines continue them. */
const HEADERED: ReadonlySet<LogFormat> = new Set<LogFormat>([
  'python-logging',
  'vllm',
  'triton',
  'torchserve',
  'ray-serve',
  'gunicorn-error',
  'uvicorn',
  'nginx-error',
  'apache-error',
  'syslog-3164',
  'syslog-5424',
  'spring-boot',
  'bentoml',
  'tornado',
  'sglang',
  'llama-cpp',
  'plain',
]);

function controlShare(s: string): number {
  let bad = 0;
  const n = Math.min(s.length, 512);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 0xfffd || c === 0x7f) bad++;
  }
  return n === 0 ? 0 : bad / n;
}

class Parser implements LogParser {
  format: LogFormat;
  private readonly ctx: Ctx;
  private readonly q: Quality;
  private readonly opts: LogParseOptions;
  private primary: readonly TextParser[] = [];
  private nginx: NginxLineParser | null = null;
  private container: 'docker-json' | 'cri' | null = null;
  private headered = false;
  private detected: boolean;
  private readonly buffered: LogLine[] = [];
  private pending: LogRecord | null = null;
  private pendingLines = 0;
  private pendingChars = 0;
  private sticky: TextParser | null = null;
  private partial = '';
  private partialLine = 0;
  private partialTs: number | null = null;
  private readonly maxJoinLines: number;
  private readonly maxRecordChars: number;

  constructor(file: string, quality: Quality, opts: LogParseOptions) {
    this.q = quality;
    this.opts = opts;
    this.ctx = newCtx(file, quality, opts);
    this.maxJoinLines = opts.maxJoinLines ?? DEFAULT_MAX_JOIN_LINES;
    this.maxRecordChars = opts.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
    const forced = opts.nginxFormat !== undefined ? 'nginx-custom' : opts.format;
    if (forced !== undefined && forced !== 'auto') {
      this.format = forced;
      this.detected = true;
      this.setup();
    } else {
      this.format = 'plain';
      this.detected = false;
    }
  }

  private setup(): void {
    const f = this.format;
    this.q.format = f;
    if (f === 'docker-json' || f === 'cri') this.container = f;
    if (f === 'nginx-custom') {
      this.nginx = compileNginxFormat(this.opts.nginxFormat ?? '', {
        escapeJson: this.opts.nginxEscapeJson === true,
      });
    }
    this.primary = parsersFor(f);
    this.headered = HEADERED.has(f);
  }

  push(line: LogLine, emit: (r: LogRecord) => void): void {
    if (!this.detected) {
      this.buffered.push(line);
      if (this.buffered.length >= DETECT_LINES) this.detectNow(emit);
      return;
    }
    this.line(line, emit);
  }

  heldFrom(): number | null {
    let n = this.buffered[0]?.lineNo ?? null;
    if (this.pending !== null && (n === null || this.pending.lineNo < n)) n = this.pending.lineNo;
    if (this.partial !== '' && (n === null || this.partialLine < n)) n = this.partialLine;
    return n;
  }

  end(emit: (r: LogRecord) => void): void {
    if (!this.detected) this.detectNow(emit);
    if (this.partial !== '') {
      this.q.note('partial-line-unterminated', `line ${this.partialLine}`);
      const text = this.partial;
      this.partial = '';
      this.ctx.lineNo = this.partialLine;
      this.text(text, this.partialTs, null, emit);
    }
    this.flush(emit);
  }

  private detectNow(emit: (r: LogRecord) => void): void {
    const d = detectLogFormat(
      this.buffered.map((l) => l.text),
      this.opts,
    );
    this.format = d.format;
    this.detected = true;
    this.setup();
    for (const l of this.buffered) this.line(l, emit);
    this.buffered.length = 0;
  }

  private line(line: LogLine, emit: (r: LogRecord) => void): void {
    const ctx = this.ctx;
    ctx.lineNo = line.lineNo;
    const s = line.text;
    if (line.truncated === true)
      this.q.note('truncated-line', `line ${line.lineNo}`, `${s.length} chars kept`);
    if (line.invalidUtf8 === true) this.q.note('invalid-utf8', `line ${line.lineNo}`);
    if (this.container !== null) {
      const u: Unwrapped | null =
        this.container === 'docker-json' ? unwrapDocker(s, ctx) : unwrapCri(s, ctx);
      if (u === null) {
        if (s.trim() === '') {
          this.q.note('blank-line', `line ${line.lineNo}`);
          return;
        }
        this.q.note('not-a-container-record', `line ${line.lineNo}`, s);
        this.text(s, null, null, emit, line.truncated === true);
        return;
      }
      if (u.partial) {
        if (this.partial === '') {
          this.partialLine = line.lineNo;
          this.partialTs = u.tsUs;
        }
        if (this.partial.length + u.text.length <= MAX_PARTIAL_CHARS) this.partial += u.text;
        else this.q.note('partial-line-too-long', `line ${line.lineNo}`);
        this.q.note('partial-lines-joined');
        return;
      }
      let text = u.text;
      let ts = u.tsUs;
      if (this.partial !== '') {
        text = this.partial + text;
        ts = this.partialTs ?? ts;
        ctx.lineNo = this.partialLine;
        this.partial = '';
      }
      this.text(text, ts, u.stream, emit);
      return;
    }
    this.text(s, null, null, emit, line.truncated === true);
  }

  private text(
    s: string,
    containerTs: number | null,
    stream: string | null,
    emit: (r: LogRecord) => void,
    truncated = false,
  ): void {
    const ctx = this.ctx;
    if (s.length === 0 || (s.charCodeAt(0) <= 32 && s.trim() === '')) {
      if (this.pending !== null && this.headered && this.pendingLines < this.maxJoinLines) {
        this.join(s);
        return;
      }
      this.q.note('blank-line', `line ${ctx.lineNo}`);
      return;
    }
    if (s.charCodeAt(0) === 35 && readW3cDirective(s, ctx, this.format === 'w3c')) {
      this.flush(emit);
      this.q.note('w3c-directive', `line ${ctx.lineNo}`, s);
      return;
    }
    const p = s.charCodeAt(0) === 40 ? skipProcPrefix(s) : 0;
    const pName = p > 0 ? procName : null;
    const pPid = p > 0 ? procPid : null;
    let r: LogRecord | null = null;
    if (this.nginx !== null) r = this.nginx.parseRecord(s, ctx);
    else {
      for (const fn of this.primary) {
        r = fn(s, p, ctx);
        if (r !== null) break;
      }
    }
    if (r === null) {
      // a line with its own process prefix starts a record of that process, never continues one
      if (this.pending !== null && p === 0 && isContinuationLike(s)) {
        this.join(s);
        return;
      }
      if (controlShare(s) > 0.1) {
        this.flush(emit);
        this.q.skip('binary', `line ${ctx.lineNo}`, s);
        return;
      }
      if (s.charCodeAt(0) === 123 && (this.format === 'json' || this.format === 'tgi')) {
        r = parseAuto(s, p, ctx, null);
        if (r === null) {
          this.flush(emit);
          this.q.skip(truncated ? 'truncated-line' : 'malformed-json', `line ${ctx.lineNo}`, s);
          return;
        }
      }
      if (r === null) r = parseAuto(s, p, ctx, this.sticky);
      if (r !== null) {
        this.sticky = lastAuto;
        if (this.container === null)
          this.q.note('other-format-line', `line ${ctx.lineNo}`, `${r.format}: ${s}`);
      } else {
        if (
          this.pending !== null &&
          p === 0 &&
          !truncated &&
          this.headered &&
          this.pendingLines < this.maxJoinLines
        ) {
          this.join(s);
          return;
        }
        r = parsePlain(s, p, ctx);
        if (this.container === null && this.format !== 'plain')
          this.q.note('unrecognised-line', `line ${ctx.lineNo}`, s);
      }
    }
    // a wrapper's message that is the application's own line (journald, CloudWatch, Fluent Bit,
    // syslog): parsed by its own format (embedded.ts)
    if (
      (r.format === 'json' ? ctx.msgRank < 99 : r.format.startsWith('syslog')) &&
      mayBeInnerLine(r.body)
    ) {
      const body = r.body;
      const inner = parseAuto(
        body,
        body.charCodeAt(0) === 40 ? skipProcPrefix(body) : 0,
        ctx,
        null,
      );
      if (inner !== null) r = mergeEmbedded(r, inner);
    }
    // (not access lines: their message is their request line, made from their fields; not
    // key=value formats: their pairs are their fields already)
    if (r.httpMethod === null) {
      if (!KV_FORMATS.has(r.format)) fieldsFromMessage(r, ctx);
      if (r.requestId === null || r.traceId === null) idsFromMessage(r);
    }
    if (pName !== null) {
      r.attributes['process'] = pName;
      if (pPid !== null) r.attributes['pid'] = pPid;
    }
    if (this.container !== null) {
      r.attributes['container.runtime'] = this.container;
      if (stream !== null) r.attributes['container.stream'] = stream;
      if (containerTs !== null) {
        if (r.tsUs === null) r.tsUs = containerTs;
        else r.attributes['container.time_us'] = containerTs;
      }
    }
    const pending = this.pending;
    if (pending !== null && pending.format === r.format) {
      const c = CONTINUATIONS[r.format as LogFormat];
      if (c !== undefined && c.continues(pending, r) && this.merge(r, r.body)) return;
    }
    this.flush(emit);
    this.pending = r;
    this.pendingLines = 1;
    this.pendingChars = r.body.length;
  }

  private join(s: string): void {
    const r = this.pending!;
    if (
      this.pendingLines >= this.maxJoinLines ||
      this.pendingChars + s.length + 1 > this.maxRecordChars
    ) {
      this.q.note('multiline-cut', `line ${this.ctx.lineNo}`, s);
      return;
    }
    // an indented line of a multi-line block (llama.cpp's timings) brings its fields too
    const c = CONTINUATIONS[r.format as LogFormat];
    if (c !== undefined) {
      const x = c.parse(s, 0, this.ctx);
      if (x !== null && c.continues(r, x) && this.merge(x, s)) return;
    }
    r.body = r.body + '\n' + s;
    this.pendingLines++;
    this.pendingChars += s.length + 1;
    this.q.note('continuation-lines-joined');
  }

  /**
   * The record of a line that continues the pending one: its body line (`line` if it has none)
   * and the fields the pending record lacks join it. False (nothing done) at the join limits.
   */
  private merge(x: LogRecord, line: string): boolean {
    const r = this.pending!;
    const text = x.body !== '' ? x.body : line;
    if (
      this.pendingLines >= this.maxJoinLines ||
      this.pendingChars + text.length + 1 > this.maxRecordChars
    )
      return false;
    r.body = r.body === '' ? text : r.body + '\n' + text;
    for (const k in x.attributes) {
      if (r.attributes[k] === undefined) r.attributes[k] = x.attributes[k]!;
    }
    r.durationMs ??= x.durationMs;
    r.tsUs ??= x.tsUs;
    r.severity ??= x.severity;
    this.pendingLines++;
    this.pendingChars += text.length + 1;
    this.q.note('continuation-lines-joined');
    return true;
  }

  private flush(emit: (r: LogRecord) => void): void {
    const r = this.pending;
    if (r === null) return;
    this.pending = null;
    if (this.pendingLines > 1) {
      // trailing blank lines of a joined record are not part of it
      r.body = r.body.replace(/\n\s*$/, '');
      r.attributes['log.lines'] = this.pendingLines;
    }
    if (r.tsUs === null) this.q.note('no-timestamp', `line ${r.lineNo}`);
    this.q.ok();
    emit(r);
  }
}

export function createLogParser(
  file: string,
  quality: Quality,
  opts: LogParseOptions = {},
): LogParser {
  return new Parser(file, quality, opts);
}

/** Parse a whole text (tests, small inputs). Lines split on \n, a trailing \r removed. */
export function parseLogText(
  text: string,
  file = '<text>',
  opts: LogParseOptions = {},
): { records: LogRecord[]; quality: Quality; format: LogFormat } {
  const quality = new Quality(file, 'auto');
  const parser = createLogParser(file, quality, opts);
  const records: LogRecord[] = [];
  const emit = (r: LogRecord): void => {
    records.push(r);
  };
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let n = 0;
  for (let l of lines) {
    n++;
    if (l.endsWith('\r')) l = l.slice(0, -1);
    parser.push({ text: l, lineNo: n }, emit);
  }
  parser.end(emit);
  return { records, quality, format: parser.format };
}
