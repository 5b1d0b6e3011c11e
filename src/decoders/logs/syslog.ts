// Syslog: RFC 3164 (`<PRI>Mmm dd hh:mm:ss host tag[pid]: msg`, PRI optional as in files written
// by rsyslog; also rsyslog's high-precision `2024-01-01T00:00:00.123+00:00 host tag: msg`) and
// RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD-ELEMENT…] MSG`). Severity from PRI & 7.

import type { LogRecord } from '../../model/records.js';
import { applyField, intern, newRecord, type Ctx } from './fields.js';
import { severityFromNumber } from './severity.js';
import { readIso, readSyslogTime, tsEnd } from './time.js';
import { applyHaproxyHttp } from './proxy.js';

let priEnd = 0;
function readPri(s: string, i: number): number {
  if (s.charCodeAt(i) !== 60) return -1;
  let n = 0;
  let j = i + 1;
  while (j < i + 5 && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57)
    n = n * 10 + s.charCodeAt(j++) - 48;
  if (j === i + 1 || s.charCodeAt(j) !== 62 || n > 191) return -1;
  priEnd = j + 1;
  return n;
}

function setPri(r: LogRecord, pri: number): void {
  if (pri < 0) return;
  r.severity = severityFromNumber(pri & 7, 'syslog');
  r.attributes['syslog.facility'] = pri >> 3;
}

export function parseSyslog3164(s: string, p: number, ctx: Ctx): LogRecord | null {
  const pri = readPri(s, p);
  let q = pri >= 0 ? priEnd : p;
  const c = s.charCodeAt(q);
  let ts: number;
  if (c >= 48 && c <= 57) {
    // rsyslog's RFC 3339 form: a 'T' and an explicit zone (python/log4j asctime has neither)
    ts = readIso(s, q, ctx);
    if (
      Number.isNaN(ts) ||
      s.charCodeAt(q + 10) !== 84 ||
      !/(?:Z|[+-]\d\d:?\d\d)$/.test(s.slice(q, tsEnd))
    )
      return null;
  } else ts = readSyslogTime(s, q, ctx);
  if (Number.isNaN(ts) || s.charCodeAt(tsEnd) !== 32) return null;
  q = tsEnd + 1;
  const hs = s.indexOf(' ', q);
  if (hs <= q || hs - q > 255) return null;
  // `ts tag[pid]: msg` without a host (Heroku's log drains, some rsyslog templates): the first
  // token already ends with the tag's colon
  const host = s.charCodeAt(hs - 1) === 58 ? null : s.slice(q, hs);
  if (host !== null) q = hs + 1;
  // tag: up to ':' within 64 chars, no spaces ("sshd[12]:", "sshd(pam_unix)[19939]:", "kernel:")
  let tagEnd = -1;
  for (let j = q; j < s.length && j - q < 64; j++) {
    const ch = s.charCodeAt(j);
    if (ch === 58) {
      tagEnd = j;
      break;
    }
    if (ch === 32) break;
  }
  const r = newRecord(ctx, 'syslog-3164', '');
  r.tsUs = ts;
  setPri(r, pri);
  if (host !== null) r.host = intern(host);
  if (tagEnd > q) {
    const tag = s.slice(q, tagEnd);
    const m = /^(.*?)\[(\d+)\]$/.exec(tag);
    r.attributes['syslog.tag'] = intern(m ? m[1]! : tag);
    if (m) r.attributes['pid'] = Number(m[2]);
    r.service = intern(m ? m[1]! : tag);
    q = tagEnd + 1;
    if (s.charCodeAt(q) === 32) q++;
  }
  r.body = s.slice(q);
  haproxyMessage(r, ctx);
  return r;
}

export function parseSyslog5424(s: string, p: number, ctx: Ctx): LogRecord | null {
  const pri = readPri(s, p);
  if (pri < 0 || s.charCodeAt(priEnd) !== 49 || s.charCodeAt(priEnd + 1) !== 32) return null;
  let q = priEnd + 2;
  const parts: string[] = [];
  for (let i = 0; i < 5; i++) {
    const e = s.indexOf(' ', q);
    if (e < 0) {
      if (i === 4) {
        parts.push(s.slice(q));
        q = s.length;
        break;
      }
      return null;
    }
    parts.push(s.slice(q, e));
    q = e + 1;
  }
  const [tsTok, host, app, procid, msgid] = parts as [string, string, string, string, string];
  const r = newRecord(ctx, 'syslog-5424', '');
  setPri(r, pri);
  if (tsTok !== '-') {
    const ts = readIso(tsTok, 0, ctx);
    if (!Number.isNaN(ts)) r.tsUs = ts;
    else ctx.quality.note('bad-timestamp', `line ${ctx.lineNo}`, tsTok);
  }
  if (host !== '-') r.host = intern(host);
  if (app !== '-') r.service = intern(app);
  if (procid !== '-') r.attributes['pid'] = /^\d+$/.test(procid) ? Number(procid) : procid;
  if (msgid !== '-') r.attributes['syslog.msgid'] = intern(msgid);
  // structured data: "-" or one or more [id k="v" …]
  if (s.charCodeAt(q) === 45) q += 2;
  else {
    while (s.charCodeAt(q) === 91) {
      let j = q + 1;
      // find the closing ']' that is not inside a quoted value
      let inQ = false;
      for (; j < s.length; j++) {
        const ch = s.charCodeAt(j);
        if (ch === 92) j++;
        else if (ch === 34) inQ = !inQ;
        else if (ch === 93 && !inQ) break;
      }
      const sd = s.slice(q + 1, j);
      const sp = sd.indexOf(' ');
      const id = sp < 0 ? sd : sd.slice(0, sp);
      const re = /(\S+?)="((?:[^"\\]|\\.)*)"/g;
      let m: RegExpExecArray | null;
      while ((m = re.exec(sd)) !== null)
        applyField(r, `${id}.${m[1]!}`, m[2]!.replace(/\\(["\\\]])/g, '$1'), ctx);
      q = j + 1;
    }
    if (s.charCodeAt(q) === 32) q++;
  }
  let msg = s.slice(q);
  if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
  r.body = msg;
  haproxyMessage(r, ctx);
  return r;
}

/** HAProxy logs its HTTP log through syslog: type the message's fields (proxy.ts). */
function haproxyMessage(r: LogRecord, ctx: Ctx): void {
  const c = r.body.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 58 || (c >= 97 && c <= 102)) applyHaproxyHttp(r, r.body, ctx);
}
