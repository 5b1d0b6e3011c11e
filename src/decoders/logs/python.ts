// Python-world text logs and the generic fallback:
//  - uvicorn's default logger `INFO:     Started server process [1]` (level padded to 10 cols);
//  - python logging's basicConfig default `LEVEL:name:message`;
//  - python logging with an asctime header, in the common layouts:
//    `%(asctime)s - %(name)s - %(levelname)s - %(message)s`, `%(asctime)s %(levelname)s
//    %(name)s: %(message)s`, `[%(asctime)s] %(levelname)s in %(module)s: %(message)s`, …;
//  - gunicorn's error log `[2024-01-01 12:00:00 +0000] [123] [INFO] Booting worker`;
//  - plain: any line; a leading timestamp and a level are taken when present.

import type { LogRecord } from '../../model/records.js';
import { intern, newRecord, type Ctx } from './fields.js';
import { readIso, tsEnd } from './time.js';
import { lvlEnd, parseHeaderLine, readLevel, skipSpaces } from './text.js';

/** uvicorn default (`INFO:     msg`) and python basicConfig (`INFO:root:msg`). */
export function parseLevelColon(s: string, p: number, ctx: Ctx): LogRecord | null {
  const sev = readLevel(s, p);
  if (sev === null || s.charCodeAt(lvlEnd) !== 58) return null;
  const q = lvlEnd + 1;
  if (s.charCodeAt(q) === 32) {
    const r = newRecord(ctx, 'uvicorn', s.slice(skipSpaces(s, q)));
    r.severity = sev;
    return r;
  }
  const c2 = s.indexOf(':', q);
  if (c2 < 0 || c2 - q > 120) return null;
  const name = s.slice(q, c2);
  if (!/^[\w.\-<>]+$/.test(name)) return null;
  const r = newRecord(ctx, 'python-logging', s.slice(c2 + 1));
  r.severity = sev;
  r.attributes['logger'] = intern(name);
  return r;
}

/** gunicorn error log: `[yyyy-mm-dd hh:mm:ss +zzzz] [pid] [LEVEL] msg`. */
export function parseGunicornError(s: string, p: number, ctx: Ctx): LogRecord | null {
  if (s.charCodeAt(p) !== 91) return null;
  const ts = readIso(s, p + 1, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 93) return null;
  const m = /^\] \[(\d+)\] \[([A-Za-z]+)\] ?/.exec(s.slice(tsEnd, tsEnd + 40));
  if (!m) return null;
  const sev = readLevel(m[2]!.toUpperCase(), 0);
  const r = newRecord(ctx, 'gunicorn-error', s.slice(tsEnd + m[0].length));
  r.tsUs = ts;
  r.severity = sev;
  r.attributes['pid'] = Number(m[1]);
  return r;
}

/** python logging with a timestamp header and a level (see file header for layouts). */
export function parsePythonLogging(s: string, p: number, ctx: Ctx): LogRecord | null {
  const c = s.charCodeAt(p);
  if (!((c >= 48 && c <= 57) || c === 91)) return null;
  return parseHeaderLine(s, p, ctx, 'python-logging', true, true);
}

/** Anything: a leading timestamp and level when present; otherwise the whole line is the body. */
export function parsePlain(s: string, p: number, ctx: Ctx): LogRecord {
  const r = parseHeaderLine(s, p, ctx, 'plain', false, false);
  if (r !== null) return r;
  return newRecord(ctx, 'plain', p === 0 ? s : s.slice(p));
}
