// Cloud flow logs delivered as JSON: GCP VPC flow logs (Cloud Logging LogEntry with
// jsonPayload.connection, or the bare payload), Azure NSG flow logs v1/v2 (properties.flows[].flows[]
// .flowTuples) and VNet flow logs (flowRecords.flows[].flowGroups[].flowTuples), each either one
// record per line or wrapped in { "records": [...] }, and CloudWatch Logs subscription envelopes
// ({ messageType, logEvents[].message }) carrying AWS VPC text records.
// The text may be NDJSON, one pretty-printed document, or concatenated objects (Firehose writes
// `}{` with no separator): `JsonValueScanner` splits all of these into top-level values.
// Azure tuple layouts: https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview
//   v1/v2: ts(s),src,dst,sport,dport,proto T|U,dir I|O,decision A|D[,state B|C|E,pkts s→d,bytes s→d,
//          pkts d→s,bytes d→s]
//   VNet : ts(ms),src,dst,sport,dport,proto(number),dir I|O,state B|C|E|D,encryption,pkts s→d,
//          bytes s→d,pkts d→s,bytes d→s   (state D = denied)
// Azure tuples report both directions in one record: bytes/packets are the sum of both.

import { emptyFlow, protoNumber, type FlowSink } from '../../model/flow.js';
import { AwsVpcParser } from './aws-vpc.js';

const MAX_DETAIL_CHARS = 200;

/** Splits JSON text (fed line by line) into top-level JSON values, bounded in size. */
export class JsonValueScanner {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escape = false;
  private readonly maxChars: number;

  constructor(maxChars = 256 << 20) {
    this.maxChars = maxChars;
  }

