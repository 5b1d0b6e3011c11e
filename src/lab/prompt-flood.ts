// Scenario `prompt-flood`: benign users and attackers (near-context prompt floods, one spoofing
// X-Forwarded-For, and a jailbreak/injection source) → a load balancer (nginx, appends
// X-Forwarded-For) → the service edge (nginx, JSON access log) → a fake LLM (FastAPI/uvicorn) whose
// simulated GPU memory budget turns long prompts under load into `CUDA out of memory` 500s.
//
//   clients  198.51.100.11–20 (benign; .19 a busy batch client, .20 a long-document user)
//            203.0.113.66, .67 (flooders, .67 spoofs X-Forwarded-For), 203.0.113.68 (injector)
//   lb       10.10.1.5:80    nginx (trusted hop)
//   edge     10.10.1.10:8080 nginx, access log bundle/logs/nginx-access.log
//   apps     10.10.2.20:8000 uvicorn lab/prompt-flood/llm_app.py, bundle/logs/llm-app.jsonl
// tcpdump on the bridge keeps the client ↔ LB hop (what an edge capture sees): bundle/cap.pcap.
// truth/truth.jsonl: one line per client request (source, role, label, times, status, sizes).
// With softflowd and nfdump installed, the capture is also exported as NetFlow v9 by softflowd to
// mlscope's collector and to nfcapd (netflow-export.ts): DIR/netflow.json, DIR/flows.nfcapd/, and
// both sides' totals in truth/netflow.json (nfdump's are the reference).

import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run, sleep } from './exec.js';
import { LAB_ASSETS, PYTHON, preflight } from './env.js';
import { LabError } from './errors.js';
import { inNs } from './netns.js';
import { LabSession, type Progress } from './session.js';
import { exportNetflow, missingNetflowTools, type NetflowExportResult } from './netflow-export.js';
import { ExitCode, numberFlag, parseCommandArgs, type Io } from '../cli/command.js';
import { UsageError } from '../util/errors.js';

export interface PromptFloodOptions {
  outDir: string;
  seed: number;
  /** Seconds of traffic; the attack runs from 30% to 75% of it. */
  durationS: number;
  keepWork: boolean;
  /** Gzip the capture (smaller bundles; mlscope reads .gz transparently). */
  gzip?: boolean;
}

export const PF_ADDR = {
  benign: Array.from({ length: 8 }, (_, i) => `198.51.100.${11 + i}`),
  heavy: '198.51.100.19',
  docs: '198.51.100.20',
  flood: ['203.0.113.66', '203.0.113.67'],
  inject: '203.0.113.68',
  lb: '10.10.1.5',
  lbPort: 80,
  edge: '10.10.1.10',
  edgePort: 8080,
  app: '10.10.2.20',
  appPort: 8000,
} as const;

const NEEDS: [string, string][] = [
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/sbin/nginx', 'nginx'],
  ['/usr/bin/tcpdump', 'tcpdump'],
];

export interface ClientRecord {
  id: string;
  source: string;
  role: 'benign' | 'attacker';
  kind: string;
  t_start: number;
  t_end: number;
  status: number | null;
  error: string | null;
  body_bytes: number;
  prompt_chars: number;
  spoofed_xff: string | null;
  api_key: string;
}

function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const out: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      /* torn line */
    }
  }
  return out;
}

