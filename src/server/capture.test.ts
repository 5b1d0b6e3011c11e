// Live capture without root or tcpdump: a fake child process streams a recorded pcap
// (test/fixtures/capture/http-lo.pcap: 4 HTTP/1.1 exchanges on 4 connections to 127.0.0.1:18080)
// through the same path the tcpdump child's stdout takes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followKeyLog } from '../ingest/keylog.js';
import { fileURLToPath } from 'node:url';
import type { Connection, Exchange } from '../model/records.js';
import type { FlowRecord } from '../model/flow.js';
import type { InputStats } from '../store/store.js';
import { FakeChild, fakeSpawn } from '../sources/tcpdump.test-util.js';
import { LiveCaptureSource } from './capture.js';
import { routeOf } from './capture-metrics.js';
import { Registry } from './prometheus.js';
import { IngestQueue, openTelemetryStore, type RecordSink } from './telemetry-store.js';
import { HTTPS_FIXTURE_IDS } from '../decoders/proto/https-fixture.test-util.js';

const PCAP = readFileSync(
  fileURLToPath(new URL('../../test/fixtures/capture/http-lo.pcap', import.meta.url)),
);
/** HTTPS (TLS 1.2/1.3) and the key log curl wrote (scripts/make-tls-fixture.sh). */
const TLS_PCAP = readFileSync(
  fileURLToPath(new URL('../../test/fixtures/capture/https-keylog.pcap', import.meta.url)),
);
const TLS_KEYS = readFileSync(
  fileURLToPath(new URL('../../test/fixtures/capture/https-keylog.keys', import.meta.url)),
  'utf8',
);
/** The same with its key log injected into the capture (editcap --inject-secrets: a pcapng DSB). */
const TLS_DSB = readFileSync(
  fileURLToPath(new URL('../../test/fixtures/capture/https-keylog-dsb.pcapng', import.meta.url)),
);
/** The same exchanges, recorded again later (ns timestamps, other ports). */
const PCAP_NS = readFileSync(
  fileURLToPath(new URL('../../test/fixtures/capture/http-lo-ns.pcap', import.meta.url)),
);

