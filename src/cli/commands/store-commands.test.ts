// `ingest`, `sql` and `logs` driven through main() with captured stdout/stderr.

import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from './io.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'mlscope-store-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function accessLine(i: number, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    time: new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + i * 1000).toISOString(),
    level: 'info',
    msg: `request ${i}`,
    request_id: `req-${i}`,
    method: 'POST',
    path: '/v1/chat/completions',
    status: i % 10 === 0 ? 503 : 200,
    duration_ms: 10 + i,
    service: 'gateway',
    ...over,
  });
}

const access = join(dir, 'access.log');
const lines = Array.from({ length: 50 }, (_, i) => accessLine(i));
before(() => writeFileSync(access, lines.join('\n') + '\n'));

describe('mlscope ingest', () => {
  it('ingests, skips identical content, replaces a grown file', async () => {
    const db = join(dir, 'a.duckdb');
    const first = await run('ingest', access, '--db', db, '--json');
    assert.equal(first.code, 0, first.stderr);
    const doc = JSON.parse(first.stdout) as {
      inputs: { action: string; records: number; format: string }[];
      records: number;
    };
    assert.equal(doc.records, 50);
    assert.equal(doc.inputs[0]!.action, 'ingested');

    const copy = join(dir, 'access.log.1');
    writeFileSync(copy, lines.join('\n') + '\n');
    const again = await run('ingest', access, copy, '--db', db);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /skipped/);
    assert.match(again.stdout, /already ingested as .*access\.log/);

    const grown = join(dir, 'grown.log');
    writeFileSync(grown, lines.join('\n') + '\n');
    await run('ingest', grown, '--db', db);
    appendFileSync(grown, accessLine(50) + '\n' + accessLine(51) + '\n');
    const g = await run('ingest', grown, '--db', db, '--json');
    const gd = JSON.parse(g.stdout) as {
      inputs: { action: string; records: number; sameAs: string }[];
    };
    // grown.log first had access.log's exact content (skipped); now that content is its prefix,
    // so access.log's rows are the ones replaced. Identity is content, not path.
    assert.deepEqual(
      gd.inputs.map((x) => [x.action, x.records, x.sameAs]),
      [['replaced', 52, access]],
    );

    const count = await run('sql', 'SELECT count(*) AS n FROM logs', '--db', db, '--json');
    assert.equal(count.code, 0, count.stderr);
    assert.deepEqual((JSON.parse(count.stdout) as { rows: unknown[] }).rows, [{ n: 52 }]);
  });

  it('keeps going past an unreadable input and exits 1', async () => {
    const db = join(dir, 'b.duckdb');
    const r = await run('ingest', join(dir, 'missing.log'), access, '--db', db, '--json');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing\.log: no such file or directory/);
    const doc = JSON.parse(r.stdout) as { records: number };
    assert.equal(doc.records, 50);
  });

  it('wants --db and inputs (exit 2)', async () => {
    assert.equal((await run('ingest', access)).code, 2);
    assert.equal((await run('ingest', '--db', join(dir, 'c.duckdb'))).code, 2);
    const bad = await run('ingest', access, '--db', join(dir, 'c.duckdb'), '--format', 'nope');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown --format 'nope'/);
  });
});

