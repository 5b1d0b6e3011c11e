// Scenario `bench-traffic`: a large capture of real keep-alive HTTP/1.1 traffic for benchmarks.
// wrk (client namespace, 10.20.0.5) hammers nginx (server namespace, 10.20.1.10:8080) answering
// /predict with a small JSON body; nftables in the server namespace drops a little of the traffic
// both ways so the capture holds retransmissions; tcpdump on the hub bridge writes the pcap until
// it reaches --size-mb MiB.

import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run, sleep } from './exec.js';
import { LAB_ASSETS, preflight } from './env.js';
import { LabError } from './errors.js';
import { inNs } from './netns.js';
import { countPcapRecords } from './pcap-count.js';
import { LabSession, readTail, type Progress } from './session.js';

export interface BenchOptions {
  outDir: string;
  sizeMb: number;
  lossPct: number;
  seed: number;
}

const CLIENT = '10.20.0.5';
const SERVER = '10.20.1.10';
const PORT = 8080;
const CONNECTIONS = 48;
const MAX_SECONDS = 240;

/** A small JSON body and minimal headers keep the capture near 210 bytes per packet (request
 * ~110-byte frames, responses ~270), so 220 MiB holds over 1M packets. */
const BODY = '{"model":"fake-linear-v1","outputs":[0.1234,0.8766]}';

