// DuckDB backend: the shared conformance suite (in memory and on a file), plus what only a file
// store has: persistence, schema versioning, Parquet export.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeLog, storeConformance } from '../store.case.js';
import { StoreError } from '../store.js';
import { openDuckDbStore, quoteString } from './duckdb-store.js';

const dir = mkdtempSync(join(tmpdir(), 'mlscope-duckdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeConformance('duckdb :memory:', () => openDuckDbStore(':memory:', { threads: 1 }));
storeConformance('duckdb file', () =>
  openDuckDbStore(join(dir, `conf-${++n}.duckdb`), { threads: 1 }),
);

describe('duckdb file store', () => {
  it('keeps rows across close and reopen', async () => {
    const path = join(dir, 'persist.duckdb');
    const a = await openDuckDbStore(path);
    await a.appendLogs([makeLog(), makeLog({ lineNo: 2 })]);
    await a.close();
    const b = await openDuckDbStore(path);
    assert.deepEqual((await b.query('SELECT count(*) FROM logs')).rows, [[2]]);
    await b.close();
  });

  it('refuses a version-1 database (before spans and points) with a clear message', async () => {
    const path = join(dir, 'v1.duckdb');
    const s = await openDuckDbStore(path);
    await s.query(`UPDATE mlscope_meta SET value = '1' WHERE key = 'schema_version'`);
    await s.close();
    await assert.rejects(openDuckDbStore(path), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /schema version 1, this mlscope writes version 5/);
      assert.match(err.message, /new --db file/);
      return true;
    });
  });

  it('upgrades a version-2 database (before flows) in place, keeping its rows', async () => {
    const path = join(dir, 'v2.duckdb');
    const s = await openDuckDbStore(path);
    await s.appendLogs([makeLog()]);
    await s.query('DROP TABLE flows');
    await s.query('DROP TABLE tail_positions');
    await s.query('DROP TABLE templates');
    await s.query(`UPDATE mlscope_meta SET value = '2' WHERE key = 'schema_version'`);
    await s.close();
    const b = await openDuckDbStore(path);
    assert.deepEqual((await b.query('SELECT count(*) FROM logs')).rows, [[1]]);
    assert.deepEqual((await b.query('SELECT count(*) FROM flows')).rows, [[0]]);
    assert.deepEqual((await b.query('SELECT count(*) FROM tail_positions')).rows, [[0]]);
    assert.deepEqual((await b.query('SELECT count(*) FROM templates')).rows, [[0]]);
    assert.deepEqual(
      (await b.query(`SELECT value FROM mlscope_meta WHERE key = 'schema_version'`)).rows,
      [['5']],
    );
    await b.close();
  });

  it('upgrades a version-3 database (before tail positions) in place, keeping its rows', async () => {
    const path = join(dir, 'v3.duckdb');
    const s = await openDuckDbStore(path);
    await s.appendLogs([makeLog(), makeLog({ lineNo: 2 })]);
    await s.query('DROP TABLE tail_positions');
    await s.query('DROP TABLE templates');
    await s.query(`UPDATE mlscope_meta SET value = '3' WHERE key = 'schema_version'`);
    await s.close();
    const b = await openDuckDbStore(path);
    assert.deepEqual((await b.query('SELECT count(*) FROM logs')).rows, [[2]]);
    assert.deepEqual(await b.tailPositions(), []);
    assert.deepEqual(
      (await b.query(`SELECT value FROM mlscope_meta WHERE key = 'schema_version'`)).rows,
      [['5']],
    );
    await b.close();
    // and it opens again at version 5 without another upgrade
    const c = await openDuckDbStore(path);
    assert.deepEqual((await c.query('SELECT count(*) FROM logs')).rows, [[2]]);
    await c.close();
  });

  it('upgrades a version-4 database (before templates) in place; old rows keep NULL ids, new ones get theirs', async () => {
    const path = join(dir, 'v4.duckdb');
    const s = await openDuckDbStore(path);
    const input = {
      path: 'old.log',
      sizeBytes: 1,
      mtimeMs: 0,
      headHash: 'h',
      tailHash: 't',
      windowBytes: 1,
      kind: 'logs',
      format: null,
    };
    const old = await s.beginInput(input);
    await s.appendLogs([makeLog(), makeLog({ lineNo: 2 })], old);
    await s.finishInput(old, { records: 2, skipped: 0, error: null });
    await s.query('DROP TABLE templates');
    await s.query(`UPDATE mlscope_meta SET value = '4' WHERE key = 'schema_version'`);
    await s.close();

    const b = await openDuckDbStore(path);
    assert.deepEqual(
      (await b.query(`SELECT value FROM mlscope_meta WHERE key = 'schema_version'`)).rows,
      [['5']],
    );
    assert.deepEqual((await b.query('SELECT count(*) FROM templates')).rows, [[0]]);
    const id = await b.beginInput({ ...input, path: 'new.log', headHash: 'h2' });
    await b.appendLogs([makeLog({ templateId: '~0' })], id);
    await b.finishInput(
      id,
      { records: 1, skipped: 0, error: null },
      {
        keys: [{ key: '~0', id: '0123456789ab' }],
        templates: [{ id: '0123456789ab', template: 'GET <*>', example: 'GET /' }],
      },
    );
    await b.close();
    const c = await openDuckDbStore(path);
    assert.deepEqual(
      (
        await c.query(
          'SELECT input_id, l.template_id, t.template FROM logs l LEFT JOIN templates t USING (template_id) ORDER BY input_id, line_no',
        )
      ).rows,
      [
        [old, null, null],
        [old, null, null],
        [id, '0123456789ab', 'GET <*>'],
      ],
    );
    await c.close();
  });

  it('a template fix-up that fails rolls back whole: the input stays unfinished, not done with provisional ids', async () => {
    const s = await openDuckDbStore(':memory:');
    const id = await s.beginInput({
      path: 'a.log',
      sizeBytes: 1,
      mtimeMs: 0,
      headHash: 'h',
      tailHash: 't',
      windowBytes: 1,
      kind: 'logs',
      format: null,
    });
    await s.appendLogs([makeLog({ templateId: '~0' }), makeLog({ templateId: '~1' })], id);
    // The fix-up's last step (adding to `templates`) fails after the logs UPDATE ran.
    await s.query('ALTER TABLE templates RENAME TO templates_gone');
    await assert.rejects(
      s.finishInput(
        id,
        { records: 2, skipped: 0, error: null },
        {
          keys: [
            { key: '~0', id: '0123456789ab' },
            { key: '~1', id: '0123456789ab' },
          ],
          templates: [{ id: '0123456789ab', template: 't', example: 'e' }],
        },
      ),
      (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.match(err.message, /cannot finish input .*templates/);
        return true;
      },
    );
    assert.deepEqual(
      (await s.inputs()).map((r) => r.status),
      ['ingesting'],
    );
    assert.deepEqual((await s.query('SELECT template_id FROM logs ORDER BY template_id')).rows, [
      ['~0'],
      ['~1'],
    ]);
    // and the store is usable afterwards (no transaction left open, no temporary tables)
    await s.query('ALTER TABLE templates_gone RENAME TO templates');
    assert.equal(await s.removeInput(id), 2);
    assert.deepEqual((await s.query(`SELECT count(*) FROM duckdb_tables() WHERE temporary`)).rows, [
      [0],
    ]);
    await s.close();
  });

  it('moves staged rows into the file in order, across stages, and leaves no stage tables', async () => {
    // More than one stage (122,880 rows), appended in uneven batches, some before a query.
    const path = join(dir, 'staged.duckdb');
    const s = await openDuckDbStore(path, { threads: 2, staged: true });
    const n = 130_000;
    const rows = Array.from({ length: n }, (_, i) => makeLog({ lineNo: i, body: `b${i}` }));
    await s.appendLogs(rows.slice(0, 1000));
    assert.deepEqual((await s.query('SELECT count(*) FROM logs')).rows, [[1000]]);
    for (let i = 1000; i < n; i += 7919) await s.appendLogs(rows.slice(i, i + 7919));
    await s.close();
    const b = await openDuckDbStore(path);
    const r = await b.query(
      `SELECT count(*), count(DISTINCT line_no), bool_and(body = 'b' || line_no),
              bool_and(line_no = rowid) FROM logs`,
    );
    assert.deepEqual(r.rows, [[n, n, true, true]]);
    assert.deepEqual(
      (await b.tables()).map((t) => t.name),
      [
        'connections',
        'exchanges',
        'flows',
        'inputs',
        'logs',
        'points',
        'spans',
        'tail_positions',
        'templates',
      ],
    );
    await b.close();
  });

  it('refuses a database written with another schema version', async () => {
    const path = join(dir, 'old.duckdb');
    const s = await openDuckDbStore(path);
    await s.query(`UPDATE mlscope_meta SET value = '0' WHERE key = 'schema_version'`);
    await s.close();
    await assert.rejects(openDuckDbStore(path), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /schema version 0/);
      return true;
    });
  });

  it('refuses a foreign database that already has a logs table', async () => {
    const path = join(dir, 'foreign.duckdb');
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    await c.run('CREATE TABLE logs (x INTEGER)');
    c.closeSync();
    inst.closeSync();
    await assert.rejects(openDuckDbStore(path), /not an mlscope database/);
  });

  it('exports Parquet with COPY and reads it back', async () => {
    const s = await openDuckDbStore(':memory:');
    await s.appendLogs([makeLog({ body: "it's\u0000odd" }), makeLog({ lineNo: 2 })]);
    const out = join(dir, 'logs.parquet');
    await s.query(`COPY logs TO ${quoteString(out)} (FORMAT parquet)`);
    assert.ok(existsSync(out));
    const r = await s.query(`SELECT body FROM read_parquet(${quoteString(out)}) ORDER BY line_no`);
    assert.deepEqual(r.rows, [["it's\u0000odd"], ['GET /v1/chat/completions 200']]);
    await s.close();
  });

  it('names the file when it cannot be opened', async () => {
    await assert.rejects(
      openDuckDbStore(join(dir, 'no', 'such', 'dir', 'x.duckdb')),
      (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.match(err.message, /x\.duckdb/);
        assert.ok(!err.message.includes('\n'));
        return true;
      },
    );
  });
});
