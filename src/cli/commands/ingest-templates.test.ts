// Template ids stored with ingested log rows (`ingest`, `logs`): they agree with `mlscope
// templates --assignments`, multi-line records take their first line's id, the `templates` table
// joins, and no provisional key is left on a finished input, also after a damaged input or a
// killed ingest.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { openDuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { makeLog } from '../../store/store.case.js';
import { run } from './io.test-util.js';

type Row = Record<string, unknown>;

async function sql(db: string, query: string): Promise<Row[]> {
  const r = await run('sql', query, '--db', db, '--json');
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { rows: Row[] }).rows;
}

async function assignments(file: string): Promise<string[]> {
  const r = await run('templates', file, '--json', '--assignments');
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { assignments: string[] }).assignments;
}

/** line number → the `templates --assignments` id of that line (blank lines have none). */
async function idByLine(file: string): Promise<Map<number, string>> {
  const a = await assignments(file);
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out = new Map<number, string>();
  let k = 0;
  lines.forEach((l, i) => {
    if (l.trim() !== '') out.set(i + 1, a[k++]!);
  });
  assert.equal(k, a.length);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'mlscope-ingest-tpl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const USERS = ['alice', 'bob', 'carol'];
/** A service log past the 1,000-line header sample, whose templates generalise as it goes. */
function serviceLog(n: number, seed = 0): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = `2024-05-01 12:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')},${String((i * 7 + seed) % 1000).padStart(3, '0')}`;
    const k = (i * 31 + seed) % 10;
    if (k < 5) out.push(`${t} INFO gateway: request ${i} served in ${i % 97} ms`);
    else if (k < 7) out.push(`${t} WARN gateway: slow upstream pool-${i % 4} after ${i} retries`);
    else if (k < 9) out.push(`${t} INFO auth: session opened for user ${USERS[i % 3]}`);
    else out.push(`${t} ERROR worker: job ${i} failed: out of memory`);
    if (i === 700) out.push(''); // a blank line: no record, no assignment
  }
  return out.join('\n') + '\n';
}