export async function runBenchTraffic(
  opts: BenchOptions,
  progress: Progress,
): Promise<{ outDir: string; summary: Record<string, unknown> }> {
  await preflight('bench-traffic');
  if (opts.sizeMb <= 0) throw new LabError('E_LAB_ENV', '--size-mb must be positive');
  const out = resolve(opts.outDir);
  const bundle = join(out, 'bundle');
  const truthDir = join(out, 'truth');
  const work = join(out, 'work');
  for (const d of [bundle, truthDir, work]) rmSync(d, { recursive: true, force: true });
  for (const d of [join(bundle, 'logs'), truthDir, join(work, 'nginx')])
    mkdirSync(d, { recursive: true });
  const pcap = join(bundle, 'cap.pcap');
  const targetBytes = opts.sizeMb * 1024 * 1024;
  const started = Date.now();
  const s = new LabSession(work, progress);
  let wrkOut = '';
  let tcpdumpStats = '';
  const drops: Record<string, number> = {};
  let hitTimeLimit = false;
  try {
    await s.up([
      { role: 'client', addrs: [CLIENT] },
      { role: 'server', addrs: [SERVER] },
    ]);
    // Loss in per-mille so fractions of a percent work, dropped at each receiver's input hook so
    // the bridge capture holds every original and its retransmission.
    const perMille = Math.max(0, Math.round(opts.lossPct * 10));
    const table = (counter: string, match: string) =>
      [
        'table inet labbench {',
        `  counter ${counter} {}`,
        '  chain input { type filter hook input priority 0; policy accept;',
        `    ${match} numgen random mod 1000 < ${perMille} counter name ${counter} drop`,
        '  }',
        '}',
      ].join('\n') + '\n';
    for (const [role, text] of [
      ['server', table('dropped_to_server', `tcp dport ${PORT}`)],
      ['client', table('dropped_from_server', `tcp sport ${PORT}`)],
    ] as const) {
      const [nc, na] = inNs(s.ns(role), '/usr/sbin/nft', [
        '-f',
        s.writeWork(`loss-${role}.nft`, text),
      ]);
      await run(nc, na);
    }

    const conf = readFileSync(join(LAB_ASSETS, 'nginx', 'bench.conf.tmpl'), 'utf8')
      .replaceAll('{{RUN}}', join(work, 'nginx'))
      .replaceAll('{{LOGS}}', join(bundle, 'logs'))
      .replaceAll('{{LISTEN}}', `${SERVER}:${PORT}`)
      .replaceAll('{{BODY}}', BODY);
    const confPath = s.writeWork('nginx/nginx.conf', conf);
    const ngx = s.start(
      'nginx',
      'server',
      '/usr/sbin/nginx',
      [
        '-c',
        confPath,
        '-p',
        join(work, 'nginx'),
        '-e',
        join(bundle, 'logs', 'nginx-error.log'),
        '-g',
        'daemon off;',
      ],
      { stdout: join(work, 'nginx.out') },
    );
    await s.waitListening(ngx, 'server', SERVER, PORT);

    const tdErr = join(work, 'tcpdump.err');
    const td = s.start(
      'tcpdump',
      'hub',
      '/usr/bin/tcpdump',
      ['-i', 'br0', '-n', '-s', '0', '-B', '32768', '-Z', 'root', '-w', pcap, 'tcp'],
      { stdout: join(work, 'tcpdump.out'), stderr: tdErr },
    );
    await s.waitText(td, tdErr, 'listening on');
    await sleep(200);

    const wrkPath = join(work, 'wrk.out');
    const wrk = s.start(
      'wrk',
      'client',
      '/usr/bin/wrk',
      [
        '-t',
        '1',
        '-c',
        String(CONNECTIONS),
        '-d',
        `${MAX_SECONDS}s`,
        '--latency',
        `http://${SERVER}:${PORT}/predict`,
      ],
      { stdout: wrkPath },
    );
    progress(
      `lab bench-traffic: capturing until ${opts.sizeMb} MiB (wrk, ${CONNECTIONS} keep-alive connections)`,
    );
    let lastReport = 0;
    for (;;) {
      await sleep(250);
      const size = existsSync(pcap) ? statSync(pcap).size : 0;
      if (size >= targetBytes) break;
      if (Date.now() - started > MAX_SECONDS * 1000) {
        hitTimeLimit = true;
        break;
      }
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        progress(`lab: ${(size / 1048576).toFixed(0)} MiB`);
      }
      if (wrk.child.exitCode !== null)
        throw new LabError('E_LAB_RUN', `wrk exited early:\n${readTail(wrkPath)}`);
    }
    await s.stop(wrk, 'SIGINT');
    await sleep(300);
    await s.stop(td, 'SIGINT', 15_000);
    tcpdumpStats = readTail(tdErr, 3);
    wrkOut = readTail(wrkPath, 30);
    for (const role of ['server', 'client']) {
      const [cc, ca] = inNs(s.ns(role), '/usr/sbin/nft', ['-j', 'list', 'counters']);
      const r = await run(cc, ca, { allowFail: true });
      try {
        const doc = JSON.parse(r.stdout) as {
          nftables?: { counter?: { name: string; packets: number } }[];
        };
        for (const it of doc.nftables ?? [])
          if (it.counter) drops[it.counter.name] = it.counter.packets;
      } catch {
        /* no counters */
      }
    }
    await s.stop(ngx, 'SIGQUIT');
  } finally {
    await s.cleanup();
  }
  const { packets, wireBytes } = await countPcapRecords(pcap);
  const size = statSync(pcap).size;
  const summary = {
    scenario: 'bench-traffic',
    packets,
    wire_bytes: wireBytes,
    size_bytes: size,
    size_mib: Math.round((size / 1048576) * 10) / 10,
    duration_s: Math.round((Date.now() - started) / 100) / 10,
    hit_time_limit: hitTimeLimit,
    nft_dropped_packets: drops,
    tcpdump: tcpdumpStats.split('\n'),
    wrk: wrkOut.split('\n'),
    params: {
      size_mb: opts.sizeMb,
      loss_pct_each_way: opts.lossPct,
      connections: CONNECTIONS,
      client: CLIENT,
      nginx: `${SERVER}:${PORT}`,
      response_body_bytes: BODY.length,
      capture: 'tcpdump -i br0 (hub bridge), Ethernet, MTU 1500, offloads off',
    },
  };
  writeFileSync(join(truthDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  rmSync(work, { recursive: true, force: true });
  return { outDir: out, summary };
}
