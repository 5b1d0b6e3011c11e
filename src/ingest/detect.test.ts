// Input detection for `mlscope ingest` (detect.ts) over the fixtures and look-alikes that must stay
// logs; and the FlowIngest tap (flows.ts) ingest relies on for batching between chunks.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { detectInput, DETECT_HEAD_BYTES } from './detect.js';
import { FlowIngest } from './flows.js';

const FIX = new URL('../../test/fixtures/', import.meta.url);
const fix = (p: string): Buffer => readFileSync(new URL(p, FIX));
const whole = (b: Buffer): [string, string] => {
  const d = detectInput(b, true);
  return [d.kind, d.format];
};

test('fixtures are recognised by content', () => {
  assert.deepEqual(whole(fix('capture/http-lo.pcap')), ['capture', 'pcap']);
  assert.deepEqual(whole(fix('capture/http-lo.pcapng')), ['capture', 'pcapng']);
  assert.deepEqual(whole(fix('flow/v9-export.pcap')), ['capture', 'pcap']);
  assert.deepEqual(whole(fix('flow/v9-data.bin')), ['flows', 'netflow-payload']);
  assert.deepEqual(whole(fix('flow/aws-vpc.log')), ['flows', 'aws-vpc']);
  // Two envelopes back to back (not one document, not JSON lines): told by their keys; the
  // reader names the kind ('aws-cloudwatch') once it has decoded them.
  assert.deepEqual(whole(gunzipSync(fix('flow/cw-envelope.json.gz'))), ['flows', 'json']);
  assert.deepEqual(whole(fix('otlp/traces.json')), ['telemetry', 'otlp-json']);
  assert.deepEqual(whole(fix('otlp/jaeger.json')), ['telemetry', 'jaeger-json']);
  assert.deepEqual(whole(fix('otlp/zipkin.json')), ['telemetry', 'zipkin-json']);
  assert.deepEqual(whole(fix('otlp/logs-metrics.jsonl')), ['telemetry', 'otlp-json']);
  assert.deepEqual(whole(fix('otlp/traces.binpb')), ['telemetry', 'otlp-proto']);
  assert.deepEqual(whole(fix('flow/README.md')), ['logs', 'auto']);
});

test('GCP and Azure flow logs are flows', () => {
  const gcp = JSON.stringify({
    insertId: 'x',
    jsonPayload: {
      connection: {
        src_ip: '10.0.0.1',
        dest_ip: '10.0.0.2',
        src_port: 1,
        dest_port: 443,
        protocol: 6,
      },
      bytes_sent: '100',
      packets_sent: '2',
      start_time: '2024-05-01T12:00:00Z',
      end_time: '2024-05-01T12:00:05Z',
    },
  });
  assert.deepEqual(whole(Buffer.from(gcp + '\n' + gcp + '\n')), ['flows', 'gcp-vpc']);
  const azure = JSON.stringify({
    records: [
      {
        time: '2024-05-01T12:00:00Z',
        properties: {
          Version: 2,
          flows: [
            {
              rule: 'r',
              flows: [{ mac: 'm', flowTuples: ['1714564800,10.0.0.1,10.0.0.2,1,443,T,I,A,B,,,,'] }],
            },
          ],
        },
      },
    ],
  });
  assert.deepEqual(whole(Buffer.from(azure)), ['flows', 'azure-nsg']);
});

test('look-alikes stay logs', () => {
  // Application JSON logs, with trace ids and even a "spans" field.
  const app =
    [
      { time: '2024-05-01T12:00:00Z', level: 'info', msg: 'ok', traceId: 'ab', spans: 3 },
      { time: '2024-05-01T12:00:01Z', level: 'warn', msg: 'slow', trace_id: 'cd' },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n') + '\n';
  assert.deepEqual(whole(Buffer.from(app)), ['logs', 'auto']);
  // Text lines starting with a small number are not AWS flow records.
  const text = '12 workers started on host a\n13 workers started on host b\n';
  assert.deepEqual(whole(Buffer.from(text)), ['logs', 'auto']);
  assert.deepEqual(
    whole(Buffer.from('127.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5\n')),
    ['logs', 'auto'],
  );
  // A log line that starts with a newline byte is text, not protobuf.
  assert.deepEqual(whole(Buffer.from('\nINFO started\n')), ['logs', 'auto']);
  assert.deepEqual(whole(Buffer.alloc(0)), ['logs', 'auto']);
});

test('a document longer than the head is told by its first keys', () => {
  const big = (prefix: string): Buffer =>
    Buffer.from(prefix + ' '.repeat(DETECT_HEAD_BYTES)).subarray(0, DETECT_HEAD_BYTES);
  const head = (b: Buffer): [string, string] => {
    const d = detectInput(b, false);
    return [d.kind, d.format];
  };
  assert.deepEqual(head(big('{\n  "resourceSpans": [\n')), ['telemetry', 'otlp-json']);
  assert.deepEqual(head(big('{"data": [{"traceID": "ab", "spans": [')), [
    'telemetry',
    'jaeger-json',
  ]);
  assert.deepEqual(head(big('[{"traceId": "463ac35c9f6413ad", "id": "1",')), [
    'telemetry',
    'zipkin-json',
  ]);
  assert.deepEqual(head(big('{"messageType": "DATA_MESSAGE", "logEvents": [')), ['flows', 'json']);
  assert.deepEqual(head(big('{"level": "info", "msg": "')), ['logs', 'auto']);
});

test('FlowIngest tap: every chunk seen, awaited between chunks, records out before the next read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-flow-tap-'));
  try {
    const file = join(dir, 'vpc.log');
    const line =
      '2 123456789012 eni-1 10.0.0.1 10.0.0.2 1000 443 6 1 60 1714564800 1714564860 ACCEPT OK\n';
    const n = Math.ceil((3 << 20) / line.length); // three 1 MiB chunks and a bit
    writeFileSync(file, line.repeat(n));
    let flows = 0;
    const inputs = new Set<number>();
    const ing = new FlowIngest((_f, input) => {
      flows++;
      inputs.add(input);
    });
    let bytes = 0;
    const seenAtBetween: number[] = [];
    const rep = await ing.ingest(
      { name: file, path: file },
      {
        chunk: (c) => {
          bytes += c.length;
        },
        between: async () => {
          seenAtBetween.push(flows);
          await Promise.resolve();
        },
      },
    );
    assert.equal(rep.error, null);
    assert.equal(flows, n);
    assert.equal(bytes, line.length * n);
    assert.deepEqual([...inputs], [0]);
    assert.ok(seenAtBetween.length >= 3, String(seenAtBetween.length));
    assert.ok(
      seenAtBetween[0]! > 0 && seenAtBetween[0]! < n,
      'records of the first chunk out first',
    );

    // An error of the tap (a store that cannot be written) is not an input error: it propagates.
    const boom = new Error('disk full');
    await assert.rejects(
      ing.ingest(
        { name: file, path: file },
        {
          between: () => Promise.reject(boom),
        },
      ),
      (e) => e === boom,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an AWS flow log whose records are all NODATA / SKIPDATA is still a flow log', () => {
  const text = [
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    '2 123456789010 eni-0eb1e4178af74336c - - - - - - - 1742570089 1742570142 - NODATA',
    '2 123456789010 eni-0eb1e4178af74336d - - - - - - - 1742570089 1742570142 - SKIPDATA',
    '',
  ].join('\n');
  assert.deepEqual(whole(Buffer.from(text)), ['flows', 'aws-vpc']);
});
