// A lab capture exported as NetFlow v9 by a real exporter (softflowd -r), collected twice: by
// mlscope's collector (in process: sources/udp.ts + decoders/flow/netflow.ts, what
// `mlscope flows --listen` runs) and by nfdump's nfcapd, the reference. Writes
//   DIR/flows.nfcapd/   nfcapd's files (read them with `nfdump -R DIR/flows.nfcapd`)
//   DIR/netflow.json    mlscope's collector output ({ records, bytes, packets, flows, collector })
// and returns both sides' totals for the lab's truth. Time: softflowd reads a capture as fast as
// it can (no pacing: ~0.2 s for 230 MB here), so the step takes about a second. Two things make
// it hang instead, both avoided: softflowd 1.1.0 with a control socket blocks in accept() after
// -r (`-c none`), and nfcapd only writes its file at a rotation (-t, default 300 s) or when it
// stops (SIGTERM here).

import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { run, sleep, startDaemon, stopDaemon, waitFor } from './exec.js';
import type { Progress } from './session.js';
import { UdpSource, readSocketDrops, readSocketRxQueue } from '../sources/udp.js';
import { NetflowState, decodeNetflowPacket } from '../decoders/flow/netflow.js';
import { Quality } from '../model/quality.js';
import { flowToJson, type FlowJson, type FlowSink } from '../model/flow.js';

export const NETFLOW_TOOLS = {
  softflowd: '/usr/sbin/softflowd',
  nfcapd: '/usr/bin/nfcapd',
  nfdump: '/usr/bin/nfdump',
} as const;

export interface FlowTotals {
  records: number;
  bytes: number;
  packets: number;
}

export interface NetflowExportResult {
  exporter: string;
  /** nfdump -I over nfcapd's files: the reference. */
  nfdump: FlowTotals;
  /** mlscope's collector. */
  mlscope: FlowTotals & { datagrams: number; decoded: number; kernelDrops: number | null };
  seconds: number;
}

/** The NetFlow tools not installed (the lab then goes on without the export). */
export function missingNetflowTools(): string[] {
  return Object.entries(NETFLOW_TOOLS)
    .filter(([, p]) => !existsSync(p))
    .map(([t]) => t);
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** nfdump's `-I` statistics block as totals. */
export function parseNfdumpStat(text: string): FlowTotals {
  const num = (k: string): number => {
    const m = new RegExp(`^${k}: (\\d+)`, 'm').exec(text);
    if (!m) throw new Error(`nfdump -I output has no '${k}:' line`);
    return Number(m[1]);
  };
  return { records: num('Flows'), bytes: num('Bytes'), packets: num('Packets') };
}

export async function exportNetflow(
  pcap: string,
  outDir: string,
  workDir: string,
  progress: Progress,
): Promise<NetflowExportResult> {
  const t0 = Date.now();
  const nfDir = join(outDir, 'flows.nfcapd');
  rmSync(nfDir, { recursive: true, force: true });
  mkdirSync(nfDir, { recursive: true });

  // mlscope's collector, in this process.
  const flows: FlowJson[] = [];
  const totals = { records: 0, bytes: 0, packets: 0 };
  const q = new Quality('udp:127.0.0.1', 'netflow-udp');
  const sink: FlowSink = {
    flow(f) {
      q.ok();
      totals.records++;
      totals.bytes += f.bytes;
      totals.packets += f.packets;
      flows.push(flowToJson(f));
    },
    skip: (reason, detail) => q.skip(reason, `record ${q.seen + 1}`, detail),
    note: (reason, detail) => q.note(reason, undefined, detail),
  };
  const state = new NetflowState(sink);
  let decoded = 0;
  const src = await UdpSource.listen({ port: 0 }, (buf, info) => {
    if (decodeNetflowPacket(info.address, info.tsUs, buf, 0, buf.length, state) > 0) decoded++;
    else q.skip('not-netflow', `datagram ${src.datagrams}`, `${buf.length} bytes`);
  });
  q.source = `udp:127.0.0.1:${src.port}`;

  const nfPort = await freeUdpPort();
  const nfcapd = startDaemon(
    'nfcapd',
    NETFLOW_TOOLS.nfcapd,
    ['-b', '127.0.0.1', '-p', String(nfPort), '-w', nfDir],
    { stdout: join(workDir, 'nfcapd.out'), stderr: join(workDir, 'nfcapd.out') },
  );
  let kernelDrops: number | null = null;
  try {
    await waitFor(
      'nfcapd to bind',
      () => readSocketDrops('127.0.0.1', nfPort) !== null,
      10_000,
      50,
    );
    const softflowd = (port: number) =>
      run(
        NETFLOW_TOOLS.softflowd,
        [
          '-r',
          pcap,
          '-n',
          `127.0.0.1:${port}`,
          '-v',
          '9',
          '-d',
          '-c',
          'none',
          '-p',
          join(workDir, 'softflowd.pid'),
        ],
        { timeoutMs: 60_000 },
      );
    await softflowd(src.port);
    await softflowd(nfPort);
    // Datagrams still queued in mlscope's socket: read until it has been quiet for 100 ms.
    for (let last = -1, end = Date.now() + 2000; src.datagrams !== last && Date.now() < end;) {
      last = src.datagrams;
      await sleep(100);
    }
    kernelDrops = src.kernelDrops();
    // …and in nfcapd's: it writes what it has read when it stops, not what is still queued.
    await waitFor(
      'nfcapd to read its socket',
      () => readSocketRxQueue('127.0.0.1', nfPort) === 0,
      10_000,
      20,
    );
  } finally {
    await src.close();
    // nfcapd writes its current file when it stops.
    await stopDaemon(nfcapd, 'SIGTERM', 10_000);
  }
  state.flush();
  const stat = await run(NETFLOW_TOOLS.nfdump, ['-R', nfDir, '-I'], { timeoutMs: 60_000 });
  const nfdump = parseNfdumpStat(stat.stdout);
  const collector = {
    datagrams: src.datagrams,
    decoded,
    kernelDrops,
  };
  writeFileSync(
    join(outDir, 'netflow.json'),
    JSON.stringify(
      {
        ...totals,
        flows,
        collector,
        netflow: state.stats,
        dataQuality: [q.report()],
      },
      null,
      1,
    ) + '\n',
  );
  const seconds = (Date.now() - t0) / 1000;
  progress(
    `lab: NetFlow v9 export (softflowd → mlscope, nfcapd) in ${seconds.toFixed(1)} s: ` +
      `nfdump ${nfdump.records} records, mlscope ${totals.records}`,
  );
  return {
    exporter: 'softflowd -v 9 (default timeouts)',
    nfdump,
    mlscope: { ...totals, ...collector },
    seconds,
  };
}