describe('mlscope sql', () => {
  const db = join(dir, 'sql.duckdb');
  before(async () => {
    const hostile = join(dir, 'hostile.log');
    writeFileSync(
      hostile,
      [
        accessLine(0, { msg: 'evil \u001b[2J\u001b]0;pwned\u0007 title', request_id: 'a,"b"' }),
        accessLine(1, { msg: 'multi\nline' }),
      ].join('\n') + '\n',
    );
    const r = await run('ingest', access, hostile, '--db', db);
    assert.equal(r.code, 0, r.stderr);
  });

  it('prints a table with control characters escaped', async () => {
    const r = await run(
      'sql',
      `SELECT body, request_id FROM logs WHERE file LIKE '%hostile%' ORDER BY line_no`,
      '--db',
      db,
    );
    assert.equal(r.code, 0, r.stderr);
    // eslint-disable-next-line no-control-regex
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stdout), JSON.stringify(r.stdout));
    assert.match(r.stdout, /evil \\x1b\[2J\\x1b\]0;pwned\\x07 title/);
    assert.match(r.stdout, /multi\\nline/);
    assert.match(r.stderr, /2 rows/);
  });

  it('streams CSV and JSON of any size, batch by batch, with --max-rows', async () => {
    // 5000 rows span several DuckDB chunks (2048 rows each)
    const q = `SELECT range AS i, 'x,"y"' AS s FROM range(5000)`;
    const csv = await run('sql', q, '--db', db, '--csv');
    assert.equal(csv.code, 0, csv.stderr);
    const csvLines = csv.stdout.split('\r\n');
    assert.equal(csvLines[0], 'i,s');
    assert.equal(csvLines.length, 5002); // header, 5000 rows, '' after the last CRLF
    assert.equal(csvLines[4999], '4998,"x,""y"""');
    const json = await run('sql', q, '--db', db, '--json');
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as {
      columns: { name: string }[];
      rows: { i: number; s: string }[];
      rowCount: number;
      truncated: boolean;
    };
    assert.deepEqual(
      doc.columns.map((c) => c.name),
      ['i', 's'],
    );
    assert.equal(doc.rowCount, 5000);
    assert.equal(doc.rows.length, 5000);
    assert.deepEqual(doc.rows[4321], { i: 4321, s: 'x,"y"' });
    assert.equal(doc.truncated, false);
    const cut = await run('sql', q, '--db', db, '--json', '--max-rows', '3000');
    const cutDoc = JSON.parse(cut.stdout) as typeof doc;
    assert.equal(cutDoc.rows.length, 3000);
    assert.equal(cutDoc.rowCount, 3000);
    assert.equal(cutDoc.truncated, true);
    const exact = await run('sql', q, '--db', db, '--json', '--max-rows', '5000');
    assert.equal((JSON.parse(exact.stdout) as typeof doc).truncated, false);
    const empty = await run('sql', `${q} WHERE false`, '--db', db, '--json');
    assert.deepEqual((JSON.parse(empty.stdout) as typeof doc).rows, []);
    const bad = await run('sql', 'SELECT nope', '--db', db, '--csv');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /sql: .*nope/);
  });

  it('prints CSV and a single JSON document', async () => {
    const csv = await run(
      'sql',
      `SELECT request_id, http_status FROM logs WHERE file LIKE '%hostile%' ORDER BY line_no`,
      '--db',
      db,
      '--csv',
    );
    assert.equal(csv.stdout.split('\r\n')[0], 'request_id,http_status');
    assert.equal(csv.stdout.split('\r\n')[1], '"a,""b""",503');
    const js = await run(
      'sql',
      'SELECT http_status AS s, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1',
      '--db',
      db,
      '--json',
    );
    const doc = JSON.parse(js.stdout) as { rows: unknown[]; columns: { name: string }[] };
    assert.deepEqual(
      doc.columns.map((c) => c.name),
      ['s', 'n'],
    );
    assert.deepEqual(doc.rows, [
      { s: 200, n: 46 },
      { s: 503, n: 6 },
    ]);
  });

  it('exports Parquet with COPY and with --parquet', async () => {
    const a = join(dir, 'all.parquet');
    const b = join(dir, 'errors.parquet');
    const copy = await run('sql', `COPY logs TO '${a}' (FORMAT parquet)`, '--db', db);
    assert.equal(copy.code, 0, copy.stderr);
    assert.ok(existsSync(a));
    const p = await run(
      'sql',
      'SELECT * FROM logs WHERE http_status >= 500;',
      '--db',
      db,
      '--parquet',
      b,
    );
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /wrote 6 rows/);
    const back = await run(
      'sql',
      `SELECT count(*) AS n FROM read_parquet('${b}')`,
      '--db',
      db,
      '--json',
    );
    assert.deepEqual((JSON.parse(back.stdout) as { rows: unknown[] }).rows, [{ n: 6 }]);
  });

  it('reports a bad query as one usage line (exit 2)', async () => {
    const r = await run('sql', 'SELEC nope', '--db', db);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mlscope: sql: Parser Error: syntax error at or near "SELEC"\nusage: /);
    assert.equal(r.stdout, '');
  });

  it('refuses a missing database file (exit 1)', async () => {
    const r = await run('sql', 'SELECT 1', '--db', join(dir, 'nope.duckdb'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nope\.duckdb: no such database file/);
  });
});

