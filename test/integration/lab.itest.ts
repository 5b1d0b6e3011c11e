// Runs tiny lab scenarios with real nginx/uvicorn/gunicorn/tcpdump in network namespaces and
// checks the bundle and the truth agree. Skips when not root or the Debian packages are missing
// (the skip message lists them).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { labCommand } from '../../src/cli/commands/lab.js';
import { preflight } from '../../src/lab/env.js';
import { countPcapRecords } from '../../src/lab/pcap-count.js';

async function lab(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await labCommand.run(argv, { stdout, stderr, isTty: false });
  return { code, out, err };
}

/**
 * Why this machine cannot run the scenario (not root, packages missing), or false. In CI a
 * missing tool is a failure, not a skip: .ci/run installs everything.
 */
async function skipReason(scenario: string): Promise<string | false> {
  try {
    await preflight(scenario);
    return false;
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/\n\s*/g, '; ') : String(e);
    if (process.env['CI']) throw new Error(`lab ${scenario} cannot run in CI: ${why}`);
    return why;
  }
}

/** Server ports of the TCP segments in an Ethernet/IPv4 pcap (ports below 10000). */
function serverPorts(pcap: string): Set<number> {
  const b = readFileSync(pcap);
  const ports = new Set<number>();
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = b.readUInt32LE(off + 8);
    const p = off + 16;
    if (p + 38 <= b.length && b.readUInt16BE(p + 12) === 0x0800 && b[p + 23] === 6) {
      const ihl = (b[p + 14]! & 0x0f) * 4;
      const sport = b.readUInt16BE(p + 14 + ihl);
      const dport = b.readUInt16BE(p + 16 + ihl);
      ports.add(Math.min(sport, dport));
    }
    off = p + incl;
  }
  return ports;
}

const lines = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

test('lab: usage errors (exit 2 through main)', async () => {
  await assert.rejects(lab(['nope', '--out', '/tmp/x']), { code: 'E_USAGE' });
  await assert.rejects(lab(['slow-endpoint']), { code: 'E_USAGE' });
  const r = await lab(['slow-endpoint', '--out', '/tmp/x', '--faults', 'bogus']);
  assert.equal(r.code, 2);
});

test('lab slow-endpoint: bundle and truth are well formed and agree', async (t) => {
  const skip = await skipReason('slow-endpoint');
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-lab-'));
  try {
    const n = 36;
    const r = await lab([
      'slow-endpoint',
      '--out',
      dir,
      '--requests',
      String(n),
      '--seed',
      '3',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const bundle = join(dir, 'bundle');
    const logs = readdirSync(join(bundle, 'logs')).sort();
    for (const f of [
      'nginx-access.log',
      'nginx-error.log',
      'app-8000.jsonl',
      'uvicorn-8000.log',
      'gunicorn-8001.log',
      'gunicorn-8001-access.log',
      'gunicorn-8004.log',
    ])
      assert.ok(logs.includes(f), `missing logs/${f} (have ${logs.join(', ')})`);
    assert.ok(!existsSync(join(dir, 'work')), 'work dir removed');

    const truth = lines(join(dir, 'truth', 'truth.jsonl')).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    const summary = JSON.parse(readFileSync(join(dir, 'truth', 'summary.json'), 'utf8')) as {
      n_requests: number;
      n_slow: number;
      counts_by_cause: Record<string, number>;
      nginx_log_lines: number;
      capture: { packets: number };
    };
    const nginx = lines(join(bundle, 'logs', 'nginx-access.log'));
    assert.equal(truth.length, n);
    assert.equal(nginx.length, n, 'one nginx access line per client request');
    assert.equal(summary.n_requests, n);
    assert.equal(summary.nginx_log_lines, n);
    assert.equal(
      Object.values(summary.counts_by_cause).reduce((a, b) => a + b, 0),
      n,
      'causes partition the requests',
    );
    assert.equal(summary.n_slow, truth.filter((x) => x.slow === true).length);

    const rids = new Set(nginx.map((l) => /rid=(\S+)/.exec(l)?.[1]));
    const appIds = new Set<string>();
    for (const f of logs.filter((x) => /^app-\d+\.jsonl$/.test(x)))
      for (const l of lines(join(bundle, 'logs', f))) {
        const rec = JSON.parse(l) as { request_id: string; inference_ms: number };
        assert.equal(typeof rec.inference_ms, 'number');
        appIds.add(rec.request_id);
      }
    for (const x of truth) {
      assert.ok(typeof x.request_id === 'string' && rids.has(x.request_id), 'id in nginx log');
      assert.ok(
        ['none', 'network', 'inference', 'queueing', 'upstream-error'].includes(x.cause as string),
      );
      assert.equal(x.slow, (x.client_ms as number) >= 300);
      const status = x.status as number;
      if (status >= 500) assert.equal(x.cause, 'upstream-error');
      if (status === 200) assert.ok(appIds.has(x.request_id), 'served request logged');
      if (!x.slow && status < 500) assert.equal(x.cause, 'none');
    }

    const pcap = join(bundle, 'cap.pcap');
    const { packets } = await countPcapRecords(pcap);
    assert.equal(packets, summary.capture.packets);
    const ports = serverPorts(pcap);
    for (const p of [8080, 8000]) assert.ok(ports.has(p), `capture has port ${p}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lab bench-traffic: a small capture with retransmission-inducing loss', async (t) => {
  const skip = await skipReason('bench-traffic');
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-bench-'));
  try {
    const r = await lab(['bench-traffic', '--out', dir, '--size-mb', '4', '--json']);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { packets: number; size_bytes: number };
    assert.ok(s.size_bytes >= 4 * 1024 * 1024);
    const { packets } = await countPcapRecords(join(dir, 'bundle', 'cap.pcap'));
    assert.equal(packets, s.packets);
    assert.ok(packets > 10_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
