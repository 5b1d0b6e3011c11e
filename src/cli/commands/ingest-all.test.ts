// `mlscope ingest` over every input kind (test/fixtures/flow, test/fixtures/otlp,
// test/fixtures/capture), then `mlscope sql` counts per table: flows, spans, logs, points,
// connections, exchanges; re-ingest skipped, grown inputs replaced in every table, damaged inputs.

import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { main } from '../main.js';
import type { IngestedInput } from './ingest.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures');
const flowFix = (n: string): string => join(FIX, 'flow', n);
const otlpFix = (n: string): string => join(FIX, 'otlp', n);
const capFix = (n: string): string => join(FIX, 'capture', n);

const dir = mkdtempSync(join(tmpdir(), 'mlscope-ingest-all-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
  const stderr = new Writable({ write: (c: Buffer, _e, cb) => ((err += c.toString()), cb()) });
  const code = await main(argv, { stdout, stderr, isTty: false });
  return { code, out, err };
}

interface IngestJson {
  inputs: IngestedInput[];
  records: number;
}

async function ingest(
  db: string,
  ...inputs: string[]
): Promise<IngestJson & { code: number; err: string }> {
  const r = await run('ingest', ...inputs, '--db', db, '--json');
  return { ...(JSON.parse(r.out) as IngestJson), code: r.code, err: r.err };
}

const TABLES = ['flows', 'spans', 'logs', 'points', 'connections', 'exchanges'] as const;
type Counts = Record<(typeof TABLES)[number], number>;

async function counts(db: string): Promise<Counts> {
  const sql = `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`;
  const r = await run('sql', sql, '--db', db, '--json');
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as { rows: Counts[] }).rows[0]!;
}

async function sqlRows(db: string, sql: string): Promise<Record<string, unknown>[]> {
  const r = await run('sql', sql, '--db', db, '--json');
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as { rows: Record<string, unknown>[] }).rows;
}

const ALL = [
  flowFix('aws-vpc.log'),
  flowFix('cw-envelope.json.gz'),
  flowFix('v9-template.bin'),
  flowFix('v9-data.bin'),
  flowFix('v9-export.pcap'),
  otlpFix('traces.json'),
  otlpFix('jaeger.json'),
  otlpFix('zipkin.json'),
  otlpFix('logs-metrics.jsonl'),
  otlpFix('traces.binpb'),
  capFix('http-lo.pcap'),
];

