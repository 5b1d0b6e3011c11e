// Flow records out of a pcap/pcapng capture, whatever it holds. Frames are read and decoded by the
// capture engine's reader and packet decoder (capture-reader.ts, packet.ts: link layers, VLAN,
// SLL, IPv6, fragments reassembled); then each packet is either
//   - a NetFlow v5/v9/IPFIX export datagram (a UDP payload that passes looksLikeExportDatagram):
//     decoded as exports, its records keep their NetFlow/IPFIX source; or
//   - any other IP packet: counted into a bidirectional flow (packet-flows.ts, source 'capture').
// A capture holding both is reported as mixed ('capture+netflow', note 'mixed-capture'): the
// export records describe traffic elsewhere, the packet flows the traffic captured here, and
// both are kept. `mode` forces one reading: 'exports' (every UDP payload is offered to the
// NetFlow decoder, anything else is skipped: the reading before packet flows existed) or
// 'packets' (export datagrams are plain UDP packets too).
// Pure: the caller feeds chunks; records go to the NetflowState's sink and the PacketFlowTable's.

import type { FlowSink } from '../../model/flow.js';
import type { Quality } from '../../model/quality.js';
import { CaptureReader, type FrameSink } from '../capture/capture-reader.js';
import {
  Defragmenter,
  IPPROTO_UDP,
  Packet,
  decodeFrame,
  formatAddress,
} from '../capture/packet.js';
import { decodeNetflowPacket, looksLikeExportDatagram, type NetflowState } from './netflow.js';
import { PacketFlowTable, type PacketFlowOptions, type PacketFlowStats } from './packet-flows.js';

export type CaptureFlowMode = 'auto' | 'packets' | 'exports';

/** What one capture turned out to hold and what became of its frames. */
export interface CaptureFlowReport {
  source: string;
  /** 'exports' | 'packets' | 'mixed' | 'empty' (no IP packets at all). */
  content: 'exports' | 'packets' | 'mixed' | 'empty';
  frames: number;
  /** Datagrams decoded as NetFlow/IPFIX exports. */
  exportDatagrams: number;
  /** Frames that are not IP (ARP, LLDP…): no flow to count them in. */
  nonIp: number;
  /** IP fragments held for reassembly; those never completed are in `fragmentsIncomplete`. */
  fragments: number;
  fragmentsIncomplete: number;
  /** Packet flows: packets and IP bytes counted, records by end reason, peak live flows. */
  packetFlows: PacketFlowStats;
}

export class CaptureFlowDecoder implements FrameSink {
  private readonly reader: CaptureReader;
  private readonly table: PacketFlowTable;
  private readonly pkt = new Packet();
  private readonly defrag = new Defragmenter();
  private readonly q: Quality;
  private readonly state: NetflowState;
  private readonly mode: CaptureFlowMode;
  private dvBuf: Buffer | null = null;
  private dv: DataView = new DataView(new ArrayBuffer(0));
  private exportDatagrams = 0;
  private nonIp = 0;
  private fragments = 0;

  constructor(
    q: Quality,
    state: NetflowState,
    flowSink: FlowSink,
    mode: CaptureFlowMode = 'auto',
    opts: Partial<PacketFlowOptions> = {},
  ) {
    this.q = q;
    this.state = state;
    this.mode = mode;
    this.reader = new CaptureReader(this, q);
    this.table = new PacketFlowTable(flowSink, opts);
  }

  push(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  /** End of input: open flows are emitted. Structural damage is in `failure`. */
  end(): CaptureFlowReport {
    this.reader.end();
    this.table.flush();
    const incomplete = this.defrag.pendingCount + this.defrag.dropped;
    if (incomplete > 0)
      this.q.note('fragment-incomplete', undefined, `${incomplete} IP datagrams never reassembled`);
    const pf = this.table.stats;
    const content =
      this.exportDatagrams > 0 && pf.packets > 0
        ? 'mixed'
        : this.exportDatagrams > 0
          ? 'exports'
          : pf.packets > 0
            ? 'packets'
            : 'empty';
    this.q.format =
      content === 'mixed' ? 'capture+netflow' : content === 'packets' ? 'capture' : 'netflow-pcap';
    if (content === 'mixed')
      this.q.note(
        'mixed-capture',
        undefined,
        `${this.exportDatagrams} NetFlow/IPFIX export datagrams decoded as exports; ` +
          `${pf.packets} other packets built into ${pf.records} flows (source 'capture')`,
      );
    if (pf.ended['lack-of-resources'] > 0)
      this.q.note(
        'flow-table-full',
        undefined,
        `${pf.ended['lack-of-resources']} flows ended early to stay within the flow table limit`,
      );
    return {
      source: this.q.source,
      content,
      frames: this.reader.frames,
      exportDatagrams: this.exportDatagrams,
      nonIp: this.nonIp,
      fragments: this.fragments,
      fragmentsIncomplete: incomplete,
      packetFlows: { ...pf, ended: { ...pf.ended } },
    };
  }

  get failure(): { message: string; offset: number } | null {
    return this.reader.failure;
  }

  frame(
    frameNo: number,
    tsUs: number,
    linktype: number,
    buf: Buffer,
    off: number,
    capLen: number,
  ): void {
    if (buf !== this.dvBuf) {
      this.dvBuf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    }
    const p = this.pkt;
    // Flows describe the packets on the wire, tunnels unopened (as flow exporters do).
    const why = decodeFrame(p, linktype, buf, this.dv, off, capLen, tsUs, this.defrag, 0);
    if (why !== null && why !== 'other-ip-protocol') {
      // Not flow material (ARP…) or a fragment waiting for the rest: noted, not a damaged record.
      if (why === 'non-ip') this.nonIp++;
      else if (why === 'fragment-pending') this.fragments++;
      else this.q.skip(why, `frame ${frameNo}`);
      if (why === 'non-ip') this.q.note('not-ip');
      return;
    }
    if (p.reassembled) this.fragments++;
    if (p.proto === IPPROTO_UDP && why === null && this.mode !== 'packets') {
      const s = p.payloadOff;
      const e = s + p.capPayloadLen;
      if (this.mode === 'exports' || looksLikeExportDatagram(p.buf, s, e, s + p.payloadLen)) {
        const exporter = formatAddress(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
        if (decodeNetflowPacket(exporter, tsUs, p.buf, s, e, this.state) > 0) {
          this.exportDatagrams++;
          return;
        }
      }
    }
    if (this.mode === 'exports') {
      const sflow = p.capPayloadLen >= 4 && p.buf.readUInt32BE(p.payloadOff) === 5;
      this.q.skip(
        p.proto !== IPPROTO_UDP ? 'not-udp' : sflow ? 'sflow-unsupported' : 'not-netflow',
        `frame ${frameNo}`,
      );
      return;
    }
    this.table.packet(p, tsUs);
  }
}
