import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followKeyLog, mergeKeyLogs, readKeyLog } from './keylog.js';
import { parseKeyLog } from '../decoders/proto/tls-decrypt.js';
import { CaptureEngine } from '../decoders/capture/engine.js';
import { allRecognisers } from '../decoders/proto/registry.js';
import type { Exchange } from '../model/records.js';
import { HTTPS_FIXTURE_IDS } from '../decoders/proto/https-fixture.test-util.js';

/** The fixture's session ids, sorted. */
const IDS = [...HTTPS_FIXTURE_IDS].sort();
const KEYS = readFileSync(
  join(import.meta.dirname, '../../test/fixtures/capture/https-keylog.keys'),
  'utf8',
);

test('a key log being written is read as it grows, a half-written line when it ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-keylog-'));
  try {
    const f = join(dir, 'keys.log');
    const lines = KEYS.trim().split('\n');
    writeFileSync(f, lines.slice(0, 5).join('\n') + '\n' + lines[5]!.slice(0, 40));
    const { log, close } = followKeyLog(f);
    const before = log.used;
    assert.equal(before, 5 - lines.slice(0, 5).filter((l) => l.startsWith('EXPORTER')).length);
    appendFileSync(f, lines[5]!.slice(40) + '\n' + lines.slice(6).join('\n') + '\n');
    log.refresh!();
    assert.equal(log.sessions.size, 7);
    assert.deepEqual(log.sessions, parseKeyLog(KEYS).sessions);
    // replaced by a shorter file: read from its start, what was known stays
    writeFileSync(f, '');
    log.refresh!();
    assert.equal(log.sessions.size, 7);
    close();
    assert.equal(log.refresh, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readKeyLog refuses what is not a key log; logs merge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-keylog-'));
  try {
    const bad = join(dir, 'x.log');
    writeFileSync(bad, 'hello\nworld\n');
    await assert.rejects(readKeyLog({ name: bad, path: bad }), /not a TLS key log/);
    const half = KEYS.trim().split('\n');
    const a = parseKeyLog(half.slice(0, 10).join('\n'));
    const b = parseKeyLog(half.slice(10).join('\n'));
    assert.equal(mergeKeyLogs([a, b])!.sessions.size, parseKeyLog(KEYS).sessions.size);
    assert.equal(mergeKeyLogs([]), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Frame 6 of the fixture carries the server's whole first flight (ServerHello … Finished), frame 8
// the client's Finished, frame 9 the first request; key logs are appended to as clients go.
const SCHEDULES: [string, (lines: string[]) => Record<number, string[]>][] = [
  [
    'handshake secrets before the ServerHello is read, traffic secrets after the Finished',
    (lines) => {
      const hs = lines.filter((l) => !/TRAFFIC_SECRET_0|EXPORTER/.test(l));
      return { 5: hs, 10: lines.filter((l) => !hs.includes(l)) };
    },
  ],
  ['every secret only after the whole server flight was read', (lines) => ({ 7: lines })],
  [
    'one secret at a time: the client handshake secret first, the rest after the server flight',
    (lines) => {
      const first = lines.filter((l) => l.startsWith('CLIENT_HANDSHAKE_TRAFFIC_SECRET'));
      return { 5: first, 7: lines.filter((l) => !first.includes(l)) };
    },
  ],
];

for (const [name, schedule] of SCHEDULES) {
  test(`live key log: ${name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-keylog-'));
    try {
      const f = join(dir, 'keys.log');
      writeFileSync(f, '');
      const { log, close } = followKeyLog(f);
      const pcap = readFileSync(
        join(import.meta.dirname, '../../test/fixtures/capture/https-keylog.pcap'),
      );
      const xs: Exchange[] = [];
      const e = new CaptureEngine({
        source: 't',
        recognisers: allRecognisers(),
        protoLimits: { tlsKeys: log },
        sink: { exchange: (x) => xs.push(x) },
      });
      const at = schedule(KEYS.trim().split('\n'));
      e.push(pcap.subarray(0, 24));
      let frame = 0;
      for (let o = 24; o + 16 <= pcap.length;) {
        const incl = pcap.readUInt32LE(o + 8);
        e.push(pcap.subarray(o, o + 16 + incl));
        o += 16 + incl;
        frame++;
        const add = at[frame];
        if (add) appendFileSync(f, add.join('\n') + '\n');
      }
      e.end();
      close();
      assert.deepEqual(
        xs.map((x) => x.requestId).sort(),
        [...IDS].sort(),
        JSON.stringify(e.summary().skipped),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
