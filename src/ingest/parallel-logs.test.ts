// Reading a log input on a worker thread stores the same rows, template ids and reports as
// reading it on one thread; input errors and store errors come back as on one thread.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { openDuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { Store } from '../store/store.js';
import { appendLogInput } from '../cli/commands/log-input.js';

const dir = mkdtempSync(join(tmpdir(), 'mlscope-parallel-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function jsonLog(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      JSON.stringify({
        time: new Date(Date.UTC(2024, 4, 1) + i * 17).toISOString(),
        remote_addr: `10.0.${(i >> 8) & 255}.${i & 255}`,
        request_id: `r${i.toString(16).padStart(15, '0')}`,
        request_method: i % 5 ? 'POST' : 'GET',
        request_uri: ['/v1/chat/completions', '/health', '/v1/models'][i % 3],
        status: i % 37 === 0 ? 503 : 200,
        body_bytes_sent: i % 8000,
        request_time: (i % 2000) / 1000,
        http_user_agent: i % 11 === 0 ? 'naïve-client/1.0 "quoted"' : 'openai-python/1.30.1',
        note: i % 13 === 0 ? 'line\nbreak \u0001 and \ud800' : null,
      }),
    );
    if (i % 500 === 0) out.push(`plain text line ${i} not json`);
  }
  return out.join('\n') + '\n';
}

async function ingestWith(
  path: string,
  worker: 'always' | 'never',
): Promise<{
  rows: unknown[];
  templates: unknown[];
  result: Awaited<ReturnType<typeof appendLogInput>>;
}> {
  const s: Store = await openDuckDbStore(':memory:');
  try {
    const result = await appendLogInput(s, { name: path, path }, 7, { templates: true, worker });
    if (result.templates) await s.resolveTemplates(7, result.templates);
    const rows = (await s.query('SELECT * FROM logs ORDER BY line_no')).rows;
    const templates = (await s.query('SELECT * FROM templates ORDER BY template_id')).rows;
    return { rows, templates, result };
  } finally {
    await s.close();
  }
}

test('a worker thread stores the same rows, template ids and quality report as one thread', async () => {
  const file = join(dir, 'access.log');
  writeFileSync(file, jsonLog(12_000));
  const one = await ingestWith(file, 'never');
  const two = await ingestWith(file, 'always');
  assert.equal(one.rows.length, 12_024);
  assert.deepEqual(two.rows, one.rows);
  assert.deepEqual(two.templates, one.templates);
  assert.deepEqual(two.result, one.result);
});

test('a damaged input read on a worker: rows before the damage kept, the same error', async () => {
  const gz = gzipSync(Buffer.from(jsonLog(30_000)));
  const file = join(dir, 'cut.log.gz');
  writeFileSync(file, gz.subarray(0, Math.floor(gz.length * 0.6)));
  const one = await ingestWith(file, 'never');
  const two = await ingestWith(file, 'always');
  assert.ok(one.result.error);
  assert.ok(one.rows.length > 1000);
  assert.deepEqual(two.rows, one.rows);
  assert.equal(two.result.error?.message, one.result.error.message);
  assert.equal(two.result.error?.code, one.result.error.code);
  assert.deepEqual(two.result.report, one.result.report);
});

test('a store error while the worker reads stops it and is thrown', async () => {
  const file = join(dir, 'store-error.log');
  writeFileSync(file, jsonLog(20_000));
  const s = await openDuckDbStore(':memory:');
  let calls = 0;
  const failing = new Proxy(s, {
    get(target, prop, receiver) {
      if (prop === 'appendLogChunks')
        return () => (++calls === 2 ? Promise.reject(new Error('disk full')) : Promise.resolve());
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  await assert.rejects(
    appendLogInput(failing, { name: file, path: file }, 1, { templates: true, worker: 'always' }),
    /disk full/,
  );
  assert.equal(calls, 2);
  await s.close();
});
