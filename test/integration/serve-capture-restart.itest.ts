// `mlscope serve --capture lo` when tcpdump dies: serve restarts it, and a keep-alive connection
// that spans the restart stays one connection (the engine keeps its state across the new pcap
// stream). Real tcpdump, killed with SIGKILL while serve runs; requests before and after.
// Needs root (tcpdump on lo) and tcpdump, curl; outside CI a missing tool skips, in CI it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server, Agent, request } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cannotRunAsRootWith,
  captureServeArgs,
  freePort,
  metricValue,
  runMlscope,
  sleep,
  startServe,
  waitFor,
} from './helpers/serve-harness.js';

const execFileAsync = promisify(execFile);
const skip = cannotRunAsRootWith(['tcpdump', 'curl'], ['tcpdump', 'curl'], 'serve-capture-restart');

/** Pids of the processes named `name` whose parent is `ppid` (from /proc: no procps needed). */
function childrenNamed(ppid: number, name: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppidOf = Number(stat.slice(close + 2).split(' ')[1]);
      if (comm === name && ppidOf === ppid) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

test(
  'serve --capture: tcpdump killed mid-run is restarted; a connection across the restart stays one',
  { skip, timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-capture-restart-'));
    const db = join(dir, 'live.duckdb');
    const apiPort = await freePort();
    const http: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok\n'));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const httpPort = (http.address() as { port: number }).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const keepAlive = (path: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: httpPort, path, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    const curl = (path: string): Promise<unknown> =>
      execFileAsync('curl', ['-sS', '-o', '/dev/null', `http://127.0.0.1:${httpPort}${path}`], {
        timeout: 10_000,
      });
    const serve = startServe(captureServeArgs(db, apiPort, httpPort));
    const listening = (n: number) => () =>
      Promise.resolve(
        (serve.output().match(/capture lo: tcpdump: listening on lo/g) ?? []).length >= n
          ? true
          : null,
      );
    const metrics = async (): Promise<string> => {
      const r = await fetch(`http://127.0.0.1:${apiPort}/metrics`).catch(() => null);
      return r?.ok ? r.text() : '';
    };
    try {
      await waitFor('tcpdump under serve to listen', listening(1), 60_000, serve.output);
      await sleep(500); // the filter is attached just before tcpdump says so
      await keepAlive('/before/1');
      await curl('/before/2');
      const svc = `service="127.0.0.1:${httpPort}"`;
      const observed = (m: string): number =>
        m
          .split('\n')
          .filter((l) => l.startsWith('mlscope_observed_requests_total{') && l.includes(svc))
          .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      await waitFor(
        '2 requests observed',
        async () => (observed(await metrics()) === 2 ? true : null),
        20_000,
        serve.output,
      );

      const [tcpdump] = childrenNamed(serve.child.pid!, 'tcpdump');
      assert.ok(tcpdump, `no tcpdump child of serve: ${serve.output().slice(-2000)}`);
      process.kill(tcpdump, 'SIGKILL');
      await waitFor(
        'serve to say it restarts tcpdump',
        () =>
          Promise.resolve(
            /tcpdump was killed by SIGKILL; restarting it in/.test(serve.output()) ? true : null,
          ),
        10_000,
        serve.output,
      );
      await waitFor('the new tcpdump to listen', listening(2), 30_000, serve.output);
      await sleep(500);
      await keepAlive('/after/3'); // same connection as /before/1
      await curl('/after/4');
      const m = await waitFor(
        '4 requests observed',
        async () => {
          const text = await metrics();
          return observed(text) === 4 ? text : null;
        },
        20_000,
        serve.output,
      );
      assert.equal(metricValue(m, 'mlscope_capture_restarts_total{interface="lo"}'), 1);
      assert.equal(metricValue(m, 'mlscope_capture_running{interface="lo"}'), 1);
      assert.equal(metricValue(m, 'mlscope_capture_errors_total{interface="lo"}'), 1);

      const exited = new Promise<number | null>((r) => serve.child.once('exit', (c) => r(c)));
      process.kill(serve.child.pid!, 'SIGTERM');
      assert.equal(await exited, 0, serve.output().slice(-3000));
      const r = runMlscope([
        'sql',
        `SELECT path, conn_id FROM exchanges WHERE server_port = ${httpPort} ORDER BY req_first_us`,
        '--db',
        db,
        '--json',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const rows = (JSON.parse(r.stdout) as { rows: { path: string; conn_id: number }[] }).rows;
      assert.deepEqual(
        rows.map((x) => x.path),
        ['/before/1', '/before/2', '/after/3', '/after/4'],
      );
      assert.equal(rows[0]!.conn_id, rows[2]!.conn_id, 'the keep-alive connection stays one');
      const c = runMlscope([
        'sql',
        `SELECT count(*) AS n FROM connections WHERE server_port = ${httpPort}`,
        '--db',
        db,
        '--json',
      ]);
      assert.equal((JSON.parse(c.stdout) as { rows: { n: number }[] }).rows[0]!.n, 3);
    } finally {
      agent.destroy();
      http.close();
      if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
