// bench:investigate — `mlscope investigate` on a bundle with a ~220 MiB capture against
// `tshark -Y tcp.analysis.retransmission` alone on the same capture, in one run.
// usage: npm run bench:investigate [-- <bundle dir>]
// Without an argument it uses .bench/bench-traffic/bundle (made by `npm run bench:pcap`, or by
// `mlscope lab bench-traffic --out .bench/bench-traffic`). Target: investigate takes less time.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bundle = process.argv[2] ?? resolve(root, '.bench/bench-traffic/bundle');
const capture = join(bundle, 'cap.pcap');
if (!existsSync(capture)) {
  console.error(
    `bench:investigate: ${capture} not found; run npm run bench:pcap first (it makes it)`,
  );
  process.exit(1);
}
if (!existsSync(resolve(root, 'dist/cli/main.js'))) {
  console.error('bench:investigate: build first (npm run build)');
  process.exit(1);
}

function timed(cmd: string, argv: string[]): { seconds: number; maxRssMb: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...argv], {
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  const last = r.stderr.trim().split('\n').pop()!;
  const [sec, kb] = last.split(' ').map(Number);
  if (r.status !== 0 && r.status !== 1)
    throw new Error(`${cmd} exited with ${r.status}: ${r.stderr.slice(0, 500)}`);
  return { seconds: sec!, maxRssMb: kb! / 1024, stdout: r.stdout };
}

// the bin through its shebang, as `npx mlscope` runs it (with the runtime's V8 flags)
const inv = timed(resolve(root, 'bin/mlscope.js'), ['investigate', '--json', bundle]);
const doc = JSON.parse(inv.stdout) as { requests: { total: number; slow: number } };
console.log(
  `mlscope investigate: ${inv.seconds.toFixed(2)} s, peak RSS ${inv.maxRssMb.toFixed(0)} MiB, ${doc.requests.total} requests, ${doc.requests.slow} slow`,
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
console.log(
  `tshark -Y tcp.analysis.retransmission: ${ts.seconds.toFixed(2)} s, peak RSS ${ts.maxRssMb.toFixed(0)} MiB`,
);
const ok = inv.seconds < ts.seconds;
console.log(
  `investigate took ${((100 * inv.seconds) / ts.seconds).toFixed(0)} % of tshark's time (target < 100 %): ${ok ? 'ok' : 'SLOWER'}`,
);
process.exit(ok ? 0 : 1);
