// Custom nginx `log_format` strings turned into line parsers, and extraction of the log_format
// definitions from an nginx.conf text (nginx docs: ngx_http_log_module).
//
// A format is literals and variables (`$name`, `${name}`). A variable's value ends where the next
// literal starts (searched from the value start); a variable at the end takes the rest of the
// line. With `escape=json` values are JSON-string-escaped (quotes, backslashes, \u escapes); with the
// default escaping nginx writes `"`, `\` and bytes < 0x20 / > 0x7e as `\xHH`.
// Values go through the same field mapping as JSON logs (fields.ts): `$request_time` → duration
// in ms, `$time_local`/`$time_iso8601`/`$msec` → timestamp, `$http_x_request_id` → request id…

import type { LogRecord } from '../../model/records.js';
import { applyField, finishKv, newRecord, type Ctx } from './fields.js';

export interface NginxFormatDef {
  format: string;
  escapeJson: boolean;
}

export interface NginxLineParser {
  /** Variable names in order (without `$`). */
  readonly variables: readonly string[];
  /** Raw variable values of one line (unescaped), or null if the line does not fit. */
  parseFields(line: string): Record<string, string> | null;
  /** @internal the record for a line (used by the log parser). */
  parseRecord(line: string, ctx: Ctx): LogRecord | null;
}

interface Part {
  literal: string;
  variable: string | null;
}

function tokenize(fmt: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c === '$') {
      let name = '';
      let j = i + 1;
      if (fmt[j] === '{') {
        const e = fmt.indexOf('}', j);
        if (e > j) {
          name = fmt.slice(j + 1, e);
          j = e + 1;
        }
      } else {
        while (j < fmt.length && /[A-Za-z0-9_]/.test(fmt[j]!)) j++;
        name = fmt.slice(i + 1, j);
      }
      if (name) {
        parts.push({ literal: lit, variable: name });
        lit = '';
        i = j;
        continue;
      }
    }
    lit += c;
    i++;
  }
  parts.push({ literal: lit, variable: null });
  return parts;
}

function unescapeDefault(v: string): string {
  if (!v.includes('\\x')) return v;
  return v.replace(/\\x([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function unescapeJson(v: string): string {
  if (!v.includes('\\')) return v;
  try {
    return JSON.parse(`"${v}"`) as string;
  } catch {
    return v;
  }
}

/** Index of `lit` in s from i, skipping quotes escaped with a backslash when `json`. */
function findLiteral(s: string, lit: string, i: number, json: boolean): number {
  let e = s.indexOf(lit, i);
  if (!json || lit.charCodeAt(0) !== 34) return e;
  while (e > 0) {
    let k = e - 1;
    while (k >= i && s.charCodeAt(k) === 92) k--;
    if ((e - 1 - k) % 2 === 0) return e;
    e = s.indexOf(lit, e + 1);
  }
  return e;
}

/** Compile an nginx `log_format` string into a line parser. */
export function compileNginxFormat(
  format: string,
  opts: { escapeJson?: boolean } = {},
): NginxLineParser {
  const json = opts.escapeJson === true;
  const parts = tokenize(format);
  const variables = parts.filter((p) => p.variable !== null).map((p) => p.variable!);
  const unescape = json ? unescapeJson : unescapeDefault;

  function match(line: string, onValue: (name: string, v: string) => void): boolean {
    let pos = 0;
    for (let k = 0; k < parts.length; k++) {
      const part = parts[k]!;
      if (!line.startsWith(part.literal, pos)) return false;
      pos += part.literal.length;
      if (part.variable === null) return pos === line.length || line.slice(pos).trim() === '';
      const next = parts[k + 1]!;
      let end: number;
      if (next.literal === '') {
        if (next.variable === null) end = line.length;
        else {
          // two variables back to back: split at the next space
          end = line.indexOf(' ', pos);
          if (end < 0) end = line.length;
        }
      } else {
        end = findLiteral(line, next.literal, pos, json);
        if (end < 0) return false;
      }
      onValue(part.variable, unescape(line.slice(pos, end)));
      pos = end;
    }
    return true;
  }

  return {
    variables,
    parseFields(line) {
      const out: Record<string, string> = {};
      return match(line, (n, v) => (out[n] = v)) ? out : null;
    },
    parseRecord(line, ctx) {
      const r = newRecord(ctx, 'nginx-custom', '');
      const ok = match(line, (n, v) => applyField(r, n, v, ctx));
      if (!ok) return null;
      finishKv(r, ctx);
      return r;
    },
  };
}

/** The predefined `combined` format (always available in nginx). */
export const NGINX_COMBINED =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

/** `log_format name [escape=default|json|none] 'string' …;` definitions in an nginx.conf text. */
export function extractNginxLogFormats(conf: string): Map<string, NginxFormatDef> {
  const out = new Map<string, NginxFormatDef>();
  // strip comments outside quotes
  let text = '';
  let q: string | null = null;
  for (let i = 0; i < conf.length; i++) {
    const c = conf[i]!;
    if (q) {
      if (c === '\\') {
        text += c + (conf[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === q) q = null;
      text += c;
    } else if (c === '"' || c === "'") {
      q = c;
      text += c;
    } else if (c === '#') {
      while (i < conf.length && conf[i] !== '\n') i++;
      text += '\n';
    } else text += c;
  }
  const re =
    /(?:^|[\s;{}])log_format\s+([^\s;]+)((?:\s+(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s;'"]+))*)\s*;/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const name = m[1]!;
    let escapeJson = false;
    let format = '';
    const tokRe = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+)/g;
    let t: RegExpExecArray | null;
    while ((t = tokRe.exec(m[2]!)) !== null) {
      if (t[3] !== undefined) {
        if (t[3].startsWith('escape=')) {
          escapeJson = t[3] === 'escape=json';
          continue;
        }
        format += t[3];
      } else {
        const raw = t[1] ?? t[2] ?? '';
        format += raw.replace(/\\(['"\\])/g, '$1');
      }
    }
    out.set(name, { format, escapeJson });
  }
  return out;
}