  /**
   * Feed one line (without its terminator). Calls `onValue` with the text of each complete top-level
   * value, `onError` for text that is not JSON or a value over the size limit.
   */
  push(line: string, onValue: (text: string) => void, onError: (reason: string) => void): void {
    // Fast path: a whole NDJSON line.
    if (this.depth === 0 && this.buf === '') {
      const t = line.trim();
      if (t === '') return;
      const c0 = t.charCodeAt(0);
      const cN = t.charCodeAt(t.length - 1);
      if ((c0 === 123 && cN === 125) || (c0 === 91 && cN === 93)) {
        // Quick check for `}{` would need a scan anyway; try the whole line first.
        try {
          JSON.parse(t);
          onValue(t);
          return;
        } catch {
          // fall through to the scanner (concatenated values, or a partial document)
        }
      }
    }
    let start = this.depth === 0 ? -1 : 0;
    const s = line;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 92) this.escape = true;
        else if (c === 34) this.inString = false;
        continue;
      }
      if (c === 34) {
        if (this.depth === 0) {
          onError('json-not-object');
          return;
        }
        this.inString = true;
      } else if (c === 123 || c === 91) {
        if (this.depth === 0) start = i;
        this.depth++;
      } else if (c === 125 || c === 93) {
        if (this.depth === 0) {
          onError('json-malformed');
          return;
        }
        this.depth--;
        if (this.depth === 0) {
          const piece = start >= 0 ? s.slice(start, i + 1) : s.slice(0, i + 1);
          onValue(this.buf + piece);
          this.buf = '';
          start = -1;
        }
      } else if (this.depth === 0 && c !== 32 && c !== 9 && c !== 13 && c !== 44) {
        onError('json-not-object');
        return;
      }
    }
    if (this.depth > 0) {
      this.buf += (start >= 0 ? s.slice(start) : s) + '\n';
      if (this.buf.length > this.maxChars) {
        this.reset();
        onError('json-too-large');
      }
    }
  }

  /** End of input: an unfinished value is reported. */
  end(onError: (reason: string) => void): void {
    if (this.depth > 0) onError('json-truncated');
    this.reset();
  }

  private reset(): void {
    this.buf = '';
    this.depth = 0;
    this.inString = false;
    this.escape = false;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

function int(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : -1;
}

/** ISO 8601 time with up to nanosecond fraction → µs; null if unparseable. */
export function isoToUs(s: string): number | null {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(s);
  if (!m) {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? null : ms * 1000;
  }
  const base = Date.parse(m[1]! + (m[3] ?? 'Z'));
  if (Number.isNaN(base)) return null;
  const frac = m[2] ? Number((m[2] + '000000').slice(0, 6)) : 0;
  return base * 1000 + frac;
}

export type JsonFlowKind = 'gcp-vpc' | 'azure-nsg' | 'azure-vnet' | 'aws-cloudwatch' | 'unknown';

export interface JsonFlowStats {
  cloudwatchControl: number;
}

/** Decodes parsed JSON flow-log values; one instance per input. */
export class JsonFlowDecoder {
  private readonly sink: FlowSink;
  private readonly awsFormat: readonly string[] | null;
  /** The first kind seen (for the data-quality format label). */
  kind: JsonFlowKind | null = null;
  readonly stats: JsonFlowStats = { cloudwatchControl: 0 };

  constructor(sink: FlowSink, awsFormat: readonly string[] | null = null) {
    this.sink = sink;
    this.awsFormat = awsFormat;
  }

  /** Decode the text of one top-level JSON value. */
  decodeText(text: string): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.sink.skip('json-malformed', text.slice(0, MAX_DETAIL_CHARS));
      return;
    }
    this.decodeValue(v as Json, 0);
  }

  decodeValue(v: Json, depth: number): void {
    if (Array.isArray(v)) {
      if (depth > 2) return this.sink.skip('json-unknown-shape', 'nested arrays');
      for (const e of v) this.decodeValue(e, depth + 1);
      return;
    }
    const o = obj(v);
    if (!o)
      return this.sink.skip('json-unknown-shape', JSON.stringify(v).slice(0, MAX_DETAIL_CHARS));
    if (Array.isArray(o['records']) && depth < 3) {
      for (const r of o['records'] as Json[]) this.decodeValue(r, depth + 1);
      return;
    }
    if (Array.isArray(o['logEvents']) || typeof o['messageType'] === 'string') {
      return this.cloudwatch(o);
    }
    const props = obj(o['properties']);
    if (props && Array.isArray(props['flows'])) return this.azureNsg(o, props);
    const fr = obj(o['flowRecords']);
    if (fr && Array.isArray(fr['flows'])) return this.azureVnet(o, fr);
    const payload = obj(o['jsonPayload']) ?? (obj(o['connection']) ? o : null);
    if (payload && obj(payload['connection'])) return this.gcp(payload);
    this.sink.skip('json-unknown-shape', Object.keys(o).slice(0, 8).join(','));
  }

  private see(k: JsonFlowKind): void {
    if (this.kind === null) this.kind = k;
  }

  private cloudwatch(o: Record<string, unknown>): void {
    this.see('aws-cloudwatch');
    if (o['messageType'] === 'CONTROL_MESSAGE') {
      this.stats.cloudwatchControl++;
      return;
    }
    const events = o['logEvents'];
    if (!Array.isArray(events)) return this.sink.skip('cloudwatch-no-events');
    const parser = new AwsVpcParser(this.sink, this.awsFormat);
    for (const e of events) {
      const msg = str(obj(e)?.['message']);
      const ts = int(obj(e)?.['timestamp']);
      if (msg === null) this.sink.skip('cloudwatch-bad-event');
      else parser.parseLine(msg, ts >= 0 ? ts * 1000 : null);
    }
  }

  private gcp(p: Record<string, unknown>): void {
    this.see('gcp-vpc');
    const c = obj(p['connection'])!;
    const f = emptyFlow('gcp-vpc');
    const src = str(c['src_ip']);
    const dst = str(c['dest_ip']);
    if (src === null || dst === null)
      return this.sink.skip('gcp-malformed', 'connection without addresses');
    f.src = src;
    f.dst = dst;
    f.srcPort = Math.max(0, int(c['src_port']));
    f.dstPort = Math.max(0, int(c['dest_port']));
    const proto = c['protocol'];
    f.proto = typeof proto === 'number' ? proto : protoNumber(str(proto) ?? '');
    const bytes = int(p['bytes_sent']);
    const packets = int(p['packets_sent']);
    if (bytes < 0 && p['bytes_sent'] !== undefined)
      return this.sink.skip('gcp-malformed', 'bytes_sent');
    f.bytes = Math.max(0, bytes);
    f.packets = Math.max(0, packets);
    const st = str(p['start_time']);
    const et = str(p['end_time']);
    f.startUs = st ? isoToUs(st) : null;
    f.endUs = et ? isoToUs(et) : null;
    if (f.startUs === null) f.startUs = f.endUs;
    if (f.endUs === null) f.endUs = f.startUs;
    const reporter = str(p['reporter']);
    if (reporter === 'SRC') f.direction = 'egress';
    else if (reporter === 'DEST') f.direction = 'ingress';
    const vpc = obj(p['src_vpc']) ?? obj(p['dest_vpc']);
    f.vpcId = vpc ? str(vpc['vpc_name']) : null;
    const inst = obj(reporter === 'DEST' ? p['dest_instance'] : p['src_instance']);
    f.interfaceId = inst ? str(inst['vm_name']) : null;
    f.detail = reporter;
    this.sink.flow(f);
  }

  private azureNsg(o: Record<string, unknown>, props: Record<string, unknown>): void {
    this.see('azure-nsg');
    const version = int(props['Version']);
    const rid = str(o['resourceId']);
    for (const rule of props['flows'] as unknown[]) {
      const r = obj(rule);
      const ruleName = str(r?.['rule']);
      const groups = r?.['flows'];
      if (!Array.isArray(groups)) {
        this.sink.skip('azure-malformed', 'rule without flows');
        continue;
      }
      for (const g of groups) {
        const mac = str(obj(g)?.['mac']);
        const tuples = obj(g)?.['flowTuples'];
        if (!Array.isArray(tuples)) {
          this.sink.skip('azure-malformed', 'flows without flowTuples');
          continue;
        }
        for (const t of tuples) this.azureTuple(false, t, version, ruleName, mac, rid);
      }
    }
  }

  private azureVnet(o: Record<string, unknown>, fr: Record<string, unknown>): void {
    this.see('azure-vnet');
    const version = int(o['flowLogVersion']);
    const mac = str(o['macAddress']);
    const target = str(o['targetResourceID']);
    for (const acl of fr['flows'] as unknown[]) {
      const groups = obj(acl)?.['flowGroups'];
      if (!Array.isArray(groups)) {
        this.sink.skip('azure-malformed', 'flow without flowGroups');
        continue;
      }
      for (const g of groups) {
        const ruleName = str(obj(g)?.['rule']);
        const tuples = obj(g)?.['flowTuples'];
        if (!Array.isArray(tuples)) {
          this.sink.skip('azure-malformed', 'flowGroup without flowTuples');
          continue;
        }
        for (const t of tuples) this.azureTuple(true, t, version, ruleName, mac, target);
      }
    }
  }

  private azureTuple(
    vnet: boolean,
    t: unknown,
    version: number,
    rule: string | null,
    mac: string | null,
    resource: string | null,
  ): void {
    if (typeof t !== 'string')
      return this.sink.skip('azure-malformed', 'flowTuple is not a string');
    const p = t.split(',');
    if (p.length < 8) return this.sink.skip('azure-malformed', t.slice(0, MAX_DETAIL_CHARS));
    const f = emptyFlow(vnet ? 'azure-vnet' : 'azure-nsg');
    const ts = int(p[0]);
    if (ts < 0) return this.sink.skip('azure-malformed', `timestamp '${p[0]}'`);
    f.startUs = vnet ? ts * 1000 : ts * 1e6;
    f.endUs = f.startUs;
    f.src = p[1]!;
    f.dst = p[2]!;
    f.srcPort = Math.max(0, int(p[3]));
    f.dstPort = Math.max(0, int(p[4]));
    f.proto = protoNumber(p[5]!);
    f.direction = p[6] === 'I' ? 'ingress' : p[6] === 'O' ? 'egress' : null;
    let counts = 9;
    if (vnet) {
      f.action = p[7] === 'D' ? 'REJECT' : 'ACCEPT';
      f.logStatus = p[7] ?? null;
    } else {
      f.action = p[7] === 'A' ? 'ACCEPT' : p[7] === 'D' ? 'REJECT' : null;
      f.logStatus = p[8] ?? null;
      counts = 9;
    }
    if (p.length >= counts + 4) {
      const a = int(p[counts]);
      const b = int(p[counts + 1]);
      const c = int(p[counts + 2]);
      const d = int(p[counts + 3]);
      f.packets = Math.max(0, a) + Math.max(0, c);
      f.bytes = Math.max(0, b) + Math.max(0, d);
    }
    f.interfaceId = mac;
    f.vpcId = resource ? resource.slice(0, MAX_DETAIL_CHARS) : null;
    f.detail = rule ? rule.slice(0, MAX_DETAIL_CHARS) : null;
    void version;
    this.sink.flow(f);
  }
}
