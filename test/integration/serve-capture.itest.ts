// `mlscope serve --capture lo --netflow PORT` live: serve (a child process) runs tcpdump on lo
// with a BPF filter for one TCP port while this process serves HTTP on that port and makes N
// requests — some on one keep-alive connection that stays open until serve is stopped, some with
// curl on connections of their own — and softflowd (`-r` over a small recorded capture) exports
// IPFIX to serve's collector and, for reference, to nfdump's nfcapd. While serve runs, /metrics
// must count N observed requests and carry the handshake RTT and retransmission series for the
// peer; after SIGTERM, `mlscope sql` over the DuckDB file must return the N exchanges (those of
// the still-open connection included), their connections, and the flow totals nfdump got.
// Needs root (tcpdump on lo) and tcpdump, softflowd, nfdump, curl; missing tools are installed
// with apt-get when possible; outside CI a missing tool skips, in CI it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cannotRunAsRootWith,
  captureServeArgs,
  freePort,
  metricValue,
  freeUdpPort,
  runMlscope,
  sleep,
  start,
  startServe,
  waitFor,
} from './helpers/serve-harness.js';
import { readSocketDrops } from '../../src/sources/udp.js';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const TOOLS = ['tcpdump', 'softflowd', 'nfcapd', 'nfdump', 'curl'];
const KEEPALIVE_REQUESTS = 12;
const CURL_REQUESTS = 8;
const N = KEEPALIVE_REQUESTS + CURL_REQUESTS;
const FLOW_CAPTURE = join(ROOT, 'test/fixtures/capture/http-lo.pcap');

const cannotRun = (): string | false =>
  cannotRunAsRootWith(TOOLS, ['tcpdump', 'softflowd', 'nfdump', 'curl'], 'serve-capture');

const mlscope = runMlscope;

