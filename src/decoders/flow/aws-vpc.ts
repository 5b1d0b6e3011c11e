// AWS VPC (and Transit Gateway) flow logs, text form: space-separated fields, default format v2 or
// a custom format (fields of v3–v8). The field order comes from, in this order: a header line in
// the input (S3 delivery writes one; it may repeat), a format given by the user, or — headerless —
// the AWS field order (v2 default fields first, then v3…v8 fields in their documented order), or
// for records shorter than the default 14 fields, the fields inferred from the values' shapes.
// '-' is "no value". NODATA / SKIPDATA records carry no flow and are skipped with that reason.
// Two entry points with one meaning: `parseLine` (text) and `parseBytes` (a line's bytes: fields
// split and integers read on the Buffer, strings made only for the fields that are kept; any line
// that is not single-space-separated printable ASCII starting with a digit goes to parseLine).
// https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html

import { emptyFlow, protoNumber, type FlowRecord, type FlowSink } from '../../model/flow.js';

/** Every field in AWS's documented order (v2 default first). */
export const AWS_ALL_FIELDS = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
  'vpc-id',
  'subnet-id',
  'instance-id',
  'tcp-flags',
  'type',
  'pkt-srcaddr',
  'pkt-dstaddr',
  'region',
  'az-id',
  'sublocation-type',
  'sublocation-id',
  'pkt-src-aws-service',
  'pkt-dst-aws-service',
  'flow-direction',
  'traffic-path',
  'ecs-cluster-arn',
  'ecs-cluster-name',
  'ecs-container-instance-arn',
  'ecs-container-instance-id',
  'ecs-container-id',
  'ecs-second-container-id',
  'ecs-service-name',
  'ecs-task-definition-arn',
  'ecs-task-arn',
  'ecs-task-id',
  'reject-reason',
] as const;

const DEFAULT_FIELD_COUNT = 14;

// Column kinds: what a column feeds in the record (anything else is ignored).
const K_IGNORE = 0;
const K_VERSION = 1;
const K_ACCOUNT = 2;
const K_INTERFACE = 3;
const K_SRC = 4;
const K_DST = 5;
const K_SRCPORT = 6;
const K_DSTPORT = 7;
const K_PROTO = 8;
const K_PACKETS = 9;
const K_BYTES = 10;
const K_START = 11;
const K_END = 12;
const K_ACTION = 13;
const K_STATUS = 14;
const K_VPC = 15;
const K_TCPFLAGS = 16;
const K_DIRECTION = 17;
const K_REJECT_REASON = 18;

const KIND_BY_NAME: Record<string, number> = {
  version: K_VERSION,
  'account-id': K_ACCOUNT,
  'interface-id': K_INTERFACE,
  srcaddr: K_SRC,
  dstaddr: K_DST,
  srcport: K_SRCPORT,
  dstport: K_DSTPORT,
  protocol: K_PROTO,
  packets: K_PACKETS,
  bytes: K_BYTES,
  start: K_START,
  end: K_END,
  action: K_ACTION,
  'log-status': K_STATUS,
  'vpc-id': K_VPC,
  'tcp-flags': K_TCPFLAGS,
  'flow-direction': K_DIRECTION,
  'reject-reason': K_REJECT_REASON,
  // Transit Gateway flow logs name their VPC columns differently.
  'tgw-src-vpc-id': K_VPC,
  'tgw-id': K_INTERFACE,
};

/** Known field names (a line made only of these, starting with `version`, is a header). */
const KNOWN_NAMES = new Set<string>([
  ...AWS_ALL_FIELDS,
  'tgw-id',
  'tgw-attachment-id',
  'tgw-src-vpc-account-id',
  'tgw-dst-vpc-account-id',
  'tgw-src-vpc-id',
  'tgw-dst-vpc-id',
  'tgw-src-subnet-id',
  'tgw-dst-subnet-id',
  'tgw-src-eni',
  'tgw-dst-eni',
  'tgw-src-az-id',
  'tgw-dst-az-id',
  'tgw-pair-attachment-id',
  'packets-lost-no-route',
  'packets-lost-blackhole',
  'packets-lost-mtu-exceeded',
  'packets-lost-ttl-expired',
  'resource-type',
  'encryption-status',
]);

