// TLS secrets embedded in a pcapng capture (Decryption Secrets Blocks). The fixture
// https-keylog-dsb.pcapng is https-keylog.pcap with its key log injected by Wireshark's own tool
// (`editcap --inject-secrets tls,https-keylog.keys`, scripts/make-capture-fixtures.sh): one DSB
// after the section header, before the interface and its 118 packets. tshark decrypts from it,
// with no key log given, the same 7 requests (GET /v1/chat/completions, 200) as from the pcap
// with the key log; so must we. Blocks are rebuilt here to move, split, damage and cut the DSB.
//
// DSB (pcapng spec): 0 u32 type 0000000a, 4 u32 block length, 8 u32 secrets type
// (544c534b 'TLSK'), 12 u32 secrets length, 16 secrets (padded to 4), options, u32 block length.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureEngine, SECRETS_TYPE_TLS } from './engine.js';
import { PCAPNG_DSB, PCAPNG_EPB, PCAPNG_IDB, PCAPNG_SHB } from './capture-reader.js';
import { allRecognisers } from '../proto/registry.js';
import { parseKeyLog, type TlsKeyLog } from '../proto/tls-decrypt.js';
import type { Exchange } from '../../model/records.js';
import { HTTPS_FIXTURE_IDS as IDS } from '../proto/https-fixture.test-util.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures/capture');
const DSB_FILE = readFileSync(join(FIX, 'https-keylog-dsb.pcapng'));
const PCAP = readFileSync(join(FIX, 'https-keylog.pcap'));
const KEYS = readFileSync(join(FIX, 'https-keylog.keys'), 'utf8');

/** Frame of each session's ServerHello (tshark); TLS 1.3's encrypted flight is in that frame. */
const SERVER_HELLO_FRAME = [6, 24, 42, 57, 72, 89, 106];
const SECRETS_TYPE_WIREGUARD = 0x57474b4c;

interface Block {
  type: number;
  at: number;
  bytes: Buffer;
}

/** The blocks of a little-endian pcapng file. */
function blocksOf(b: Buffer): Block[] {
  const out: Block[] = [];
  for (let off = 0; off < b.length;) {
    const len = b.readUInt32LE(off + 4);
    out.push({ type: b.readUInt32LE(off), at: off, bytes: b.subarray(off, off + len) });
    off += len;
  }
  return out;
}

/** A Decryption Secrets Block (little-endian). */
function dsb(type: number, secrets: string | Buffer): Buffer {
  const data = typeof secrets === 'string' ? Buffer.from(secrets, 'latin1') : secrets;
  const len = 16 + ((data.length + 3) & ~3) + 4;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(PCAPNG_DSB, 0);
  b.writeUInt32LE(len, 4);
  b.writeUInt32LE(type, 8);
  b.writeUInt32LE(data.length, 12);
  data.copy(b, 16);
  b.writeUInt32LE(len, len - 4);
  return b;
}

const BLOCKS = blocksOf(DSB_FILE);
const SHB = BLOCKS[0]!;
const FIXTURE_DSB = BLOCKS[1]!;
const IDB = BLOCKS[2]!;
const PACKETS = BLOCKS.filter((b) => b.type === PCAPNG_EPB).map((b) => b.bytes);

/**
 * The capture with `extra` blocks inserted before packet `frame` (1-based; past the last
 * packet: at the end), and without the fixture's own DSB.
 */
function capture(...extra: { beforeFrame: number; block: Buffer }[]): Buffer {
  const parts: Buffer[] = [SHB.bytes];
  const at = (f: number): Buffer[] => extra.filter((e) => e.beforeFrame === f).map((e) => e.block);
  parts.push(...at(0), IDB.bytes);
  PACKETS.forEach((p, i) => parts.push(...at(i + 1), p));
  parts.push(...extra.filter((e) => e.beforeFrame > PACKETS.length).map((e) => e.block));
  return Buffer.concat(parts);
}

