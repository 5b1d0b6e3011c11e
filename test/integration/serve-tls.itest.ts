// `mlscope serve --capture lo --tls-keylog FILE` on live HTTPS: real nginx (TLS 1.2 and 1.3,
// HTTP/1.1 and HTTP/2) and curl writing SSLKEYLOGFILE while serve captures with tcpdump. The key
// log is empty when serve starts: the secrets arrive as the clients connect. Every request must
// show up decrypted on /metrics and in the store.
// Needs root and nginx, curl, tcpdump, openssl; outside CI a missing tool skips, in CI it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cannotRunAsRootWith,
  captureServeArgs,
  freePort,
  runMlscope,
  sleep,
  startServe,
  waitFor,
} from './helpers/serve-harness.js';

const execFileAsync = promisify(execFile);
const TOOLS = ['nginx', 'curl', 'tcpdump', 'openssl'];
const skip = cannotRunAsRootWith(TOOLS, TOOLS, 'serve-tls');

const REQUESTS: [string, string[]][] = [
  ['live-tls13-h1', ['--http1.1', '--tlsv1.3']],
  ['live-tls13-h2', ['--http2', '--tlsv1.3']],
  [
    'live-tls12-gcm',
    ['--http1.1', '--tlsv1.2', '--tls-max', '1.2', '--ciphers', 'ECDHE-RSA-AES128-GCM-SHA256'],
  ],
  [
    'live-tls12-h2',
    ['--http2', '--tlsv1.2', '--tls-max', '1.2', '--ciphers', 'ECDHE-RSA-CHACHA20-POLY1305'],
  ],
];

test(
  'serve decrypts live HTTPS with a key log written while it runs',
  { skip, timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-serve-tls-'));
    chmodSync(dir, 0o755); // nginx workers run unprivileged
    const tlsPort = await freePort();
    const apiPort = await freePort();
    const keys = join(dir, 'keys.log');
    writeFileSync(keys, '');
    const cert = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=llm.test',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    assert.equal(cert.status, 0, String(cert.stderr));
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'www/chat.json'), '{"object":"chat.completion","choices":[]}');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f;
  uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server {
    listen 127.0.0.1:${tlsPort} ssl http2;
    ssl_certificate ${dir}/cert.pem; ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305;
    root ${dir}/www;
    location /v1/chat/completions { default_type application/json; try_files /chat.json =404; }
  }
}
`,
    );
    const ng = spawnSync('nginx', ['-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
    assert.equal(ng.status, 0, ng.stderr);
    const db = join(dir, 'live.duckdb');
    const serve = startServe([...captureServeArgs(db, apiPort, tlsPort), '--tls-keylog', keys]);
    try {
      await waitFor(
        'tcpdump under serve to listen',
        () => Promise.resolve(/tcpdump: listening on lo/.test(serve.output()) ? true : null),
        60_000,
        serve.output,
      );
      await sleep(500);
      for (const [id, args] of REQUESTS)
        await execFileAsync(
          'curl',
          [
            '-sk',
            '-o',
            '/dev/null',
            '-H',
            `x-request-id: ${id}`,
            ...args,
            `https://127.0.0.1:${tlsPort}/v1/chat/completions`,
          ],
          { env: { ...process.env, SSLKEYLOGFILE: keys }, timeout: 10_000 },
        );
      const svc = `service="127.0.0.1:${tlsPort}"`;
      let last = '';
      await waitFor(
        `${REQUESTS.length} decrypted requests on /metrics`,
        async () => {
          const r = await fetch(`http://127.0.0.1:${apiPort}/metrics`).catch(() => null);
          const text = r?.ok ? await r.text() : '';
          last = text
            .split('\n')
            .filter((l) =>
              /^mlscope_(observed_requests_total|capture_(packets|exchanges|skipped))/.test(l),
            )
            .join('\n');
          const n = text
            .split('\n')
            .filter((l) => l.startsWith('mlscope_observed_requests_total{') && l.includes(svc))
            .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
          return n === REQUESTS.length ? true : null;
        },
        20_000,
        () => `${serve.output()}\n${last}`,
      );
      const exited = new Promise<number | null>((r) => serve.child.once('exit', (c) => r(c)));
      process.kill(serve.child.pid!, 'SIGTERM');
      assert.equal(await exited, 0, serve.output().slice(-3000));
      const q = runMlscope([
        'sql',
        `SELECT request_id, status, protocol FROM exchanges WHERE server_port = ${tlsPort} ORDER BY request_id`,
        '--db',
        db,
        '--json',
      ]);
      assert.equal(q.status, 0, q.stderr);
      const rows = (
        JSON.parse(q.stdout) as { rows: { request_id: string; status: number; protocol: string }[] }
      ).rows;
      assert.deepEqual(
        rows.map((r) => r.request_id),
        REQUESTS.map(([id]) => id).sort(),
      );
      assert.ok(rows.every((r) => r.status === 200));
      assert.deepEqual(rows.map((r) => r.protocol).sort(), [
        'HTTP/1.1',
        'HTTP/1.1',
        'HTTP/2',
        'HTTP/2',
      ]);
    } finally {
      if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
      spawnSync('nginx', ['-c', join(dir, 'nginx.conf'), '-s', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