describe('mlscope logs', () => {
  it('filters with --where and prints a readable table in time order', async () => {
    const r = await run('logs', access, '--where', 'http_status >= 500');
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0]!, /^ts\s+severity\s+source\s+request id\s+message/);
    assert.equal(rows.length, 2 + 5);
    assert.match(rows[2]!, /^2024-05-01T12:00:00\.000Z\s+INFO\s+gateway\s+req-0\s+request 0/);
  });

  it("names a line's file and line when it has no service; blank, not NULL, for what it lacks", async () => {
    const plain = join(dir, 'plain.log');
    writeFileSync(plain, 'first line of prose\nsecond line\n');
    const r = await run('logs', plain);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0]!, /^ts\s+severity\s+source\s+message$/, 'no request id column');
    assert.match(rows[2]!, /^\s+plain\.log:1\s+first line of prose$/);
    assert.ok(!r.stdout.includes('NULL'));
  });

  it('prints one JSON document with --json, honouring --since/--until and --limit', async () => {
    const r = await run(
      'logs',
      access,
      '--since',
      '2024-05-01T12:00:10Z',
      '--until',
      '2024-05-01T12:00:20',
      '--limit',
      '3',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      matched: number;
      shown: number;
      records: { requestId: string; ts: string; httpStatus: number }[];
    };
    assert.equal(doc.matched, 10);
    assert.equal(doc.shown, 3);
    assert.deepEqual(
      doc.records.map((x) => x.requestId),
      ['req-10', 'req-11', 'req-12'],
    );
    assert.equal(doc.records[0]!.httpStatus, 503);
    assert.equal(doc.records[0]!.ts, '2024-05-01T12:00:10.000Z');
  });

  it('gives a one-line usage error for a bad --where (exit 2)', async () => {
    for (const bad of [
      'nope = 1',
      'http_status >',
      '1=1; DROP TABLE logs',
      '1=1) UNION SELECT 1 --',
    ]) {
      const r = await run('logs', access, '--where', bad);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /^mlscope: logs: bad --where: [^\n]+\nusage: mlscope logs/, bad);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    }
  });

  it('takes the short column names in --where: status, method, path, message, level', async () => {
    const count = async (where: string): Promise<number> => {
      const r = await run('logs', access, '--where', where, '--json');
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { matched: number }).matched;
    };
    const byFullName = await count('http_status >= 500');
    assert.ok(byFullName > 0);
    assert.equal(await count('status >= 500'), byFullName);
    assert.equal(
      await count("method = 'GET' AND path LIKE '/%'"),
      await count("http_method = 'GET'"),
    );
    assert.equal(await count('message = body AND level IS NOT DISTINCT FROM severity'), 50);
  });

  it('rejects a bad --since (exit 2)', async () => {
    const r = await run('logs', access, '--since', 'yesterday-ish');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--since expects an ISO time/);
  });

  it('still prints the readable inputs when one is missing (exit 1)', async () => {
    const r = await run('logs', join(dir, 'gone.log'), access, '--json');
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as { matched: number }).matched, 50);
    assert.match(r.stderr, /gone\.log: no such file or directory/);
  });
});
