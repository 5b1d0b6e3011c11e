// Scenario `slow-endpoint`: a keep-alive client → nginx (or HAProxy: --proxy haproxy) → FastAPI
// model servers (uvicorn and gunicorn+UvicornWorker), with a chosen mix of faults, all captured on
// the lab bridge.
//
// Topology (one /16 on the bridge in the hub namespace; each role in its own namespace):
//   client 10.10.0.5 ─┐
//   proxy  10.10.1.10:8080 nginx or haproxy
//   apps   10.10.2.20:8000 uvicorn (1 worker)          /predict, /big/predict
//          10.10.2.21:8001 gunicorn 2×UvicornWorker    /lossy/predict  (nft loss both ways)
//          10.10.2.22:8003 uvicorn, 1 blocking worker  /batch/predict  (queueing)
//          10.10.2.23:8004 gunicorn 1×UvicornWorker    /gen/predict    (OOM 500, crash 502, hang 504)
//   wan    10.10.3.30:8002 delay relay → 10.10.2.20:8000 /slow/predict
// tcpdump -i br0 in the hub sees both the client↔nginx and the nginx↔upstream hops.

import { mkdirSync, readFileSync, readdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { run, sleep } from './exec.js';
import { LAB_ASSETS, PYTHON, preflight } from './env.js';
import { LabError } from './errors.js';
import { inNs, type RoleSpec } from './netns.js';
import { makePlan, routesFor, type Fault } from './plan.js';
import { LabSession, type Progress } from './session.js';
import {
  buildTruth,
  parseApacheTruthLine,
  parseHaproxyLine,
  parseNginxLine,
  summarize,
  type AppRecord,
  type ClientResult,
  type LedgerRecord,
  type ProxyLine,
  type RelayRecord,
  type RetransFrame,
} from './truth.js';

export const PROXIES = ['nginx', 'haproxy', 'apache'] as const;
export type FrontProxy = (typeof PROXIES)[number];

export interface SlowEndpointOptions {
  outDir: string;
  /** The front proxy (default nginx). */
  proxy?: FrontProxy;
  faults: Fault[];
  seed: number;
  requests: number;
  slowMs: number;
  lossPct: number;
  delayMs: number;
  jitterMs: number;
  keepWork: boolean;
}

export const ADDR = {
  client: '10.10.0.5',
  proxy: '10.10.1.10',
  proxyPort: 8080,
  appA: '10.10.2.20',
  appB: '10.10.2.21',
  appQ: '10.10.2.22',
  appE: '10.10.2.23',
  relay: '10.10.3.30',
} as const;

export const PORT = { appA: 8000, appB: 8001, relay: 8002, appQ: 8003, appE: 8004 } as const;

/** `{{KEY}}` placeholders of a config template filled in (values taken literally: `$1` stays). */
function fillTemplate(tmpl: string, vars: Readonly<Record<string, string>>): string {
  return tmpl.replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);
}

/** OOM on /gen for big prompts and 8% of the rest; 5% worker crashes, 5% hangs. */
export const ERROR_FAULTS = {
  p_oom: 0.08,
  p_crash: 0.05,
  p_hang: 0.05,
  oom_inputs: 1000,
  hang_s: 3.0,
};
const GEN_READ_TIMEOUT_S = 2;

interface Upstream {
  name: string;
  addr: string;
  port: number;
  location: string;
  proxyPass: string;
  extra?: string;
  /** No keep-alive pool: a new upstream connection per request (SYN losses, fresh RTOs). */
  noKeepalive?: boolean;
}

function upstreamsFor(faults: Fault[]): Upstream[] {
  const u: Upstream[] = [
    {
      name: 'app_a',
      addr: ADDR.appA,
      port: PORT.appA,
      location: '/predict',
      proxyPass: 'http://app_a',
    },
  ];
  if (faults.includes('inference'))
    u.push({
      name: 'app_a',
      addr: ADDR.appA,
      port: PORT.appA,
      location: '/big/predict',
      proxyPass: 'http://app_a/predict',
    });
  if (faults.includes('loss'))
    u.push({
      name: 'app_b',
      addr: ADDR.appB,
      port: PORT.appB,
      location: '/lossy/predict',
      proxyPass: 'http://app_b/predict',
      noKeepalive: true,
    });
  if (faults.includes('delay'))
    u.push({
      name: 'wan_relay',
      addr: ADDR.relay,
      port: PORT.relay,
      location: '/slow/predict',
      proxyPass: 'http://wan_relay/predict',
    });
  if (faults.includes('queueing'))
    u.push({
      name: 'app_q',
      addr: ADDR.appQ,
      port: PORT.appQ,
      location: '/batch/predict',
      proxyPass: 'http://app_q/predict',
    });
  if (faults.includes('errors'))
    u.push({
      name: 'app_e',
      addr: ADDR.appE,
      port: PORT.appE,
      location: '/gen/predict',
      proxyPass: 'http://app_e/predict',
      extra: `proxy_read_timeout ${GEN_READ_TIMEOUT_S}s;`,
    });
  return u;
}

