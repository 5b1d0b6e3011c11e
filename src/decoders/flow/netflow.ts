// NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export datagrams → FlowRecords.
// Pure: bytes in, records out through the state's sink; never throws on bad input.
//
// Wire layouts (all big-endian):
//   v5 header (24): 0 version=5 | 2 count | 4 sysUptime ms | 8 unixSecs | 12 unixNsecs |
//                   16 flowSequence | 20 engineType | 21 engineId | 22 sampling (2b mode, 14b interval)
//   v5 record (48): 0 srcaddr | 4 dstaddr | 8 nexthop | 12 input(2) | 14 output(2) | 16 dPkts |
//                   20 dOctets | 24 first ms | 28 last ms | 32 srcport | 34 dstport | 36 pad |
//                   37 tcp_flags | 38 prot | 39 tos | 40 src_as | 42 dst_as | 44 masks | 46 pad
//   v9 header (20): 0 version=9 | 2 count | 4 sysUptime ms | 8 unixSecs | 12 sequence | 16 sourceId
//   IPFIX hdr (16): 0 version=10 | 2 length | 4 exportTime s | 8 sequence | 12 observationDomainId
//   set header (4): 0 setId | 2 length (incl. header). v9: 0 template, 1 options template;
//                   IPFIX: 2 template, 3 options template; ≥256 data set for that template id.
//   template rec  : id(2) fieldCount(2) then fieldCount × [type(2) length(2)] — IPFIX: type bit 15
//                   = enterprise, followed by a 4-byte enterprise number; fieldCount 0 = withdrawal.
//   v9 options tpl: id(2) scopeLen bytes(2) optionLen bytes(2) then scope+option fields (4 each).
//   IPFIX options : id(2) fieldCount(2) scopeFieldCount(2) then fields as in a template.
//   variable field: length 65535 in the template; in the record 1 byte length, or 255 + 2 bytes.
//
// Template state is keyed by (exporter, version, source id / observation domain, template id):
// templates are refreshed (same layout) or re-assigned (new layout replaces, noted). Data sets
// whose template has not arrived yet are buffered (bounded by count and bytes) and replayed when it
// does; what is still pending at `flush()` is skipped as 'no-template'.
//
// Sampling: options data carrying samplingInterval (34), samplerRandomInterval (50), or PSAMP
// selector fields (305/306, 309/310, 311) set a rate per (exporter, domain, sampler/selector id);
// data records carrying samplerId (48) / selectorId (302) use that id's rate, else the exporter-wide
// rate (options without an id, or the v5 header). bytes and packets are multiplied by the rate
// (as nfacctd_renormalize does) and `samplingRate` records it.

import { emptyFlow, type FlowSink } from '../../model/flow.js';
import { readIpv4, readIpv6 } from './ip.js';

export interface NetflowLimits {
  /** Templates kept across all exporters; beyond it new template ids are refused (counted). */
  maxTemplates: number;
  maxFieldsPerTemplate: number;
  /** Data sets buffered while waiting for their template, and their total bytes. */
  maxPendingSets: number;
  maxPendingBytes: number;
  /** Sampler/selector rates kept. */
  maxSamplers: number;
}

export const DEFAULT_NETFLOW_LIMITS: NetflowLimits = {
  maxTemplates: 65536,
  maxFieldsPerTemplate: 512,
  maxPendingSets: 4096,
  maxPendingBytes: 16 << 20,
  maxSamplers: 65536,
};

const V5 = 5;
const V9 = 9;
const IPFIX = 10;
const VARLEN = 65535;
const NTP_EPOCH_OFFSET_S = 2208988800;
const TWO_POW_32 = 4294967296;

