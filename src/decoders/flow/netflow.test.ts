import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NetflowState, decodeNetflowPacket } from './netflow.js';
import type { FlowRecord, FlowSink } from '../../model/flow.js';

/** Hex with whitespace and `# comments` allowed. */
function hex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

class Collect implements FlowSink {
  flows: FlowRecord[] = [];
  skips: string[] = [];
  notes: string[] = [];
  flow(f: FlowRecord): void {
    this.flows.push(f);
  }
  skip(reason: string): void {
    this.skips.push(reason);
  }
  note(reason: string): void {
    this.notes.push(reason);
  }
}

const V5 = hex(`
  0005 0001            # version 5, count 1
  00002710             # sysUptime 10000 ms
  5f5e1000 00000000    # unixSecs 1600000000, nsecs 0
  00000001 00 00 0064  # sequence, engine type/id, sampling: mode 0 interval 100
  0a000001 0a000002 00000000   # src 10.0.0.1 dst 10.0.0.2 nexthop
  0003 0004            # input 3, output 4
  0000000a 000003e8    # 10 packets, 1000 octets
  00001388 00002328    # first 5000 ms, last 9000 ms uptime
  1f90 01bb 00 12 06 00 # sport 8080, dport 443, pad, flags SYN|ACK, proto 6, tos 0
  0000 0000 18 18 0000  # AS, masks, pad
`);

test('v5: one record, sampling interval from the header applied', () => {
  const c = new Collect();
  const st = new NetflowState(c);
  const used = decodeNetflowPacket('192.0.2.1', 0, V5, 0, V5.length, st);
  assert.equal(used, 72);
  assert.equal(c.flows.length, 1);
  const f = c.flows[0]!;
  assert.deepEqual(
    [f.src, f.dst, f.srcPort, f.dstPort, f.proto, f.tcpFlags, f.inIf, f.outIf],
    ['10.0.0.1', '10.0.0.2', 8080, 443, 6, 0x12, 3, 4],
  );
  assert.equal(f.packets, 1000);
  assert.equal(f.bytes, 100000);
  assert.equal(f.samplingRate, 100);
  // boot = 1600000000000 - 10000 ms; first = boot + 5000
  assert.equal(f.startUs, (1_600_000_000_000 - 5000) * 1000);
  assert.equal(f.endUs, (1_600_000_000_000 - 1000) * 1000);
  assert.equal(f.exporter, '192.0.2.1');
});

// v9: template 256 (src, dst, sport, dport, proto, bytes, pkts, first, last), then a data set.
const V9_TEMPLATE = `
  0000 002c           # set 0 (template), length 44
  0100 0009           # template 256, 9 fields
  0008 0004 000c 0004 # src v4, dst v4
  0007 0002 000b 0002 # sport, dport
  0004 0001           # proto
  0001 0004 0002 0004 # bytes, packets
  0016 0004 0015 0004 # first switched, last switched
`;
const V9_DATA = `
  0100 0024           # set 256, length 36 (1 record of 29 bytes + 3 pad)
  c0a80001 c0a80002 d431 0050 11
  00000200 00000004 00001000 00002000
  000000
`;
function v9(sets: string): Uint8Array {
  return hex(`
    0009 0002          # version 9, count
    00010000           # sysUptime 65536 ms
    65000000           # unixSecs
    00000007 00000001  # sequence, source id 1
    ${sets}`);
}

test('v9: template then data in one datagram', () => {
  const c = new Collect();
  const st = new NetflowState(c);
  const pkt = v9(V9_TEMPLATE + V9_DATA);
  decodeNetflowPacket('192.0.2.9', 0, pkt, 0, pkt.length, st);
  assert.deepEqual(c.skips, []);
  assert.equal(c.flows.length, 1);
  const f = c.flows[0]!;
  assert.deepEqual(
    [f.src, f.dst, f.srcPort, f.dstPort, f.proto, f.bytes, f.packets],
    ['192.168.0.1', '192.168.0.2', 54321, 80, 17, 512, 4],
  );
  assert.equal(f.domainId, 1);
  const bootMs = 0x65000000 * 1000 - 65536;
  assert.equal(f.startUs, (bootMs + 0x1000) * 1000);
  assert.equal(f.endUs, (bootMs + 0x2000) * 1000);
});

test('v9: data before its template is buffered and replayed; never-seen templates counted at flush', () => {
  const c = new Collect();
  const st = new NetflowState(c);
  const data = v9(V9_DATA);
  decodeNetflowPacket('192.0.2.9', 0, data, 0, data.length, st);
  assert.equal(c.flows.length, 0);
  assert.equal(st.pendingSets, 1);
  const tpl = v9(V9_TEMPLATE);
  decodeNetflowPacket('192.0.2.9', 0, tpl, 0, tpl.length, st);
  assert.equal(c.flows.length, 1);
  assert.equal(st.stats.pendingReplayed, 1);
  // Another exporter's data does not use that template.
  decodeNetflowPacket('192.0.2.10', 0, data, 0, data.length, st);
  st.flush();
  assert.deepEqual(c.skips, ['no-template']);
});