export function renderNginxConf(
  tmpl: string,
  faults: Fault[],
  runDir: string,
  logDir: string,
): string {
  const ups = upstreamsFor(faults);
  const seen = new Set<string>();
  const upstreams = ups
    .filter((u) => !seen.has(u.name) && seen.add(u.name))
    .map(
      (u) =>
        `    upstream ${u.name} {\n        server ${u.addr}:${u.port};${u.noKeepalive ? '' : '\n        keepalive 16;'}\n    }`,
    )
    .join('\n');
  const locations = ups
    .map(
      (u) =>
        `        location = ${u.location} {\n            proxy_pass ${u.proxyPass};${u.extra ? `\n            ${u.extra}` : ''}\n        }`,
    )
    .join('\n');
  return fillTemplate(tmpl, {
    RUN: runDir,
    LOGS: logDir,
    LISTEN: `${ADDR.proxy}:${ADDR.proxyPort}`,
    UPSTREAMS: upstreams,
    LOCATIONS: locations,
  });
}

/** Each upstream's address by a name the proxy's log uses for it. */
function addressesBy(faults: Fault[], name: (u: Upstream) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const u of upstreamsFor(faults)) out[name(u)] = `${u.addr}:${u.port}`;
  return out;
}

/** HAProxy's backend per upstream; `server srv1` in each (the address is in the config only). */
export function haproxyServers(faults: Fault[]): Record<string, string> {
  return addressesBy(faults, (u) => `${u.name}/srv1`);
}

/**
 * The HAProxy equivalent of renderNginxConf: a backend per upstream (the path rewritten to what
 * nginx's proxy_pass sends, server-side keep-alive unless the upstream has none, nginx's
 * proxy_read_timeout as `timeout server`) and a `use_backend` per route.
 */
export function renderHaproxyConf(tmpl: string, faults: Fault[], runDir: string): string {
  const ups = upstreamsFor(faults);
  const routes = ups.map((u) => `    use_backend ${u.name} if { path ${u.location} }`).join('\n');
  const seen = new Set<string>();
  const backends = ups
    .filter((u) => !seen.has(u.name) && seen.add(u.name))
    .map((u) => {
      const lines = [`backend ${u.name}`];
      if (u.noKeepalive) lines.push('    option http-server-close');
      if (u.name === 'app_e') lines.push(`    timeout server ${GEN_READ_TIMEOUT_S}s`);
      lines.push('    http-request set-path /predict');
      lines.push(`    server srv1 ${u.addr}:${u.port}`);
      return lines.join('\n');
    })
    .join('\n\n');
  return fillTemplate(tmpl, {
    RUN: runDir,
    LISTEN: `${ADDR.proxy}:${ADDR.proxyPort}`,
    ROUTES: routes,
    BACKENDS: backends,
  });
}

/** The upstream address behind each route path (Apache's access log names none). */
export function routeUpstreams(faults: Fault[]): Record<string, string> {
  return addressesBy(faults, (u) => u.location);
}

/**
 * The Apache httpd equivalent of renderNginxConf: a ProxyPassMatch per route (exact path, as
 * nginx's `location =`; rewritten to what nginx's proxy_pass sends), connection reuse unless the
 * upstream has none (`disablereuse`), nginx's connect and read timeouts, `retry=0` so one failed
 * request does not take the only server out of service for a minute.
 */
