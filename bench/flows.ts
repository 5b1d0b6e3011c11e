// Flow decoding throughput, from files, through the same path as `mlscope flows` (FlowIngest):
//   node --import tsx bench/flows.ts [records=1000000] [--pcap CAPTURE…] [--only NAME]
// Generates in a temp dir: an IPFIX payload file (concatenated messages), a pcap of NetFlow v9
// export datagrams (Ethernet/IPv4/UDP), an AWS VPC flow log (v2 default with header), and a
// packet capture (Ethernet/IPv4 TCP and UDP, `records` packets over records/8 conversations,
// interleaved) for flows built from packets; decodes each (best of 3 runs) and prints records/s
// (packets/s for captures) and the process's user CPU time per run. `--pcap` adds real captures
// (e.g. the bench-traffic lab's); `--only` runs the cases whose label contains NAME.
// Target: ≥ 1M records/s each, well over 1M packets/s for packet captures.

import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { FlowIngest } from '../src/ingest/flows.js';

const argv = process.argv.slice(2);
const pcaps: string[] = [];
let only: string | null = null;
const pos: string[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--pcap') pcaps.push(argv[++i]!);
  else if (argv[i] === '--only') only = argv[++i]!;
  else pos.push(argv[i]!);
}
const N = Number(pos[0] ?? 1_000_000);
const PER_PACKET = 30;

// Template: srcV4 dstV4 srcPort dstPort proto tcpFlags tos inIf outIf bytes(8) packets(8) startMs(8) endMs(8)
const FIELDS: [number, number][] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [5, 1],
  [10, 4],
  [14, 4],
  [1, 8],
  [2, 8],
  [152, 8],
  [153, 8],
];
const REC_LEN = FIELDS.reduce((a, f) => a + f[1], 0);

function templateSet(setId: number): Buffer {
  const b = Buffer.alloc(4 + 4 + FIELDS.length * 4);
  b.writeUInt16BE(setId, 0);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(256, 4);
  b.writeUInt16BE(FIELDS.length, 6);
  FIELDS.forEach(([id, len], i) => {
    b.writeUInt16BE(id, 8 + i * 4);
    b.writeUInt16BE(len, 10 + i * 4);
  });
  return b;
}

function dataSet(seed: number, n: number): Buffer {
  const b = Buffer.alloc(4 + n * REC_LEN);
  b.writeUInt16BE(256, 0);
  b.writeUInt16BE(b.length, 2);
  let p = 4;
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    const k = seed * PER_PACKET + i;
    b.writeUInt32BE((0x0a000000 + (k % 5000)) >>> 0, p);
    b.writeUInt32BE((0xc0a80000 + (k % 300)) >>> 0, p + 4);
    b.writeUInt16BE(1024 + (k % 50000), p + 8);
    b.writeUInt16BE([443, 80, 8080, 50051][k % 4]!, p + 10);
    b[p + 12] = 6;
    b[p + 13] = 0x18;
    b[p + 14] = 0;
    b.writeUInt32BE(1, p + 15);
    b.writeUInt32BE(2, p + 19);
    b.writeBigUInt64BE(BigInt(1000 + (k % 9000)), p + 23);
    b.writeBigUInt64BE(BigInt(1 + (k % 20)), p + 31);
    b.writeBigUInt64BE(BigInt(t0 + k), p + 39);
    b.writeBigUInt64BE(BigInt(t0 + k + 500), p + 47);
    p += REC_LEN;
  }
  return b;
}