/** The key log lines of session `i` (by the order client randoms first appear in the key log). */
function sessionLines(i: number): string {
  const lines = KEYS.split('\n').filter((l) => l.trim() !== '');
  const randoms = [...new Set(lines.map((l) => l.split(' ')[1]!))];
  return lines.filter((l) => l.split(' ')[1] === randoms[i]).join('\n') + '\n';
}

interface RunOptions {
  keys?: TlsKeyLog | null;
  chunk?: number;
  exchanges?: boolean;
  maxSecretsBytes?: number;
}

function run(bytes: Buffer, o: RunOptions = {}) {
  const xs: Exchange[] = [];
  const e = new CaptureEngine({
    source: 't',
    recognisers: allRecognisers(),
    protoLimits: { tlsKeys: o.keys ?? null },
    sink: o.exchanges === false ? {} : { exchange: (x) => xs.push(x) },
    ...(o.maxSecretsBytes !== undefined ? { maxSecretsBytes: o.maxSecretsBytes } : {}),
  });
  const chunk = o.chunk ?? (bytes.length || 1);
  for (let off = 0; off < bytes.length; off += chunk) e.push(bytes.subarray(off, off + chunk));
  e.end();
  const q = e.quality;
  assert.equal(q.decoded + q.skipped, q.seen, 'decoded + skipped === seen');
  return { e, xs, s: e.summary(), counters: e.counters() };
}

const byStart = (a: Exchange, b: Exchange): number =>
  (a.reqFirstUs ?? a.respFirstUs ?? 0) - (b.reqFirstUs ?? b.respFirstUs ?? 0);
/** What tshark shows of each request: method, path, status (and our request id, protocol). */
const shown = (xs: Exchange[]) =>
  xs
    .slice()
    .sort(byStart)
    .map((x) => [x.method, x.path, x.status, x.requestId, x.protocol]);
/** The request ids decrypted (an exchange with a path), in capture order. */
const decryptedIds = (xs: Exchange[]): (string | null)[] =>
  xs
    .slice()
    .sort(byStart)
    .filter((x) => x.path !== null)
    .map((x) => x.requestId);

test('the fixture: one TLS key log DSB, made by editcap from the key log file', () => {
  assert.deepEqual(
    BLOCKS.slice(0, 3).map((b) => b.type),
    [PCAPNG_SHB, PCAPNG_DSB, PCAPNG_IDB],
  );
  assert.equal(PACKETS.length, 118);
  assert.equal(FIXTURE_DSB.bytes.readUInt32LE(8), SECRETS_TYPE_TLS);
  const len = FIXTURE_DSB.bytes.readUInt32LE(12);
  assert.equal(FIXTURE_DSB.bytes.toString('latin1', 16, 16 + len), KEYS);
  // the capture without the block is the pcap's packets (the DSB is all editcap added)
  assert.equal(capture().length, DSB_FILE.length - FIXTURE_DSB.bytes.length);
});

test('the DSB capture decrypts exactly as the pcap with --tls-keylog (and as tshark: 7 × GET 200)', () => {
  const viaDsb = run(DSB_FILE);
  const viaKeyLog = run(PCAP, { keys: parseKeyLog(KEYS) });
  assert.deepEqual(shown(viaDsb.xs), shown(viaKeyLog.xs));
  // tshark -r https-keylog-dsb.pcapng -Y 'http.request or http2.headers.method': 7 requests, all
  // GET /v1/chat/completions answered 200 (HTTP/1.1 and HTTP/2)
  assert.deepEqual(
    shown(viaDsb.xs).map((r) => r.slice(0, 4)),
    IDS.map((id) => ['GET', '/v1/chat/completions', 200, id]),
  );
  assert.deepEqual(viaDsb.xs.map((x) => x.protocol).sort(), [
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/2',
    'HTTP/2',
  ]);
  assert.deepEqual(viaDsb.s.tls, { ...viaKeyLog.s.tls, embeddedSecrets: 7 });
  assert.equal(viaDsb.s.tls.decrypted, 7);
  assert.equal(viaDsb.s.tls.notInKeyLog, 0);
  assert.equal(viaKeyLog.s.tls.embeddedSecrets, 0);
  assert.equal(viaDsb.counters['pcapng.secretsBlocks'], 1);
  assert.deepEqual(viaDsb.s.skipped, {});
  // framing-only (mlscope pcap) counts the same, and any chunking gives the same
  const summary = run(DSB_FILE, { exchanges: false }).s;
  assert.deepEqual(summary, viaDsb.s);
  assert.deepEqual(summary.http, { requests: 5, responses: 5, exchanges: 5 });
  assert.equal(summary.http2.streams, 2);
  for (const chunk of [1, 7, 97, 4096])
    assert.deepEqual(shown(run(DSB_FILE, { chunk }).xs), shown(viaDsb.xs), `chunk ${chunk}`);
});