export function renderApacheConf(
  tmpl: string,
  faults: Fault[],
  runDir: string,
  logDir: string,
): string {
  const seen = new Set<string>();
  const routes = upstreamsFor(faults)
    .map((u) => {
      // a second route to the same server shares the first one's worker (and its parameters)
      const re = `^${u.location.replace(/\/predict$/, '/(predict)')}$`;
      if (seen.has(u.name)) return `ProxyPassMatch "${re}" "http://${u.addr}:${u.port}/$1"`;
      seen.add(u.name);
      const target = `http://${u.addr}:${u.port}/$1`;
      const timeout = u.name === 'app_e' ? GEN_READ_TIMEOUT_S : 10;
      const params = [`connectiontimeout=3`, `timeout=${timeout}`, 'retry=0'];
      if (u.noKeepalive) params.push('disablereuse=On');
      return `ProxyPassMatch "${re}" "${target}" ${params.join(' ')}`;
    })
    .join('\n');
  return fillTemplate(tmpl, {
    RUN: runDir,
    LOGS: logDir,
    LISTEN: `${ADDR.proxy}:${ADDR.proxyPort}`,
    ROUTES: routes,
  });
}

function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const out: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      /* a torn last line from a killed worker: not a request record */
    }
  }
  return out;
}

async function retransmissions(pcap: string): Promise<RetransFrame[]> {
  const r = await run(
    '/usr/bin/tshark',
    [
      '-n',
      '-r',
      pcap,
      '-Y',
      'tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission',
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-e',
      'frame.time_epoch',
      '-e',
      'ip.src',
      '-e',
      'tcp.srcport',
      '-e',
      'ip.dst',
      '-e',
      'tcp.dstport',
    ],
    { timeoutMs: 120_000 },
  );
  const frames: RetransFrame[] = [];
  for (const line of r.stdout.split('\n')) {
    const f = line.split('\t');
    if (f.length < 5) continue;
    frames.push({
      tsS: Number(f[0]),
      src: f[1]!,
      srcPort: Number(f[2]),
      dst: f[3]!,
      dstPort: Number(f[4]),
    });
  }
  return frames;
}

async function captureStats(pcap: string): Promise<{ packets: number; bytes: number }> {
  const r = await run('/usr/bin/tshark', ['-n', '-r', pcap, '-T', 'fields', '-e', 'frame.len'], {
    timeoutMs: 120_000,
  });
  let packets = 0;
  let bytes = 0;
  for (const l of r.stdout.split('\n')) {
    if (!l) continue;
    packets++;
    bytes += Number(l);
  }
  return { packets, bytes };
}

/** Packet counts from nft's named counters in a namespace (the injected loss). */
async function nftDrops(ns: string): Promise<Record<string, number>> {
  const [c, a] = inNs(ns, '/usr/sbin/nft', ['-j', 'list', 'counters']);
  const r = await run(c, a, { allowFail: true });
  const out: Record<string, number> = {};
  try {
    const doc = JSON.parse(r.stdout) as {
      nftables?: { counter?: { name: string; packets: number } }[];
    };
    for (const item of doc.nftables ?? [])
      if (item.counter) out[item.counter.name] = item.counter.packets;
  } catch {
    /* no counters */
  }
  return out;
}

export interface LabResult {
  outDir: string;
  summary: Record<string, unknown>;
}