class Sink implements RecordSink {
  readonly conns: { c: Connection; input: number | null }[] = [];
  readonly xs: { x: Exchange; input: number | null }[] = [];
  readonly finished: { id: number; stats: InputStats }[] = [];
  full = false;
  spans(): void {}
  logs(): void {}
  points(): void {}
  flows(_b: FlowRecord[]): void {}
  connections(b: Connection[], input: number | null): void {
    for (const c of b) this.conns.push({ c, input });
  }
  exchanges(b: Exchange[], input: number | null): void {
    for (const x of b) this.xs.push({ x, input });
  }
  beginInput(): Promise<number> {
    return Promise.resolve(7);
  }
  finishInput(id: number, stats: InputStats): Promise<void> {
    this.finished.push({ id, stats });
    return Promise.resolve();
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function feed(child: FakeChild, buf: Buffer, step: number): Promise<void> {
  for (let i = 0; i < buf.length; i += step) {
    child.stdout.write(buf.subarray(i, i + step));
    await tick();
  }
}

test('exchanges surface as they complete, connections on the idle sweep or at stop', async () => {
  const child = new FakeChild();
  const reg = new Registry(100);
  const lines: string[] = [];
  const src = new LiveCaptureSource({
    iface: 'lo',
    filter: 'tcp port 18080',
    registry: reg,
    spawn: fakeSpawn(child),
    log: (l) => lines.push(l),
    statsMs: 0,
  });
  const sink = new Sink();
  await src.start(sink);
  assert.equal(src.running, true);
  child.stderr.write('tcpdump: listening on lo, link-type EN10MB (Ethernet)\n');
  await feed(child, PCAP, 1000); // chunks that cut packets and headers anywhere
  // The stream is still open (tcpdump keeps running): every exchange is out already.
  assert.equal(sink.xs.length, 4);
  assert.ok(sink.xs.every((e) => e.input === 7));
  assert.deepEqual(
    sink.xs.map((e) => `${e.x.method} ${e.x.path} ${e.x.status}`),
    ['GET /a.txt 200', 'GET /big.txt 200', 'POST /post 501', 'HEAD /a.txt 200'],
  );
  const text = reg.render();
  assert.match(
    text,
    /mlscope_observed_requests_total\{service="127\.0\.0\.1:18080",route="\/a\.txt",status="200"\} 2/,
  );
  assert.match(
    text,
    /mlscope_observed_request_duration_seconds_count\{service="127\.0\.0\.1:18080",route="\/post",status="501"\} 1/,
  );
  assert.match(
    text,
    /mlscope_tcp_handshake_rtt_seconds_count\{server="127\.0\.0\.1:18080",client="127\.0\.0\.1"\} 4/,
  );
  assert.match(
    text,
    /mlscope_tcp_retransmissions_total\{server="127\.0\.0\.1:18080",client="127\.0\.0\.1"\} 0/,
  );
  assert.match(text, /mlscope_capture_packets_total\{interface="lo"\} 47/);
  assert.match(text, /mlscope_capture_running\{interface="lo"\} 1/);
  assert.match(text, /mlscope_capture_open_connections\{interface="lo"\} 4/);
  // Closed connections wait a minute for late packets; the wall-clock sweep finalises them.
  assert.equal(sink.conns.length, 0);
  src.engine.sweep(Date.UTC(2030, 0, 1) * 1000);
  assert.equal(src.engine.openConnections, 0);
  await src.stop();
  assert.equal(sink.conns.length, 4);
  assert.ok(sink.conns.every((c) => c.input === 7 && c.c.handshakeRttMs !== null));
  assert.deepEqual(child.signals, ['SIGTERM']);
  assert.deepEqual(sink.finished, [
    { id: 7, stats: { records: 8, skipped: 0, error: null, format: 'pcap' } },
  ]);
  assert.ok(lines.some((l) => /^capture lo: 47 packets, 4 connections, 4 exchanges/.test(l)));
  assert.match(reg.render(), /mlscope_capture_running\{interface="lo"\} 0/);
});

test('open connections are written at stop; records go through the queue to the store', async () => {
  const child = new FakeChild();
  const reg = new Registry(100);
  const store = await openTelemetryStore(':memory:');
  const queue = new IngestQueue(store, 10);
  const src = new LiveCaptureSource({ iface: 'lo', registry: reg, spawn: fakeSpawn(child) });
  await src.start(queue);
  await feed(child, PCAP, 4096);
  await src.stop();
  await queue.drain();
  assert.deepEqual(queue.stats.stored, {
    spans: 0,
    logs: 0,
    points: 0,
    connections: 4,
    exchanges: 4,
    flows: 0,
  });
  await store.close();
});

test('tcpdump failing (no such device) is reported with its message; nothing throws', async () => {
  const child = new FakeChild();
  const reg = new Registry(100);
  const lines: string[] = [];
  const src = new LiveCaptureSource({
    iface: 'nosuch0',
    registry: reg,
    spawn: fakeSpawn(child),
    log: (l) => lines.push(l),
  });
  const sink = new Sink();
  await src.start(sink);
  child.stderr.write('tcpdump: nosuch0: No such device exists\n(No such device exists)\n');
  child.exit(1);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(src.errors, 1);
  assert.ok(
    lines.some((l) =>
      l.includes(
        'capture nosuch0: tcpdump exited with code 1: tcpdump: nosuch0: No such device exists',
      ),
    ),
    lines.join('\n'),
  );
  assert.match(reg.render(), /mlscope_capture_errors_total\{interface="nosuch0"\} 1/);
  assert.equal(src.downAtEnd, true, 'never got going: not retried');
  await src.stop();
  assert.equal(sink.finished[0]!.stats.error?.includes('No such device exists'), true);
});

test('no tcpdump binary: a clear message, capture off', async () => {
  const child = new FakeChild();
  const lines: string[] = [];
  const src = new LiveCaptureSource({
    iface: 'lo',
    registry: new Registry(),
    spawn: fakeSpawn(child),
    log: (l) => lines.push(l),
  });
  await src.start(new Sink());
  child.emit('error', Object.assign(new Error('spawn tcpdump ENOENT'), { code: 'ENOENT' }));
  await tick();
  assert.ok(lines.some((l) => /cannot run tcpdump: not found \(install tcpdump\)/.test(l)));
  await src.stop();
});

test('a stream that is not pcap stops the capture with the reason', async () => {
  const child = new FakeChild();
  const lines: string[] = [];
  const src = new LiveCaptureSource({
    iface: 'lo',
    registry: new Registry(),
    spawn: fakeSpawn(child),
    log: (l) => lines.push(l),
  });
  await src.start(new Sink());
  child.stdout.write(Buffer.from('this is not a capture file at all, just text\n'));
  await tick();
  await src.stop();
  assert.equal(src.errors, 1);
  assert.ok(
    lines.some((l) => /pcap stream from tcpdump is unreadable/.test(l)),
    lines.join('\n'),
  );
});

test('a full queue pauses the pipe until it drains', async () => {
  const child = new FakeChild();
  const sink = new Sink();
  const src = new LiveCaptureSource({
    iface: 'lo',
    registry: new Registry(),
    spawn: fakeSpawn(child),
  });
  await src.start(sink);
  sink.full = true;
  child.stdout.write(PCAP.subarray(0, 2000));
  await tick();
  assert.equal(child.stdout.isPaused(), true);
  sink.full = false;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(child.stdout.isPaused(), false);
  await src.stop();
});

test('routes: no query, ids folded, bounded', () => {
  assert.equal(routeOf('/v1/chat/completions?stream=true'), '/v1/chat/completions');
  assert.equal(routeOf('/users/12345/orders/9'), '/users/{id}/orders/{id}');
  assert.equal(routeOf('/jobs/3f2b1c9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b/logs#x'), '/jobs/{id}/logs');
  assert.equal(routeOf('/blob/0123456789abcdef0123'), '/blob/{id}');
  assert.equal(routeOf('/v1/models'), '/v1/models');
  assert.equal(routeOf(null), '');
  assert.ok(routeOf('/' + 'a/'.repeat(500)).length <= 129);
});

test('tcpdump dying after it captured is restarted with back-off; state and counters carry on', async () => {
  const children: FakeChild[] = [];
  const lines: string[] = [];
  const reg = new Registry(100);
  const src = new LiveCaptureSource({
    iface: 'lo',
    registry: reg,
    spawn: () => {
      const c = new FakeChild();
      children.push(c);
      return c;
    },
    log: (l) => lines.push(l),
    statsMs: 0,
    restartMs: 5,
    maxRestartMs: 40,
    now: () => 0, // every run "lasts" 0 ms: the back-off doubles deterministically
  });
  const sink = new Sink();
  await src.start(sink);
  children[0]!.stderr.write('tcpdump: listening on lo, link-type EN10MB (Ethernet)\n');
  // the first run dies part-way through a record
  await feed(children[0]!, PCAP.subarray(0, PCAP.length - 100), 1000);
  const before = sink.xs.length;
  children[0]!.exit(null, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(children.length, 2, lines.join('\n'));
  assert.ok(lines.some((l) => /tcpdump was killed by SIGKILL; restarting it in 5 ms/.test(l)));
  // the second run writes a new file header and different traffic: both are read
  children[1]!.stderr.write('tcpdump: listening on lo, link-type EN10MB (Ethernet)\n');
  await feed(children[1]!, PCAP_NS, 3000);
  assert.equal(sink.xs.length, before + 4);
  // frame numbers continue after the first stream's
  assert.ok(sink.xs.slice(before).every((e) => (e.x.reqFirstFrame ?? 0) > 40));
  assert.equal(src.restarts, 1);
  assert.equal(src.downAtEnd, false, 'recovered');
  assert.match(reg.render(), /mlscope_capture_restarts_total\{interface="lo"\} 1/);
  assert.match(reg.render(), /mlscope_capture_running\{interface="lo"\} 1/);
  // a run that fails at once (the interface is gone) is retried later, with a longer wait
  children[1]!.exit(1);
  await new Promise((r) => setTimeout(r, 20));
  children[2]!.stderr.write('tcpdump: lo: No such device exists\n');
  children[2]!.exit(1);
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(
    lines.some((l) => /No such device exists; restarting it in 20 ms/.test(l)),
    lines.join('\n'),
  );
  await src.stop();
  assert.equal(children.length, 3, 'no restart after stop');
  assert.equal(src.downAtEnd, true, 'stopped while waiting to restart');
  assert.equal(src.errors, 3);
});

test('live HTTPS with a key log the services are still writing: sessions decrypted as they come', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-live-tls-'));
  const keysPath = join(dir, 'keys.log');
  writeFileSync(keysPath, ''); // nothing yet: the clients write their secrets as they connect
  const { log, close } = followKeyLog(keysPath);
  try {
    const child = new FakeChild();
    const reg = new Registry(100);
    const src = new LiveCaptureSource({
      iface: 'lo',
      registry: reg,
      spawn: fakeSpawn(child),
      statsMs: 0,
      tlsKeys: log,
    });
    const sink = new Sink();
    await src.start(sink);
    child.stderr.write('tcpdump: listening on lo, link-type EN10MB (Ethernet)\n');
    writeFileSync(keysPath, TLS_KEYS);
    await feed(child, TLS_PCAP, 1500);
    assert.match(
      reg.render(),
      /mlscope_capture_tls_sessions_total\{interface="lo",result="decrypted"\} 7/,
    );
    assert.match(
      reg.render(),
      /mlscope_capture_tls_sessions_total\{interface="lo",result="not_in_key_log"\} 0/,
    );
    await src.stop();
    assert.deepEqual(sink.xs.map((e) => e.x.requestId).sort(), [...HTTPS_FIXTURE_IDS].sort());
  } finally {
    close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pcapng stream carrying its TLS secrets (DSB): sessions decrypted without --tls-keylog', async () => {
  const child = new FakeChild();
  const src = new LiveCaptureSource({
    iface: 'lo',
    registry: new Registry(100),
    spawn: fakeSpawn(child),
    statsMs: 0,
  });
  const sink = new Sink();
  await src.start(sink);
  await feed(child, TLS_DSB, 1500);
  await src.stop();
  assert.equal(src.errors, 0);
  assert.deepEqual(
    sink.xs.map((e) => `${e.x.requestId} ${e.x.path} ${e.x.status}`).sort(),
    [...HTTPS_FIXTURE_IDS].sort().map((id) => `${id} /v1/chat/completions 200`),
  );
});
