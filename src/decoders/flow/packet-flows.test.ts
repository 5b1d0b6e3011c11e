import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Quality } from '../../model/quality.js';
import type { FlowRecord, FlowSink } from '../../model/flow.js';
import {
  ethernet,
  ipv4Packet,
  ipv6Packet,
  pcapFile,
  tcpFrame,
  tcpSegment,
  type FrameRec,
} from '../capture/frames.test-util.js';
import { NetflowState } from './netflow.js';
import { CaptureFlowDecoder, type CaptureFlowMode } from './capture-flows.js';
import type { PacketFlowOptions } from './packet-flows.js';

const FIXTURES = new URL('../../../test/fixtures/capture/', import.meta.url);

function decode(
  file: Buffer,
  opts: Partial<PacketFlowOptions> = {},
  mode: CaptureFlowMode = 'auto',
  chunk = file.length,
) {
  const flows: FlowRecord[] = [];
  const q = new Quality('test.pcap', 'unknown');
  const sink: FlowSink = {
    flow: (f) => {
      q.ok();
      flows.push(f);
    },
    skip: (reason) => q.skip(reason),
    note: (reason) => q.note(reason),
  };
  const state = new NetflowState(sink);
  const dec = new CaptureFlowDecoder(q, state, sink, mode, opts);
  for (let o = 0; o < file.length; o += chunk) dec.push(file.subarray(o, o + chunk));
  const report = dec.end();
  state.flush();
  return { flows, report, quality: q.report(), failure: dec.failure };
}

const total = (fs: FlowRecord[], k: 'bytes' | 'packets'): number =>
  fs.reduce((a, f) => a + f[k] + ((k === 'bytes' ? f.reverseBytes : f.reversePackets) ?? 0), 0);

const udp = (sport: number, dport: number, payload: Buffer): Buffer => {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
};
const udpFrame = (src: string, dst: string, sport: number, dport: number, n: number): Buffer =>
  ethernet(0x0800, ipv4Packet(src, dst, 17, udp(sport, dport, Buffer.alloc(n))));
const S = 1_700_000_000e6;

test('fixture captures: totals equal softflowd → nfcapd → nfdump (recorded once)', () => {
  // nfdump -R DIR -I over softflowd -r FILE -v 9 (unidirectional records: twice as many).
  const reference: [string, { records: number; packets: number; bytes: number }][] = [
    ['http-lo.pcap', { records: 8, packets: 47, bytes: 24090 }],
    ['http-lo.pcapng', { records: 8, packets: 46, bytes: 24038 }],
    ['http-lo-snap.pcap', { records: 8, packets: 46, bytes: 24038 }],
  ];
  for (const [name, ref] of reference) {
    const { flows, report, quality } = decode(readFileSync(new URL(name, FIXTURES)));
    assert.equal(total(flows, 'packets'), ref.packets, name);
    assert.equal(total(flows, 'bytes'), ref.bytes, name);
    // Each bidirectional record is two of softflowd's (every connection has replies).
    assert.equal(flows.length * 2, ref.records, name);
    assert.equal(report.content, 'packets');
    assert.equal(quality.format, 'capture');
    for (const f of flows) {
      assert.equal(f.source, 'capture');
      assert.equal(f.proto, 6);
      assert.equal(f.dstPort, 18080, 'the client initiated');
      assert.equal(f.endReason, 'end-of-flow', 'FIN both ways');
      assert.ok(f.tcpFlags! & 0x02 && f.tcpFlags! & 0x01);
      assert.ok(f.reversePackets! > 0);
      assert.ok(f.startUs! <= f.endUs!);
    }
  }
});

test('any chunking gives the same records', () => {
  const file = readFileSync(new URL('http-lo.pcap', FIXTURES));
  const whole = decode(file).flows;
  for (const chunk of [1, 7, 100, 1500, 4096])
    assert.deepEqual(decode(file, {}, 'auto', chunk).flows, whole, `chunk ${chunk}`);
});

