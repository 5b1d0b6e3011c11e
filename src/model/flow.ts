// The flow record (DESIGN.md "flows" table): one row per VPC / NSG flow-log record, NetFlow /
// IPFIX data record, or flow built from captured packets, whatever the source. Records built from
// packets are bidirectional (RFC 5103 biflow): bytes/packets count the initiator → responder
// direction, reverseBytes/reversePackets the other one. Times are UTC µs; the JSON contract form (ISO times,
// protocol names) is made by `flowToJson` at the output edge only.

/** Where a flow record came from. */
export type FlowSource =
  | 'aws-vpc'
  | 'gcp-vpc'
  | 'azure-nsg'
  | 'azure-vnet'
  | 'netflow-v5'
  | 'netflow-v9'
  | 'ipfix'
  /** Built from the packets of a capture (decoders/flow/packet-flows.ts). */
  | 'capture';

/** Why a flow record ended: IANA IPFIX flowEndReason (IE 136) names. */
export type FlowEndReason =
  'idle-timeout' | 'active-timeout' | 'end-of-flow' | 'forced-end' | 'lack-of-resources';

export type FlowAction = 'ACCEPT' | 'REJECT';

/**
 * One flow record. Fixed shape: every field is always present (null when the source does not carry
 * it) and written in this order, so records share one hidden class on the hot path.
 */
export interface FlowRecord {
  source: FlowSource;
  /** Addresses as text ('' when the source record has none, e.g. a flow without IPs). */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** IANA protocol number; -1 when unknown. */
  proto: number;
  /** Counts after the sampling rate was applied (see `samplingRate`). */
  bytes: number;
  packets: number;
  /** UTC µs; null when the record carries no usable time. */
  startUs: number | null;
  endUs: number | null;
  /** Exporter address (NetFlow/IPFIX: UDP source of the datagram), null when unknown. */
  exporter: string | null;
  action: FlowAction | null;
  /** Cumulative OR of TCP flags, when the source reports it. */
  tcpFlags: number | null;
  /** Sampling rate applied to bytes/packets: 1 = unsampled or unknown. */
  samplingRate: number;
  tos: number | null;
  inIf: number | null;
  outIf: number | null;
  /** 'ingress' | 'egress' (VPC flow-direction, Azure I/O, NetFlow flowDirection 0/1). */
  direction: 'ingress' | 'egress' | null;
  /** NetFlow v9 source id / IPFIX observation domain id. */
  domainId: number | null;
  /** Cloud identifiers (AWS interface-id / vpc-id / account-id / log-status; GCP vpc; Azure rule). */
  interfaceId: string | null;
  vpcId: string | null;
  accountId: string | null;
  logStatus: string | null;
  /** AWS/Azure rule or reject reason, GCP reporter: free text, bounded. */
  detail: string | null;
  /**
   * Bidirectional records: the responder → initiator direction (null for one-way records, which
   * is every export and flow-log record). Totals count both directions.
   */
  reverseBytes: number | null;
  reversePackets: number | null;
  /** Why the record ended, when the source says (packet flows: always). */
  endReason: FlowEndReason | null;
}

/** A record with every field at its empty value; decoders fill a copy. */
export function emptyFlow(source: FlowSource): FlowRecord {
  return {
    source,
    src: '',
    dst: '',
    srcPort: 0,
    dstPort: 0,
    proto: -1,
    bytes: 0,
    packets: 0,
    startUs: null,
    endUs: null,
    exporter: null,
    action: null,
    tcpFlags: null,
    samplingRate: 1,
    tos: null,
    inIf: null,
    outIf: null,
    direction: null,
    domainId: null,
    interfaceId: null,
    vpcId: null,
    accountId: null,
    logStatus: null,
    detail: null,
    reverseBytes: null,
    reversePackets: null,
    endReason: null,
  };
}

const PROTO_NAMES: Record<number, string> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'icmpv6',
  89: 'ospf',
  112: 'vrrp',
  132: 'sctp',
};

/** 'tcp' | 'udp' | 'icmp' | … or the number as a string ('' when unknown). */
export function protoName(proto: number): string {
  if (proto < 0) return '';
  return PROTO_NAMES[proto] ?? String(proto);
}

/** Parse a protocol given as a name or number ('TCP', 'tcp', '6', 'T', 'U'); -1 if unknown. */
export function protoNumber(text: string): number {
  if (text === '') return -1;
  const c = text.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    const n = Number(text);
    return Number.isInteger(n) && n >= 0 && n <= 255 ? n : -1;
  }
  switch (text.toLowerCase()) {
    case 't':
    case 'tcp':
      return 6;
    case 'u':
    case 'udp':
      return 17;
    case 'icmp':
      return 1;
    case 'icmpv6':
    case 'ipv6-icmp':
      return 58;
    default:
      return -1;
  }
}

export function isoTime(us: number | null): string | null {
  if (us === null || !Number.isFinite(us)) return null;
  const ms = Math.floor(us / 1000);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString();
}

/** The DESIGN.md `flows` JSON element, plus the extra fields (free under the contract). */
export interface FlowJson {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  proto: string;
  bytes: number;
  packets: number;
  start: string | null;
  end: string | null;
  exporter: string | null;
  action: FlowAction | null;
  source: FlowSource;
  tcpFlags: number | null;
  samplingRate: number;
  tos: number | null;
  inIf: number | null;
  outIf: number | null;
  direction: 'ingress' | 'egress' | null;
  domainId: number | null;
  interfaceId: string | null;
  vpcId: string | null;
  accountId: string | null;
  logStatus: string | null;
  detail: string | null;
  reverseBytes: number | null;
  reversePackets: number | null;
  endReason: FlowEndReason | null;
}

export function flowToJson(f: FlowRecord): FlowJson {
  return {
    src: f.src,
    dst: f.dst,
    srcPort: f.srcPort,
    dstPort: f.dstPort,
    proto: protoName(f.proto),
    bytes: f.bytes,
    packets: f.packets,
    start: isoTime(f.startUs),
    end: isoTime(f.endUs),
    exporter: f.exporter,
    action: f.action,
    source: f.source,
    tcpFlags: f.tcpFlags,
    samplingRate: f.samplingRate,
    tos: f.tos,
    inIf: f.inIf,
    outIf: f.outIf,
    direction: f.direction,
    domainId: f.domainId,
    interfaceId: f.interfaceId,
    vpcId: f.vpcId,
    accountId: f.accountId,
    logStatus: f.logStatus,
    detail: f.detail,
    reverseBytes: f.reverseBytes,
    reversePackets: f.reversePackets,
    endReason: f.endReason,
  };
}

/** What every flow decoder reports to: a decoded record, or a skipped one with a reason. */
export interface FlowSink {
  flow(f: FlowRecord): void;
  /** One record (or unit of input that should have held records) skipped. */
  skip(reason: string, detail?: string): void;
  /** A problem that is not a whole record (e.g. a template that was replaced). */
  note(reason: string, detail?: string): void;
}
