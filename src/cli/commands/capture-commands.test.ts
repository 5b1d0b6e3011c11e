// Every command that reads captures, on a capture with a timestamp no date can hold: pcapng
// carries 64-bit timestamps, and real files have junk there (pcapplusplus' pcapng-example has a
// packet at ≈1.8e19 µs). They must report it, not die on Date.toISOString's RangeError.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { pcapCommand } from './pcap.js';
import { httpCommand } from './http.js';
import { investigateCommand } from './investigate.js';
import { forensicsCommand } from './forensics.js';
import { flowsCommand } from './flows.js';
import { llmCommand } from './llm.js';
import { sink } from './io.test-util.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures/capture');

/**
 * http-lo.pcap (µs) rewritten as little-endian pcapng (an IDB without options: µs timestamps),
 * with the last packet stamped 0xffffffff_fffffff0 µs.
 */
function captureWithJunkTime(dir: string): string {
  const pcap = readFileSync(join(FIX, 'http-lo.pcap'));
  assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4, 'the fixture is a little-endian µs pcap');
  const linktype = pcap.readUInt32LE(20) & 0xffff;
  const blocks: Buffer[] = [];
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12);
  shb.writeBigInt64LE(-1n, 16);
  shb.writeUInt32LE(28, 24);
  const idb = Buffer.alloc(20);
  idb.writeUInt32LE(1, 0);
  idb.writeUInt32LE(20, 4);
  idb.writeUInt16LE(linktype, 8);
  idb.writeUInt32LE(262144, 12);
  idb.writeUInt32LE(20, 16);
  blocks.push(shb, idb);
  const records: { ts: bigint; data: Buffer; orig: number }[] = [];
  for (let o = 24; o + 16 <= pcap.length;) {
    const incl = pcap.readUInt32LE(o + 8);
    records.push({
      ts: BigInt(pcap.readUInt32LE(o)) * 1_000_000n + BigInt(pcap.readUInt32LE(o + 4)),
      data: pcap.subarray(o + 16, o + 16 + incl),
      orig: pcap.readUInt32LE(o + 12),
    });
    o += 16 + incl;
  }
  records[records.length - 1]!.ts = 0xfffffffffffffff0n;
  for (const r of records) {
    const padded = (r.data.length + 3) & ~3;
    const len = 32 + padded;
    const epb = Buffer.alloc(len);
    epb.writeUInt32LE(6, 0);
    epb.writeUInt32LE(len, 4);
    epb.writeUInt32LE(0, 8);
    epb.writeUInt32LE(Number(r.ts >> 32n), 12);
    epb.writeUInt32LE(Number(r.ts & 0xffffffffn), 16);
    epb.writeUInt32LE(r.data.length, 20);
    epb.writeUInt32LE(r.orig, 24);
    r.data.copy(epb, 28);
    epb.writeUInt32LE(len, len - 4);
    blocks.push(epb);
  }
  const path = join(dir, 'junk-time.pcapng');
  writeFileSync(path, Buffer.concat(blocks));
  return path;
}