test('timeouts: idle splits, active restarts with the same initiator', () => {
  const frames: FrameRec[] = [
    { tsUs: S, data: udpFrame('10.0.0.1', '10.0.0.2', 5000, 53, 10) },
    { tsUs: S + 1e6, data: udpFrame('10.0.0.2', '10.0.0.1', 53, 5000, 30) },
    // 20 s of quiet > idle 15 s: a new record, whose first packet comes from the server.
    { tsUs: S + 21e6, data: udpFrame('10.0.0.2', '10.0.0.1', 53, 5000, 30) },
  ];
  const { flows } = decode(pcapFile(frames));
  assert.equal(flows.length, 2);
  assert.deepEqual(
    flows.map((f) => [f.src, f.srcPort, f.packets, f.reversePackets, f.bytes, f.endReason]),
    [
      ['10.0.0.1', 5000, 1, 1, 38, 'idle-timeout'],
      ['10.0.0.2', 53, 1, 0, 58, 'forced-end'],
    ],
  );

  // A conversation with a packet every second for 10 s, active timeout 4 s: 3 records of the
  // same conversation, same direction, every packet counted once.
  const steady: FrameRec[] = [];
  for (let i = 0; i < 10; i++)
    steady.push({
      tsUs: S + i * 1e6,
      data:
        i % 2
          ? udpFrame('10.0.0.9', '10.0.0.3', 443, 40000, 100)
          : udpFrame('10.0.0.3', '10.0.0.9', 40000, 443, 10),
    });
  const act = decode(pcapFile(steady), { activeTimeoutS: 4 }).flows;
  assert.deepEqual(
    act.map((f) => [f.src, f.packets, f.reversePackets, f.endReason]),
    [
      ['10.0.0.3', 2, 2, 'active-timeout'],
      ['10.0.0.3', 2, 2, 'active-timeout'],
      ['10.0.0.3', 1, 1, 'forced-end'],
    ],
  );
  assert.equal(total(act, 'packets'), 10);
});

test('TCP: RST ends the flow after the end timeout; a new SYN on the same ports is a new record', () => {
  const c = { src: '10.1.0.1', dst: '10.1.0.2', sport: 40001, dport: 8080 };
  const r = { src: '10.1.0.2', dst: '10.1.0.1', sport: 8080, dport: 40001 };
  const frames: FrameRec[] = [
    { tsUs: S, data: tcpFrame({ ...c, seq: 1, flags: 'S' }) },
    { tsUs: S + 100, data: tcpFrame({ ...r, seq: 9, ack: 2, flags: 'SA' }) },
    { tsUs: S + 200, data: tcpFrame({ ...c, seq: 2, ack: 10, flags: 'A', payload: 'GET' }) },
    { tsUs: S + 300, data: tcpFrame({ ...r, seq: 10, flags: 'R' }) },
    // Within the 2 s end timeout: still the same record.
    { tsUs: S + 1e6, data: tcpFrame({ ...c, seq: 5, flags: 'A' }) },
    // A new connection reusing the ports.
    { tsUs: S + 1.5e6, data: tcpFrame({ ...c, seq: 100, flags: 'S' }) },
    { tsUs: S + 1.6e6, data: tcpFrame({ ...r, seq: 900, ack: 101, flags: 'SA' }) },
  ];
  const { flows } = decode(pcapFile(frames));
  assert.deepEqual(
    flows.map((f) => [f.src, f.packets, f.reversePackets, f.tcpFlags, f.endReason]),
    [
      ['10.1.0.1', 3, 2, 0x02 | 0x10 | 0x04, 'end-of-flow'],
      ['10.1.0.1', 1, 1, 0x02 | 0x10, 'forced-end'],
    ],
  );
  // Only the reply seen (capture started mid-handshake): the SYN+ACK's receiver initiated.
  const late = decode(pcapFile([frames[1]!, frames[2]!])).flows;
  assert.equal(late[0]!.src, '10.1.0.1');
  assert.equal(late[0]!.dstPort, 8080);
});

test('VLAN, IPv6, ICMP type/code, fragments reassembled, other protocols', () => {
  const icmp = Buffer.from('0800f7ff00010001', 'hex'); // echo request
  const icmpReply = Buffer.from('0000ffff00010001', 'hex');
  const big = udp(7000, 7001, Buffer.alloc(100, 1));
  const frames: FrameRec[] = [
    { tsUs: S, data: ethernet(0x0800, ipv4Packet('10.2.0.1', '10.2.0.2', 1, icmp), [100]) },
    { tsUs: S + 10, data: ethernet(0x0800, ipv4Packet('10.2.0.2', '10.2.0.1', 1, icmpReply)) },
    {
      tsUs: S + 20,
      data: ethernet(
        0x86dd,
        ipv6Packet('2001:db8::1', '2001:db8::2', 6, tcpSegment({ seq: 1, flags: 'S', dport: 443 })),
      ),
    },
    // One UDP datagram in two fragments: 56 + 52 bytes of payload.
    {
      tsUs: S + 30,
      data: ethernet(
        0x0800,
        ipv4Packet('10.3.0.1', '10.3.0.2', 17, big.subarray(0, 56), { id: 7, more: true }),
      ),
    },
    {
      tsUs: S + 40,
      data: ethernet(
        0x0800,
        ipv4Packet('10.3.0.1', '10.3.0.2', 17, big.subarray(56), { id: 7, fragOff: 56 }),
      ),
    },
    {
      tsUs: S + 50,
      data: ethernet(0x0800, ipv4Packet('10.4.0.1', '10.4.0.2', 47, Buffer.alloc(24))),
    },
    { tsUs: S + 60, data: ethernet(0x0806, Buffer.alloc(28)) }, // ARP
  ];
  const { flows, report, quality } = decode(pcapFile(frames));
  const row = (f: FlowRecord) => [f.proto, f.src, f.dst, f.srcPort, f.dstPort, f.packets, f.bytes];
  assert.deepEqual(flows.map(row), [
    [1, '10.2.0.1', '10.2.0.2', 0, 0x0800, 1, 28],
    [1, '10.2.0.2', '10.2.0.1', 0, 0, 1, 28],
    [6, '2001:db8::1', '2001:db8::2', 40000, 443, 1, 60],
    [17, '10.3.0.1', '10.3.0.2', 7000, 7001, 1, 128],
    [47, '10.4.0.1', '10.4.0.2', 0, 0, 1, 44],
  ]);
  assert.equal(report.nonIp, 1);
  assert.equal(report.fragments, 2);
  assert.equal(report.fragmentsIncomplete, 0);
  assert.equal(quality.skipped, 0);
  assert.equal(quality.skippedByReason['not-ip'], 1);
});

