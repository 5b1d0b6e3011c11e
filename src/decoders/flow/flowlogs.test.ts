import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AwsVpcParser, parseAwsFormat } from './aws-vpc.js';
import { JsonFlowDecoder, JsonValueScanner, isoToUs } from './json-flowlogs.js';
import type { FlowRecord, FlowSink } from '../../model/flow.js';

class Collect implements FlowSink {
  flows: FlowRecord[] = [];
  skips: string[] = [];
  details: string[] = [];
  flow(f: FlowRecord): void {
    this.flows.push(f);
  }
  skip(reason: string, detail?: string): void {
    this.skips.push(reason);
    this.details.push(detail ?? '');
  }
  note(): void {}
}

test('aws v2 default with header; NODATA and SKIPDATA skipped with reasons', () => {
  const c = new Collect();
  const p = new AwsVpcParser(c);
  for (const l of [
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
    '2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA',
    '2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA',
  ])
    p.parseLine(l);
  assert.deepEqual(c.skips, ['aws-nodata', 'aws-skipdata']);
  const f = c.flows[0]!;
  assert.deepEqual(
    [
      f.src,
      f.dst,
      f.srcPort,
      f.dstPort,
      f.proto,
      f.packets,
      f.bytes,
      f.action,
      f.startUs,
      f.interfaceId,
      f.accountId,
    ],
    [
      '172.31.16.139',
      '172.31.16.21',
      20641,
      22,
      6,
      20,
      4249,
      'ACCEPT',
      1418530010e6,
      'eni-1235b8ca123456789',
      '123456789010',
    ],
  );
});

test('aws custom format from a header (v3+ fields) and from --aws-format', () => {
  const c = new Collect();
  const p = new AwsVpcParser(c);
  p.parseLine(
    'version vpc-id srcaddr dstaddr srcport dstport protocol bytes packets start end action tcp-flags flow-direction log-status',
  );
  p.parseLine('3 vpc-1 10.0.0.1 10.0.0.2 1 2 17 500 5 100 160 REJECT 0 egress OK');
  const f = c.flows[0]!;
  assert.deepEqual(
    [f.bytes, f.packets, f.action, f.tcpFlags, f.direction, f.vpcId],
    [500, 5, 'REJECT', 0, 'egress', 'vpc-1'],
  );
  const c2 = new Collect();
  const p2 = new AwsVpcParser(c2, parseAwsFormat('${srcaddr} ${dstaddr} ${bytes}'));
  p2.parseLine('10.1.1.1 10.1.1.2 77');
  assert.equal(c2.flows[0]!.bytes, 77);
  p2.parseLine('10.1.1.1 10.1.1.2');
  assert.deepEqual(c2.skips, ['aws-field-count']);
});

test('aws headerless short record: fields inferred from values', () => {
  const c = new Collect();
  new AwsVpcParser(c).parseLine('2 eni-1235b8ca123456789 172.31.16.139 172.31.16.21');
  assert.equal(c.flows[0]!.src, '172.31.16.139');
  assert.equal(c.flows[0]!.interfaceId, 'eni-1235b8ca123456789');
});

test('aws malformed values are skipped, never thrown', () => {
  const c = new Collect();
  const p = new AwsVpcParser(c);
  p.parseLine('2 1 eni-1 10.0.0.1 10.0.0.2 99999 22 6 x 1 1 2 ACCEPT OK');
  assert.deepEqual(c.skips, ['aws-malformed']);
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.string(),
          fc.constantFrom('-', 'OK', 'NODATA', '10.0.0.1', '22', 'ACCEPT', 'version', 'srcaddr'),
        ),
        { maxLength: 45 },
      ),
      (toks) => {
        const s = new Collect();
        const q = new AwsVpcParser(s);
        q.parseLine(toks.join(' '));
        assert.ok(s.flows.length + s.skips.length <= 1);
      },
    ),
    { numRuns: 2000, interruptAfterTimeLimit: 3000 },
  );
});