describe('ingest stores template ids', () => {
  it('agrees line for line with `templates --assignments` (single-line records)', async () => {
    const file = join(dir, 'service.log');
    writeFileSync(file, serviceLog(2500));
    const db = join(dir, 'agree.duckdb');
    const r = await run('ingest', file, '--db', db, '--json');
    assert.equal(r.code, 0, r.stderr);
    const want = await idByLine(file);
    const rows = await sql(db, 'SELECT line_no, template_id FROM logs ORDER BY line_no');
    assert.equal(rows.length, 2500);
    assert.deepEqual(
      rows.map((x) => [x['line_no'], x['template_id']]),
      rows.map((x) => [x['line_no'], want.get(Number(x['line_no']))]),
    );
    assert.ok(new Set(rows.map((x) => x['template_id'])).size >= 4);
    // Every id is in `templates`, with its count of rows and its text.
    const t = await sql(
      db,
      `SELECT t.template, t.count, count(*) AS n FROM logs l JOIN templates t USING (template_id)
       GROUP BY ALL ORDER BY n DESC`,
    );
    assert.equal(
      t.reduce((a, x) => a + Number(x['n']), 0),
      2500,
    );
    for (const x of t) assert.equal(x['count'], x['n']);
    assert.ok(t.some((x) => x['template'] === 'request <*> served in <*> ms'));
  });

  it('a multi-line record (a traceback) takes the id of its first line', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines.push(
        `2024-05-01 12:00:${String(i).padStart(2, '0')},000 INFO app: handled request ${i}`,
      );
      if (i % 5 === 0) {
        lines.push(
          `2024-05-01 12:00:${String(i).padStart(2, '0')},500 ERROR app: request ${i} failed`,
        );
        lines.push('Traceback (most recent call last):');
        lines.push(`  File "/srv/app.py", line ${100 + i}, in handle`);
        lines.push('    run(model)');
        lines.push(`RuntimeError: CUDA out of memory (${i} MiB)`);
      }
    }
    const file = join(dir, 'trace.log');
    writeFileSync(file, lines.join('\n') + '\n');
    const db = join(dir, 'multi.duckdb');
    assert.equal((await run('ingest', file, '--db', db)).code, 0);
    const want = await idByLine(file);
    const rows = await sql(
      db,
      `SELECT line_no, template_id, body LIKE '%Traceback%' AS joined FROM logs ORDER BY line_no`,
    );
    assert.equal(rows.length, 48);
    assert.equal(rows.filter((x) => x['joined']).length, 8);
    for (const x of rows) assert.equal(x['template_id'], want.get(Number(x['line_no'])));
    const errors = await sql(
      db,
      `SELECT DISTINCT t.template FROM logs l JOIN templates t USING (template_id) WHERE severity = 'ERROR'`,
    );
    assert.deepEqual(errors, [{ template: 'request <*> failed' }]);
  });

  it('re-ingesting adds nothing; another file shares ids by template text and adds to the counts', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    writeFileSync(a, serviceLog(1500));
    writeFileSync(b, serviceLog(1200, 5));
    const db = join(dir, 'two.duckdb');
    assert.equal((await run('ingest', a, '--db', db)).code, 0);
    const before = await sql(db, 'SELECT template_id, count FROM templates ORDER BY template_id');
    const again = await run('ingest', a, '--db', db, '--json');
    assert.equal(again.code, 0);
    assert.equal((JSON.parse(again.stdout) as { records: number }).records, 0);
    assert.deepEqual(
      await sql(db, 'SELECT template_id, count FROM templates ORDER BY template_id'),
      before,
    );

    assert.equal((await run('ingest', b, '--db', db)).code, 0);
    const byInput = await sql(
      db,
      `SELECT t.template, list(DISTINCT l.input_id ORDER BY l.input_id) AS inputs,
              count(DISTINCT l.template_id) AS ids
       FROM logs l JOIN templates t USING (template_id) GROUP BY ALL ORDER BY t.template`,
    );
    // The same template text in both files: one id, rows from both inputs.
    const served = byInput.find((x) => x['template'] === 'request <*> served in <*> ms');
    assert.deepEqual(served, {
      template: 'request <*> served in <*> ms',
      inputs: [1, 2],
      ids: 1,
    });
    const totals = await sql(
      db,
      `SELECT (SELECT sum(count) FROM templates) AS counted, (SELECT count(*) FROM logs) AS rows,
              (SELECT count(*) FROM templates) AS templates,
              (SELECT count(DISTINCT template_id) FROM logs) AS ids`,
    );
    assert.deepEqual(totals, [
      { counted: 2700, rows: 2700, templates: totals[0]!['ids'], ids: totals[0]!['ids'] },
    ]);
    // Each file's ids still agree with `templates` run on that file alone.
    const wantB = await idByLine(b);
    const rowsB = await sql(db, 'SELECT line_no, template_id FROM logs WHERE input_id = 2');
    for (const x of rowsB) assert.equal(x['template_id'], wantB.get(Number(x['line_no'])));
  });

  it('a damaged input keeps its rows with final ids (no provisional key left)', async () => {
    const gz = gzipSync(Buffer.from(serviceLog(20_000)));
    const cut = join(dir, 'cut.log.gz');
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length * 0.5)));
    const db = join(dir, 'cut.duckdb');
    const r = await run('ingest', cut, '--db', db, '--json');
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as { inputs: { action: string; records: number }[] };
    assert.equal(doc.inputs[0]!.action, 'failed');
    assert.ok(doc.inputs[0]!.records > 1000);
    const left = await sql(
      db,
      `SELECT count(*) AS n, count(template_id) AS with_id,
              count(*) FILTER (WHERE starts_with(template_id, '~')) AS provisional,
              count(*) FILTER (WHERE template_id NOT IN (SELECT template_id FROM templates)) AS unknown
       FROM logs`,
    );
    assert.deepEqual(left, [
      { n: doc.inputs[0]!.records, with_id: doc.inputs[0]!.records, provisional: 0, unknown: 0 },
    ]);
  });

  it('rows a killed ingest left with provisional keys are replaced by the next ingest', async () => {
    const file = join(dir, 'killed.log');
    writeFileSync(file, serviceLog(300));
    const db = join(dir, 'killed.duckdb');
    // What a killed run leaves: an input still 'ingesting' whose rows carry provisional keys.
    const s = await openDuckDbStore(db);
    const id = await s.beginInput({
      path: file,
      sizeBytes: 1,
      mtimeMs: 0,
      headHash: 'x',
      tailHash: 'x',
      windowBytes: 1,
      kind: 'logs',
      format: null,
    });
    await s.appendLogs([makeLog({ templateId: '~0' }), makeLog({ templateId: '~-1' })], id);
    await s.close();
    const r = await run('ingest', file, '--db', db);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /removed 2 rows of an unfinished ingest/);
    assert.deepEqual(
      await sql(
        db,
        `SELECT count(*) AS n, count(*) FILTER (WHERE starts_with(template_id, '~')) AS provisional FROM logs`,
      ),
      [{ n: 300, provisional: 0 }],
    );
  });

  it('`logs` gives each record its template id, usable in --where', async () => {
    const file = join(dir, 'service.log');
    const want = await idByLine(file);
    const all = await run('logs', file, '--json', '--limit', '5');
    assert.equal(all.code, 0, all.stderr);
    const recs = (JSON.parse(all.stdout) as { records: { lineNo: number; templateId: string }[] })
      .records;
    assert.equal(recs.length, 5);
    for (const x of recs) assert.equal(x.templateId, want.get(x.lineNo));
    const id = recs[0]!.templateId;
    const only = await run('logs', file, '--json', '--where', `template_id = '${id}'`);
    const doc = JSON.parse(only.stdout) as { matched: number; records: { templateId: string }[] };
    assert.equal(doc.matched, [...want.values()].filter((x) => x === id).length);
    assert.ok(doc.records.every((x) => x.templateId === id));
  });

  it('`mlscope sql` joins logs and templates on the bundled example', async () => {
    const logs = resolve(import.meta.dirname, '../../../examples/slow-endpoint/bundle/logs');
    const db = join(dir, 'example.duckdb');
    const r = await run('ingest', logs, '--db', db, '--json');
    assert.equal(r.code, 0, r.stderr);
    const rows = await sql(
      db,
      `SELECT t.template, count(*) AS n FROM logs l JOIN templates t USING (template_id)
       GROUP BY ALL ORDER BY n DESC, t.template`,
    );
    const total = await sql(db, 'SELECT count(*) AS n, count(template_id) AS ids FROM logs');
    assert.equal(total[0]!['ids'], total[0]!['n']);
    assert.equal(
      rows.reduce((a, x) => a + Number(x['n']), 0),
      total[0]!['n'],
    );
    assert.ok(rows.length > 10);
    // gunicorn's worker log: the traceback records are one template by their first line.
    const gunicorn = await sql(
      db,
      `SELECT DISTINCT t.template FROM logs l JOIN templates t USING (template_id)
       WHERE l.file LIKE '%gunicorn-8004.log' AND l.body LIKE '%Traceback%'`,
    );
    assert.ok(gunicorn.length >= 1);
  });
});
