// The collector inside serve, on a loopback UDP port from bind(0): the NetFlow v9 fixtures
// (test/fixtures/flow: template 256, then one data record 192.168.0.1:54321 → 192.168.0.2:80 udp,
// 512 bytes, 4 packets) and a datagram that is not NetFlow.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FlowRecord } from '../model/flow.js';
import type { InputStats } from '../store/store.js';
import { FlowCollectorSource } from './flow-collector.js';
import { Registry } from './prometheus.js';
import { IngestQueue, openTelemetryStore, type RecordSink } from './telemetry-store.js';

const fixture = (name: string): Buffer =>
  readFileSync(fileURLToPath(new URL(`../../test/fixtures/flow/${name}`, import.meta.url)));
const TEMPLATE = fixture('v9-template.bin');
const DATA = fixture('v9-data.bin');

class Sink implements RecordSink {
  readonly got: { f: FlowRecord; input: number | null }[] = [];
  readonly finished: { id: number; stats: InputStats }[] = [];
  readonly full = false;
  spans(): void {}
  logs(): void {}
  points(): void {}
  connections(): void {}
  exchanges(): void {}
  flows(b: FlowRecord[], input: number | null): void {
    for (const f of b) this.got.push({ f, input });
  }
  beginInput(): Promise<number> {
    return Promise.resolve(3);
  }
  finishInput(id: number, stats: InputStats): Promise<void> {
    this.finished.push({ id, stats });
    return Promise.resolve();
  }
}

async function send(port: number, ...datagrams: Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  for (const d of datagrams)
    await new Promise<void>((resolve, reject) =>
      s.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  await new Promise<void>((r) => s.close(() => r()));
}

async function until(ok: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('NetFlow v9 records reach the sink and /metrics; junk is counted by reason', async () => {
  const reg = new Registry(100);
  const lines: string[] = [];
  const c = new FlowCollectorSource({ port: 0, registry: reg, log: (l) => lines.push(l) });
  const sink = new Sink();
  await c.start(sink);
  assert.ok(c.port > 0);
  await send(c.port, TEMPLATE, DATA, Buffer.from('not a flow export'));
  await until(() => c.datagrams === 3);
  assert.equal(sink.got.length, 1);
  const { f, input } = sink.got[0]!;
  assert.equal(input, 3);
  assert.deepEqual(
    [f.source, f.src, f.dst, f.srcPort, f.dstPort, f.proto, f.bytes, f.packets, f.exporter],
    ['netflow-v9', '192.168.0.1', '192.168.0.2', 54321, 80, 17, 512, 4, '127.0.0.1'],
  );
  const text = reg.render();
  assert.match(text, /mlscope_flow_records_total\{exporter="127\.0\.0\.1"\} 1/);
  assert.match(text, /mlscope_flow_bytes_total\{exporter="127\.0\.0\.1"\} 512/);
  assert.match(text, /mlscope_flow_packets_total\{exporter="127\.0\.0\.1"\} 4/);
  assert.match(text, /mlscope_netflow_datagrams_total 3/);
  assert.match(text, /mlscope_netflow_decode_errors_total\{reason="not-netflow"\} 1/);
  assert.match(text, /mlscope_netflow_templates 1/);
  await c.stop();
  assert.deepEqual(sink.finished, [
    { id: 3, stats: { records: 1, skipped: 0, error: null, format: 'netflow' } },
  ]);
  assert.ok(
    lines.some((l) => /3 datagrams, 1 flow records, 0 skipped/.test(l)),
    lines.join(),
  );
});

test('data whose template never comes is a template miss at stop, not lost silently', async () => {
  const reg = new Registry(100);
  const c = new FlowCollectorSource({ port: 0, registry: reg });
  const sink = new Sink();
  await c.start(sink);
  await send(c.port, DATA);
  await until(() => c.datagrams === 1);
  assert.match(reg.render(), /mlscope_netflow_pending_sets 1/);
  await c.stop();
  assert.equal(sink.got.length, 0);
  assert.equal(c.templateMisses, 1);
  assert.match(reg.render(), /mlscope_netflow_template_misses_total 1/);
  assert.equal(sink.finished[0]!.stats.skipped, 1);
});

test('records are written to the flows table of the store', async () => {
  const store = await openTelemetryStore(':memory:');
  const queue = new IngestQueue(store, 10);
  const c = new FlowCollectorSource({ port: 0, registry: new Registry() });
  await c.start(queue);
  await send(c.port, TEMPLATE, DATA);
  await until(() => c.records === 1);
  await c.stop();
  await queue.drain();
  assert.equal(queue.stats.stored.flows, 1);
  await store.close();
});

test('a port that cannot be bound is an error naming it', async () => {
  const a = new FlowCollectorSource({ port: 0, registry: new Registry() });
  await a.start(new Sink());
  const b = new FlowCollectorSource({ port: a.port, registry: new Registry() });
  await assert.rejects(
    b.start(new Sink()),
    new RegExp(`cannot listen for NetFlow on udp 127\\.0\\.0\\.1:${a.port}: .*EADDRINUSE`),
  );
  await a.stop();
});
