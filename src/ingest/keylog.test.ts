import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followKeyLog, mergeKeyLogs, readKeyLog } from './keylog.js';
import { parseKeyLog } from '../decoders/proto/tls-decrypt.js';

const KEYS = readFileSync(
  join(import.meta.dirname, '../../test/fixtures/capture/https-keylog.keys'),
  'utf8',
);

test('a key log being written is read as it grows, a half-written line when it ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-keylog-'));
  try {
    const f = join(dir, 'keys.log');
    const lines = KEYS.trim().split('\n');
    writeFileSync(f, lines.slice(0, 5).join('\n') + '\n' + lines[5]!.slice(0, 40));
    const { log, close } = followKeyLog(f);
    const before = log.used;
    assert.equal(before, 5 - lines.slice(0, 5).filter((l) => l.startsWith('EXPORTER')).length);
    appendFileSync(f, lines[5]!.slice(40) + '\n' + lines.slice(6).join('\n') + '\n');
    log.refresh!();
    assert.equal(log.sessions.size, 7);
    assert.deepEqual(log.sessions, parseKeyLog(KEYS).sessions);
    // replaced by a shorter file: read from its start, what was known stays
    writeFileSync(f, '');
    log.refresh!();
    assert.equal(log.sessions.size, 7);
    close();
    assert.equal(log.refresh, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readKeyLog refuses what is not a key log; logs merge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlscope-keylog-'));
  try {
    const bad = join(dir, 'x.log');
    writeFileSync(bad, 'hello\nworld\n');
    await assert.rejects(readKeyLog({ name: bad, path: bad }), /not a TLS key log/);
    const half = KEYS.trim().split('\n');
    const a = parseKeyLog(half.slice(0, 10).join('\n'));
    const b = parseKeyLog(half.slice(10).join('\n'));
    assert.equal(mergeKeyLogs([a, b])!.sessions.size, parseKeyLog(KEYS).sessions.size);
    assert.equal(mergeKeyLogs([]), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