export async function runPromptFlood(
  opts: PromptFloodOptions,
  progress: Progress,
): Promise<{ outDir: string; summary: Record<string, unknown> }> {
  await preflight('prompt-flood');
  const missing = NEEDS.filter(([p]) => !existsSync(p)).map(([, pkg]) => pkg);
  const py = await run(PYTHON, ['-c', 'import fastapi, uvicorn'], { allowFail: true });
  if (py.code !== 0) missing.push('python3-fastapi', 'python3-uvicorn');
  if (missing.length)
    throw new LabError(
      'E_LAB_ENV',
      `lab prompt-flood cannot run: install: apt-get install -y ${missing.join(' ')}`,
    );
  const out = resolve(opts.outDir);
  const bundle = join(out, 'bundle');
  const logs = join(bundle, 'logs');
  const truthDir = join(out, 'truth');
  const work = join(out, 'work');
  for (const d of [bundle, truthDir, work]) rmSync(d, { recursive: true, force: true });
  for (const d of [logs, truthDir, join(work, 'lb'), join(work, 'edge')])
    mkdirSync(d, { recursive: true });
  const assets = join(LAB_ASSETS, 'prompt-flood');
  const pcap = join(bundle, 'cap.pcap');
  const started = Date.now();
  const s = new LabSession(work, progress);
  let tcpdumpStats = '';
  try {
    progress(`lab prompt-flood: seed ${opts.seed}, ${opts.durationS} s of traffic`);
    const clientAddrs = [
      ...PF_ADDR.benign,
      PF_ADDR.heavy,
      PF_ADDR.docs,
      ...PF_ADDR.flood,
      PF_ADDR.inject,
    ];
    await s.up([
      { role: 'clients', addrs: clientAddrs },
      { role: 'lb', addrs: [PF_ADDR.lb] },
      { role: 'edge', addrs: [PF_ADDR.edge] },
      { role: 'apps', addrs: [PF_ADDR.app] },
    ]);
    // Clients live in "public" ranges: on-link routes across the one bridge both ways.
    const route = async (role: string, net: string) => {
      const [c, a] = inNs(s.ns(role), '/usr/sbin/ip', ['route', 'add', net, 'dev', 'eth0']);
      await run(c, a);
    };
    await route('clients', '10.10.0.0/16');
    await route('lb', '198.51.0.0/16');
    await route('lb', '203.0.0.0/16');

    const app = s.start(
      'uvicorn llm_app',
      'apps',
      PYTHON,
      [
        '-m',
        'uvicorn',
        'llm_app:app',
        '--app-dir',
        assets,
        '--host',
        PF_ADDR.app,
        '--port',
        String(PF_ADDR.appPort),
        '--no-access-log',
        '--timeout-keep-alive',
        '60',
      ],
      { stdout: join(work, 'uvicorn.out') },
      { LAB_APP_LOG: join(logs, 'llm-app.jsonl'), LAB_SEED: String(opts.seed) },
    );
    const render = (tmpl: string, vars: Record<string, string>) => {
      let t = readFileSync(join(assets, tmpl), 'utf8');
      for (const [k, v] of Object.entries(vars)) t = t.replaceAll(`{{${k}}}`, v);
      return t;
    };
    const edgeConf = s.writeWork(
      'edge/nginx.conf',
      render('nginx-edge.conf.tmpl', {
        RUN: join(work, 'edge'),
        LOGS: logs,
        LISTEN: `${PF_ADDR.edge}:${PF_ADDR.edgePort}`,
        APP: `${PF_ADDR.app}:${PF_ADDR.appPort}`,
      }),
    );
    const lbConf = s.writeWork(
      'lb/nginx.conf',
      render('nginx-lb.conf.tmpl', {
        RUN: join(work, 'lb'),
        LISTEN: `${PF_ADDR.lb}:${PF_ADDR.lbPort}`,
        EDGE: `${PF_ADDR.edge}:${PF_ADDR.edgePort}`,
      }),
    );
    const nginx = (name: string, role: string, conf: string, dir: string, err: string) =>
      s.start(
        name,
        role,
        '/usr/sbin/nginx',
        ['-c', conf, '-p', dir, '-e', err, '-g', 'daemon off;'],
        { stdout: join(work, `${name}.out`) },
      );
    const edge = nginx(
      'nginx-edge',
      'edge',
      edgeConf,
      join(work, 'edge'),
      join(logs, 'nginx-error.log'),
    );
    const lb = nginx('nginx-lb', 'lb', lbConf, join(work, 'lb'), join(work, 'lb', 'error.log'));
    await Promise.all([
      s.waitListening(app, 'apps', PF_ADDR.app, PF_ADDR.appPort),
      s.waitListening(edge, 'edge', PF_ADDR.edge, PF_ADDR.edgePort),
      s.waitListening(lb, 'lb', PF_ADDR.lb, PF_ADDR.lbPort),
    ]);
    progress(`lab: servers up after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const capture = await s.captureBridge(
      pcap,
      `tcp port ${PF_ADDR.lbPort} and host ${PF_ADDR.lb} and not host ${PF_ADDR.edge}`,
      16384,
    );

    const cfgPath = s.writeWork(
      'client.json',
      JSON.stringify({
        lb: PF_ADDR.lb,
        port: PF_ADDR.lbPort,
        seed: opts.seed,
        duration_s: opts.durationS,
        attack: [0.3, 0.75],
        benign: PF_ADDR.benign,
        heavy: PF_ADDR.heavy,
        docs: PF_ADDR.docs,
        flood: PF_ADDR.flood,
        inject: PF_ADDR.inject,
      }),
    );
    const [cc, ca] = inNs(s.ns('clients'), PYTHON, [
      join(assets, 'client.py'),
      cfgPath,
      join(work, 'client.jsonl'),
    ]);
    progress('lab: clients running');
    await run(cc, ca, { timeoutMs: (opts.durationS + 90) * 1000 });
    await sleep(1000);
    tcpdumpStats = await capture.stop();
    await s.stop(lb, 'SIGQUIT');
    await s.stop(edge, 'SIGQUIT');
  } finally {
    await s.cleanup();
  }

  progress('lab: writing truth');
  const clients = readJsonl<ClientRecord>(join(work, 'client.jsonl')).sort(
    (a, b) => a.t_start - b.t_start,
  );
  const truth = clients.map((c) => ({ ...c, label: c.role === 'attacker' ? 'attack' : 'benign' }));
  writeFileSync(
    join(truthDir, 'truth.jsonl'),
    truth.map((t) => JSON.stringify(t)).join('\n') + '\n',
  );
  const appLog = readJsonl<{ level?: string; msg?: string }>(join(logs, 'llm-app.jsonl'));
  const oom = appLog.filter((l) => /out of memory/i.test(l.msg ?? '')).length;
  const status: Record<string, number> = {};
  for (const c of clients)
    status[String(c.status ?? c.error)] = (status[String(c.status ?? c.error)] ?? 0) + 1;
  const byRole = (role: string) => clients.filter((c) => c.role === role);
  let netflow: NetflowExportResult | { skipped: string } | null = null;
  const missingTools = missingNetflowTools();
  if (missingTools.length) {
    netflow = { skipped: `not installed: ${missingTools.join(', ')}` };
    progress(
      `lab: no NetFlow export (apt-get install -y softflowd nfdump; missing ${missingTools.join(', ')})`,
    );
  } else {
    mkdirSync(work, { recursive: true });
    netflow = await exportNetflow(pcap, out, work, progress);
    writeFileSync(join(truthDir, 'netflow.json'), JSON.stringify(netflow, null, 2) + '\n');
  }
  if (opts.gzip) {
    await run('/usr/bin/gzip', ['-9', '-f', pcap]);
  }
  const capFile = opts.gzip ? `${pcap}.gz` : pcap;
  const summary = {
    scenario: 'prompt-flood',
    n_requests: clients.length,
    attackers: [...PF_ADDR.flood, PF_ADDR.inject],
    benign_sources: [...PF_ADDR.benign, PF_ADDR.heavy, PF_ADDR.docs],
    attack_requests: byRole('attacker').length,
    benign_requests: byRole('benign').length,
    status_counts: status,
    oom_lines: oom,
    netflow,
    capture: {
      file: `bundle/${opts.gzip ? 'cap.pcap.gz' : 'cap.pcap'}`,
      size_bytes: statSync(capFile).size,
      tcpdump: tcpdumpStats.split('\n'),
    },
    duration_s: Math.round((Date.now() - started) / 100) / 10,
    params: {
      seed: opts.seed,
      traffic_s: opts.durationS,
      attack_fraction: [0.3, 0.75],
      trusted_hops: [PF_ADDR.lb, PF_ADDR.edge],
      topology: {
        clients:
          'benign 198.51.100.11-18, batch 198.51.100.19, long documents 198.51.100.20; flooders 203.0.113.66-67 (.67 spoofs X-Forwarded-For), injector 203.0.113.68',
        lb: `${PF_ADDR.lb}:${PF_ADDR.lbPort} nginx (appends X-Forwarded-For)`,
        edge: `${PF_ADDR.edge}:${PF_ADDR.edgePort} nginx (JSON access log)`,
        app: `${PF_ADDR.app}:${PF_ADDR.appPort} uvicorn llm_app.py (KV budget 30000 tokens, context 8192)`,
      },
      capture: 'tcpdump -i br0, client <-> LB hop only',
    },
  };
  writeFileSync(join(truthDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  if (!opts.keepWork) rmSync(work, { recursive: true, force: true });
  if (clients.length === 0) throw new LabError('E_LAB_RUN', 'the client recorded no requests');
  return { outDir: out, summary };
}

/** `mlscope lab prompt-flood --out DIR [--seed N] [--duration S] [--gzip] [--keep-work] [--json]` */
export async function labMain(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('lab prompt-flood', argv.slice(1), {
    out: { type: 'string' },
    seed: { type: 'string' },
    duration: { type: 'string' },
    gzip: { type: 'boolean' },
    'keep-work': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length) throw new UsageError(`lab: unexpected argument '${positionals[0]}'`);
  if (!values.out) throw new UsageError('lab: --out DIR is required');
  const durationS = numberFlag('lab', 'duration', values.duration) ?? 40;
  if (durationS < 8 || durationS > 600)
    throw new UsageError('lab: --duration expects seconds from 8 to 600');
  try {
    const r = await runPromptFlood(
      {
        outDir: values.out,
        seed: numberFlag('lab', 'seed', values.seed) ?? 7,
        durationS,
        keepWork: values['keep-work'] ?? false,
        gzip: values.gzip ?? false,
      },
      (msg) => io.stderr.write(msg + '\n'),
    );
    if (values.json) io.stdout.write(JSON.stringify(r.summary, null, 2) + '\n');
    else {
      const s = r.summary;
      io.stdout.write(
        [
          `wrote ${values.out}/bundle and ${values.out}/truth`,
          ...[
            'n_requests',
            'attack_requests',
            'benign_requests',
            'status_counts',
            'oom_lines',
            'netflow',
            'capture',
            'duration_s',
          ].map((k) => `  ${k}: ${JSON.stringify(s[k])}`),
        ].join('\n') + '\n',
      );
    }
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof LabError) {
      io.stderr.write(`mlscope: ${err.message}\n`);
      return err.code === 'E_LAB_ENV' ? ExitCode.USAGE : ExitCode.INPUT_ERROR;
    }
    throw err;
  }
}
