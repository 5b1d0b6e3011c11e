// bench:pcap — mlscope vs tshark on the same large capture, in one run.
// usage: npm run bench:pcap [-- <capture>] [--make] [--size-mb N]
// Without a capture argument it uses .bench/bench-traffic/bundle/cap.pcap, making it first with
// the lab's bench-traffic scenario (real nginx + wrk + tcpdump; needs root and the lab packages).
// Prints both wall times, both retransmission counts, the throughput ratio and peak memory
// (GNU time's max RSS) of each. Exits 1 if the retransmission counts differ.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const sizeMb = args.includes('--size-mb') ? Number(args[args.indexOf('--size-mb') + 1]) : 220;
let capture = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--size-mb');
const root = resolve(import.meta.dirname, '..');

if (!capture) {
  capture = resolve(root, '.bench/bench-traffic/bundle/cap.pcap');
  if (!existsSync(capture) || args.includes('--make')) {
    console.log(`making a ${sizeMb} MiB capture with the lab (mlscope lab bench-traffic)…`);
    const r = spawnSync(
      process.execPath,
      [
        resolve(root, 'bin/mlscope.js'),
        'lab',
        'bench-traffic',
        '--out',
        resolve(root, '.bench/bench-traffic'),
        '--size-mb',
        String(sizeMb),
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) {
      console.error('bench:pcap: could not make the capture (see above)');
      process.exit(1);
    }
  }
}
if (!existsSync(resolve(root, 'dist/cli/main.js'))) {
  console.error('bench:pcap: build first (npm run build)');
  process.exit(1);
}

interface Timed {
  seconds: number;
  maxRssMb: number;
  stdout: string;
}

function timed(cmd: string, argv: string[]): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...argv], {
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  const lines = r.stderr.trim().split('\n');
  const [sec, kb] = lines[lines.length - 1]!.split(' ').map(Number);
  if (r.status !== 0 && r.status !== 1) {
    console.error(r.stderr);
    throw new Error(`${cmd} exited with ${r.status}`);
  }
  return { seconds: sec!, maxRssMb: kb! / 1024, stdout: r.stdout };
}

const bytes = statSync(capture).size;
console.log(`capture: ${capture} (${(bytes / 1024 / 1024).toFixed(1)} MiB)`);

// the bin through its shebang, as `npx mlscope` runs it (with the runtime's V8 flags)
const ours = timed(resolve(root, 'bin/mlscope.js'), ['pcap', '--json', capture]);
const doc = JSON.parse(ours.stdout) as { packets: number; tcp: { retransmissions: number } };
console.log(
  `mlscope pcap --json: ${ours.seconds.toFixed(2)} s, ${(doc.packets / ours.seconds / 1e6).toFixed(2)} M packets/s, peak RSS ${ours.maxRssMb.toFixed(0)} MiB, ${doc.packets} packets, ${doc.tcp.retransmissions} retransmissions`,
);

const ts = timed('tshark', [
  '-r',
  capture,
  '-Y',
  'tcp.analysis.retransmission',
  '-T',
  'fields',
  '-e',
  'frame.number',
]);
const tsRetrans = ts.stdout.split('\n').filter((l) => l.trim() !== '').length;
console.log(
  `tshark -Y tcp.analysis.retransmission: ${ts.seconds.toFixed(2)} s, peak RSS ${ts.maxRssMb.toFixed(0)} MiB, ${tsRetrans} retransmissions`,
);

const ratio = ts.seconds / ours.seconds;
console.log(
  `ratio: mlscope is ${ratio.toFixed(1)}× tshark's throughput (target ≥ 50×); memory ${ours.maxRssMb.toFixed(0)} MiB (target < 300 MiB)`,
);
console.log(
  `retransmissions: ${doc.tcp.retransmissions === tsRetrans ? 'same' : 'DIFFERENT'} (${doc.tcp.retransmissions} vs ${tsRetrans})`,
);
process.exit(doc.tcp.retransmissions === tsRetrans ? 0 : 1);
