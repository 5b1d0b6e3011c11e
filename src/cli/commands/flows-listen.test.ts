// `mlscope flows --listen`: NetFlow v9 datagrams over loopback to the in-process collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { flowsCommand } from './flows.js';
import { sink } from './io.test-util.js';

/** v9 datagram: optional template 256 (srcV4 dstV4 srcPort dstPort proto bytes packets), data set `setId`. */
function v9(withTemplate: boolean, setId: number, records: number[][]): Buffer {
  const tpl = Buffer.alloc(4 + 4 + 7 * 4);
  tpl.writeUInt16BE(0, 0);
  tpl.writeUInt16BE(tpl.length, 2);
  tpl.writeUInt16BE(256, 4);
  tpl.writeUInt16BE(7, 6);
  [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [1, 4],
    [2, 4],
  ].forEach(([id, len], i) => {
    tpl.writeUInt16BE(id!, 8 + i * 4);
    tpl.writeUInt16BE(len!, 10 + i * 4);
  });
  const data = Buffer.alloc(4 + records.length * 21);
  data.writeUInt16BE(setId, 0);
  data.writeUInt16BE(data.length, 2);
  records.forEach(([src, dport, bytes, packets], i) => {
    const p = 4 + i * 21;
    data.writeUInt32BE(src!, p);
    data.writeUInt32BE(0x7f000001, p + 4);
    data.writeUInt16BE(40000, p + 8);
    data.writeUInt16BE(dport!, p + 10);
    data[p + 12] = 6;
    data.writeUInt32BE(bytes!, p + 13);
    data.writeUInt32BE(packets!, p + 17);
  });
  const h = Buffer.alloc(20);
  h.writeUInt16BE(9, 0);
  h.writeUInt16BE(records.length + (withTemplate ? 1 : 0), 2);
  h.writeUInt32BE(1000, 4);
  h.writeUInt32BE(1_700_000_000, 8);
  h.writeUInt32BE(1, 16);
  return Buffer.concat(withTemplate ? [h, tpl, data] : [h, data]);
}

test('flows --listen --duration --json: records from v9 datagrams, collector counters', async () => {
  const out = sink();
  const err = sink();
  const run = flowsCommand.run(['--listen', '0', '--duration', '1.5', '--json'], {
    stdout: out.w,
    stderr: err.w,
    isTty: false,
  });
  const end = Date.now() + 5000;
  let m: RegExpExecArray | null = null;
  while (!(m = /listening on udp 127\.0\.0\.1:(\d+)/.exec(err.text())) && Date.now() < end)
    await new Promise((r) => setTimeout(r, 10));
  assert.ok(m, err.text());
  const port = Number(m[1]);
  const s = createSocket('udp4');
  const datagrams = [
    v9(true, 256, [
      [0x0a000001, 443, 1000, 10],
      [0x0a000002, 80, 500, 5],
    ]),
    v9(false, 256, [[0x0a000003, 443, 20, 1]]),
    v9(false, 300, [[0x0a000004, 443, 1, 1]]), // template 300 never comes
    Buffer.from('hello'),
    Buffer.from([0, 0, 0, 5, 0, 0, 0, 1]), // sFlow v5
  ];
  for (const d of datagrams)
    await new Promise<void>((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  s.close();
  assert.equal(await run, 0);
  const doc = JSON.parse(out.text()) as {
    records: number;
    bytes: number;
    packets: number;
    flows: { src: string; exporter: string; source: string }[];
    skipped: Record<string, number>;
    collector: {
      port: number;
      datagrams: number;
      bytes: number;
      decoded: number;
      skipped: Record<string, number>;
      kernelDrops: number | null;
    };
    dataQuality: { source: string; seen: number; decoded: number; skipped: number }[];
  };
  assert.equal(doc.records, 3);
  assert.equal(doc.bytes, 1520);
  assert.equal(doc.packets, 16);
  assert.deepEqual(
    doc.flows.map((f) => f.src),
    ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
  );
  assert.ok(doc.flows.every((f) => f.exporter === '127.0.0.1' && f.source === 'netflow-v9'));
  assert.equal(doc.collector.port, port);
  assert.equal(doc.collector.datagrams, 5);
  assert.equal(
    doc.collector.bytes,
    datagrams.reduce((a, d) => a + d.length, 0),
  );
  assert.equal(doc.collector.decoded, 3);
  assert.deepEqual(doc.collector.skipped, { 'not-netflow': 1, 'sflow-unsupported': 1 });
  if (process.platform === 'linux') assert.equal(doc.collector.kernelDrops, 0);
  assert.deepEqual(doc.skipped, {
    'no-template': 1,
    'not-netflow': 1,
    'sflow-unsupported': 1,
  });
  assert.equal(doc.dataQuality[0]!.source, `udp:127.0.0.1:${port}`);
  for (const q of doc.dataQuality) assert.equal(q.seen, q.decoded + q.skipped);
});

test('flows --listen: text summary ends with the collector lines', async () => {
  const out = sink();
  const err = sink();
  assert.equal(
    await flowsCommand.run(['--listen', '0', '--duration', '0.1'], {
      stdout: out.w,
      stderr: err.w,
      isTty: false,
    }),
    0,
  );
  assert.match(out.text(), /^records 0 {3}bytes 0/);
  assert.match(out.text(), /collector udp 127\.0\.0\.1:\d+ .*\ndatagrams received 0 \(0 bytes\)/);
});

test('flows --listen: usage errors', async () => {
  const io = { stdout: sink().w, stderr: sink().w, isTty: false };
  await assert.rejects(flowsCommand.run(['--listen', '0', 'file.bin'], io), /takes no inputs/);
  await assert.rejects(flowsCommand.run(['--listen', '70000'], io), /UDP port/);
  await assert.rejects(flowsCommand.run(['--listen', 'x'], io), /non-negative number/);
  await assert.rejects(flowsCommand.run(['--duration', '3', 'f.bin'], io), /need --listen/);
});
