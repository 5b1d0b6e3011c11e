// Live collector load: NetFlow v9 export datagrams sent over loopback to `mlscope flows --listen`
// (the real CLI, a child process), at a fixed record rate:
//   node --import tsx bench/flows-collector.ts [records/s=50000] [seconds=10] [template-every=1]
// Each datagram carries 20–30 data records (generated here), with the template set in front of the
// data set in every `template-every`-th datagram (1 = every datagram, as asked; the first always).
// Prints records sent, datagrams/records the collector received and decoded, kernel drops, and the
// loss. Target: zero loss at 50k records/s. Exit code 1 when records were lost.

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

const RATE = Number(process.argv[2] ?? 50_000);
const SECONDS = Number(process.argv[3] ?? 10);
const TEMPLATE_EVERY = Math.max(1, Number(process.argv[4] ?? 1));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATE_ID = 256;
const SOURCE_ID = 7;

// v9 template: srcV4 dstV4 srcPort dstPort proto tcpFlags tos inIf outIf bytes(4) packets(4)
// first(4) last(4) — sysUptime-relative switched times, as routers send them.
const FIELDS: [number, number][] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [5, 1],
  [10, 2],
  [14, 2],
  [1, 4],
  [2, 4],
  [22, 4],
  [21, 4],
];
const REC_LEN = FIELDS.reduce((a, f) => a + f[1], 0);

const TEMPLATE_SET = ((): Buffer => {
  const b = Buffer.alloc(8 + FIELDS.length * 4);
  b.writeUInt16BE(0, 0); // v9 template flowset
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(TEMPLATE_ID, 4);
  b.writeUInt16BE(FIELDS.length, 6);
  FIELDS.forEach(([id, len], i) => {
    b.writeUInt16BE(id, 8 + i * 4);
    b.writeUInt16BE(len, 10 + i * 4);
  });
  return b;
})();

let seq = 0;
let recordNo = 0;
let bytesSent = 0;
let packetsSent = 0;
const t0 = Date.now();

/** One v9 datagram: header, optional template flowset, one data flowset of `n` records. */
function datagram(n: number, withTemplate: boolean): Buffer {
  const dataLen = 4 + n * REC_LEN;
  const pad = (4 - (dataLen % 4)) % 4;
  const tpl = withTemplate ? TEMPLATE_SET.length : 0;
  const b = Buffer.alloc(20 + tpl + dataLen + pad);
  const now = Date.now();
  const uptime = now - t0 + 1_000_000;
  b.writeUInt16BE(9, 0);
  b.writeUInt16BE(n + (withTemplate ? 1 : 0), 2);
  b.writeUInt32BE(uptime >>> 0, 4);
  b.writeUInt32BE(Math.floor(now / 1000), 8);
  b.writeUInt32BE(seq++ >>> 0, 12);
  b.writeUInt32BE(SOURCE_ID, 16);
  let p = 20;
  if (withTemplate) {
    TEMPLATE_SET.copy(b, p);
    p += tpl;
  }
  b.writeUInt16BE(TEMPLATE_ID, p);
  b.writeUInt16BE(dataLen + pad, p + 2);
  p += 4;
  for (let i = 0; i < n; i++, p += REC_LEN) {
    const k = recordNo++;
    const bytes = 40 + (k % 1460);
    const packets = 1 + (k % 7);
    b.writeUInt32BE((0x0a000000 + (k % 5000)) >>> 0, p);
    b.writeUInt32BE((0xc0a80000 + (k % 300)) >>> 0, p + 4);
    b.writeUInt16BE(1024 + (k % 50000), p + 8);
    b.writeUInt16BE([443, 80, 8080, 50051][k % 4]!, p + 10);
    b[p + 12] = k % 5 === 0 ? 17 : 6;
    b[p + 13] = 0x18;
    b[p + 14] = 0;
    b.writeUInt16BE(1, p + 15);
    b.writeUInt16BE(2, p + 17);
    b.writeUInt32BE(bytes, p + 19);
    b.writeUInt32BE(packets, p + 23);
    b.writeUInt32BE((uptime - 500) >>> 0, p + 27);
    b.writeUInt32BE(uptime >>> 0, p + 31);
    bytesSent += bytes;
    packetsSent += packets;
  }
  return b;
}

function num(re: RegExp, text: string): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const cli = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "import { main } from './src/cli/main.js'; process.exitCode = await main(process.argv.slice(1));",
      'flows',
      '--listen',
      '0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((r) => cli.once('exit', (c) => r(c ?? -1)));
  const start = Date.now();
  while (!/listening on udp 127\.0\.0\.1:\d+/.test(err)) {
    if (Date.now() - start > 30_000 || cli.exitCode !== null)
      throw new Error(`collector did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = num(/listening on udp 127\.0\.0\.1:(\d+)/, err);

  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.connect(port, '127.0.0.1', r));
  let sentRecords = 0;
  let sentDatagrams = 0;
  let sendErrors = 0;
  let inFlight = 0;
  let queued = 0;
  const total = Math.round(RATE * SECONDS);
  const begin = performance.now();
  // Paced: every ~1 ms send what the rate allows so far, 20–30 records per datagram.
  while (queued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - begin) / 1000) * RATE));
    while (queued < due) {
      const n = Math.min(total - queued, 20 + ((sentDatagrams + inFlight) % 11));
      const d = datagram(n, (sentDatagrams + inFlight) % TEMPLATE_EVERY === 0);
      queued += n;
      inFlight++;
      sock.send(d, (e) => {
        inFlight--;
        if (e) sendErrors++;
        else {
          sentDatagrams++;
          sentRecords += n;
        }
      });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  const sendSeconds = (performance.now() - begin) / 1000;
  sock.close();

  cli.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`collector exited ${code}: ${err}`);
  const received = num(/datagrams received (\d+)/, out);
  const decodedDatagrams = num(/ decoded (\d+)/, out);
  const records = num(/^records (\d+)/m, out);
  const bytes = num(/^records \d+ {3}bytes (\d+)/m, out);
  const packets = num(/ packets (\d+)/, out);
  const drops = /kernel drops (\S+)/.exec(out)?.[1] ?? '?';
  const buffer = num(/receive buffer (\d+) B/, out);
  const lost = sentRecords - records;
  console.log(
    [
      `sent       ${sentRecords} records in ${sentDatagrams} datagrams over ${sendSeconds.toFixed(2)} s ` +
        `(${Math.round(sentRecords / sendSeconds)} records/s, ${sendErrors} send errors, ` +
        `template in every ${TEMPLATE_EVERY === 1 ? '' : `${TEMPLATE_EVERY}th `}datagram)`,
      `collector  received ${received} datagrams, decoded ${decodedDatagrams}; ` +
        `${records} records, ${bytes} bytes, ${packets} packets; kernel drops ${drops}; ` +
        `receive buffer ${buffer} B`,
      `expected   ${bytesSent} bytes, ${packetsSent} packets`,
      `loss       ${lost} records (${((lost / Math.max(1, sentRecords)) * 100).toFixed(3)} %), ` +
        `${sentDatagrams - received} datagrams — target 0 at ${RATE} records/s: ` +
        (lost === 0 && bytes === bytesSent && packets === packetsSent ? 'PASS' : 'FAIL'),
    ].join('\n'),
  );
  if (lost !== 0 || bytes !== bytesSent || packets !== packetsSent) process.exitCode = 1;
}

await main();