function ipfixFile(path: string): void {
  const parts: Buffer[] = [];
  for (let s = 0; s * PER_PACKET < N; s++) {
    const sets = s === 0 ? [templateSet(2), dataSet(s, PER_PACKET)] : [dataSet(s, PER_PACKET)];
    const body = Buffer.concat(sets);
    const h = Buffer.alloc(16);
    h.writeUInt16BE(10, 0);
    h.writeUInt16BE(16 + body.length, 2);
    h.writeUInt32BE(1_700_000_000, 4);
    h.writeUInt32BE(s, 8);
    h.writeUInt32BE(1, 12);
    parts.push(h, body);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function v9Pcap(path: string): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  for (let s = 0; s * PER_PACKET < N; s++) {
    const sets = s === 0 ? [templateSet(0), dataSet(s, PER_PACKET)] : [dataSet(s, PER_PACKET)];
    const body = Buffer.concat(sets);
    const h = Buffer.alloc(20);
    h.writeUInt16BE(9, 0);
    h.writeUInt16BE(PER_PACKET, 2);
    h.writeUInt32BE(100_000, 4);
    h.writeUInt32BE(1_700_000_000, 8);
    h.writeUInt32BE(s, 12);
    h.writeUInt32BE(0, 16);
    const payload = Buffer.concat([h, body]);
    const eth = Buffer.alloc(14 + 20 + 8);
    eth.writeUInt16BE(0x0800, 12);
    eth[14] = 0x45;
    eth.writeUInt16BE(20 + 8 + payload.length, 16);
    eth[23] = 17;
    eth.writeUInt32BE(0xc0000201, 26);
    eth.writeUInt32BE(0xc0000264, 30);
    eth.writeUInt16BE(40000, 34);
    eth.writeUInt16BE(2055, 36);
    eth.writeUInt16BE(8 + payload.length, 38);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + s, 0);
    rec.writeUInt32LE(eth.length + payload.length, 8);
    rec.writeUInt32LE(eth.length + payload.length, 12);
    parts.push(rec, eth, payload);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function vpcLog(path: string): void {
  const lines = [
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
  ];
  for (let i = 0; i < N; i++) {
    lines.push(
      `2 123456789010 eni-1235b8ca123456789 10.0.${(i >> 8) & 255}.${i & 255} 172.31.16.${i % 200} ${1024 + (i % 60000)} 443 6 ${1 + (i % 30)} ${100 + (i % 9000)} 1418530010 1418530070 ${i % 13 ? 'ACCEPT' : 'REJECT'} OK`,
    );
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

/** Ethernet/IPv4 packets: TCP and UDP conversations, both directions, interleaved. */
function packetPcap(path: string): void {
  const conv = Math.max(1, Math.floor(N / 8));
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20);
  const FRAME = 14 + 20 + 20 + 26;
  const out = Buffer.alloc(24 + N * (16 + FRAME));
  gh.copy(out, 0);
  let p = 24;
  for (let i = 0; i < N; i++) {
    const c = (i * 7919) % conv; // interleave conversations
    const reply = (i >> 1) & 1;
    const udp = c % 4 === 3;
    out.writeUInt32LE(1_700_000_000 + Math.floor(i / 100_000), p);
    out.writeUInt32LE((i * 10) % 1_000_000, p + 4);
    out.writeUInt32LE(FRAME, p + 8);
    out.writeUInt32LE(FRAME, p + 12);
    const e = p + 16;
    out.writeUInt16BE(0x0800, e + 12);
    const ip = e + 14;
    out[ip] = 0x45;
    out.writeUInt16BE(FRAME - 14, ip + 2);
    out[ip + 8] = 64;
    out[ip + 9] = udp ? 17 : 6;
    const client = (0x0a000000 + (c % 60000)) >>> 0;
    const server = (0xc0a80000 + (c % 97)) >>> 0;
    const cport = 1024 + (c % 50000);
    out.writeUInt32BE(reply ? server : client, ip + 12);
    out.writeUInt32BE(reply ? client : server, ip + 16);
    const l4 = ip + 20;
    out.writeUInt16BE(reply ? 443 : cport, l4);
    out.writeUInt16BE(reply ? cport : 443, l4 + 2);
    if (udp) out.writeUInt16BE(FRAME - 34, l4 + 4);
    else {
      out[l4 + 12] = 0x50;
      out[l4 + 13] = 0x18; // PSH ACK
    }
    p += 16 + FRAME;
  }
  writeFileSync(path, out);
}

async function run(label: string, path: string, unit = 'records'): Promise<void> {
  if (only !== null && !label.includes(only)) return;
  let best = Infinity;
  let bestUser = Infinity;
  let count = 0;
  for (let r = 0; r < 3; r++) {
    let n = 0;
    let bytes = 0;
    const ing = new FlowIngest((f) => {
      n++;
      bytes += f.bytes;
    });
    const u0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await ing.ingest({ name: path, path });
    ing.finish();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    const user = process.cpuUsage(u0).user / 1e6;
    if (dt < best) best = dt;
    if (user < bestUser) bestUser = user;
    const cap = ing.captures[0];
    count = unit === 'packets' && cap ? cap.packetFlows.packets : n;
    if (bytes < 0) throw new Error('unreachable');
  }
  process.stdout.write(
    `${label.padEnd(22)} ${count} ${unit}  ${best.toFixed(3)} s (user ${bestUser.toFixed(3)} s)  ` +
      `${(count / best / 1e6).toFixed(2)} M ${unit}/s\n`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'mlscope-bench-flows-'));
try {
  const ipfix = join(dir, 'bench.ipfix');
  const v9 = join(dir, 'bench-v9.pcap');
  const vpc = join(dir, 'bench-vpc.log');
  ipfixFile(ipfix);
  v9Pcap(v9);
  vpcLog(vpc);
  const packets = join(dir, 'bench-packets.pcap');
  packetPcap(packets);
  await run('IPFIX payload file', ipfix);
  await run('NetFlow v9 pcap', v9);
  await run('AWS VPC flow log', vpc);
  await run('packet capture (gen)', packets, 'packets');
  for (const p of pcaps) await run(`capture ${basename(p)}`, p, 'packets');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