export async function runSlowEndpoint(
  opts: SlowEndpointOptions,
  progress: Progress,
): Promise<LabResult> {
  await preflight(
    opts.proxy && opts.proxy !== 'nginx' ? `slow-endpoint:${opts.proxy}` : 'slow-endpoint',
  );
  const out = resolve(opts.outDir);
  const bundle = join(out, 'bundle');
  const logs = join(bundle, 'logs');
  const truthDir = join(out, 'truth');
  const work = join(out, 'work');
  for (const d of [bundle, truthDir, work]) rmSync(d, { recursive: true, force: true });
  const proxy = opts.proxy ?? 'nginx';
  for (const d of [logs, truthDir, work, join(work, proxy)]) mkdirSync(d, { recursive: true });

  const faults = opts.faults;
  const phases = makePlan(faults, opts.requests, opts.seed);
  const routeFaults: Record<string, string> = {};
  for (const r of routesFor(faults)) if (r.fault) routeFaults[r.path] = r.fault;
  const ledger = join(work, 'faults.jsonl');
  const relayLog = join(work, 'relay.jsonl');
  const apps = join(LAB_ASSETS, 'apps');
  const pcap = join(bundle, 'cap.pcap');
  const started = Date.now();
  const s = new LabSession(work, progress);
  let tcpdumpStats = '';
  let drops: Record<string, number> = {};
  try {
    progress(
      `lab slow-endpoint: ${proxy}, faults ${faults.join(',') || 'none'}, ${opts.requests} requests, seed ${opts.seed}`,
    );
    const roles: RoleSpec[] = [
      { role: 'client', addrs: [ADDR.client] },
      { role: 'proxy', addrs: [ADDR.proxy] },
      { role: 'apps', addrs: [ADDR.appA, ADDR.appB, ADDR.appQ, ADDR.appE] },
    ];
    if (faults.includes('delay')) roles.push({ role: 'wan', addrs: [ADDR.relay] });
    await s.up(roles);

    if (faults.includes('loss')) {
      // Drop N% of the nginx ↔ :8001 packets each way, at the receiver's input hook: the bridge
      // capture sees every original, so each loss shows up as a retransmission in the pcap.
      const n = Math.round(opts.lossPct);
      const table = (counter: string, match: string) =>
        [
          'table inet lablossy {',
          `  counter ${counter} {}`,
          '  chain input { type filter hook input priority 0; policy accept;',
          `    ${match} numgen random mod 100 < ${n} counter name ${counter} drop`,
          '  }',
          '}',
        ].join('\n') + '\n';
      const rules: [string, string][] = [
        ['apps', table('dropped_to_app', `ip daddr ${ADDR.appB} tcp dport ${PORT.appB}`)],
        ['proxy', table('dropped_from_app', `ip saddr ${ADDR.appB} tcp sport ${PORT.appB}`)],
      ];
      for (const [role, text] of rules) {
        const [c, a] = inNs(s.ns(role), '/usr/sbin/nft', [
          '-f',
          s.writeWork(`loss-${role}.nft`, text),
        ]);
        await run(c, a);
      }
    }

    const appEnv = (name: string, extra: Record<string, string> = {}) => ({
      LAB_SERVER: name,
      LAB_APP_LOG: join(logs, `${name}.jsonl`),
      LAB_LEDGER: ledger,
      LAB_SEED: String(opts.seed),
      ...extra,
    });
    const waits: Promise<void>[] = [];
    const a = s.start(
      'uvicorn :8000',
      'apps',
      PYTHON,
      [
        '-m',
        'uvicorn',
        'model_server:app',
        '--app-dir',
        apps,
        '--host',
        ADDR.appA,
        '--port',
        String(PORT.appA),
      ],
      { stdout: join(logs, 'uvicorn-8000.log') },
      appEnv('app-8000'),
    );
    waits.push(s.waitListening(a, 'apps', ADDR.appA, PORT.appA));
    const gunicorn = (
      port: number,
      addr: string,
      workers: number,
      extraEnv: Record<string, string>,
    ) => {
      const d = s.start(
        `gunicorn :${port}`,
        'apps',
        '/usr/bin/gunicorn',
        [
          '-k',
          'uvicorn.workers.UvicornWorker',
          '-w',
          String(workers),
          '-b',
          `${addr}:${port}`,
          '--chdir',
          apps,
          '--preload',
          '--timeout',
          '30',
          '--graceful-timeout',
          '2',
          '--error-logfile',
          join(logs, `gunicorn-${port}.log`),
          '--access-logfile',
          join(logs, `gunicorn-${port}-access.log`),
          'model_server:app',
        ],
        { stdout: join(work, `gunicorn-${port}.out`) },
        appEnv(`app-${port}`, extraEnv),
      );
      waits.push(s.waitListening(d, 'apps', addr, port));
    };
    if (faults.includes('loss')) gunicorn(PORT.appB, ADDR.appB, 2, {});
    if (faults.includes('errors'))
      gunicorn(PORT.appE, ADDR.appE, 1, { LAB_FAULTS: JSON.stringify(ERROR_FAULTS) });
    if (faults.includes('queueing')) {
      const q = s.start(
        'uvicorn :8003',
        'apps',
        PYTHON,
        [
          '-m',
          'uvicorn',
          'model_server:app',
          '--app-dir',
          apps,
          '--host',
          ADDR.appQ,
          '--port',
          String(PORT.appQ),
        ],
        { stdout: join(logs, 'uvicorn-8003.log') },
        appEnv('app-8003', { LAB_MODE: 'blocking', LAB_BASE_MS: '150,250', LAB_PER_INPUT_MS: '0' }),
      );
      waits.push(s.waitListening(q, 'apps', ADDR.appQ, PORT.appQ));
    }
    if (faults.includes('delay')) {
      const r = s.start(
        'delay relay',
        'wan',
        PYTHON,
        [
          join(apps, 'relay.py'),
          ADDR.relay,
          String(PORT.relay),
          ADDR.appA,
          String(PORT.appA),
          String(opts.delayMs),
          String(opts.jitterMs),
          String(opts.seed),
          relayLog,
        ],
        { stdout: join(work, 'relay.out') },
      );
      waits.push(s.waitListening(r, 'wan', ADDR.relay, PORT.relay));
    }
    let front: ReturnType<LabSession['start']>;
    if (proxy === 'apache') {
      const conf = s.writeWork(
        'apache/apache2.conf',
        renderApacheConf(
          readFileSync(join(LAB_ASSETS, 'apache', 'slow-endpoint.conf.tmpl'), 'utf8'),
          faults,
          join(work, 'apache'),
          logs,
        ),
      );
      front = s.start('apache2', 'proxy', '/usr/sbin/apache2', ['-DFOREGROUND', '-f', conf], {
        stdout: join(work, 'apache.out'),
      });
    } else if (proxy === 'haproxy') {
      const conf = s.writeWork(
        'haproxy/haproxy.cfg',
        renderHaproxyConf(
          readFileSync(join(LAB_ASSETS, 'haproxy', 'slow-endpoint.cfg.tmpl'), 'utf8'),
          faults,
          join(work, 'haproxy'),
        ),
      );
      // -db: foreground, no daemon; `log stdout` lines go to the access log file
      front = s.start('haproxy', 'proxy', '/usr/sbin/haproxy', ['-db', '-f', conf], {
        stdout: join(logs, 'haproxy.log'),
        stderr: join(work, 'haproxy.err'),
      });
    } else {
      const ngxConf = s.writeWork(
        'nginx/nginx.conf',
        renderNginxConf(
          readFileSync(join(LAB_ASSETS, 'nginx', 'slow-endpoint.conf.tmpl'), 'utf8'),
          faults,
          join(work, 'nginx'),
          logs,
        ),
      );
      front = s.start(
        'nginx',
        'proxy',
        '/usr/sbin/nginx',
        [
          '-c',
          ngxConf,
          '-p',
          join(work, 'nginx'),
          '-e',
          join(logs, 'nginx-error.log'),
          '-g',
          'daemon off;',
        ],
        { stdout: join(work, 'nginx.out') },
      );
    }
    waits.push(s.waitListening(front, 'proxy', ADDR.proxy, ADDR.proxyPort));
    await Promise.all(waits);
    progress(`lab: servers up after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const capture = await s.captureBridge(pcap, 'tcp');

    const planPath = s.writeWork(
      'plan.json',
      JSON.stringify({
        host: ADDR.proxy,
        port: ADDR.proxyPort,
        timeout_s: 10,
        seed: opts.seed,
        phases,
      }),
    );
    const clientOut = join(work, 'client.jsonl');
    const [cc, ca] = inNs(s.ns('client'), PYTHON, [
      join(LAB_ASSETS, 'client.py'),
      planPath,
      clientOut,
    ]);
    progress(`lab: client sending ${opts.requests} requests in ${phases.length} phases`);
    await run(cc, ca, { timeoutMs: 150_000 });
    // Let hung requests finish server-side and the last ACKs/FINs reach the capture.
    await sleep(faults.includes('errors') ? 2000 : 1200);
    tcpdumpStats = await capture.stop();
    if (faults.includes('loss'))
      drops = { ...(await nftDrops(s.ns('apps'))), ...(await nftDrops(s.ns('proxy'))) };
    // graceful stops: nginx's SIGQUIT, HAProxy's SIGUSR1 (both finish their log lines)
    await s.stop(
      front,
      proxy === 'haproxy' ? 'SIGUSR1' : proxy === 'apache' ? 'SIGTERM' : 'SIGQUIT',
    );
  } finally {
    await s.cleanup();
  }

  progress('lab: building truth');
  const clients = readJsonl<ClientResult>(join(work, 'client.jsonl'));
  const servers = haproxyServers(faults);
  const proxyText = readFileSync(
    proxy === 'apache'
      ? join(work, 'apache', 'truth.log')
      : join(logs, proxy === 'haproxy' ? 'haproxy.log' : 'nginx-access.log'),
    'utf8',
  );
  const proxyLines: ProxyLine[] = [];
  let proxyUnparsed = 0;
  for (const l of proxyText.split('\n')) {
    if (!l) continue;
    const p =
      proxy === 'haproxy'
        ? parseHaproxyLine(l, servers)
        : proxy === 'apache'
          ? parseApacheTruthLine(l, routeUpstreams(faults))
          : parseNginxLine(l);
    if (p) proxyLines.push(p);
    else proxyUnparsed++;
  }
  const app: AppRecord[] = [];
  for (const f of readdirSync(logs))
    if (/^app-\d+\.jsonl$/.test(f)) app.push(...readJsonl<AppRecord>(join(logs, f)));
  const frames = await retransmissions(pcap);
  const truth = buildTruth({
    slowMs: opts.slowMs,
    routeFaults,
    proxyAddr: ADDR.proxy,
    clients,
    proxyLog: proxyLines,
    app,
    ledger: readJsonl<LedgerRecord>(ledger),
    relay: readJsonl<RelayRecord>(relayLog),
    retrans: frames,
  });
  writeFileSync(
    join(truthDir, 'truth.jsonl'),
    truth.map((t) => JSON.stringify(t)).join('\n') + '\n',
  );

  const byPort: Record<string, number> = {};
  for (const f of frames) {
    const port = Math.min(f.srcPort, f.dstPort);
    byPort[String(port)] = (byPort[String(port)] ?? 0) + 1;
  }
  const cap = await captureStats(pcap);
  const summary = {
    scenario: 'slow-endpoint',
    ...summarize(truth, opts.slowMs),
    [`${proxy}_log_lines`]: proxyLines.length + proxyUnparsed,
    [`${proxy}_log_unparsed`]: proxyUnparsed,
    app_log_records: app.length,
    retransmissions_by_server_port: byPort,
    nft_dropped_packets: drops,
    capture: {
      file: 'bundle/cap.pcap',
      ...cap,
      size_bytes: statSync(pcap).size,
      tcpdump: tcpdumpStats.split('\n'),
    },
    duration_s: Math.round((Date.now() - started) / 100) / 10,
    params: {
      ...(proxy === 'nginx' ? {} : { proxy }),
      faults,
      seed: opts.seed,
      n_requests: opts.requests,
      slow_ms: opts.slowMs,
      loss_pct_both_directions_port_8001: faults.includes('loss') ? opts.lossPct : null,
      relay_delay_req_ms: faults.includes('delay') ? opts.delayMs : null,
      relay_resp_jitter_max_ms: faults.includes('delay') ? opts.jitterMs : null,
      error_faults_port_8004: faults.includes('errors') ? ERROR_FAULTS : null,
      gen_proxy_read_timeout_s: faults.includes('errors') ? GEN_READ_TIMEOUT_S : null,
      route_faults: routeFaults,
      client_plan: phases.map((p) => ({ kind: p.kind, conc: p.conc, n: p.requests.length })),
      topology: {
        client: ADDR.client,
        [proxy]: `${ADDR.proxy}:${ADDR.proxyPort}`,
        app_a: `${ADDR.appA}:${PORT.appA} (uvicorn, 1 worker: /predict, /big/predict)`,
        app_b: `${ADDR.appB}:${PORT.appB} (gunicorn, 2 UvicornWorkers: /lossy/predict)`,
        app_q: `${ADDR.appQ}:${PORT.appQ} (uvicorn, 1 blocking worker: /batch/predict)`,
        app_e: `${ADDR.appE}:${PORT.appE} (gunicorn, 1 UvicornWorker: /gen/predict)`,
        relay: `${ADDR.relay}:${PORT.relay} -> ${ADDR.appA}:${PORT.appA} (/slow/predict)`,
      },
      capture:
        'tcpdump -i br0 (Linux bridge in the hub namespace joining every role namespace); Ethernet, MTU 1500, offloads off',
    },
  };
  writeFileSync(join(truthDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  if (!opts.keepWork) rmSync(work, { recursive: true, force: true });
  if (clients.length !== opts.requests)
    throw new LabError(
      'E_LAB_RUN',
      `client recorded ${clients.length} of ${opts.requests} requests`,
    );
  return { outDir: out, summary };
}
