// Flow summary: totals, top talkers (src → dst by bytes), top destination ports, rejected flows
// and a per-minute time series. Bidirectional records (flows built from packets) count both
// directions in totals, ports and minutes; in talkers the reverse direction is its own dst → src row. Incremental (`add` per record); memory grows with distinct talker
// pairs, ports and minutes, each table capped (beyond the cap new keys fold into an "other" row).

import { protoName, type FlowRecord } from '../../model/flow.js';
import { isoMs } from '../../util/iso.js';

const MAX_KEYS = 200_000;
const MINUTE_US = 60_000_000;
const OTHER = '(other)';

export interface Talker {
  src: string;
  dst: string;
  bytes: number;
  packets: number;
  records: number;
}

export interface PortRow {
  proto: string;
  port: number;
  bytes: number;
  packets: number;
  records: number;
}

export interface RejectedRow {
  src: string;
  records: number;
  bytes: number;
  dstPorts: number[];
}

export interface MinuteRow {
  minute: string;
  records: number;
  bytes: number;
  packets: number;
  rejected: number;
}

export interface FlowSummaryReport {
  records: number;
  bytes: number;
  packets: number;
  firstUs: number | null;
  lastUs: number | null;
  bySource: Record<string, number>;
  topTalkers: Talker[];
  topPorts: PortRow[];
  rejected: { records: number; bytes: number; topSources: RejectedRow[] };
  perMinute: MinuteRow[];
}

interface Acc {
  bytes: number;
  packets: number;
  records: number;
}

function bump(
  m: Map<string, Acc>,
  key: string,
  bytes: number,
  packets: number,
  records: number,
): void {
  let a = m.get(key);
  if (!a) {
    if (m.size >= MAX_KEYS) key = OTHER;
    a = m.get(key);
    if (!a) {
      a = { bytes: 0, packets: 0, records: 0 };
      m.set(key, a);
    }
  }
  a.bytes += bytes;
  a.packets += packets;
  a.records += records;
}

export class FlowSummary {
  records = 0;
  bytes = 0;
  packets = 0;
  private firstUs = Infinity;
  private lastUs = -Infinity;
  private readonly bySource = new Map<string, number>();
  private readonly talkers = new Map<string, Acc>();
  private readonly ports = new Map<string, Acc>();
  private readonly minutes = new Map<number, MinuteRow>();
  private rejectedRecords = 0;
  private rejectedBytes = 0;
  private readonly rejectedBySrc = new Map<
    string,
    { records: number; bytes: number; ports: Set<number> }
  >();

  add(f: FlowRecord): void {
    const bytes = f.bytes + (f.reverseBytes ?? 0);
    const packets = f.packets + (f.reversePackets ?? 0);
    this.records++;
    this.bytes += bytes;
    this.packets += packets;
    this.bySource.set(f.source, (this.bySource.get(f.source) ?? 0) + 1);
    bump(this.talkers, `${f.src}\u0000${f.dst}`, f.bytes, f.packets, 1);
    if (f.reversePackets)
      bump(this.talkers, `${f.dst}\u0000${f.src}`, f.reverseBytes ?? 0, f.reversePackets, 0);
    bump(this.ports, `${protoName(f.proto)}\u0000${f.dstPort}`, bytes, packets, 1);
    const t = f.startUs ?? f.endUs;
    if (t !== null) {
      if (t < this.firstUs) this.firstUs = t;
      const e = f.endUs ?? t;
      if (e > this.lastUs) this.lastUs = e;
      const m = Math.floor(t / MINUTE_US);
      let row = this.minutes.get(m);
      if (!row && this.minutes.size < MAX_KEYS) {
        row = {
          minute: isoMs(m * 60_000) ?? `minute ${m}`,
          records: 0,
          bytes: 0,
          packets: 0,
          rejected: 0,
        };
        this.minutes.set(m, row);
      }
      if (row) {
        row.records++;
        row.bytes += bytes;
        row.packets += packets;
        if (f.action === 'REJECT') row.rejected++;
      }
    }
    if (f.action === 'REJECT') {
      this.rejectedRecords++;
      this.rejectedBytes += bytes;
      let r = this.rejectedBySrc.get(f.src);
      if (!r && this.rejectedBySrc.size < MAX_KEYS) {
        r = { records: 0, bytes: 0, ports: new Set() };
        this.rejectedBySrc.set(f.src, r);
      }
      if (r) {
        r.records++;
        r.bytes += bytes;
        if (r.ports.size < 32) r.ports.add(f.dstPort);
      }
    }
  }

  report(top: number): FlowSummaryReport {
    const byBytes = (a: Acc, b: Acc): number => b.bytes - a.bytes || b.records - a.records;
    const talkers = [...this.talkers.entries()]
      .sort((a, b) => byBytes(a[1], b[1]))
      .slice(0, top)
      .map(([k, a]) => {
        const [src, dst] = k === OTHER ? [OTHER, OTHER] : k.split('\u0000');
        return {
          src: src ?? '',
          dst: dst ?? '',
          bytes: a.bytes,
          packets: a.packets,
          records: a.records,
        };
      });
    const ports = [...this.ports.entries()]
      .sort((a, b) => byBytes(a[1], b[1]))
      .slice(0, top)
      .map(([k, a]) => {
        const [proto, port] = k === OTHER ? [OTHER, '-1'] : k.split('\u0000');
        return {
          proto: proto ?? '',
          port: Number(port),
          bytes: a.bytes,
          packets: a.packets,
          records: a.records,
        };
      });
    const rejected = [...this.rejectedBySrc.entries()]
      .sort((a, b) => b[1].records - a[1].records || b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([src, r]) => ({
        src,
        records: r.records,
        bytes: r.bytes,
        dstPorts: [...r.ports].sort((a, b) => a - b),
      }));
    const perMinute = [...this.minutes.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
    return {
      records: this.records,
      bytes: this.bytes,
      packets: this.packets,
      firstUs: Number.isFinite(this.firstUs) ? this.firstUs : null,
      lastUs: Number.isFinite(this.lastUs) ? this.lastUs : null,
      bySource: Object.fromEntries(this.bySource),
      topTalkers: talkers,
      topPorts: ports,
      rejected: { records: this.rejectedRecords, bytes: this.rejectedBytes, topSources: rejected },
      perMinute,
    };
  }
}