test('a full flow table ends the least recently seen flow early; nothing is lost', () => {
  const frames: FrameRec[] = [];
  for (let i = 0; i < 200; i++)
    frames.push({ tsUs: S + i, data: udpFrame('10.5.0.1', '10.5.0.2', 10000 + (i % 50), 53, 4) });
  const { flows, report, quality } = decode(pcapFile(frames), { maxFlows: 8 });
  assert.equal(total(flows, 'packets'), 200);
  assert.equal(report.packetFlows.maxLive, 8);
  assert.equal(report.packetFlows.ended['lack-of-resources'], 200 - 8);
  assert.equal(quality.skippedByReason['flow-table-full'], 1);
  assert.equal(flows.length, report.packetFlows.records);
});

test('a capture with NetFlow exports and other traffic: both kept, reported as mixed', () => {
  const v5 = Buffer.alloc(24 + 48);
  v5.writeUInt16BE(5, 0);
  v5.writeUInt16BE(1, 2);
  v5.writeUInt32BE(1_700_000_000, 8);
  Buffer.from([192, 0, 2, 1, 192, 0, 2, 2]).copy(v5, 24);
  v5.writeUInt32BE(3, 24 + 16); // packets
  v5.writeUInt32BE(300, 24 + 20); // bytes
  v5[24 + 38] = 6;
  // A DNS answer whose id is 5: not an export datagram.
  const dns = Buffer.alloc(40);
  dns.writeUInt16BE(5, 0);
  const frames: FrameRec[] = [
    {
      tsUs: S,
      data: ethernet(0x0800, ipv4Packet('10.9.0.1', '10.9.0.2', 17, udp(4000, 2055, v5))),
    },
    {
      tsUs: S + 1,
      data: ethernet(0x0800, ipv4Packet('10.9.0.3', '10.9.0.4', 17, udp(53, 5353, dns))),
    },
  ];
  const file = pcapFile(frames);
  const auto = decode(file);
  assert.deepEqual(
    auto.flows.map((f) => [f.source, f.src, f.bytes, f.exporter]),
    [
      ['netflow-v5', '192.0.2.1', 300, '10.9.0.1'],
      ['capture', '10.9.0.3', 68, null],
    ],
  );
  assert.equal(auto.report.content, 'mixed');
  assert.equal(auto.quality.format, 'capture+netflow');
  assert.equal(auto.quality.skippedByReason['mixed-capture'], 1);

  const exports = decode(file, {}, 'exports');
  assert.deepEqual(
    exports.flows.map((f) => f.source),
    ['netflow-v5'],
  );
  assert.equal(exports.quality.skipped, 1, 'the DNS datagram is offered and skipped');
  const packets = decode(file, {}, 'packets');
  assert.deepEqual(
    packets.flows.map((f) => [f.source, f.dstPort]),
    [
      ['capture', 2055],
      ['capture', 5353],
    ],
  );
});

test('random and truncated bytes never throw; records and skips add up', () => {
  const file = readFileSync(new URL('http-lo.pcap', FIXTURES));
  for (let cut = 0; cut < file.length; cut += 37) {
    const r = decode(file.subarray(0, cut));
    assert.equal(r.quality.seen, r.quality.decoded + r.quality.skipped);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const b = Buffer.concat([file.subarray(0, 24), Buffer.from(bytes)]);
      const r = decode(b);
      return r.quality.seen === r.quality.decoded + r.quality.skipped;
    }),
    { numRuns: 300, interruptAfterTimeLimit: 3000 },
  );
});
