import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { join } from 'node:path';
import { CaptureEngine } from './engine.js';
import { decoderConformance } from '../decoder.case.js';
import { allRecognisers } from '../proto/registry.js';
import type { Exchange } from '../../model/records.js';
import { Conversation, pcapFile } from './frames.test-util.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures/capture');

function load(name: string): Buffer {
  const b = readFileSync(join(FIX, name));
  if (name.endsWith('.gz')) return gunzipSync(b);
  if (name.endsWith('.zst')) return Buffer.from(zstdDecompress(b));
  return b;
}

function analyse(bytes: Buffer, chunk = bytes.length || 1) {
  const xs: Exchange[] = [];
  const e = new CaptureEngine({
    source: 'test',
    recognisers: allRecognisers(),
    sink: { exchange: (x) => xs.push(x) },
  });
  for (let o = 0; o < bytes.length; o += chunk) e.push(bytes.subarray(o, o + chunk));
  e.end();
  return { e, s: e.summary(), xs };
}

const fixtures = readdirSync(FIX)
  .filter((f) => /\.(pcap|pcapng)(\.gz|\.zst)?$/.test(f))
  .map((f) => ({ name: f, bytes: load(f) }));

interface Expected {
  file: string;
  packets: number;
  tcpConnections: number;
  httpRequests: number;
  httpResponses: number;
}
const expected = readFileSync(join(FIX, 'expected.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Expected);

for (const ex of expected) {
  test(`capture ${ex.file} matches tshark's packets, conversations and HTTP counts`, () => {
    const { s } = analyse(load(ex.file));
    assert.equal(s.packets, ex.packets);
    assert.equal(s.tcp.connections, ex.tcpConnections);
    assert.equal(s.http.requests, ex.httpRequests);
    // With a 96-byte snaplen tshark cannot finish the response header blocks and counts fewer
    // responses; mlscope salvages the status line of each (checked in the snaplen test below).
    if (!ex.file.includes('snap')) assert.equal(s.http.responses, ex.httpResponses);
    assert.equal(s.tcp.retransmissions, 0);
  });
}

test('framing-only mode (no exchange consumer) counts exactly what full parsing counts', () => {
  for (const fx of fixtures) {
    const full = analyse(fx.bytes).s;
    const e = new CaptureEngine({ source: 'test', recognisers: allRecognisers() });
    e.push(fx.bytes);
    e.end();
    assert.deepEqual(e.summary(), full, fx.name);
  }
});

test('gzip and zstd copies decode to the same summary as the originals', () => {
  assert.deepEqual(analyse(load('http-lo.pcap.gz')).s, analyse(load('http-lo.pcap')).s);
  assert.deepEqual(analyse(load('http-lo.pcapng.zst')).s, analyse(load('http-lo.pcapng')).s);
});

test('pcap µs, pcap ns and pcapng of the same traffic give the same exchanges', () => {
  const a = analyse(load('http-lo.pcap')).xs.map((x) => [
    x.method,
    x.path,
    x.status,
    x.respBodyBytes,
  ]);
  const b = analyse(load('http-lo-ns.pcap')).xs.map((x) => [
    x.method,
    x.path,
    x.status,
    x.respBodyBytes,
  ]);
  const c = analyse(load('http-lo.pcapng')).xs.map((x) => [
    x.method,
    x.path,
    x.status,
    x.respBodyBytes,
  ]);
  assert.deepEqual(a, b);
  assert.deepEqual(a, c);
  assert.deepEqual(
    a.map((r) => r.slice(0, 3)),
    [
      ['GET', '/a.txt', 200],
      ['GET', '/big.txt', 200],
      ['POST', '/post', 501],
      ['HEAD', '/a.txt', 200],
    ],
  );
});

test('exchanges carry the request id header and consistent timings', () => {
  const { xs } = analyse(load('http-lo.pcap'));
  const first = xs[0]!;
  assert.equal(first.requestId, 'req-1');
  for (const x of xs) {
    assert.ok(x.reqFirstUs! <= x.reqLastUs!);
    assert.ok(x.reqLastUs! <= x.respFirstUs!);
    assert.ok(x.respFirstUs! <= x.respLastUs!);
    assert.ok(x.serverTimeMs! >= 0);
    assert.equal(x.state, 'complete');
  }
  assert.equal(xs[1]!.respBodyBytes, 20000);
});

test('a snaplen-cut capture still yields the request and response lines', () => {
  const { xs, s } = analyse(load('http-lo-snap.pcap'));
  assert.equal(s.http.requests, 4);
  assert.deepEqual(
    xs.map((x) => [x.method, x.path, x.status]),
    [
      ['GET', '/a.txt', 200],
      ['GET', '/big.txt', 200],
      ['POST', '/post', 501],
      ['HEAD', '/a.txt', 200],
    ],
  );
});

test('a 96-byte snaplen on a keep-alive connection: each request is paired with its own answer', () => {
  // snap96.pcap of scripts/make-diff-corpus.sh (tcpdump -s 96): the cut tail of a request was
  // not counted as passed, so the next request waited for an ACK and came after its answer
  const c = new Conversation().handshake();
  const hdr = 'Host: 10.77.0.2:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n';
  c.at(100).c('AP', `GET /a HTTP/1.1\r\n${hdr}`);
  c.at(100).s('AP', 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 2\r\n\r\nok');
  c.at(100).c('A');
  c.at(100).c('AP', `GET /b HTTP/1.1\r\n${hdr}`);
  c.at(100).s('AP', 'HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nContent-Length: 0\r\n\r\n');
  c.at(100).c('A');
  const cut = c.frames.map((f) => ({
    tsUs: f.tsUs,
    data: f.data.subarray(0, 96),
    origLen: f.data.length,
  }));
  const { xs, s } = analyse(pcapFile(cut, { snaplen: 96 }));
  assert.deepEqual(
    xs.map((x) => [x.method, x.path, x.status, x.reqFirstFrame, x.respFirstFrame]),
    [
      ['GET', '/a', 200, 4, 5],
      ['GET', '/b', 404, 7, 8],
    ],
  );
  assert.equal(s.http.requests, 2);
  assert.equal(s.http.responses, 2);
});

test('a damaged capture reports the offset and keeps what came before', () => {
  const good = load('http-lo.pcap');
  const bad = Buffer.from(good);
  // Corrupt the 10th record's captured length.
  let off = 24;
  for (let i = 0; i < 9; i++) off += 16 + bad.readUInt32LE(off + 8);
  bad.writeUInt32LE(0x7fffffff, off + 8);
  const { e, s } = analyse(bad);
  assert.equal(s.packets, 9);
  assert.deepEqual(e.failure?.offset, off);
  assert.match(e.failure.message, /damaged/);
});

decoderConformance(
  'capture engine',
  () => {
    const xs: string[] = [];
    const e = new CaptureEngine({
      source: 'fuzz',
      recognisers: allRecognisers(),
      sink: {
        exchange: (x) =>
          xs.push(
            `${x.method} ${x.path} ${x.status} ${x.reqBodyBytes} ${x.respBodyBytes} ${x.state}`,
          ),
      },
    });
    return {
      push: (c) => e.push(c),
      end: () => {
        e.end();
        const q = e.quality;
        return {
          seen: q.seen,
          decoded: q.decoded,
          skipped: q.skipped,
          digest: JSON.stringify([e.summary(), xs]),
        };
      },
    };
  },
  fixtures,
  { maxPrefixes: 400 },
);

test('maxOpenConnections: past the bound the least recently active are finalised, noted', async () => {
  const { pcapFile, tcpFrame } = await import('./frames.test-util.js');
  const frames = [];
  for (let i = 0; i < 12; i++)
    frames.push({
      tsUs: 1_700_000_000_000_000 + i * 1000,
      data: tcpFrame({ sport: 40000 + i, dport: 80, seq: 1000 * i, flags: 'S' }),
    });
  const closed: number[] = [];
  const e = new CaptureEngine({
    source: 'flood',
    tcpLimits: {
      maxBufferedBytes: 1 << 20,
      maxUnackedSegments: 1024,
      maxRecogniseAttempts: 16,
      maxOpenConnections: 10,
    },
    sink: { connection: (c) => closed.push(c.client.port) },
  });
  e.push(pcapFile(frames));
  // the 11th SYN evicts the oldest tenth (1), the 12th another
  assert.equal(e.openConnections, 10);
  assert.deepEqual(closed, [40000, 40001]);
  assert.equal(e.quality.report().skippedByReason['connection-evicted'], 2);
  e.end();
  assert.equal(closed.length, 12);
});

test('no decoder keeps a reference into a pushed chunk (the reader reuses its buffers)', () => {
  // readChunksReused overwrites a chunk after the next read: a parser that kept a view of it
  // (instead of copying) would see other bytes later. Poison every chunk right after pushing it
  // and compare with an untouched run, with exchanges (bodies, LLM analysis) in full mode.
  const examples = join(import.meta.dirname, '../../../examples');
  const inputs = [
    ...fixtures,
    ...['slow-endpoint/bundle/cap.pcap', 'prompt-flood/bundle/cap.pcap.gz'].map((f) => {
      const b = readFileSync(join(examples, f));
      return { name: f, bytes: f.endsWith('.gz') ? gunzipSync(b) : b };
    }),
  ];
  for (const { name, bytes } of inputs) {
    const plain = analyse(bytes, 4096);
    const scratch = Buffer.alloc(4096);
    const xs: Exchange[] = [];
    const e = new CaptureEngine({
      source: 'test',
      recognisers: allRecognisers(),
      sink: { exchange: (x) => xs.push(x) },
    });
    for (let o = 0; o < bytes.length; o += 4096) {
      const n = bytes.copy(scratch, 0, o, o + 4096);
      e.push(scratch.subarray(0, n));
      scratch.fill(0xaa);
    }
    e.end();
    assert.deepEqual(e.summary(), plain.s, name);
    // (compared as text: a failure names the capture without printing every exchange)
    assert.ok(JSON.stringify(xs) === JSON.stringify(plain.xs), `${name}: exchanges differ`);
  }
});
