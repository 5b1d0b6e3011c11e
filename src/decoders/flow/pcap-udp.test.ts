import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PcapUdpReader } from './pcap-udp.js';

function pcap(payloads: Buffer[]): Buffer {
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20); // Ethernet
  const parts = [gh];
  payloads.forEach((payload, i) => {
    const h = Buffer.alloc(14 + 20 + 8);
    h.writeUInt16BE(0x8100, 12); // VLAN-tagged frame: tag then IPv4
    const vlan = Buffer.from('0064 0800'.replace(/ /g, ''), 'hex');
    const ip = h.subarray(14);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + payload.length, 2);
    ip[9] = 17;
    ip.writeUInt32BE(0xc0000201, 12);
    ip.writeUInt32BE(0xc0000264, 16);
    ip.writeUInt16BE(40000, 20);
    ip.writeUInt16BE(2055, 22);
    ip.writeUInt16BE(8 + payload.length, 24);
    const frame = Buffer.concat([h.subarray(0, 14), vlan, ip, payload]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(250, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  return Buffer.concat(parts);
}

test('pcap: UDP payloads out of VLAN-tagged Ethernet, any chunking', () => {
  const file = pcap([Buffer.from('hello'), Buffer.from('world!')]);
  for (let cut = 1; cut < file.length; cut++) {
    const got: string[] = [];
    const r = new PcapUdpReader({
      datagram: (d, buf, off, end) =>
        got.push(
          `${d.srcIp}:${d.srcPort}>${d.dstPort} ${d.tsUs} ${Buffer.from(buf.subarray(off, end)).toString()}`,
        ),
      skip: (reason) => got.push(`skip ${reason}`),
    });
    r.push(file.subarray(0, cut));
    r.push(file.subarray(cut));
    r.end();
    assert.equal(r.error, null);
    assert.deepEqual(got, [
      '192.0.2.1:40000>2055 1700000000000250 hello',
      '192.0.2.1:40000>2055 1700000001000250 world!',
    ]);
  }
});

test('pcap: truncation reports an error with offset; random bytes never throw', () => {
  const file = pcap([Buffer.from('hello')]);
  const r = new PcapUdpReader({ datagram: () => {}, skip: () => {} });
  r.push(file.subarray(0, file.length - 2));
  r.end();
  assert.equal(r.error?.offset, 24);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(400), (body, cut) => {
      const b = Buffer.concat([file.subarray(0, 24), Buffer.from(body)]);
      const q = new PcapUdpReader({ datagram: () => {}, skip: () => {} });
      q.push(b.subarray(0, cut));
      q.push(b.subarray(cut));
      q.end();
    }),
    { numRuns: 3000, interruptAfterTimeLimit: 3000 },
  );
});
