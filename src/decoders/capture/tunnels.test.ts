// Tunnels: the same traffic (test/fixtures/capture/http-lo.pcap) wrapped in each overlay a capture
// on a Kubernetes node or a cloud traffic mirror carries must give the same TCP analysis and the
// same HTTP exchanges as the bare capture.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureEngine } from './engine.js';
import { allRecognisers } from '../proto/registry.js';
import type { Exchange } from '../../model/records.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures/capture');
const pcap = readFileSync(join(FIX, 'http-lo.pcap'));
assert.equal(pcap.readUInt32LE(20) & 0xffff, 1, 'the fixture is Ethernet');

/** The fixture's records, as [header, frame]. */
function records(): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  for (let o = 24; o + 16 <= pcap.length;) {
    const incl = pcap.readUInt32LE(o + 8);
    out.push([pcap.subarray(o, o + 16), pcap.subarray(o + 16, o + 16 + incl)]);
    o += 16 + incl;
  }
  return out;
}

function ipv4(proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = 64;
  h[9] = proto;
  h.writeUInt32BE(0x0a000001, 12); // 10.0.0.1 → 10.0.0.2 (the nodes)
  h.writeUInt32BE(0x0a000002, 16);
  return Buffer.concat([h, payload]);
}

function eth(ethertype: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  h.writeUInt16BE(ethertype, 12);
  return Buffer.concat([h, payload]);
}

function udp(dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(40000, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

const WRAPS: Record<string, (frame: Buffer) => Buffer> = {
  vxlan: (f) =>
    eth(0x0800, ipv4(17, udp(4789, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 42, 0]), f])))),
  'vxlan on the Linux port (flannel)': (f) =>
    eth(0x0800, ipv4(17, udp(8472, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 7, 0]), f])))),
  'geneve with an option': (f) =>
    eth(
      0x0800,
      ipv4(
        17,
        udp(6081, Buffer.concat([Buffer.from([1, 0, 0x65, 0x58, 0, 0, 9, 0, 1, 2, 3, 4]), f])),
      ),
    ),
  'gre with a key, Ethernet inside': (f) =>
    eth(0x0800, ipv4(47, Buffer.concat([Buffer.from([0x20, 0, 0x65, 0x58, 0, 0, 0, 5]), f]))),
  'gre, IPv4 inside': (f) =>
    eth(0x0800, ipv4(47, Buffer.concat([Buffer.from([0, 0, 8, 0]), f.subarray(14)]))),
  'erspan II (gre with a sequence number)': (f) =>
    eth(
      0x0800,
      ipv4(47, Buffer.concat([Buffer.from([0x10, 0, 0x88, 0xbe, 0, 0, 0, 1]), Buffer.alloc(8), f])),
    ),
  'ip-in-ip': (f) => eth(0x0800, ipv4(4, f.subarray(14))),
};

function analyse(bytes: Buffer) {
  const xs: Exchange[] = [];
  const e = new CaptureEngine({
    source: 't',
    recognisers: allRecognisers(),
    sink: { exchange: (x) => xs.push(x) },
  });
  e.push(bytes);
  e.end();
  const s = e.summary();
  return {
    tcp: s.tcp,
    http: s.http,
    skipped: s.skipped,
    exchanges: xs.map((x) => `${x.client.ip}:${x.client.port} ${x.method} ${x.path} ${x.status}`),
  };
}

const bare = analyse(pcap);

for (const [name, wrap] of Object.entries(WRAPS)) {
  test(`tunnel: ${name} gives the bare capture's TCP analysis and exchanges`, () => {
    const parts: Buffer[] = [pcap.subarray(0, 24)];
    for (const [hdr, frame] of records()) {
      const w = wrap(frame);
      const h = Buffer.from(hdr);
      h.writeUInt32LE(w.length, 8);
      h.writeUInt32LE(w.length, 12);
      parts.push(h, w);
    }
    const got = analyse(Buffer.concat(parts));
    assert.deepEqual(got, bare);
    assert.equal(got.exchanges.length, 4);
  });
}

test('tunnels nested deeper than the bound, and junk after a tunnel port, do not throw', () => {
  let f = records()[0]![1];
  for (let i = 0; i < 6; i++) f = WRAPS['vxlan']!(f);
  const junk = eth(0x0800, ipv4(17, udp(4789, Buffer.from('not a vxlan header at all'))));
  const parts: Buffer[] = [pcap.subarray(0, 24)];
  for (const w of [f, junk]) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(w.length, 8);
    h.writeUInt32LE(w.length, 12);
    parts.push(h, w);
  }
  const got = analyse(Buffer.concat(parts));
  assert.equal(got.tcp.packets, 0);
});