test('capture commands survive a timestamp outside what a date can hold', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-junk-time-'));
  try {
    const f = captureWithJunkTime(dir);
    const runs: [Command, string[]][] = [
      [pcapCommand, [f]],
      [pcapCommand, ['--json', f]],
      [httpCommand, [f]],
      [httpCommand, ['--json', f]],
      [httpCommand, ['--csv', f]],
      [investigateCommand, [f]],
      [investigateCommand, ['--json', f]],
      [forensicsCommand, [f]],
      [flowsCommand, [f]],
      [llmCommand, [f]],
    ];
    for (const [cmd, argv] of runs) {
      const out = sink();
      const err = sink();
      const code = await cmd.run(argv, { stdout: out.w, stderr: err.w, isTty: false });
      const what = `${cmd.name} ${argv.slice(0, -1).join(' ')}`;
      assert.equal(code, 0, `${what}: exit ${code}: ${err.text().slice(0, 300)}`);
      assert.doesNotMatch(err.text(), /RangeError|internal error/, what);
    }
    const out = sink();
    await pcapCommand.run([f], { stdout: out.w, stderr: sink().w, isTty: false });
    assert.match(out.text(), /to \(time out of range\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('investigate on HTTPS: says the sessions stayed encrypted, and decrypts them with the key log', async () => {
  const pcap = join(FIX, 'https-keylog.pcap');
  const keys = join(FIX, 'https-keylog.keys');
  const plain = sink();
  await investigateCommand.run([pcap], { stdout: plain.w, stderr: sink().w, isTty: false });
  assert.match(plain.text(), /^7 requests/, 'timed from TLS records');
  assert.match(plain.text(), /7 of 7 TLS sessions in the captures stayed encrypted.*--tls-keylog/s);
  const dec = sink();
  await investigateCommand.run([pcap, '--tls-keylog', keys, '--json'], {
    stdout: dec.w,
    stderr: sink().w,
    isTty: false,
  });
  const doc = JSON.parse(dec.text()) as {
    requests: { total: number };
    inputs: { tls: { sessions: number; decrypted: number } };
  };
  assert.equal(doc.requests.total, 7);
  assert.deepEqual(doc.inputs.tls, { sessions: 7, decrypted: 7, notInKeyLog: 0 });
});

test('every capture command decrypts HTTPS with the secrets the pcapng carries (DSB), as with --tls-keylog', async () => {
  // https-keylog-dsb.pcapng: https-keylog.pcap with its key log injected by editcap
  const dsb = join(FIX, 'https-keylog-dsb.pcapng');
  const pcap = join(FIX, 'https-keylog.pcap');
  const keys = join(FIX, 'https-keylog.keys');
  const json = async (cmd: Command, args: string[]): Promise<Record<string, unknown>> => {
    const out = sink();
    const err = sink();
    const code = await cmd.run([...args, '--json'], { stdout: out.w, stderr: err.w, isTty: false });
    assert.equal(code, 0, err.text());
    return JSON.parse(out.text()) as Record<string, unknown>;
  };
  // pcap: the same summary, with the embedded secrets counted
  const s = (await json(pcapCommand, [dsb])) as { tls: Record<string, unknown> };
  const k = (await json(pcapCommand, [pcap, '--tls-keylog', keys])) as typeof s;
  assert.deepEqual(s.tls, { ...k.tls, embeddedSecrets: 7 });
  assert.deepEqual(s.tls, {
    clientHellos: 7,
    sni: [],
    decrypted: 7,
    notInKeyLog: 0,
    embeddedSecrets: 7,
  });
  const text = sink();
  await pcapCommand.run([dsb], { stdout: text.w, stderr: sink().w, isTty: false });
  assert.match(
    text.text(),
    /7 decrypted, 0 not in the key log, secrets for 7 sessions in the capture/,
  );
  // http: the same exchanges (method, path, status, request id)
  type Row = { method: string; path: string; status: number; requestId: string };
  const rows = (d: Record<string, unknown>): string[] =>
    (d.exchanges as Row[]).map((x) => `${x.method} ${x.path} ${x.status} ${x.requestId}`);
  const viaDsb = rows(await json(httpCommand, [dsb]));
  assert.deepEqual(viaDsb, rows(await json(httpCommand, [pcap, '--tls-keylog', keys])));
  assert.equal(viaDsb.length, 7);
  assert.ok(viaDsb.every((r) => r.startsWith('GET /v1/chat/completions 200 ')));
  // both sources at once (the same secrets twice): still each session once
  assert.deepEqual(rows(await json(httpCommand, [dsb, '--tls-keylog', keys])), viaDsb);
  // investigate, llm, forensics
  const inv = (await json(investigateCommand, [dsb])) as {
    requests: { total: number };
    inputs: { tls: unknown };
  };
  assert.equal(inv.requests.total, 7);
  assert.deepEqual(inv.inputs.tls, { sessions: 7, decrypted: 7, notInKeyLog: 0 });
  assert.equal((await json(llmCommand, [dsb])).exchanges, 7);
  const fz = (await json(forensicsCommand, [dsb])) as { requests: { total: number } };
  assert.equal(fz.requests.total, 7, 'requests are known only when decrypted');
});
