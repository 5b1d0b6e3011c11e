// Conformance: mlscope's capture counts against tshark's reference values
// (DATA/expected/pcaps.json, computed by tshark 4.0 on the same files).
// usage: node --import tsx scripts/conformance-pcap.ts <DATA_DIR> [--min-tcp R] [--min-http R] [--verbose]
// Exits 1 when a match rate falls below the given minimum (the CI ratchet).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCapture } from '../src/ingest/capture.js';
import { allRecognisers } from '../src/decoders/proto/registry.js';

interface Expected {
  file: string;
  packets: number;
  tcpConnections: number;
  retransmissions: number;
  fastRetransmissions: number;
  spuriousRetransmissions: number;
  duplicateAcks: number;
  zeroWindows: number;
  outOfOrder: number;
  resets: number;
  handshakes: number;
  medianInitialRttMs: number | null;
  httpRequests: number;
  httpResponses: number;
  http2Streams: number;
  tlsClientHellos: number;
  sni: string[];
}

const args = process.argv.slice(2);
const dataDir = args.find((a) => !a.startsWith('--')) ?? '../shared/data';
const flag = (n: string): number | null => {
  const i = args.indexOf(n);
  return i >= 0 ? Number(args[i + 1]) : null;
};
const verbose = args.includes('--verbose');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;

const expected = JSON.parse(
  readFileSync(join(dataDir, 'expected/pcaps.json'), 'utf8'),
) as Expected[];
let tcpOk = 0;
let httpOk = 0;
let h2Ok = 0;
let tlsOk = 0;
let n = 0;
const rows: string[] = [];
for (const e of expected) {
  if (only && !e.file.includes(only)) continue;
  n++;
  const run = await analyzeCapture(
    { name: e.file, path: join(dataDir, e.file) },
    { recognisers: allRecognisers() },
  );
  const s = run.engine.summary();
  const got = {
    packets: s.packets,
    tcpConnections: s.tcp.connections,
    retransmissions: s.tcp.retransmissions,
    duplicateAcks: s.tcp.duplicateAcks,
    zeroWindows: s.tcp.zeroWindows,
    resets: s.tcp.resets,
    outOfOrder: s.tcp.outOfOrder,
    medianInitialRttMs: s.tcp.medianHandshakeRttMs,
    httpRequests: s.http.requests,
    httpResponses: s.http.responses,
    http2Streams: s.http2.streams,
    tlsClientHellos: s.tls.clientHellos,
    sni: s.tls.sni,
  };
  const tcpFields = ['retransmissions', 'duplicateAcks', 'zeroWindows', 'resets'] as const;
  const tcpDiff = tcpFields.filter((f) => got[f] !== e[f]);
  const httpDiff = (['httpRequests', 'httpResponses'] as const).filter((f) => got[f] !== e[f]);
  const h2Diff = got.http2Streams !== e.http2Streams;
  const tlsDiff =
    got.tlsClientHellos !== e.tlsClientHellos ||
    JSON.stringify(got.sni) !== JSON.stringify([...e.sni].sort());
  if (tcpDiff.length === 0) tcpOk++;
  if (httpDiff.length === 0) httpOk++;
  if (!h2Diff) h2Ok++;
  if (!tlsDiff) tlsOk++;
  const extra = (['packets', 'tcpConnections', 'outOfOrder', 'medianInitialRttMs'] as const).filter(
    (f) => got[f] !== e[f],
  );
  const diffs = [
    ...tcpDiff,
    ...httpDiff,
    ...(h2Diff ? ['http2Streams'] : []),
    ...(tlsDiff ? ['tls'] : []),
    ...extra.map((x) => `(${x})`),
  ];
  if (diffs.length || verbose) {
    const detail = [...tcpDiff, ...httpDiff, ...extra]
      .map(
        (f) =>
          `${f} ${JSON.stringify(got[f as keyof typeof got])}≠${JSON.stringify(e[f as keyof Expected])}`,
      )
      .concat(h2Diff ? [`http2Streams ${got.http2Streams}≠${e.http2Streams}`] : [])
      .concat(
        tlsDiff
          ? [
              `tls ${got.tlsClientHellos}/${JSON.stringify(got.sni)}≠${e.tlsClientHellos}/${JSON.stringify(e.sni)}`,
            ]
          : [],
      );
    rows.push(
      `${e.file}${run.error ? ' [error: ' + run.error.message + ']' : ''}\n    ${detail.join('; ') || 'ok'}`,
    );
  }
}
console.log(rows.join('\n'));
const pct = (k: number): string => `${k}/${n} (${((100 * k) / n).toFixed(1)}%)`;
console.log(`\nTCP fields exact:  ${pct(tcpOk)}`);
console.log(`HTTP fields exact: ${pct(httpOk)}`);
console.log(`HTTP/2 streams:    ${pct(h2Ok)}`);
console.log(`TLS hellos + SNI:  ${pct(tlsOk)}`);
const results = { tcp: tcpOk / n, http: httpOk / n, http2: h2Ok / n, tls: tlsOk / n };
console.log(`RESULT ${JSON.stringify(results)}`);
let fail = false;
for (const [k, key] of [
  ['--min-tcp', 'tcp'],
  ['--min-http', 'http'],
  ['--min-http2', 'http2'],
  ['--min-tls', 'tls'],
] as const) {
  const m = flag(k);
  if (m !== null && results[key] + 1e-9 < m) {
    console.log(`FAIL: ${key} match rate ${results[key].toFixed(3)} is below the recorded ${m}`);
    fail = true;
  }
}
process.exit(fail ? 1 : 0);
