// logfmt (`time=… level=info msg="hello world" duration=12ms`): the line must open with a key=
// and hold at least two pairs. Values: bare tokens or double-quoted with backslash escapes.

import type { LogRecord } from '../../model/records.js';
import { applyField, finishKv, newRecord, type Ctx } from './fields.js';

/** A logfmt key character: letters, digits, `_ . - / @`. */
export function isKeyChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 ||
    c === 46 ||
    c === 45 ||
    c === 47 ||
    c === 64
  );
}

export function parseLogfmt(s: string, p: number, ctx: Ctx): LogRecord | null {
  const r = newRecord(ctx, 'logfmt', '');
  let q = p;
  let pairs = 0;
  let bare = 0;
  const len = s.length;
  while (q < len) {
    while (s.charCodeAt(q) === 32 || s.charCodeAt(q) === 9) q++;
    if (q >= len) break;
    const ks = q;
    while (q < len && isKeyChar(s.charCodeAt(q))) q++;
    if (q === ks) return pairs >= 2 ? done(r, ctx, s, ks) : null;
    const key = s.slice(ks, q);
    if (s.charCodeAt(q) !== 61) {
      // a bare word: logfmt allows flags; too many means this is prose, not logfmt
      if (pairs === 0) return null;
      if (++bare > 2) return null;
      r.attributes[key] = true;
      continue;
    }
    q++;
    let v: string;
    if (s.charCodeAt(q) === 34) {
      let e = q + 1;
      let esc = false;
      for (; e < len; e++) {
        const c = s.charCodeAt(e);
        if (c === 92) {
          esc = true;
          e++;
        } else if (c === 34) break;
      }
      if (e >= len) return pairs >= 2 ? done(r, ctx, s, ks) : null;
      v = s.slice(q + 1, e);
      if (esc)
        v = v.replace(/\\(.)/g, (_m, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch));
      q = e + 1;
    } else {
      const vs = q;
      while (q < len && s.charCodeAt(q) !== 32 && s.charCodeAt(q) !== 9) q++;
      v = s.slice(vs, q);
    }
    applyField(r, key, v, ctx);
    pairs++;
  }
  if (pairs < 2) return null;
  finishKv(r, ctx);
  return r;
}

function done(r: LogRecord, ctx: Ctx, s: string, rest: number): LogRecord {
  r.attributes['logfmt.rest'] = s.slice(rest);
  finishKv(r, ctx);
  return r;
}