describe('mlscope ingest: every input kind', () => {
  it('puts each input in its tables, by content', async () => {
    const db = join(dir, 'all.duckdb');
    const r = await ingest(db, ...ALL);
    assert.equal(r.code, 0, r.err);
    const by = new Map(r.inputs.map((i) => [i.path.split('/').pop()!, i]));
    const kf = (n: string): [string | null, string | null] => [by.get(n)!.kind, by.get(n)!.format];
    assert.deepEqual(kf('aws-vpc.log'), ['flows', 'aws-vpc']);
    assert.deepEqual(kf('cw-envelope.json.gz'), ['flows', 'aws-cloudwatch']);
    assert.deepEqual(kf('v9-data.bin'), ['flows', 'netflow-payload']);
    assert.deepEqual(kf('v9-export.pcap'), ['capture', 'pcap']);
    assert.deepEqual(kf('traces.json'), ['telemetry', 'otlp-json']);
    assert.deepEqual(kf('jaeger.json'), ['telemetry', 'jaeger-json']);
    assert.deepEqual(kf('zipkin.json'), ['telemetry', 'zipkin-json']);
    assert.deepEqual(kf('logs-metrics.jsonl'), ['telemetry', 'otlp-json-lines']);
    assert.deepEqual(kf('traces.binpb'), ['telemetry', 'otlp-proto']);
    assert.deepEqual(kf('http-lo.pcap'), ['capture', 'pcap']);
    // AWS: 3 records + a NODATA line (skipped); CloudWatch: 2 envelopes × (2 flows + NODATA);
    // v9 payload: template then data, 1 record; export capture: 2 records; http-lo: 4 packet flows.
    assert.deepEqual(by.get('aws-vpc.log')!.tables, { flows: 3 });
    assert.equal(by.get('aws-vpc.log')!.skipped, 1);
    assert.deepEqual(by.get('v9-data.bin')!.tables, { flows: 1 });
    assert.deepEqual(by.get('v9-export.pcap')!.tables, { flows: 2 });
    assert.deepEqual(by.get('http-lo.pcap')!.tables, { connections: 4, exchanges: 4, flows: 4 });
    assert.deepEqual(by.get('logs-metrics.jsonl')!.tables, { logs: 2, points: 3 });
    for (const i of r.inputs)
      assert.equal(
        i.records,
        Object.values(i.tables).reduce((a, n) => a + n, 0),
        `${i.path}: records = rows written`,
      );
    assert.deepEqual(await counts(db), {
      flows: 3 + 4 + 1 + 2 + 4,
      spans: 3 + 2 + 2 + 2,
      logs: 2,
      points: 3,
      connections: 4,
      exchanges: 4,
    });
    // Every row carries the input it came from; inputs.records agree with the tables.
    const rows = await sqlRows(
      db,
      `SELECT i.path, i.records AS recorded,
         (SELECT count(*) FROM flows f WHERE f.input_id = i.id) + (SELECT count(*) FROM spans s WHERE s.input_id = i.id)
         + (SELECT count(*) FROM logs l WHERE l.input_id = i.id) + (SELECT count(*) FROM points p WHERE p.input_id = i.id)
         + (SELECT count(*) FROM connections c WHERE c.input_id = i.id) + (SELECT count(*) FROM exchanges x WHERE x.input_id = i.id) AS stored
       FROM inputs i ORDER BY i.id`,
    );
    for (const row of rows) assert.equal(row['recorded'], row['stored'], String(row['path']));
    const exp = await sqlRows(
      db,
      "SELECT exporter, src, dst_port, bytes FROM flows WHERE source = 'netflow-v9' AND exporter IS NOT NULL LIMIT 1",
    );
    assert.deepEqual(exp, [{ exporter: '10.0.0.1', src: '192.168.0.1', dst_port: 80, bytes: 512 }]);

    // Identical content: every input skipped, no row added.
    const again = await ingest(db, ...ALL);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(
      again.inputs.map((i) => i.action),
      ALL.map(() => 'skipped'),
    );
    assert.equal(again.records, 0);
    assert.equal((await counts(db)).flows, 14);
  });

  it('NetFlow data before its template: the records belong to the data input', async () => {
    const db = join(dir, 'order.duckdb');
    const r = await ingest(db, flowFix('v9-data.bin'), flowFix('v9-template.bin'));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      r.inputs.map((i) => [i.path.split('/').pop(), i.records]),
      [
        ['v9-data.bin', 1],
        ['v9-template.bin', 0],
      ],
    );
    const rows = await sqlRows(
      db,
      'SELECT i.path, i.records, count(f.input_id) AS n FROM inputs i LEFT JOIN flows f ON f.input_id = i.id GROUP BY i.id, i.path, i.records ORDER BY i.id',
    );
    assert.deepEqual(
      rows.map((x) => [String(x['path']).split('/').pop(), x['records'], x['n']]),
      [
        ['v9-data.bin', 1, 1],
        ['v9-template.bin', 0, 0],
      ],
    );
  });

  it('a grown input replaces its rows in every table it wrote to', async () => {
    const db = join(dir, 'grow.duckdb');
    const cap = join(dir, 'grow.pcap');
    const aws = join(dir, 'grow-aws.log');
    const tel = join(dir, 'grow-tel.jsonl');
    const pcap = readFileSync(capFix('http-lo.pcap'));
    writeFileSync(cap, pcap);
    copyFileSync(flowFix('aws-vpc.log'), aws);
    copyFileSync(otlpFix('logs-metrics.jsonl'), tel);
    const first = await ingest(db, cap, aws, tel);
    assert.equal(first.code, 0, first.err);
    const before = await counts(db);
    assert.deepEqual(before, {
      flows: 4 + 3,
      spans: 0,
      logs: 2,
      points: 3,
      connections: 4,
      exchanges: 4,
    });

    // The capture gets its own packets again (frames after the 24-byte header).
    appendFileSync(cap, pcap.subarray(24));
    appendFileSync(
      aws,
      readFileSync(flowFix('aws-vpc.log'), 'utf8').split('\n').slice(1, 3).join('\n') + '\n',
    );
    appendFileSync(tel, readFileSync(otlpFix('logs-metrics.jsonl'), 'utf8').split('\n')[0] + '\n');
    const second = await ingest(db, cap, aws, tel);
    assert.equal(second.code, 0, second.err);
    assert.deepEqual(
      second.inputs.map((i) => i.action),
      ['replaced', 'replaced', 'replaced'],
    );
    // Replaced, not added to: the same rows as the grown files ingested into a new database.
    const now = await counts(db);
    const fresh = join(dir, 'grow-fresh.duckdb');
    assert.equal((await ingest(fresh, cap, aws, tel)).code, 0);
    assert.deepEqual(now, await counts(fresh));
    assert.equal(now.logs, 4);
    assert.equal(now.points, 3);
    const sizes = await sqlRows(db, "SELECT size_bytes FROM inputs WHERE path LIKE '%grow.pcap'");
    assert.deepEqual(sizes, [{ size_bytes: pcap.length * 2 - 24 }]);
    // No row is left from the inputs that were replaced.
    const orphans = await sqlRows(
      db,
      TABLES.map(
        (t) =>
          `SELECT '${t}' AS t, count(*) AS n FROM ${t} WHERE input_id NOT IN (SELECT id FROM inputs)`,
      ).join(' UNION ALL ') + ' ORDER BY t',
    );
    assert.ok(
      orphans.every((o) => o['n'] === 0),
      JSON.stringify(orphans),
    );
    const perInput = await sqlRows(
      db,
      "SELECT count(*) AS n FROM flows f JOIN inputs i ON i.id = f.input_id WHERE i.path LIKE '%grow-aws.log'",
    );
    assert.deepEqual(perInput, [{ n: 5 }]);
    const inputs = await sqlRows(db, 'SELECT count(*) AS n FROM inputs');
    assert.deepEqual(inputs, [{ n: 3 }]);
  });

  it('damaged inputs: one line naming file and offset, what was read is kept, the others go on', async () => {
    const db = join(dir, 'damaged.duckdb');
    // A gzip flow log cut in the middle: the stream ends early.
    const cwGz = readFileSync(flowFix('cw-envelope.json.gz'));
    const cutGz = join(dir, 'cut-flows.json.gz');
    writeFileSync(cutGz, cwGz.subarray(0, cwGz.length - 20));
    // An AWS flow log, gzipped and cut after its first records.
    const awsText = readFileSync(flowFix('aws-vpc.log'), 'utf8');
    const many = awsText + awsText.split('\n').slice(1, 4).join('\n').repeat(1) + '\n';
    const awsGz = gzipSync(Buffer.from(many.repeat(2000)));
    const cutAws = join(dir, 'cut-aws.log.gz');
    writeFileSync(cutAws, awsGz.subarray(0, Math.floor(awsGz.length * 0.6)));
    // A NetFlow export capture cut inside its last packet.
    const exp = readFileSync(flowFix('v9-export.pcap'));
    const cutPcap = join(dir, 'cut-export.pcap');
    writeFileSync(cutPcap, exp.subarray(0, exp.length - 10));
    // OTLP JSON lines, gzipped and cut: the lines before the cut are kept.
    const tel = readFileSync(otlpFix('logs-metrics.jsonl'), 'utf8');
    const telGz = gzipSync(Buffer.from(tel.repeat(3000)));
    const cutTel = join(dir, 'cut-tel.jsonl.gz');
    writeFileSync(cutTel, telGz.subarray(0, Math.floor(telGz.length * 0.5)));
    const missing = join(dir, 'missing.json');
    // An OTLP document that is not valid JSON: nothing to keep, the offset of the damage.
    const badDoc = join(dir, 'bad-doc.json');
    writeFileSync(badDoc, '{"resourceSpans": [ {"oops" \n');

    const r = await run(
      'ingest',
      cutAws,
      cutGz,
      cutPcap,
      cutTel,
      missing,
      badDoc,
      otlpFix('zipkin.json'),
      '--db',
      db,
      '--json',
    );
    assert.equal(r.code, 1);
    const res = JSON.parse(r.out) as IngestJson;
    const by = new Map(res.inputs.map((i) => [i.path.split('/').pop()!, i]));
    for (const n of ['cut-aws.log.gz', 'cut-export.pcap', 'cut-tel.jsonl.gz']) {
      const i = by.get(n)!;
      assert.equal(i.action, 'failed', n);
      assert.ok(i.records > 0, `${n}: records before the damage kept`);
      assert.match(i.error ?? '', new RegExp(`${n.replace(/\./g, '\\.')}.* at byte \\d+`), n);
    }
    assert.equal(by.get('cut-aws.log.gz')!.kind, 'flows');
    assert.equal(by.get('cut-export.pcap')!.kind, 'capture');
    assert.equal(by.get('cut-tel.jsonl.gz')!.kind, 'telemetry');
    assert.equal(by.get('cut-flows.json.gz')!.action, 'failed');
    assert.equal(by.get('missing.json')!.action, 'failed');
    assert.match(by.get('bad-doc.json')!.error ?? '', /bad-doc\.json at byte 29: not valid JSON/);
    assert.equal(by.get('zipkin.json')!.action, 'ingested');
    // One line per damaged input on stderr, naming it.
    for (const n of ['cut-aws.log.gz', 'cut-export.pcap', 'cut-tel.jsonl.gz', 'missing.json'])
      assert.equal(r.err.split('\n').filter((l) => l.includes(n)).length, 1, `${n}: ${r.err}`);
    const c = await counts(db);
    assert.equal(c.spans, 2);
    assert.ok(c.flows >= by.get('cut-aws.log.gz')!.records + by.get('cut-export.pcap')!.records);
    assert.equal(c.logs + c.points, by.get('cut-tel.jsonl.gz')!.records);
  });

  it('JSON and text logs stay logs; --format still names a log format', async () => {
    const db = join(dir, 'logs.duckdb');
    const app = join(dir, 'app.jsonl');
    writeFileSync(
      app,
      Array.from({ length: 5 }, (_, i) =>
        JSON.stringify({
          time: `2024-05-01T12:00:0${i}Z`,
          level: 'info',
          msg: `m ${i}`,
          trace_id: 'ab',
        }),
      ).join('\n') + '\n',
    );
    const r = await ingest(db, app, otlpFix('zipkin.json'));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      r.inputs.map((i) => [i.kind, i.records]),
      [
        ['logs', 5],
        ['telemetry', 2],
      ],
    );
    const bad = await run('ingest', app, '--db', db, '--format', 'nope');
    assert.equal(bad.code, 2);
  });

  it('human output names kind and tables', async () => {
    const db = join(dir, 'human.duckdb');
    const r = await run('ingest', capFix('http-lo.pcap'), otlpFix('jaeger.json'), '--db', db);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /capture\s+pcap\s+12\s+0\s+connections 4, exchanges 4, flows 4/);
    assert.match(r.out, /telemetry\s+jaeger-json\s+2\s+0\s+spans 2/);
  });
});
