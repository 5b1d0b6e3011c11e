// TLS decryption with a key log, on a real capture: nginx (TLS 1.2 and 1.3, HTTP/1.1 and HTTP/2),
// curl writing SSLKEYLOGFILE, tcpdump (scripts/make-tls-fixture.sh). Wireshark decrypts 7 requests
// from it with the same key log; so must we.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureEngine } from '../capture/engine.js';
import { allRecognisers } from './registry.js';
import { looksLikeKeyLog, parseKeyLog, type TlsKeyLog } from './tls-decrypt.js';
import type { Exchange } from '../../model/records.js';
import { HTTPS_FIXTURE_IDS as IDS } from './https-fixture.test-util.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures/capture');
const PCAP = readFileSync(join(FIX, 'https-keylog.pcap'));
const KEYS = readFileSync(join(FIX, 'https-keylog.keys'), 'utf8');

function run(keys: TlsKeyLog | null, chunk = PCAP.length, exchanges = true) {
  const xs: Exchange[] = [];
  const e = new CaptureEngine({
    source: 't',
    recognisers: allRecognisers(),
    protoLimits: { tlsKeys: keys },
    sink: exchanges ? { exchange: (x) => xs.push(x) } : {},
  });
  for (let o = 0; o < PCAP.length; o += chunk) e.push(PCAP.subarray(o, o + chunk));
  e.end();
  return { xs, counters: e.counters(), summary: e.summary() };
}

test('the key log: sessions by client random; other lines counted, not fatal', () => {
  const log = parseKeyLog(KEYS + '\nnot a key log line\nCLIENT_RANDOM zz 00\n# comment\n');
  assert.equal(log.sessions.size, 7);
  assert.equal(log.rejected, 2);
  assert.ok(looksLikeKeyLog(KEYS));
  assert.ok(!looksLikeKeyLog('{"time":"2025-01-01T00:00:00Z"}\n'));
});

test('TLS 1.2 and 1.3 (AES-GCM, ChaCha20-Poly1305), HTTP/1.1 and HTTP/2: every request decrypted', () => {
  const { xs, counters } = run(parseKeyLog(KEYS));
  assert.deepEqual(
    xs.map((x) => x.requestId),
    IDS,
  );
  assert.ok(xs.every((x) => x.status === 200 && x.path === '/v1/chat/completions'));
  assert.ok(xs.every((x) => x.respBodyBytes === 102 && x.state === 'complete'));
  assert.deepEqual(
    xs.map((x) => x.protocol),
    ['HTTP/1.1', 'HTTP/2', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/2'],
  );
  assert.equal(counters['tls.decryptedSessions'], 7);
  // any segmentation of the capture gives the same
  assert.deepEqual(
    run(parseKeyLog(KEYS), 97).xs.map((x) => x.requestId),
    IDS,
  );
  // a summary (framing only) counts the decrypted messages
  const s = run(parseKeyLog(KEYS), PCAP.length, false).summary;
  assert.equal(s.http.requests, 5);
  assert.equal(s.http2.streams, 2);
  assert.equal(s.tls.decrypted, 7);
  assert.equal(s.tls.notInKeyLog, 0);
  // full parsing (HTTP/2 exchanges built too) summarises the same: http.exchanges are HTTP/1.x
  assert.deepEqual(run(parseKeyLog(KEYS)).summary, s);
});

test('without a key log, or for sessions it lacks, requests are timed from TLS records', () => {
  const byStart = (a: Exchange, b: Exchange): number => a.reqFirstUs! - b.reqFirstUs!;
  const clear = run(parseKeyLog(KEYS)).xs.sort(byStart);
  const opaque = run(null).xs.sort(byStart);
  // one exchange per request (HTTP/2's preface, TLS 1.3 tickets and close_notify are not
  // requests), starting when the decrypted request starts, with nothing known of its content
  assert.equal(opaque.length, 7);
  assert.deepEqual(
    opaque.map((x) => x.reqFirstUs),
    clear.map((x) => x.reqFirstUs),
  );
  assert.ok(opaque.every((x) => x.path === null && x.status === null && x.state === 'complete'));
  assert.deepEqual(
    opaque.map((x) => x.protocol),
    ['TLS', 'TLS (h2?)', 'TLS', 'TLS', 'TLS', 'TLS', 'TLS (h2?)'],
  );
  for (let i = 0; i < 7; i++) {
    // a loopback capture: server times of a fraction of a ms, within 0.3 ms of the real ones
    assert.ok(
      Math.abs(opaque[i]!.serverTimeMs! - clear[i]!.serverTimeMs!) < 0.3,
      `${IDS[i]}: ${opaque[i]!.serverTimeMs} vs ${clear[i]!.serverTimeMs}`,
    );
    assert.ok(opaque[i]!.respLastUs! >= clear[i]!.respLastUs! - 300);
  }
  const lines = KEYS.split('\n');
  const gcmRandom = lines.find((l) => l.startsWith('CLIENT_RANDOM'))!.split(' ')[1]!;
  const partial = parseKeyLog(lines.filter((l) => !l.includes(gcmRandom)).join('\n'));
  const r = run(partial);
  assert.equal(r.xs.length, 7);
  assert.ok(!r.xs.some((x) => x.requestId === 'tls12-gcm'));
  assert.equal(r.xs.filter((x) => x.protocol === 'TLS').length, 1, 'the one it lacks is timed');
  assert.equal(r.counters['tls.notInKeyLog'], 1);
  assert.equal(r.summary.tls.notInKeyLog, 1);
});

test('wrong secrets: records fail to authenticate, are counted, and parsing goes on', () => {
  const wrong = KEYS.replace(
    / ([0-9a-f])([0-9a-f]*)$/gm,
    (_m, a: string, rest: string) => ` ${a === '0' ? '1' : '0'}${rest}`,
  );
  const r = run(parseKeyLog(wrong));
  assert.ok(
    r.xs.every((x) => x.path === null && x.status === null),
    'nothing is made of records that did not authenticate',
  );
  assert.ok((r.summary.skipped['tls.decryptFailed'] ?? 0) > 0, JSON.stringify(r.summary.skipped));
});

test('decryption survives the capture cut at any point', () => {
  const keys = parseKeyLog(KEYS);
  for (let cut = 24; cut < PCAP.length; cut += 131) {
    const e = new CaptureEngine({
      source: 't',
      recognisers: allRecognisers(),
      protoLimits: { tlsKeys: keys },
      sink: { exchange: () => undefined },
    });
    e.push(PCAP.subarray(0, cut));
    e.end();
  }
});

test('decryption on damaged captures: flipped bytes anywhere never throw', () => {
  const keys = parseKeyLog(KEYS);
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const b = Buffer.from(PCAP);
    for (let k = 0; k < 1 + rand(8); k++) b[24 + rand(b.length - 24)] = rand(256);
    const e = new CaptureEngine({
      source: 't',
      recognisers: allRecognisers(),
      protoLimits: { tlsKeys: keys },
      sink: { exchange: () => undefined },
    });
    e.push(b);
    e.end();
  }
});
