import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createTlsParser, decodeClientHello, tlsRecogniser, type TlsSessionInfo } from './tls.js';
import { ascii, concat, hex, recordingContext } from './proto-test-context.test-util.js';
import { CaptureEngine } from '../capture/engine.js';
import { Conversation, pcapFile } from '../capture/frames.test-util.js';
import { allRecognisers } from './registry.js';
import type { Exchange } from '../../model/records.js';

// ClientHello body (after the 4-byte handshake header), annotated.
const CH_BODY = hex(`
  0303                                   # legacy_version TLS 1.2
  ${'11'.repeat(32)}                     # random
  00                                     # session_id: empty
  0008 0a0a 1301 1302 c02f               # cipher_suites: GREASE, AES128-GCM, AES256-GCM, ECDHE-RSA
  01 00                                  # compression: null
  0055                                   # extensions: 85 bytes
  0a0a 0000                              # GREASE extension, empty
  0000 0014 0012 00 000f 6170692e6578616d706c652e636f6d  # server_name: api.example.com
  0010 000e 000c 02 6832 08 687474702f312e31            # ALPN: h2, http/1.1
  002b 0007 06 0a0a 0304 0303            # supported_versions: GREASE, 1.3, 1.2
  000d 0006 0004 0403 0804               # signature_algorithms
  000a 0006 0004 001d 0017               # supported_groups: x25519, secp256r1
  fe0d 0004 deadbeef                     # encrypted_client_hello (opaque here)
`);
const handshake = (type: number, body: Uint8Array) =>
  concat(Uint8Array.of(type, 0, body.length >> 8, body.length & 255), body);
const record = (type: number, body: Uint8Array, minor = 1) =>
  concat(Uint8Array.of(type, 3, minor, body.length >> 8, body.length & 255), body);
const CLIENT_HELLO_RECORD = record(22, handshake(1, CH_BODY));
const SH_BODY = hex(`
  0303 ${'22'.repeat(32)} 00   # version, random, empty session id
  1301 00                      # cipher TLS_AES_128_GCM_SHA256, compression
  0006 002b 0002 0304          # supported_versions: TLS 1.3
`);
const SERVER_HELLO_RECORD = record(22, handshake(2, SH_BODY), 3);

test('ClientHello: SNI, ALPN, versions, GREASE kept out of JA4', () => {
  const ch = decodeClientHello(CH_BODY, 0, CH_BODY.length);
  assert.ok(ch);
  assert.equal(ch.sni, 'api.example.com');
  assert.deepEqual(ch.alpn, ['h2', 'http/1.1']);
  assert.deepEqual(ch.supportedVersions, [0x0304, 0x0303]);
  assert.deepEqual(ch.cipherSuites, [0x0a0a, 0x1301, 0x1302, 0xc02f]);
  assert.equal(ch.ech, true);
  // a: t 13 d 03 ciphers 06 extensions h2; b = sha256("1301,1302,c02f")[:12];
  // c = sha256("000a,000d,002b,fe0d_0403,0804")[:12] (SNI and ALPN excluded, sorted)
  assert.equal(ch.ja4, 't13d0306h2_40b44b994229_084f45d5a50d');
});