test('DSB secrets and a --tls-keylog file together: each gives the sessions it has', () => {
  // sessions 0, 2, 4, 6 in the capture; 1, 3, 5 in the file
  const inCapture = [0, 2, 4, 6].map(sessionLines).join('');
  const inFile = [1, 3, 5].map(sessionLines).join('');
  const bytes = capture({ beforeFrame: 0, block: dsb(SECRETS_TYPE_TLS, inCapture) });
  const both = run(bytes, { keys: parseKeyLog(inFile) });
  assert.deepEqual(decryptedIds(both.xs), IDS);
  assert.equal(both.s.tls.decrypted, 7);
  assert.equal(both.s.tls.embeddedSecrets, 4);
  // each alone: the others are timed from TLS records
  assert.deepEqual(decryptedIds(run(bytes).xs), ['tls13-h1', 'tls12-gcm', 'tls13-aes256', IDS[6]]);
  assert.deepEqual(decryptedIds(run(capture(), { keys: parseKeyLog(inFile) }).xs), [
    'tls13-h2',
    'tls12-chacha',
    'tls13-chacha',
  ]);
  // one session's secrets split between the two (TLS 1.3 handshake secrets here, traffic there)
  const lines = sessionLines(0).split('\n');
  const hs = lines.filter((l) => l.includes('HANDSHAKE')).join('\n');
  const traffic = lines.filter((l) => !l.includes('HANDSHAKE')).join('\n');
  const split = run(capture({ beforeFrame: 0, block: dsb(SECRETS_TYPE_TLS, hs) }), {
    keys: parseKeyLog(traffic),
  });
  assert.deepEqual(decryptedIds(split.xs), ['tls13-h1']);
});

test('a session the DSBs lack is timed from TLS records, as with a key log file that lacks it', () => {
  const partial = [0, 1, 3, 4, 5, 6].map(sessionLines).join('');
  const r = run(capture({ beforeFrame: 0, block: dsb(SECRETS_TYPE_TLS, partial) }));
  const k = run(PCAP, { keys: parseKeyLog(partial) });
  assert.deepEqual(shown(r.xs), shown(k.xs));
  assert.equal(r.xs.filter((x) => x.protocol === 'TLS').length, 1);
  assert.equal(r.s.tls.notInKeyLog, 1);
  assert.equal(r.s.tls.decrypted, 6);
  // same request timing as without any keys
  const opaque = run(capture()).xs.find(
    (x) => x.reqFirstUs === r.xs.find((y) => y.path === null)!.reqFirstUs,
  );
  assert.ok(opaque);
  assert.equal(opaque.serverTimeMs, r.xs.find((x) => x.path === null)!.serverTimeMs);
});