// Information element ids (IANA IPFIX registry; v9 shares 1–127 and the Cisco 2xx/3xx ones used).
const IE_OCTET_DELTA = 1;
const IE_PACKET_DELTA = 2;
const IE_PROTOCOL = 4;
const IE_TOS = 5;
const IE_TCP_FLAGS = 6;
const IE_SRC_PORT = 7;
const IE_SRC_V4 = 8;
const IE_IN_IF = 10;
const IE_DST_PORT = 11;
const IE_DST_V4 = 12;
const IE_OUT_IF = 14;
const IE_END_SYSUPTIME = 21;
const IE_START_SYSUPTIME = 22;
const IE_POST_OCTET_DELTA = 23;
const IE_POST_PACKET_DELTA = 24;
const IE_SRC_V6 = 27;
const IE_DST_V6 = 28;
const IE_SAMPLING_INTERVAL = 34;
const IE_SAMPLER_ID = 48;
const IE_SAMPLER_RANDOM_INTERVAL = 50;
const IE_DIRECTION = 61;
const IE_OCTET_TOTAL = 85;
const IE_PACKET_TOTAL = 86;
const IE_FORWARDING_STATUS = 89;
const IE_START_S = 150;
const IE_END_S = 151;
const IE_START_MS = 152;
const IE_END_MS = 153;
const IE_START_US = 154;
const IE_END_US = 155;
const IE_START_NS = 156;
const IE_END_NS = 157;
const IE_START_DELTA_US = 158;
const IE_END_DELTA_US = 159;
const IE_SYSTEM_INIT_MS = 160;
const IE_INITIATOR_OCTETS = 231;
const IE_RESPONDER_OCTETS = 232;
const IE_FIREWALL_EVENT = 233;
const IE_INITIATOR_PACKETS = 298;
const IE_RESPONDER_PACKETS = 299;
const IE_SELECTOR_ID = 302;
const IE_SAMPLING_PACKET_INTERVAL = 305;
const IE_SAMPLING_PACKET_SPACE = 306;
const IE_SAMPLING_SIZE = 309;
const IE_SAMPLING_POPULATION = 310;
const IE_SAMPLING_PROBABILITY = 311;

interface Template {
  id: number;
  options: boolean;
  /** Parallel arrays: element id (enterprise fields get -1), field length (65535 = variable). */
  ids: Int32Array;
  lens: Int32Array;
  /** Minimum bytes of one record (variable fields count 1). */
  minLen: number;
  /** Layout fingerprint, to tell a refresh from a re-assignment. */
  sig: string;
}

interface Pending {
  key: string;
  /** The state's `tag` when the set was buffered (restored while it is replayed or dropped). */
  tag: unknown;
  exporter: string | null;
  version: number;
  domain: number;
  ctx: TimeCtx;
  bytes: Uint8Array;
}

/** Per-datagram time context. */
interface TimeCtx {
  /** Export time, µs. */
  exportUs: number;
  /** v9: router uptime at export, ms (for FIRST/LAST_SWITCHED); IPFIX: -1. */
  sysUptimeMs: number;
  /** Capture/receive time, µs (0 when unknown). */
  tsUs: number;
}

export interface NetflowStats {
  datagrams: number;
  templates: number;
  optionsTemplates: number;
  templatesReplaced: number;
  templatesWithdrawn: number;
  optionsRecords: number;
  /** Data sets that waited for their template and were decoded when it came. */
  pendingReplayed: number;
}

/** Decoder state shared by all datagrams of a run (templates and sampling rates per exporter). */
export class NetflowState {
  readonly sink: FlowSink;
  readonly limits: NetflowLimits;
  readonly stats: NetflowStats = {
    datagrams: 0,
    templates: 0,
    optionsTemplates: 0,
    templatesReplaced: 0,
    templatesWithdrawn: 0,
    optionsRecords: 0,
    pendingReplayed: 0,
  };
  /** Apply sampling rates to bytes/packets (default on). */
  applySampling = true;
  /**
   * Opaque marker of the current input, set by the caller; data buffered for a missing template
   * keeps it, and it is restored while that data is replayed or dropped, so the caller can account
   * for it against the input it came from.
   */
  tag: unknown = null;
  readonly templates = new Map<string, Template>();
  /** Sampling rate by `${scope}|${samplerId}`; samplerId -1 = exporter-wide. */
  readonly sampling = new Map<string, number>();
  /** systemInitTimeMilliseconds by scope (IPFIX, for flowStart/EndSysUpTime). */
  readonly systemInitMs = new Map<string, number>();
  private pending: Pending[] = [];
  private pendingBytes = 0;