test('parser: hello split across records and segments; version, handshake time, alerts', () => {
  const ctx = recordingContext();
  let session: TlsSessionInfo | null = null;
  const p = createTlsParser(ctx, (s) => (session = s));
  // Split the ClientHello handshake message over two records, and the bytes over segments.
  const msg = handshake(1, CH_BODY);
  const twoRecords = concat(record(22, msg.subarray(0, 40)), record(22, msg.subarray(40)));
  for (let i = 0; i < twoRecords.length; i += 17) {
    p.data(0, 1000 + i, twoRecords, i, Math.min(twoRecords.length, i + 17));
  }
  p.data(1, 5000, SERVER_HELLO_RECORD, 0, SERVER_HELLO_RECORD.length);
  const ccsAndAppData = concat(record(20, hex('01'), 3), record(23, new Uint8Array(40), 3));
  p.data(1, 5100, ccsAndAppData, 0, ccsAndAppData.length);
  const clientFinished = concat(record(20, hex('01'), 3), record(23, new Uint8Array(53), 3));
  p.data(0, 9000, clientFinished, 0, clientFinished.length);
  const fatal = record(21, hex('02 28'), 3); // plaintext fatal handshake_failure
  p.data(0, 9100, fatal, 0, fatal.length);
  p.end(10000);
  assert.equal(ctx.counts['tls.clientHellos'], 1);
  assert.deepEqual(ctx.facts['tls.sni'], ['api.example.com']);
  assert.deepEqual(ctx.facts['tls.version'], ['TLS 1.3']);
  const s = session as TlsSessionInfo | null;
  assert.ok(s);
  assert.equal(s.version, 'TLS 1.3');
  assert.equal(s.serverHello?.cipherSuite, 0x1301);
  assert.equal(s.clientHelloUs, 1000);
  assert.equal(s.handshakeMs, 8); // ClientHello 1000 µs → client's first encrypted record 9000 µs
  assert.deepEqual(s.appDataBytes, [53, 40]);
  // A 2-byte alert record is plaintext even after the hellos (a client rejecting the
  // ServerHello has no keys yet); TLS 1.3 protects later alerts as application data.
  assert.deepEqual(
    s.alerts.map((a) => `${a.level} ${a.description}`),
    ['fatal handshake_failure'],
  );
});

test('TLS 1.2: plaintext alert is named; ChangeCipherSpec switches a side to encrypted', () => {
  const ctx = recordingContext();
  const p = createTlsParser(ctx);
  p.data(0, 0, CLIENT_HELLO_RECORD, 0, CLIENT_HELLO_RECORD.length);
  const alert = record(21, hex('02 28'), 3);
  p.data(1, 10, alert, 0, alert.length);
  const encrypted = record(21, new Uint8Array(26), 3); // after CCS: nonce + alert + tag
  p.data(1, 11, concat(record(20, hex('01'), 3), encrypted), 0, 5 + 1 + 5 + 26);
  p.end(20);
  assert.equal(ctx.counts['tls.encryptedAlerts'], 1);
  assert.deepEqual(ctx.facts['tls.alert'], ['server fatal handshake_failure']);
  assert.equal(ctx.counts['tls.clientHellos'], 1);
});

test('HelloRetryRequest: the second ClientHello is counted too', () => {
  const ctx = recordingContext();
  const p = createTlsParser(ctx);
  const hrrRandom = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';
  const hrr = record(22, handshake(2, hex(`0303 ${hrrRandom} 00 1301 00 0006 002b 0002 0304`)), 3);
  p.data(0, 0, CLIENT_HELLO_RECORD, 0, CLIENT_HELLO_RECORD.length);
  p.data(1, 1, hrr, 0, hrr.length);
  const ccs = record(20, hex('01'), 3);
  const again = concat(ccs, CLIENT_HELLO_RECORD);
  p.data(0, 2, again, 0, again.length);
  p.end(3);
  assert.equal(ctx.counts['tls.clientHellos'], 2);
  assert.equal(ctx.counts['tls.helloRetryRequests'], 1);
});

test('a ClientHello answered in plaintext (TLS to an HTTP port) is not a TLS session', () => {
  const ctx = recordingContext();
  const p = createTlsParser(ctx);
  p.data(0, 0, CLIENT_HELLO_RECORD, 0, CLIENT_HELLO_RECORD.length);
  const resp = ascii('HTTP/1.1 400 Bad Request\r\n\r\n');
  p.data(1, 1, resp, 0, resp.length);
  p.end(2);
  assert.equal(ctx.counts['tls.clientHellos'], undefined);
  assert.equal(ctx.counts['tls.serverNotTls'], 1);
  assert.equal(ctx.skips[0]?.reason, 'tls.serverNotTls');
});