function sql(db: string, query: string): Record<string, number | string | null>[] {
  const r = mlscope(['sql', query, '--db', db, '--json']);
  assert.equal(r.status, 0, `mlscope sql ${query}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { rows: Record<string, number | string | null>[] }).rows;
}

/** softflowd -r CAPTURE → udp 127.0.0.1:port as IPFIX; it exits at the end of the file. */
function softflowd(dir: string, port: number): void {
  const r = spawnSync(
    'softflowd',
    [
      '-r',
      FLOW_CAPTURE,
      '-n',
      `127.0.0.1:${port}`,
      '-v',
      '10',
      '-d',
      '-c',
      'none',
      '-p',
      join(dir, `softflowd-${port}.pid`),
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, `softflowd: ${r.stderr}`);
}

/** nfdump's totals over a flow directory (records, bytes, packets). */
function nfdumpTotals(flowDir: string): { records: number; bytes: number; packets: number } {
  const st = spawnSync('nfdump', ['-R', flowDir, '-I'], { encoding: 'utf8' });
  assert.equal(st.status, 0, `nfdump -I: ${st.stderr}`);
  const num = (k: string): number => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(st.stdout)?.[1]);
  return { records: num('Flows'), bytes: num('Bytes'), packets: num('Packets') };
}

const skip = cannotRun();

test(
  'serve --capture lo --netflow: live requests and exported flows on /metrics and in the store',
  { skip, timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-serve-capture-'));
    const db = join(dir, 'live.duckdb');
    const apiPort = await freePort();
    const netflowPort = await freeUdpPort();
    const nfPort = await freeUdpPort();
    const body = Buffer.alloc(3000, 'y');
    const http: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'text/plain');
        res.end(body);
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const httpPort = (http.address() as { port: number }).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const serve = startServe([
      ...captureServeArgs(db, apiPort, httpPort),
      '--netflow',
      String(netflowPort),
    ]);
    const nfDir = join(dir, 'nfcapd');
    mkdirSync(nfDir);
    const nfcapd = start('nfcapd', ['-b', '127.0.0.1', '-p', String(nfPort), '-w', nfDir]);
    const metrics = async (): Promise<string> => {
      const r = await fetch(`http://127.0.0.1:${apiPort}/metrics`);
      return r.ok ? r.text() : '';
    };
    try {
      await waitFor(
        'tcpdump under serve to listen',
        () =>
          Promise.resolve(
            /capture lo: tcpdump: listening on lo/.test(serve.output()) ? true : null,
          ),
        60_000,
        serve.output,
      );
      await sleep(500); // the filter is attached just before tcpdump says so
      await waitFor(
        'the API',
        async () => ((await metrics()).includes('mlscope_capture_running') ? true : null),
        10_000,
        serve.output,
      );

      // N requests: KEEPALIVE_REQUESTS on one connection that stays open, the rest with curl.
      for (let i = 0; i < KEEPALIVE_REQUESTS; i++)
        await new Promise<void>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: httpPort, path: `/item/${i + 1}?q=${i}`, agent },
            (res) => {
              res.resume();
              res.on('end', resolve);
            },
          );
          req.on('error', reject);
          req.end();
        });
      for (let i = 0; i < CURL_REQUESTS; i++) {
        // asynchronously: the server answering it runs in this process
        await execFileAsync(
          'curl',
          ['-sS', '-o', '/dev/null', `http://127.0.0.1:${httpPort}/item/${100 + i}`],
          { timeout: 10_000 },
        );
      }

      // NetFlow: the same export to serve and to nfcapd.
      await waitFor(
        'nfcapd to bind',
        () => Promise.resolve(readSocketDrops('127.0.0.1', nfPort) !== null ? true : null),
        10_000,
        nfcapd.output,
      );
      softflowd(dir, netflowPort);
      softflowd(dir, nfPort);

      const service = `service="127.0.0.1:${httpPort}",route="/item/{id}",status="200"`;
      const peer = `server="127.0.0.1:${httpPort}",client="127.0.0.1"`;
      const text = await waitFor(
        `${N} observed requests on /metrics`,
        async () => {
          const m = await metrics();
          return metricValue(m, `mlscope_observed_requests_total{${service}}`) === N ? m : null;
        },
        20_000,
        () => serve.output() + '\n' + '(metrics not shown)',
      );
      for (const l of text.split('\n'))
        if (/^mlscope_(capture|tcp|netflow|flow|observed_requests)/.test(l) && !/_bucket\{/.test(l))
          t.diagnostic(l);
      assert.equal(
        metricValue(text, `mlscope_observed_request_duration_seconds_count{${service}}`),
        N,
      );
      // one handshake per connection: the keep-alive one and one per curl
      assert.equal(
        metricValue(text, `mlscope_tcp_handshake_rtt_seconds_count{${peer}}`),
        1 + CURL_REQUESTS,
      );
      assert.ok(
        (metricValue(text, `mlscope_tcp_handshake_rtt_seconds_sum{${peer}}`) ?? -1) > 0,
        'handshake RTT sum',
      );
      assert.equal(metricValue(text, `mlscope_tcp_retransmissions_total{${peer}}`), 0);
      assert.equal(metricValue(text, 'mlscope_capture_running{interface="lo"}'), 1);
      assert.equal(metricValue(text, 'mlscope_capture_errors_total{interface="lo"}'), 0);
      assert.equal(metricValue(text, 'mlscope_capture_skipped_total{interface="lo"}'), 0);
      await waitFor(
        'the flow records on /metrics',
        async () => {
          const m = await metrics();
          return (metricValue(m, 'mlscope_flow_records_total{exporter="127.0.0.1"}') ?? 0) > 0
            ? m
            : null;
        },
        10_000,
        serve.output,
      );

      // Stop serve while the keep-alive connection is still open: its exchanges are already
      // stored, and the connection itself is written at shutdown.
      const exited = new Promise<number | null>((r) => serve.child.once('exit', (c) => r(c)));
      process.kill(serve.child.pid!, 'SIGTERM');
      const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
      assert.equal(code, 0, `serve exit: ${serve.output().slice(-3000)}`);
      await nfcapd.stop();
      assert.match(serve.output(), /capture lo: \d+ packets, \d+ connections, 20 exchanges/);

      const [ex] = sql(
        db,
        `SELECT count(*) AS n, count(DISTINCT conn_id) AS conns, min(status) AS lo, max(status) AS hi,
                count(*) FILTER (WHERE total_ms IS NOT NULL) AS timed
         FROM exchanges WHERE server_port = ${httpPort}`,
      );
      assert.deepEqual(ex, { n: N, conns: 1 + CURL_REQUESTS, lo: 200, hi: 200, timed: N });
      const [cn] = sql(
        db,
        `SELECT count(*) AS n, count(*) FILTER (WHERE handshake_rtt_ms > 0) AS hs,
                count(*) FILTER (WHERE close = 'open') AS still_open
         FROM connections WHERE server_port = ${httpPort}`,
      );
      assert.deepEqual(cn, { n: 1 + CURL_REQUESTS, hs: 1 + CURL_REQUESTS, still_open: 1 });
      const inputs = sql(db, `SELECT path, kind, status, records FROM inputs ORDER BY id`);
      assert.deepEqual(
        inputs.map((r) => [r['kind'], r['status']]),
        [
          ['capture', 'done'],
          ['flows', 'done'],
        ],
      );
      assert.equal(inputs[0]!['path'], 'live:capture:lo');
      const [joined] = sql(
        db,
        `SELECT count(*) AS n FROM exchanges x JOIN connections c
           ON c.id = x.conn_id AND c.input_id = x.input_id
         JOIN inputs i ON i.id = x.input_id AND i.path = 'live:capture:lo'`,
      );
      assert.equal(joined!['n'], N);

      const nf = nfdumpTotals(nfDir);
      const [fl] = sql(
        db,
        `SELECT count(*) AS records, sum(bytes) AS bytes, sum(packets) AS packets FROM flows
         WHERE exporter = '127.0.0.1' AND source = 'ipfix'`,
      );
      t.diagnostic(`nfdump ${JSON.stringify(nf)}; mlscope ${JSON.stringify(fl)}`);
      assert.ok(nf.records > 0, 'nfdump got flows');
      assert.deepEqual(fl, nf);
    } finally {
      agent.destroy();
      await serve.stop();
      await nfcapd.stop();
      await new Promise<void>((r) => http.close(() => r()));
      if (!process.env['MLSCOPE_KEEP_TEST_OUTPUT']) rmSync(dir, { recursive: true, force: true });
    }
  },
);