/** Normalise a field name: `${pkt-srcaddr}` / `pkt_srcaddr` → `pkt-srcaddr`. */
export function normaliseFieldName(s: string): string {
  let t = s.trim();
  if (t.startsWith('${') && t.endsWith('}')) t = t.slice(2, -1);
  return t.replace(/_/g, '-').toLowerCase();
}

/** Parse a format string (`${version} ${srcaddr} …` or `version srcaddr …`) into field names. */
export function parseAwsFormat(format: string): string[] {
  return format
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map(normaliseFieldName);
}

function kindsOf(names: readonly string[]): Int8Array {
  const k = new Int8Array(names.length);
  for (let i = 0; i < names.length; i++) k[i] = KIND_BY_NAME[names[i]!] ?? K_IGNORE;
  return k;
}

const ALL_KINDS = kindsOf(AWS_ALL_FIELDS);
const MAX_DETAIL_CHARS = 200;
/** Fields the byte path splits at most (AWS defines 40; longer lines take the text path). */
const MAX_FAST_FIELDS = 64;

/** Digits-only field as a number, or -2 when it is anything else (then Number() decides). */
function uintAt(buf: Buffer, s: number, e: number): number {
  if (e - s > 15) return -2; // beyond 2^53 precision: let Number() say what it is
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -2;
    v = v * 10 + d;
  }
  return v;
}

/** `num` over bytes: the fast integer read, or the text rule for anything else. */
function numAt(buf: Buffer, s: number, e: number): number {
  const v = uintAt(buf, s, e);
  return v !== -2 ? v : num(buf.toString('latin1', s, e));
}