test('aws: parseBytes and parseLine agree on every line (differential)', () => {
  const field = fc.oneof(
    fc.constantFrom('-', 'OK', 'NODATA', 'SKIPDATA', 'ACCEPT', 'REJECT', 'reject', 'ingress'),
    fc.constantFrom('egress', '10.0.0.1', '2001:db8::1', 'eni-1', 'vpc-9', 'tcp', '6', '443'),
    fc.constantFrom('1e3', '0x10', '1.5', '-4', '99999999999999999999', '65536', '007', 'x'),
    fc.nat().map(String),
    fc.string({ maxLength: 6 }),
  );
  const header =
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id tcp-flags flow-direction reject-reason';
  fc.assert(
    fc.property(
      fc.array(fc.array(field, { minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 6 }),
      fc.constantFrom(null, header, '${srcaddr} ${dstaddr} ${bytes}'),
      (lines, fmt) => {
        const run = (bytes: boolean): Collect => {
          const c = new Collect();
          const p = new AwsVpcParser(c, fmt && fmt.startsWith('$') ? parseAwsFormat(fmt) : null);
          const all = fmt === header ? [header, ...lines.map((l) => ['2', ...l].join(' '))] : [];
          if (fmt !== header) for (const l of lines) all.push(['2', ...l].join(' '));
          for (const l of all) {
            if (bytes) {
              const b = Buffer.from(`xx${l}yy`, 'utf8');
              p.parseBytes(b, 2, b.length - 2, 5e15);
            } else p.parseLine(l, 5e15);
          }
          return c;
        };
        const a = run(false);
        const b = run(true);
        assert.deepEqual(b.flows, a.flows);
        assert.deepEqual(b.skips, a.skips);
        assert.deepEqual(b.details, a.details);
      },
    ),
    { numRuns: 1500, interruptAfterTimeLimit: 4000 },
  );
});

test('json scanner: NDJSON, pretty documents and concatenated objects', () => {
  const out: string[] = [];
  const errs: string[] = [];
  const s = new JsonValueScanner();
  for (const l of ['{"a":1}', '{"b":', '  "x}{"', '}{"c":3}{"d":', '4}', 'garbage'])
    s.push(
      l,
      (t) => out.push(t),
      (r) => errs.push(r),
    );
  s.end((r) => errs.push(r));
  assert.deepEqual(
    out.map((t) => JSON.parse(t) as unknown),
    [{ a: 1 }, { b: 'x}{' }, { c: 3 }, { d: 4 }],
  );
  assert.deepEqual(errs, ['json-not-object']);
});

test('gcp, azure nsg v2, azure vnet, cloudwatch envelope', () => {
  const c = new Collect();
  const d = new JsonFlowDecoder(c);
  d.decodeText(
    JSON.stringify({
      jsonPayload: {
        bytes_sent: '1776',
        packets_sent: '7',
        reporter: 'SRC',
        connection: {
          src_ip: '10.87.40.76',
          dest_ip: '203.0.113.12',
          src_port: 5601,
          dest_port: 33478,
          protocol: 6,
        },
        start_time: '2019-06-14T03:45:37.186193305Z',
        end_time: '2019-06-14T03:45:37.301953198Z',
      },
    }),
  );
  d.decodeText(
    JSON.stringify({
      records: [
        {
          properties: {
            Version: 2,
            flows: [
              {
                rule: 'R',
                flows: [
                  {
                    mac: 'M',
                    flowTuples: ['1542110379,1.128.0.0,1.128.0.1,59932,443,T,O,D,E,1,66,1,66'],
                  },
                ],
              },
            ],
          },
        },
      ],
    }),
  );
  d.decodeText(
    JSON.stringify({
      flowLogVersion: 4,
      flowRecords: {
        flows: [
          {
            flowGroups: [
              {
                rule: 'R',
                flowTuples: [
                  '1663146003606,216.160.83.56,81.2.69.142,36776,443,6,O,E,NX,22,2217,33,0',
                  'bad',
                ],
              },
            ],
          },
        ],
      },
    }),
  );
  d.decodeText(
    JSON.stringify({
      messageType: 'DATA_MESSAGE',
      logEvents: [{ timestamp: 1733430000000, message: '2 eni-1 172.31.16.139 172.31.16.21' }],
    }),
  );
  d.decodeText(JSON.stringify({ messageType: 'CONTROL_MESSAGE', logEvents: [] }));
  d.decodeText('{"unrelated":true}');
  assert.deepEqual(c.skips, ['azure-malformed', 'json-unknown-shape']);
  const [g, n, v, cw] = c.flows;
  assert.equal(g!.startUs, isoToUs('2019-06-14T03:45:37.186193Z'));
  assert.equal(g!.bytes, 1776);
  assert.deepEqual(
    [n!.action, n!.proto, n!.bytes, n!.packets, n!.startUs],
    ['REJECT', 6, 132, 2, 1542110379e6],
  );
  assert.deepEqual(
    [v!.action, v!.bytes, v!.packets, v!.startUs],
    ['ACCEPT', 2217, 55, 1663146003606e3],
  );
  assert.deepEqual([cw!.src, cw!.startUs], ['172.31.16.139', 1733430000000e3]);
});