  constructor(sink: FlowSink, limits: Partial<NetflowLimits> = {}) {
    this.sink = sink;
    this.limits = { ...DEFAULT_NETFLOW_LIMITS, ...limits };
  }

  /** Data sets still waiting for a template. */
  get pendingSets(): number {
    return this.pending.length;
  }

  /** End of input: whatever still waits for a template is skipped as 'no-template'. */
  flush(): void {
    const saved = this.tag;
    for (const p of this.pending) {
      this.tag = p.tag;
      this.sink.skip('no-template', `template ${p.key.split('|').pop() ?? '?'} never arrived`);
    }
    this.tag = saved;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** @internal */
  addPending(p: Pending): boolean {
    if (
      this.pending.length >= this.limits.maxPendingSets ||
      this.pendingBytes + p.bytes.length > this.limits.maxPendingBytes
    )
      return false;
    this.pending.push(p);
    this.pendingBytes += p.bytes.length;
    return true;
  }

  /** @internal Take the pending sets for one template key, in arrival order. */
  takePending(key: string): Pending[] {
    if (this.pending.length === 0) return [];
    const out: Pending[] = [];
    const keep: Pending[] = [];
    for (const p of this.pending) (p.key === key ? out : keep).push(p);
    if (out.length) {
      this.pending = keep;
      for (const p of out) this.pendingBytes -= p.bytes.length;
    }
    return out;
  }
}

function scopeKey(exporter: string | null, version: number, domain: number): string {
  return `${exporter ?? ''}|${version}|${domain}`;
}

/** Read an unsigned big-endian integer of 1–8 bytes (beyond 2^53 precision is lost). */
function readUint(dv: DataView, off: number, len: number): number {
  switch (len) {
    case 1:
      return dv.getUint8(off);
    case 2:
      return dv.getUint16(off);
    case 4:
      return dv.getUint32(off);
    case 8:
      return dv.getUint32(off) * TWO_POW_32 + dv.getUint32(off + 4);
    default: {
      if (len > 8) return readUint(dv, off + len - 8, 8);
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + dv.getUint8(off + i);
      return v;
    }
  }
}

function ntpUs(dv: DataView, off: number): number {
  const s = dv.getUint32(off);
  const frac = dv.getUint32(off + 4);
  return (s - NTP_EPOCH_OFFSET_S) * 1e6 + Math.floor((frac / TWO_POW_32) * 1e6);
}

/**
 * Whether a UDP payload is plausibly one NetFlow v5/v9 or IPFIX export datagram, judged by its
 * structure, not only its first two bytes (a DNS id of 5, 9 or 10 must not pass): v5 a count of
 * 1–30 records that fit; IPFIX a message length equal to the datagram's; v9/IPFIX sets whose ids
 * are template (0/1, 2/3) or data (≥ 256) ids and whose lengths chain to the end of the captured
 * bytes. `end` is the captured end, `declaredEnd` the end the UDP/IP lengths state (≥ `end`
 * when the capture cut the datagram short).
 */
export function looksLikeExportDatagram(
  buf: Uint8Array,
  off: number,
  end: number,
  declaredEnd: number,
): boolean {
  if (end - off < 4) return false;
  const version = (buf[off]! << 8) | buf[off + 1]!;
  const len = declaredEnd - off;
  if (version === V5) {
    const count = (buf[off + 2]! << 8) | buf[off + 3]!;
    return count >= 1 && count <= 30 && len >= 24 + 48 * count;
  }
  let p: number;
  if (version === IPFIX) {
    if (len < 20 || ((buf[off + 2]! << 8) | buf[off + 3]!) !== len) return false;
    p = off + 16;
  } else if (version === V9) {
    if (len < 24) return false;
    p = off + 20;
  } else return false;
  let sets = 0;
  while (p + 4 <= end) {
    const id = (buf[p]! << 8) | buf[p + 1]!;
    const slen = (buf[p + 2]! << 8) | buf[p + 3]!;
    const templateId = version === V9 ? id === 0 || id === 1 : id === 2 || id === 3;
    if ((!templateId && id < 256) || slen < 4) return false;
    sets++;
    p += slen;
  }
  // The sets end at the datagram's end (up to 3 bytes of padding), or the capture cut it short.
  return sets > 0 && p <= declaredEnd && (declaredEnd - p < 4 || end < declaredEnd);
}

/**
 * Decode one export datagram `buf[off, end)` (NetFlow v5/v9 or IPFIX; a UDP payload).
 * `exporterIp` is the datagram's source address (null when unknown, e.g. a raw payload file);
 * `tsUs` its receive/capture time (0 when unknown). Returns the bytes the datagram used (v5 and
 * IPFIX say their own length, v9 runs to `end`), so concatenated datagrams can be walked; 0 if the
 * version is not one of 5, 9, 10 (nothing was counted then).
 */
export function decodeNetflowPacket(
  exporterIp: string | null,
  tsUs: number,
  buf: Uint8Array,
  off: number,
  end: number,
  state: NetflowState,
): number {
  if (end > buf.length) end = buf.length;
  if (end - off < 2) return 0;
  const version = (buf[off]! << 8) | buf[off + 1]!;
  if (version !== V5 && version !== V9 && version !== IPFIX) return 0;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  state.stats.datagrams++;
  if (version === V5) return decodeV5(exporterIp, tsUs, dv, buf, off, end, state);
  return decodeV9Ipfix(version, exporterIp, tsUs, dv, buf, off, end, state);
}

function decodeV5(
  exporter: string | null,
  tsUs: number,
  dv: DataView,
  buf: Uint8Array,
  off: number,
  end: number,
  state: NetflowState,
): number {
  const sink = state.sink;
  if (end - off < 24) {
    sink.skip('truncated-header', `v5 header needs 24 bytes, ${end - off} left`);
    return end - off;
  }
  const count = dv.getUint16(off + 2);
  const sysUptimeMs = dv.getUint32(off + 4);
  const unixSecs = dv.getUint32(off + 8);
  const unixNsecs = dv.getUint32(off + 12);
  const sampling = dv.getUint16(off + 22) & 0x3fff;
  const rate = state.applySampling && sampling > 1 ? sampling : 1;
  if (count === 0 || count > 30) {
    sink.skip('v5-bad-count', `count ${count} (1–30 allowed)`);
    return end - off;
  }
  const exportMs = unixSecs * 1000 + Math.floor(unixNsecs / 1e6);
  const bootMs = exportMs - sysUptimeMs;
  let p = off + 24;
  for (let i = 0; i < count; i++, p += 48) {
    if (p + 48 > end) {
      for (let j = i; j < count; j++)
        sink.skip('truncated-record', `v5 record ${j + 1} of ${count}`);
      return end - off;
    }
    const f = emptyFlow('netflow-v5');
    f.src = readIpv4(buf, p);
    f.dst = readIpv4(buf, p + 4);
    f.inIf = dv.getUint16(p + 12);
    f.outIf = dv.getUint16(p + 14);
    f.packets = dv.getUint32(p + 16) * rate;
    f.bytes = dv.getUint32(p + 20) * rate;
    f.startUs = (bootMs + dv.getUint32(p + 24)) * 1000;
    f.endUs = (bootMs + dv.getUint32(p + 28)) * 1000;
    f.srcPort = dv.getUint16(p + 32);
    f.dstPort = dv.getUint16(p + 34);
    f.tcpFlags = buf[p + 37]!;
    f.proto = buf[p + 38]!;
    f.tos = buf[p + 39]!;
    f.exporter = exporter;
    f.samplingRate = rate;
    void tsUs;
    sink.flow(f);
  }
  return p - off;
}

function decodeV9Ipfix(
  version: number,
  exporter: string | null,
  tsUs: number,
  dv: DataView,
  buf: Uint8Array,
  off: number,
  end: number,
  state: NetflowState,
): number {
  const sink = state.sink;
  const hdrLen = version === V9 ? 20 : 16;
  if (end - off < hdrLen) {
    sink.skip('truncated-header', `v${version} header needs ${hdrLen} bytes, ${end - off} left`);
    return end - off;
  }
  let msgEnd = end;
  let ctx: TimeCtx;
  let domain: number;
  if (version === V9) {
    ctx = { exportUs: dv.getUint32(off + 8) * 1e6, sysUptimeMs: dv.getUint32(off + 4), tsUs };
    domain = dv.getUint32(off + 16);
  } else {
    const len = dv.getUint16(off + 2);
    if (len < 16) {
      sink.skip('bad-length', `IPFIX message length ${len} < 16`);
      return end - off;
    }
    if (off + len > end) sink.note('truncated-datagram', `IPFIX length ${len}, ${end - off} bytes`);
    else msgEnd = off + len;
    ctx = { exportUs: dv.getUint32(off + 4) * 1e6, sysUptimeMs: -1, tsUs };
    domain = dv.getUint32(off + 12);
  }
  const scope = scopeKey(exporter, version, domain);
  let p = off + hdrLen;
  while (p + 4 <= msgEnd) {
    const setId = dv.getUint16(p);
    const setLen = dv.getUint16(p + 2);
    if (setLen < 4) {
      // v9 exporters pad datagrams with zeros; a zero set header is padding, not a set.
      if (setId === 0 && setLen === 0) break;
      sink.skip('bad-set-length', `set ${setId} length ${setLen}`);
      break;
    }
    if (p + setLen > msgEnd) {
      sink.skip('truncated-set', `set ${setId} length ${setLen}, ${msgEnd - p} bytes left`);
      break;
    }
    const bodyStart = p + 4;
    const setEnd = p + setLen;
    if (version === V9 ? setId === 0 : setId === 2) {
      decodeTemplates(version, false, scope, dv, bodyStart, setEnd, state, exporter, domain);
    } else if (version === V9 ? setId === 1 : setId === 3) {
      decodeTemplates(version, true, scope, dv, bodyStart, setEnd, state, exporter, domain);
    } else if (setId >= 256) {
      const key = `${scope}|${setId}`;
      const tpl = state.templates.get(key);
      if (tpl) {
        decodeDataSet(
          tpl,
          scope,
          exporter,
          domain,
          version,
          ctx,
          dv,
          buf,
          bodyStart,
          setEnd,
          state,
        );
      } else if (
        !state.addPending({
          key,
          tag: state.tag,
          exporter,
          version,
          domain,
          ctx,
          bytes: buf.slice(bodyStart, setEnd),
        })
      ) {
        sink.skip('no-template', `template ${setId} unknown (pending buffer full)`);
      }
    } else {
      sink.skip('reserved-set-id', `set id ${setId}`);
    }
    p = setEnd;
  }
  return msgEnd - off;
}

function decodeTemplates(
  version: number,
  options: boolean,
  scope: string,
  dv: DataView,
  p: number,
  end: number,
  state: NetflowState,
  exporter: string | null,
  domain: number,
): void {
  const sink = state.sink;
  const ipfix = version === IPFIX;
  while (true) {
    const minHdr = options ? 6 : 4;
    if (p + minHdr > end) return; // padding
    const id = dv.getUint16(p);
    const n2 = dv.getUint16(p + 2);
    let fieldCount: number;
    let fieldBytes = -1;
    if (options && !ipfix) {
      // v9: scope length and option length in bytes (4 per field).
      const scopeLen = n2;
      const optLen = dv.getUint16(p + 4);
      fieldBytes = scopeLen + optLen;
      fieldCount = (fieldBytes / 4) | 0;
      p += 6;
    } else if (options) {
      fieldCount = n2;
      p += 6;
    } else {
      fieldCount = n2;
      p += 4;
    }
    if (id === 0 && fieldCount === 0) return; // zero padding
    const key = `${scope}|${id}`;
    if (ipfix && fieldCount === 0) {
      if (state.templates.delete(key)) state.stats.templatesWithdrawn++;
      continue;
    }
    if (id < 256) {
      sink.note('bad-template', `template id ${id} < 256`);
      return;
    }
    if (fieldCount > state.limits.maxFieldsPerTemplate) {
      sink.note('bad-template', `template ${id}: ${fieldCount} fields`);
      return;
    }
    const ids = new Int32Array(fieldCount);
    const lens = new Int32Array(fieldCount);
    let minLen = 0;
    let sig = options ? 'o' : 't';
    for (let i = 0; i < fieldCount; i++) {
      if (p + 4 > end) {
        sink.note('truncated-template', `template ${id} field ${i + 1} of ${fieldCount}`);
        return;
      }
      let type = dv.getUint16(p);
      const len = dv.getUint16(p + 2);
      p += 4;
      if (ipfix && type & 0x8000) {
        if (p + 4 > end) {
          sink.note('truncated-template', `template ${id} field ${i + 1} enterprise number`);
          return;
        }
        const pen = dv.getUint32(p);
        p += 4;
        sig += `,${type & 0x7fff}@${pen}:${len}`;
        type = -1; // enterprise-specific: length honoured, content skipped
      } else {
        sig += `,${type}:${len}`;
      }
      ids[i] = type;
      lens[i] = len;
      minLen += len === VARLEN ? 1 : len;
    }
    if (options && !ipfix && fieldBytes % 4 !== 0) p += fieldBytes % 4;
    const old = state.templates.get(key);
    if (!old && state.templates.size >= state.limits.maxTemplates) {
      sink.note('template-limit', `template ${id} refused: ${state.templates.size} templates kept`);
    } else {
      if (old && old.sig !== sig) state.stats.templatesReplaced++;
      const tpl: Template = { id, options, ids, lens, minLen, sig };
      state.templates.set(key, tpl);
      if (options) state.stats.optionsTemplates++;
      else state.stats.templates++;
      const saved = state.tag;
      for (const pend of state.takePending(key)) {
        state.tag = pend.tag;
        state.stats.pendingReplayed++;
        const b = pend.bytes;
        const pdv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        decodeDataSet(tpl, scope, exporter, domain, version, pend.ctx, pdv, b, 0, b.length, state);
      }
      state.tag = saved;
    }
    // v9 options template sets hold one template followed by padding.
    if (options && !ipfix) return;
  }
}

/** Decode the records of one data set. */
function decodeDataSet(
  tpl: Template,
  scope: string,
  exporter: string | null,
  domain: number,
  version: number,
  ctx: TimeCtx,
  dv: DataView,
  buf: Uint8Array,
  p: number,
  end: number,
  state: NetflowState,
): void {
  const sink = state.sink;
  if (tpl.minLen === 0) {
    sink.skip('empty-template', `template ${tpl.id} has no bytes per record`);
    return;
  }
  const ids = tpl.ids;
  const lens = tpl.lens;
  const n = ids.length;
  const source = version === IPFIX ? 'ipfix' : 'netflow-v9';
  while (p + tpl.minLen <= end) {
    const f = emptyFlow(source);
    // Counters and times, gathered then combined (several IEs can supply each).
    let octDelta = -1;
    let pktDelta = -1;
    let octTotal = -1;
    let pktTotal = -1;
    let octPost = -1;
    let pktPost = -1;
    let octInit = -1;
    let octResp = -1;
    let pktInit = -1;
    let pktResp = -1;
    let startUs = -1;
    let endUs = -1;
    let startUp = -1;
    let endUp = -1;
    let startDelta = -1;
    let endDelta = -1;
    let sysInitMs = -1;
    let samplerId = -1;
    let rate = 0;
    let sInterval = -1;
    let sRandom = -1;
    let pInterval = -1;
    let pSpace = -1;
    let sSize = -1;
    let sPop = -1;
    let sProb = -1;
    let fwdStatus = -1;
    let fwEvent = -1;
    let ok = true;
    for (let i = 0; i < n; i++) {
      let len = lens[i]!;
      if (len === VARLEN) {
        if (p + 1 > end) {
          ok = false;
          break;
        }
        len = buf[p]!;
        p += 1;
        if (len === 255) {
          if (p + 2 > end) {
            ok = false;
            break;
          }
          len = dv.getUint16(p);
          p += 2;
        }
      }
      if (p + len > end) {
        ok = false;
        break;
      }
      if (len === 0) continue;
      switch (ids[i]!) {
        case IE_OCTET_DELTA:
          octDelta = readUint(dv, p, len);
          break;
        case IE_PACKET_DELTA:
          pktDelta = readUint(dv, p, len);
          break;
        case IE_OCTET_TOTAL:
          octTotal = readUint(dv, p, len);
          break;
        case IE_PACKET_TOTAL:
          pktTotal = readUint(dv, p, len);
          break;
        case IE_POST_OCTET_DELTA:
          octPost = readUint(dv, p, len);
          break;
        case IE_POST_PACKET_DELTA:
          pktPost = readUint(dv, p, len);
          break;
        case IE_INITIATOR_OCTETS:
          octInit = readUint(dv, p, len);
          break;
        case IE_RESPONDER_OCTETS:
          octResp = readUint(dv, p, len);
          break;
        case IE_INITIATOR_PACKETS:
          pktInit = readUint(dv, p, len);
          break;
        case IE_RESPONDER_PACKETS:
          pktResp = readUint(dv, p, len);
          break;
        case IE_PROTOCOL:
          f.proto = buf[p + len - 1]!;
          break;
        case IE_TOS:
          f.tos = buf[p + len - 1]!;
          break;
        case IE_TCP_FLAGS:
          // RFC 7011 uses 2 bytes (flags in the low byte plus header-length bits); keep the 8 flags.
          f.tcpFlags = buf[p + len - 1]!;
          break;
        case IE_SRC_PORT:
          f.srcPort = readUint(dv, p, len);
          break;
        case IE_DST_PORT:
          f.dstPort = readUint(dv, p, len);
          break;
        case IE_SRC_V4:
          if (len === 4) f.src = readIpv4(buf, p);
          break;
        case IE_DST_V4:
          if (len === 4) f.dst = readIpv4(buf, p);
          break;
        case IE_SRC_V6:
          if (len === 16) f.src = readIpv6(buf, p);
          break;
        case IE_DST_V6:
          if (len === 16) f.dst = readIpv6(buf, p);
          break;
        case IE_IN_IF:
          f.inIf = readUint(dv, p, len);
          break;
        case IE_OUT_IF:
          f.outIf = readUint(dv, p, len);
          break;
        case IE_DIRECTION:
          f.direction = buf[p + len - 1] === 0 ? 'ingress' : 'egress';
          break;
        case IE_END_SYSUPTIME:
          endUp = readUint(dv, p, len);
          break;
        case IE_START_SYSUPTIME:
          startUp = readUint(dv, p, len);
          break;
        case IE_START_S:
          startUs = readUint(dv, p, len) * 1e6;
          break;
        case IE_END_S:
          endUs = readUint(dv, p, len) * 1e6;
          break;
        case IE_START_MS:
          startUs = readUint(dv, p, len) * 1000;
          break;
        case IE_END_MS:
          endUs = readUint(dv, p, len) * 1000;
          break;
        case IE_START_US:
        case IE_START_NS:
          if (len === 8) startUs = ntpUs(dv, p);
          break;
        case IE_END_US:
        case IE_END_NS:
          if (len === 8) endUs = ntpUs(dv, p);
          break;
        case IE_START_DELTA_US:
          startDelta = readUint(dv, p, len);
          break;
        case IE_END_DELTA_US:
          endDelta = readUint(dv, p, len);
          break;
        case IE_SYSTEM_INIT_MS:
          sysInitMs = readUint(dv, p, len);
          break;
        case IE_SAMPLING_INTERVAL:
          sInterval = readUint(dv, p, len);
          break;
        case IE_SAMPLER_ID:
        case IE_SELECTOR_ID:
          samplerId = readUint(dv, p, len);
          break;
        case IE_SAMPLER_RANDOM_INTERVAL:
          sRandom = readUint(dv, p, len);
          break;
        case IE_SAMPLING_PACKET_INTERVAL:
          pInterval = readUint(dv, p, len);
          break;
        case IE_SAMPLING_PACKET_SPACE:
          pSpace = readUint(dv, p, len);
          break;
        case IE_SAMPLING_SIZE:
          sSize = readUint(dv, p, len);
          break;
        case IE_SAMPLING_POPULATION:
          sPop = readUint(dv, p, len);
          break;
        case IE_SAMPLING_PROBABILITY:
          if (len === 8) sProb = dv.getFloat64(p);
          else if (len === 4) sProb = dv.getFloat32(p);
          break;
        case IE_FORWARDING_STATUS:
          fwdStatus = buf[p]!;
          break;
        case IE_FIREWALL_EVENT:
          fwEvent = buf[p + len - 1]!;
          break;
        default:
          break;
      }
      p += len;
    }
    if (!ok) {
      sink.skip('truncated-record', `template ${tpl.id}: record runs past its set`);
      return;
    }
    // Sampling rate carried by this record (options or data): most specific first.
    if (sSize > 0 && sPop > 0) rate = sPop / sSize;
    else if (pInterval > 0 && pSpace >= 0) rate = (pInterval + pSpace) / pInterval;
    else if (sInterval > 0) rate = sInterval;
    else if (sRandom > 0) rate = sRandom;
    else if (sProb > 0 && sProb <= 1) rate = 1 / sProb;

    if (tpl.options) {
      state.stats.optionsRecords++;
      if (rate > 0 && state.sampling.size < state.limits.maxSamplers)
        state.sampling.set(`${scope}|${samplerId}`, rate);
      if (sysInitMs >= 0) state.systemInitMs.set(scope, sysInitMs);
      continue;
    }

    // Counters: delta, else total, else post (egress) counters, else initiator + responder (ASA).
    let bytes = octDelta >= 0 ? octDelta : octTotal >= 0 ? octTotal : octPost;
    let packets = pktDelta >= 0 ? pktDelta : pktTotal >= 0 ? pktTotal : pktPost;
    if (bytes < 0 && (octInit >= 0 || octResp >= 0))
      bytes = Math.max(octInit, 0) + Math.max(octResp, 0);
    if (packets < 0 && (pktInit >= 0 || pktResp >= 0))
      packets = Math.max(pktInit, 0) + Math.max(pktResp, 0);
    if (rate <= 0 && state.sampling.size > 0) {
      rate =
        (samplerId >= 0 ? state.sampling.get(`${scope}|${samplerId}`) : undefined) ??
        state.sampling.get(`${scope}|-1`) ??
        0;
    }
    if (!state.applySampling || rate < 1) rate = 1;
    f.bytes = bytes < 0 ? 0 : bytes * rate;
    f.packets = packets < 0 ? 0 : packets * rate;
    f.samplingRate = rate;

    // Times.
    if (startUs < 0 || endUs < 0) {
      let bootUs = -1;
      if (ctx.sysUptimeMs >= 0) bootUs = ctx.exportUs - ctx.sysUptimeMs * 1000;
      else {
        const init = sysInitMs >= 0 ? sysInitMs : (state.systemInitMs.get(scope) ?? -1);
        if (init >= 0) bootUs = init * 1000;
      }
      if (startUs < 0 && startUp >= 0 && bootUs >= 0) startUs = bootUs + startUp * 1000;
      if (endUs < 0 && endUp >= 0 && bootUs >= 0) endUs = bootUs + endUp * 1000;
      if (startUs < 0 && startDelta >= 0) startUs = ctx.exportUs - startDelta;
      if (endUs < 0 && endDelta >= 0) endUs = ctx.exportUs - endDelta;
    }
    const fallbackUs = ctx.exportUs > 0 ? ctx.exportUs : ctx.tsUs > 0 ? ctx.tsUs : -1;
    if (endUs < 0) endUs = startUs >= 0 ? startUs : fallbackUs;
    if (startUs < 0) startUs = endUs;
    f.startUs = startUs >= 0 ? startUs : null;
    f.endUs = endUs >= 0 ? endUs : null;

    // forwardingStatus: top two bits 10 = dropped; firewallEvent 3 = flow denied.
    if (fwdStatus >= 0 && fwdStatus >> 6 === 2) f.action = 'REJECT';
    else if (fwEvent === 3) f.action = 'REJECT';
    f.exporter = exporter;
    f.domainId = domain;
    sink.flow(f);
  }
}