test('v9: template re-assignment replaces the layout', () => {
  const c = new Collect();
  const st = new NetflowState(c);
  const a = v9(V9_TEMPLATE);
  decodeNetflowPacket('x', 0, a, 0, a.length, st);
  // Template 256 redefined: dst first, then src (8 bytes per record).
  const b = v9(`0000 0010 0100 0002 000c 0004 0008 0004
                0100 000c 0a000009 0a000008`);
  decodeNetflowPacket('x', 0, b, 0, b.length, st);
  assert.equal(st.stats.templatesReplaced, 1);
  assert.equal(c.flows.length, 1);
  assert.equal(c.flows[0]!.src, '10.0.0.8');
  assert.equal(c.flows[0]!.dst, '10.0.0.9');
});

// IPFIX: template 300 with an enterprise field (skipped), a variable-length field, and an options
// template 301 (scope selectorId; samplingSize/samplingPopulation) that sets rate 1/10.
const IPFIX = hex(`
  000a 0000            # version 10, length (patched below)
  65000000 00000001 00000005   # export time, sequence, observation domain 5
  0002 0024            # template set, length 36
  012c 0006            # template 300, 6 fields
  001b 0010            # sourceIPv6Address
  001c 0010            # destinationIPv6Address
  8001 0004 00007a69   # enterprise field 1 (PEN 31337), 4 bytes
  0052 ffff            # interfaceName (82), variable length
  0001 0008            # octetDeltaCount
  012e 0004            # selectorId (302)
  0003 0018            # options template set, length 24 (22 + 2 padding)
  012d 0003 0001       # template 301, 3 fields, 1 scope
  012e 0004            # scope selectorId
  0135 0004 0136 0004  # samplingSize (309), samplingPopulation (310)
  0000                 # padding
  012d 0010            # data set 301, length 16
  00000007 00000001 0000000a   # selector 7: 1 of 10
  012c 0038            # data set 300, length 56 (1 record of 52 bytes)
  20010db8000000000000000000000001
  20010db8000000000000000000000002
  deadbeef
  03 657468            # "eth"
  0000000000000064     # 100 octets
  00000007             # selector 7
`);
new DataView(IPFIX.buffer).setUint16(2, IPFIX.length);

test('ipfix: enterprise and variable-length fields, options sampling applied', () => {
  const c = new Collect();
  const st = new NetflowState(c);
  const used = decodeNetflowPacket('2001:db8::ff', 0, IPFIX, 0, IPFIX.length, st);
  assert.equal(used, IPFIX.length);
  assert.deepEqual(c.skips, []);
  assert.equal(st.stats.optionsRecords, 1);
  assert.equal(c.flows.length, 1);
  const f = c.flows[0]!;
  assert.equal(f.src, '2001:db8::1');
  assert.equal(f.dst, '2001:db8::2');
  assert.equal(f.samplingRate, 10);
  assert.equal(f.bytes, 1000);
  assert.equal(f.domainId, 5);
  assert.equal(f.source, 'ipfix');
});

test('ipfix: template withdrawal', () => {
  const c = new Collect();
  const st = new NetflowState(c);
  decodeNetflowPacket('e', 0, IPFIX, 0, IPFIX.length, st);
  const w = hex(`000a 0018 65000000 00000002 00000005  0002 0008 012c 0000`);
  decodeNetflowPacket('e', 0, w, 0, w.length, st);
  assert.equal(st.stats.templatesWithdrawn, 1);
});

function accountingHolds(pkts: Uint8Array[]): void {
  const c = new Collect();
  const st = new NetflowState(c, { maxPendingSets: 4 });
  for (const p of pkts) decodeNetflowPacket('t', 0, p, 0, p.length, st);
  st.flush();
  // Nothing thrown; every outcome is a flow or a counted skip.
  assert.ok(c.flows.length + c.skips.length >= 0);
}

test('truncation at every prefix never throws', () => {
  for (const whole of [V5, v9(V9_TEMPLATE + V9_DATA), IPFIX]) {
    for (let n = 0; n <= whole.length; n++) {
      const c = new Collect();
      const st = new NetflowState(c);
      const part = whole.subarray(0, n);
      decodeNetflowPacket('t', 0, part, 0, part.length, st);
      st.flush();
      // offsets inside a larger buffer with `end` short of it behave the same
      decodeNetflowPacket('t', 0, whole, 0, n, st);
      st.flush();
    }
  }
});

test('random bytes never throw (time-boxed)', () => {
  const prefix = fc.constantFrom(hex('0005'), hex('0009'), hex('000a'));
  fc.assert(
    fc.property(prefix, fc.uint8Array({ maxLength: 600 }), (p, body) => {
      const b = new Uint8Array(p.length + body.length);
      b.set(p);
      b.set(body, p.length);
      accountingHolds([b, IPFIX, b]);
    }),
    { numRuns: 3000, interruptAfterTimeLimit: 4000 },
  );
  // Mutations of valid datagrams reach deeper code.
  fc.assert(
    fc.property(
      fc.constantFrom(V5, IPFIX, v9(V9_TEMPLATE + V9_DATA)),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      (base, muts) => {
        const b = base.slice();
        for (const [i, v] of muts) b[i % b.length] = v;
        accountingHolds([b]);
      },
    ),
    { numRuns: 3000, interruptAfterTimeLimit: 4000 },
  );
});