function bytesEqual(buf: Buffer, s: number, e: number, ascii: string): boolean {
  if (e - s !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (buf[s + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

function num(s: string): number {
  if (s === '-' || s === '') return 0;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : -1;
}

function looksLikeIp(s: string): boolean {
  return s.indexOf('.') > 0 || s.indexOf(':') >= 0;
}

/** Column kinds guessed from values, for short headerless records (e.g. 4-field custom formats). */
function inferKinds(tok: readonly string[]): Int8Array {
  const k = new Int8Array(tok.length);
  let ips = 0;
  let nums = 0;
  for (let i = 0; i < tok.length; i++) {
    const t = tok[i]!;
    if (i === 0 && /^\d{1,2}$/.test(t)) k[i] = K_VERSION;
    else if (t.startsWith('eni-')) k[i] = K_INTERFACE;
    else if (t.startsWith('vpc-')) k[i] = K_VPC;
    else if (t === 'ACCEPT' || t === 'REJECT') k[i] = K_ACTION;
    else if (t === 'OK' || t === 'NODATA' || t === 'SKIPDATA') k[i] = K_STATUS;
    else if (t === 'ingress' || t === 'egress') k[i] = K_DIRECTION;
    else if (looksLikeIp(t) && /^[0-9a-fA-F.:]+$/.test(t)) {
      if (ips === 0) k[i] = K_SRC;
      else if (ips === 1) k[i] = K_DST;
      ips++;
    } else if (/^\d+$/.test(t)) {
      // After the addresses AWS's order is srcport dstport protocol packets bytes start end.
      if (ips >= 2) {
        const order = [K_SRCPORT, K_DSTPORT, K_PROTO, K_PACKETS, K_BYTES, K_START, K_END];
        k[i] = order[nums] ?? K_IGNORE;
        nums++;
      }
    }
  }
  return k;
}

export interface AwsVpcStats {
  headers: number;
  inferred: number;
}

/** Parses AWS flow-log lines of one input (a header line applies to the lines after it). */
export class AwsVpcParser {
  private readonly sink: FlowSink;
  private kinds: Int8Array | null;
  private readonly userKinds: Int8Array | null;
  readonly stats: AwsVpcStats = { headers: 0, inferred: 0 };

  constructor(sink: FlowSink, format: readonly string[] | null = null) {
    this.sink = sink;
    this.userKinds = format ? kindsOf(format) : null;
    this.kinds = this.userKinds;
  }

  /** True if the line is a header line (it is then used, not counted as a record). */
  static isHeader(tokens: readonly string[]): boolean {
    if (tokens.length === 0) return false;
    const first = normaliseFieldName(tokens[0]!);
    if (!KNOWN_NAMES.has(first)) return false;
    let known = 0;
    for (const t of tokens) if (KNOWN_NAMES.has(normaliseFieldName(t))) known++;
    return known * 2 > tokens.length;
  }

  /** Parse one line; `fallbackUs` is the record time when the format has no start/end. */
  parseLine(text: string, fallbackUs: number | null = null): void {
    const line = text.trim();
    if (line === '' || line.charCodeAt(0) === 35 /* # */) return;
    // split(' ') is ~3× faster than a regex split; fall back when separators are irregular.
    let tok = line.split(' ');
    for (let i = 0; i < tok.length; i++) {
      if (tok[i] === '' || tok[i]!.indexOf('\t') >= 0) {
        tok = line.split(/\s+/);
        break;
      }
    }
    const c0 = line.charCodeAt(0);
    if ((c0 < 48 || c0 > 57) && AwsVpcParser.isHeader(tok)) {
      this.kinds = kindsOf(tok.map(normaliseFieldName));
      this.stats.headers++;
      return;
    }
    let kinds = this.kinds;
    if (kinds === null) {
      if (tok.length >= DEFAULT_FIELD_COUNT) kinds = ALL_KINDS;
      else {
        kinds = inferKinds(tok);
        this.stats.inferred++;
      }
    }
    if (tok.length !== kinds.length && kinds !== ALL_KINDS) {
      this.sink.skip('aws-field-count', `${tok.length} fields, format has ${kinds.length}`);
      return;
    }
    if (tok.length > kinds.length) {
      this.sink.skip('aws-field-count', `${tok.length} fields, at most ${kinds.length} known`);
      return;
    }
    this.record(tok, kinds, fallbackUs);
  }

  private readonly tokStart = new Int32Array(MAX_FAST_FIELDS);
  private readonly tokEnd = new Int32Array(MAX_FAST_FIELDS);

  /**
   * Parse one line given as bytes, `buf[start, end)` without its terminator: the same result as
   * `parseLine` on its text (a differential test holds them together), without a string per field.
   */
  parseBytes(buf: Buffer, start: number, end: number, fallbackUs: number | null = null): void {
    const c0 = start < end ? buf[start]! : -1;
    if (c0 < 48 || c0 > 57) return this.parseLine(buf.toString('utf8', start, end), fallbackUs);
    const ts = this.tokStart;
    const te = this.tokEnd;
    let n = 0;
    let s = start;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b === 32) {
        if (i === s || n === MAX_FAST_FIELDS - 1)
          return this.parseLine(buf.toString('utf8', start, end), fallbackUs);
        ts[n] = s;
        te[n] = i;
        n++;
        s = i + 1;
      } else if (b < 33 || b > 126) {
        return this.parseLine(buf.toString('utf8', start, end), fallbackUs);
      }
    }
    if (s === end) return this.parseLine(buf.toString('utf8', start, end), fallbackUs);
    ts[n] = s;
    te[n] = end;
    n++;
    let kinds = this.kinds;
    if (kinds === null) {
      if (n < DEFAULT_FIELD_COUNT)
        return this.parseLine(buf.toString('utf8', start, end), fallbackUs);
      kinds = ALL_KINDS;
    }
    if (n !== kinds.length && kinds !== ALL_KINDS) {
      this.sink.skip('aws-field-count', `${n} fields, format has ${kinds.length}`);
      return;
    }
    if (n > kinds.length) {
      this.sink.skip('aws-field-count', `${n} fields, at most ${kinds.length} known`);
      return;
    }
    this.recordBytes(buf, n, kinds, fallbackUs);
  }

  /** Field i as text (no closure for this: under tsx, keepNames wraps one per record, ~8 %). */
  private field(buf: Buffer, i: number): string {
    return buf.toString('latin1', this.tokStart[i], this.tokEnd[i]);
  }

  /** Last text per column, for fields that repeat from line to line (account, interface, VPC). */
  private readonly lastText: string[] = [];

  /** Field i as text, reusing the previous line's string when the bytes are the same. */
  private repeatedField(buf: Buffer, i: number): string {
    const last = this.lastText[i];
    if (last !== undefined && bytesEqual(buf, this.tokStart[i]!, this.tokEnd[i]!, last))
      return last;
    const t = this.field(buf, i);
    if (i < MAX_FAST_FIELDS) this.lastText[i] = t;
    return t;
  }

  /** `record` over the byte offsets in tokStart/tokEnd; keep the two in step. */
  private recordBytes(buf: Buffer, n: number, kinds: Int8Array, fallbackUs: number | null): void {
    const ts = this.tokStart;
    const te = this.tokEnd;
    const f: FlowRecord = emptyFlow('aws-vpc');
    let status: string | null = null;
    let bad: string | null = null;
    for (let i = 0; i < n; i++) {
      const k = kinds[i]!;
      if (k === K_IGNORE) continue;
      const s = ts[i]!;
      const e = te[i]!;
      if (e - s === 1 && buf[s] === 45 /* - */) continue;
      switch (k) {
        case K_ACCOUNT:
          f.accountId = this.repeatedField(buf, i);
          break;
        case K_INTERFACE:
          f.interfaceId = this.repeatedField(buf, i);
          break;
        case K_SRC: {
          const t = this.field(buf, i);
          if (!looksLikeIp(t)) bad = `srcaddr '${t}'`;
          f.src = t;
          break;
        }
        case K_DST: {
          const t = this.field(buf, i);
          if (!looksLikeIp(t)) bad = `dstaddr '${t}'`;
          f.dst = t;
          break;
        }
        case K_SRCPORT:
          f.srcPort = numAt(buf, s, e);
          if (f.srcPort < 0 || f.srcPort > 65535) bad = `srcport '${this.field(buf, i)}'`;
          break;
        case K_DSTPORT:
          f.dstPort = numAt(buf, s, e);
          if (f.dstPort < 0 || f.dstPort > 65535) bad = `dstport '${this.field(buf, i)}'`;
          break;
        case K_PROTO: {
          const v = uintAt(buf, s, e);
          f.proto = v === -2 ? protoNumber(this.field(buf, i)) : v <= 255 ? v : -1;
          break;
        }
        case K_PACKETS:
          f.packets = numAt(buf, s, e);
          if (f.packets < 0) bad = `packets '${this.field(buf, i)}'`;
          break;
        case K_BYTES:
          f.bytes = numAt(buf, s, e);
          if (f.bytes < 0) bad = `bytes '${this.field(buf, i)}'`;
          break;
        case K_START: {
          const v = numAt(buf, s, e);
          if (v < 0) bad = `start '${this.field(buf, i)}'`;
          else f.startUs = v * 1e6;
          break;
        }
        case K_END: {
          const v = numAt(buf, s, e);
          if (v < 0) bad = `end '${this.field(buf, i)}'`;
          else f.endUs = v * 1e6;
          break;
        }
        case K_ACTION:
          if (bytesEqual(buf, s, e, 'ACCEPT')) f.action = 'ACCEPT';
          else if (bytesEqual(buf, s, e, 'REJECT')) f.action = 'REJECT';
          else bad = `action '${this.field(buf, i)}'`;
          break;
        case K_STATUS:
          status = bytesEqual(buf, s, e, 'OK')
            ? 'OK'
            : bytesEqual(buf, s, e, 'NODATA')
              ? 'NODATA'
              : bytesEqual(buf, s, e, 'SKIPDATA')
                ? 'SKIPDATA'
                : this.field(buf, i);
          break;
        case K_VPC:
          f.vpcId = this.repeatedField(buf, i);
          break;
        case K_TCPFLAGS: {
          const v = numAt(buf, s, e);
          if (v >= 0) f.tcpFlags = v;
          break;
        }
        case K_DIRECTION:
          if (bytesEqual(buf, s, e, 'ingress')) f.direction = 'ingress';
          else if (bytesEqual(buf, s, e, 'egress')) f.direction = 'egress';
          break;
        case K_REJECT_REASON:
          f.detail = this.field(buf, i).slice(0, MAX_DETAIL_CHARS);
          break;
        default:
          break;
      }
    }
    this.finish(f, status, bad, fallbackUs, () => buf.toString('latin1', ts[0], te[n - 1]));
  }

  /** The record's last checks (shared by the byte and the text paths), then to the sink. */
  private finish(
    f: FlowRecord,
    status: string | null,
    bad: string | null,
    fallbackUs: number | null,
    raw: () => string,
  ): void {
    f.logStatus = status;
    if (bad !== null) return this.sink.skip('aws-malformed', bad);
    if (f.src === '' && f.dst === '') {
      // NODATA / SKIPDATA records normally carry '-' for the flow fields: nothing to decode.
      if (status === 'NODATA') return this.sink.skip('aws-nodata', 'no traffic in the window');
      if (status === 'SKIPDATA') return this.sink.skip('aws-skipdata', 'records skipped by AWS');
      return this.sink.skip('aws-no-addresses', raw().slice(0, MAX_DETAIL_CHARS));
    }
    if (f.startUs === null && f.endUs === null) f.startUs = f.endUs = fallbackUs;
    if (f.endUs === null) f.endUs = f.startUs;
    if (f.startUs === null) f.startUs = f.endUs;
    this.sink.flow(f);
  }

  private record(tok: readonly string[], kinds: Int8Array, fallbackUs: number | null): void {
    const f: FlowRecord = emptyFlow('aws-vpc');
    let status: string | null = null;
    let bad: string | null = null;
    for (let i = 0; i < tok.length; i++) {
      const t = tok[i]!;
      const k = kinds[i]!;
      if (k === K_IGNORE) continue;
      if (t === '-') continue;
      switch (k) {
        case K_ACCOUNT:
          f.accountId = t;
          break;
        case K_INTERFACE:
          f.interfaceId = t;
          break;
        case K_SRC:
          if (!looksLikeIp(t)) bad = `srcaddr '${t}'`;
          f.src = t;
          break;
        case K_DST:
          if (!looksLikeIp(t)) bad = `dstaddr '${t}'`;
          f.dst = t;
          break;
        case K_SRCPORT:
          f.srcPort = num(t);
          if (f.srcPort < 0 || f.srcPort > 65535) bad = `srcport '${t}'`;
          break;
        case K_DSTPORT:
          f.dstPort = num(t);
          if (f.dstPort < 0 || f.dstPort > 65535) bad = `dstport '${t}'`;
          break;
        case K_PROTO:
          f.proto = protoNumber(t);
          break;
        case K_PACKETS:
          f.packets = num(t);
          if (f.packets < 0) bad = `packets '${t}'`;
          break;
        case K_BYTES:
          f.bytes = num(t);
          if (f.bytes < 0) bad = `bytes '${t}'`;
          break;
        case K_START: {
          const s = num(t);
          if (s < 0) bad = `start '${t}'`;
          else f.startUs = s * 1e6;
          break;
        }
        case K_END: {
          const s = num(t);
          if (s < 0) bad = `end '${t}'`;
          else f.endUs = s * 1e6;
          break;
        }
        case K_ACTION:
          if (t === 'ACCEPT' || t === 'REJECT') f.action = t;
          else bad = `action '${t}'`;
          break;
        case K_STATUS:
          status = t;
          break;
        case K_VPC:
          f.vpcId = t;
          break;
        case K_TCPFLAGS: {
          const v = num(t);
          if (v >= 0) f.tcpFlags = v;
          break;
        }
        case K_DIRECTION:
          if (t === 'ingress' || t === 'egress') f.direction = t;
          break;
        case K_REJECT_REASON:
          f.detail = t.slice(0, MAX_DETAIL_CHARS);
          break;
        default:
          break;
      }
    }
    this.finish(f, status, bad, fallbackUs, () => tok.join(' '));
  }
}
