// HTTPS decrypted with a key log, against Wireshark: real nginx (TLS 1.2/1.3, HTTP/1.1 and HTTP/2),
// curl writing SSLKEYLOGFILE and tcpdump make a fresh capture (scripts/make-tls-fixture.sh); the
// request ids mlscope decrypts must be the ones tshark decrypts with the same key log.
// Needs root and nginx, curl, tcpdump, openssl, tshark; outside CI a missing tool skips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cannotRunAsRootWith, freePort, runMlscope } from './helpers/serve-harness.js';

const ROOT = join(import.meta.dirname, '../..');
const skip = cannotRunAsRootWith(
  ['nginx', 'curl', 'tcpdump', 'openssl', 'tshark'],
  ['nginx', 'curl', 'tcpdump', 'openssl', 'tshark'],
  'tls-keylog',
);

test(
  'HTTPS with a key log: mlscope decrypts the requests tshark decrypts',
  { skip, timeout: 120_000 },
  async () => {
    // a port nobody holds now (a random one collided with a listener in CI once)
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-tls-'));
    try {
      const make = spawnSync('bash', [join(ROOT, 'scripts/make-tls-fixture.sh')], {
        env: { ...process.env, OUT: dir, PORT: String(port) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(make.status, 0, make.stderr);
      const pcap = join(dir, 'https-keylog.pcap');
      const keys = join(dir, 'https-keylog.keys');
      const ts = spawnSync(
        'tshark',
        [
          '-r',
          pcap,
          '-o',
          `tls.keylog_file:${keys}`,
          '-Y',
          'http.request or http2.headers.method',
          '-T',
          'fields',
          '-e',
          'http.request.line',
          '-e',
          'http2.header.value',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(ts.status, 0, ts.stderr);
      const tsharkIds = [...ts.stdout.matchAll(/(tls1[23]-[a-z0-9-]+)/g)].map((m) => m[1]!);
      const r = runMlscope(['http', pcap, '--json', '--tls-keylog', keys]);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { exchanges: { requestId: string; status: number }[] };
      const ours = doc.exchanges.map((x) => x.requestId);
      assert.equal(ours.length, 7);
      assert.deepEqual([...new Set(ours)].sort(), [...new Set(tsharkIds)].sort());
      assert.ok(doc.exchanges.every((x) => x.status === 200));
      // without the key log: no HTTP seen, the same requests timed from TLS records
      const plain = runMlscope(['http', pcap, '--json']);
      const opaque = JSON.parse(plain.stdout) as {
        total: number;
        exchanges: { path: string | null; protocol: string; client: string }[];
      };
      assert.ok(opaque.exchanges.every((x) => x.path === null && x.protocol.startsWith('TLS')));
      // one per HTTP/1.1 session; HTTP/2's control frames make its pairing an estimate
      const h1 = opaque.exchanges.filter((x) => x.protocol === 'TLS');
      assert.equal(h1.length, 5, JSON.stringify(opaque.exchanges));
      assert.equal(new Set(h1.map((x) => x.client)).size, 5);
      assert.equal(
        new Set(opaque.exchanges.map((x) => x.client)).size,
        7,
        'every session has its request timed',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