test('secrets that come after some packets: later sessions use them, earlier ones never throw', () => {
  // each session's secrets in a DSB right after its ServerHello (a writer adding them live): a
  // capture that already showed a DSB holds a session's records until its secrets come; the
  // first session's encrypted flight went by before any key source existed
  const live = capture(
    ...SERVER_HELLO_FRAME.map((f, i) => ({
      beforeFrame: f + 1,
      block: dsb(SECRETS_TYPE_TLS, sessionLines(i)),
    })),
  );
  const r = run(live);
  assert.deepEqual(decryptedIds(r.xs), IDS.slice(1));
  assert.equal(r.xs.length, 7, 'the first session is timed from TLS records');
  assert.equal(r.s.tls.decrypted, 6);
  assert.equal(r.s.tls.embeddedSecrets, 7);
  // a capture that announces secrets up front (an empty TLS DSB) gets all of them
  const announced = run(
    Buffer.concat([
      live.subarray(0, SHB.bytes.length),
      dsb(SECRETS_TYPE_TLS, ''),
      live.subarray(SHB.bytes.length),
    ]),
  );
  assert.deepEqual(decryptedIds(announced.xs), IDS);
  // TLS 1.2: a ServerHello seen with no key log at all, the DSB before the first protected
  // record (the client's Finished): looked up then
  const late = run(capture({ beforeFrame: 43, block: dsb(SECRETS_TYPE_TLS, KEYS) }));
  assert.deepEqual(decryptedIds(late.xs), IDS.slice(2));
  // at the very end: nothing to decrypt any more, the sessions are timed as without keys
  const atEnd = run(capture({ beforeFrame: 999, block: dsb(SECRETS_TYPE_TLS, KEYS) }));
  assert.deepEqual(
    atEnd.xs.map((x) => [x.protocol, x.reqFirstUs]),
    run(capture()).xs.map((x) => [x.protocol, x.reqFirstUs]),
  );
  assert.equal(atEnd.s.tls.embeddedSecrets, 7);
  assert.equal(atEnd.s.tls.decrypted, 0);
  // anywhere: sessions whose ServerHello follows the DSB are decrypted, every session still
  // gives its exchange, nothing throws, decoded + skipped === seen (checked in run)
  for (let f = 1; f <= PACKETS.length + 1; f++) {
    const x = run(capture({ beforeFrame: f, block: dsb(SECRETS_TYPE_TLS, KEYS) })).xs;
    const after = IDS.filter((_id, i) => SERVER_HELLO_FRAME[i]! >= f);
    const got = decryptedIds(x);
    assert.ok(
      after.every((id) => got.includes(id)),
      `DSB before frame ${f}: ${got.join(',')}`,
    );
    assert.equal(x.length, 7, `DSB before frame ${f}`);
  }
});

test('a secrets length the block cannot hold: the DSB is skipped with its offset, reading goes on', () => {
  const plain = run(capture());
  for (const secretsLen of [0xffffffff, FIXTURE_DSB.bytes.length - 20 + 1, 1 << 30]) {
    const b = Buffer.from(DSB_FILE);
    b.writeUInt32LE(secretsLen, FIXTURE_DSB.at + 12);
    const r = run(b);
    assert.equal(r.s.packets, 118);
    assert.deepEqual(r.s.skipped, { 'bad-secrets-block': 1 });
    assert.deepEqual(r.e.quality.report().samples['bad-secrets-block']?.[0]?.at, 'byte 108');
    assert.match(
      r.e.quality.report().samples['bad-secrets-block']?.[0]?.detail ?? '',
      /secrets length \d+ exceeds the block's 4120 bytes/,
    );
    assert.equal(r.s.tls.decrypted, 0);
    assert.equal(r.s.tls.embeddedSecrets, 0);
    assert.deepEqual(shown(r.xs), shown(plain.xs));
    assert.equal(r.e.failure, null);
  }
  // a block too short for the secrets header
  const short = Buffer.alloc(16);
  short.writeUInt32LE(PCAPNG_DSB, 0);
  short.writeUInt32LE(16, 4);
  short.writeUInt32LE(SECRETS_TYPE_TLS, 8);
  short.writeUInt32LE(16, 12);
  const r = run(capture({ beforeFrame: 0, block: short }));
  assert.deepEqual(r.s.skipped, { 'bad-secrets-block': 1 });
  assert.equal(r.s.packets, 118);
  // a damaged block length: the blocks after it are misread; never a throw (run checks the counts)
  for (const blockLen of [0, 12, 20, 24, 4136, 4144, 0x7ffffffc, 0xfffffffc]) {
    const b = Buffer.from(DSB_FILE);
    b.writeUInt32LE(blockLen, FIXTURE_DSB.at + 4);
    const d = run(b);
    assert.ok(d.e.failure !== null || d.s.packets <= 118, `block length ${blockLen}`);
  }
});