test('recogniser: ClientHello from the client, ServerHello from the server, nothing else', () => {
  const r = tlsRecogniser;
  assert.equal(r.recognise(0, CLIENT_HELLO_RECORD, 0, CLIENT_HELLO_RECORD.length), true);
  assert.equal(r.recognise(1, SERVER_HELLO_RECORD, 0, SERVER_HELLO_RECORD.length), true);
  assert.equal(r.recognise(1, CLIENT_HELLO_RECORD, 0, CLIENT_HELLO_RECORD.length), false);
  const get = ascii('GET / HTTP/1.1\r\n');
  assert.equal(r.recognise(0, get, 0, get.length), false);
  assert.equal(r.recognise(0, hex('16 0303 ffff 01'), 0, 6), false); // length above 2^14+2048
  // a capture that starts inside a session: an application-data record header
  assert.equal(r.recognise(0, hex('17 0303 0040'), 0, 5), true);
  assert.equal(r.recognise(0, hex('17 0303 ffff'), 0, 5), false);
  assert.equal(r.recognise(0, hex('17 0303'), 0, 3), false, 'not on 3 bytes');
});

test('a session the capture joined late: its requests are timed from application data', () => {
  const ctx = recordingContext();
  const p = createTlsParser(ctx);
  const rec = (n: number) => record(23, new Uint8Array(n), 3);
  let t = 1_000_000;
  for (let i = 0; i < 3; i++) {
    p.data(0, t, rec(300), 0, 305);
    p.data(1, t + 40_000, rec(900), 0, 905);
    t += 1_000_000;
  }
  p.end(t);
  assert.equal(ctx.exchanges.length, 3);
  assert.ok(ctx.exchanges.every((x) => x.protocol === 'TLS' && x.serverTimeMs === 40));
});

test('every prefix, every split, and random bytes never throw', () => {
  const all = concat(CLIENT_HELLO_RECORD, record(23, new Uint8Array(10), 3));
  for (let i = 0; i <= all.length; i++) {
    const ctx = recordingContext();
    const p = createTlsParser(ctx);
    p.data(0, 0, all, 0, i);
    p.data(1, 1, SERVER_HELLO_RECORD, 0, Math.min(i, SERVER_HELLO_RECORD.length));
    p.end(2);
    for (let j = 0; j <= CH_BODY.length; j += 7) decodeClientHello(CH_BODY, 0, j);
  }
  const deadline = Date.now() + 1500;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 200 })), { maxLength: 6 }),
      (chunks) => {
        if (Date.now() > deadline) return;
        const ctx = recordingContext();
        const p = createTlsParser(ctx);
        chunks.forEach(([d, b], i) => p.data(d ? 1 : 0, i, b, 0, b.length));
        p.end(99);
      },
    ),
    { numRuns: 2000 },
  );
  // Mutations of a valid hello exercise the extension walkers.
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: CH_BODY.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      (at, v) => {
        const b = CH_BODY.slice();
        b[at] = v;
        decodeClientHello(b, 0, b.length);
      },
    ),
    { numRuns: 2000 },
  );
});

test('engine: a capture that starts inside HTTPS keep-alive connections still times their requests', () => {
  const rec = (n: number): Buffer => Buffer.from(record(23, new Uint8Array(n).fill(7), 3));
  const conv = new Conversation('10.0.0.5', '10.0.0.9', 51000, 443, 1_700_000_000_000_000);
  for (let i = 0; i < 4; i++)
    conv.at(1_000_000).c('PA', rec(400)).at(25_000).s('PA', rec(1200)).at(500).c('A');
  const xs: Exchange[] = [];
  const e = new CaptureEngine({
    source: 't',
    recognisers: allRecognisers(),
    sink: { exchange: (x) => xs.push(x) },
  });
  e.push(pcapFile(conv.frames));
  e.end();
  assert.equal(xs.length, 4);
  assert.ok(xs.every((x) => x.protocol === 'TLS' && x.serverTimeMs === 25));
  assert.equal(xs[0]!.server.port, 443);
});