test('secrets of other types are counted and ignored; lines that are not key log lines are noted', () => {
  const r = run(
    capture(
      { beforeFrame: 0, block: dsb(SECRETS_TYPE_WIREGUARD, 'LOCAL_STATIC_PRIVATE_KEY = abc=\n') },
      { beforeFrame: 0, block: dsb(0x12345678, Buffer.from([1, 2, 3])) },
    ),
  );
  assert.equal(r.s.tls.decrypted, 0);
  assert.equal(r.s.tls.embeddedSecrets, 0);
  assert.equal(r.counters['pcapng.secretsBlocks'], 2);
  assert.equal(r.s.skipped['secrets-not-used'], 2);
  assert.deepEqual(
    r.e.quality.report().samples['secrets-not-used']?.map((s) => s.detail),
    ['WireGuard key log, 32 bytes', 'type 0x12345678, 3 bytes'],
  );
  assert.equal(r.e.quality.skipped, 0, 'not damage: no packet or block was lost');
  const noisy = run(capture({ beforeFrame: 0, block: dsb(SECRETS_TYPE_TLS, `junk\n${KEYS}`) }));
  assert.equal(noisy.s.tls.decrypted, 7);
  assert.equal(noisy.s.skipped['secrets-not-key-log-lines'], 1);
});

test('secrets past the per-capture limit are skipped, counted with their offset', () => {
  const first = [0, 1, 2].map(sessionLines).join('');
  const second = [3, 4, 5, 6].map(sessionLines).join('');
  const bytes = capture(
    { beforeFrame: 0, block: dsb(SECRETS_TYPE_TLS, first) },
    { beforeFrame: 0, block: dsb(SECRETS_TYPE_TLS, second) },
  );
  const r = run(bytes, { maxSecretsBytes: first.length + 10 });
  assert.deepEqual(decryptedIds(r.xs), IDS.slice(0, 3));
  assert.equal(r.s.skipped['secrets-over-limit'], 1);
  assert.equal(r.s.tls.embeddedSecrets, 3);
  assert.equal(r.s.tls.notInKeyLog, 4);
  assert.equal(r.e.quality.skipped, 1);
});

test('the capture cut at every byte inside the DSB: never a throw, the cut is counted', () => {
  const start = FIXTURE_DSB.at;
  const end = start + FIXTURE_DSB.bytes.length;
  for (let cut = start - 8; cut <= end + 40; cut++) {
    const r = run(DSB_FILE.subarray(0, cut));
    assert.equal(r.s.packets, 0, `cut ${cut}`);
    if (cut > start && cut < end) assert.equal(r.s.skipped['truncated-record'], 1, `cut ${cut}`);
    if (cut >= end) assert.equal(r.s.tls.embeddedSecrets, 7);
    else assert.equal(r.s.tls.embeddedSecrets, 0);
  }
  // and fed in small chunks (the block gathered across them)
  for (let cut = start; cut <= end; cut += 97) run(DSB_FILE.subarray(0, cut), { chunk: 13 });
});

test('a DSB larger than any packet block (a big key log, over 16 MiB) spanning many chunks', () => {
  const pad = '# padding\n'.repeat(((17 << 20) / 10) | 0);
  const bytes = capture({ beforeFrame: 0, block: dsb(SECRETS_TYPE_TLS, pad + KEYS) });
  assert.ok(bytes.length > 17 << 20);
  const r = run(bytes, { chunk: 1 << 20 });
  assert.deepEqual(decryptedIds(r.xs), IDS);
  assert.equal(r.e.failure, null);
});
