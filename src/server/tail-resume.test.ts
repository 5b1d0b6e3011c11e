// Tailing across restarts (tail.ts savedPositions + IngestQueue + a DuckDB file): serve-like
// sessions against a temp database — run, stop (or crash), change the file, run again — and every
// line must be in `logs` exactly once, whatever happened to the file while nothing was running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { TailPosition } from '../store/store.js';
import { IngestQueue, openTelemetryStore } from './telemetry-store.js';
import { TailSource, decideResume, type TailOptions } from './tail.js';

const dir = mkdtempSync(join(tmpdir(), 'mlscope-tail-resume-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

const line = (n: number): string =>
  JSON.stringify({
    ts: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    level: 'info',
    msg: `request ${n} done`,
  }) + '\n';
const lines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += line(i);
  return s;
};
const bodies = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `request ${from + i} done`);

interface Session {
  src: TailSource;
  queue: IngestQueue;
  log: string[];
  /** SIGTERM: the tail's last poll, every queued record written, the store closed. */
  stop(): Promise<void>;
  /** A crash: records read but not yet written are lost, the store is not flushed further. */
  crash(): Promise<void>;
}

/** One serve-like run: saved positions read from the store (unless noResume), the tail started. */
async function session(
  db: string,
  files: string[],
  opts: TailOptions & { noResume?: boolean } = {},
): Promise<Session> {
  const store = await openTelemetryStore(db);
  const saved = new Map<string, TailPosition[]>();
  if (!opts.noResume)
    for (const p of await store.tailPositions()) {
      const l = saved.get(p.path);
      if (l) l.push(p);
      else saved.set(p.path, [p]);
    }
  const queue = new IngestQueue(store, 60_000);
  const log: string[] = [];
  const src = new TailSource(files, {
    watch: false,
    pollMs: 60_000,
    idleFlushMs: 0,
    ...opts,
    savedPositions: saved,
    log: (l) => log.push(l),
  });
  await src.start(queue);
  return {
    src,
    queue,
    log,
    async stop() {
      await src.stop();
      await queue.drain();
      await store.close();
    },
    async crash() {
      await src.stop(); // its timers; what it read stays in the queue, never written
      await store.close();
    },
  };
}

async function stored(db: string): Promise<{ bodies: string[]; lines: number[] }> {
  const s = await openDuckDbStore(db);
  const r = await s.query('SELECT body, line_no FROM logs ORDER BY ts, line_no');
  await s.close();
  return { bodies: r.rows.map((x) => x[0] as string), lines: r.rows.map((x) => Number(x[1])) };
}

function fresh(): { db: string; file: string } {
  const d = join(dir, `s${seq++}`);
  mkdirSync(d);
  return { db: join(d, 'live.duckdb'), file: join(d, 'app.log') };
}

test('restart with more lines appended: every line exactly once, line numbers continue', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 50));
  const a = await session(db, [file]);
  assert.deepEqual(a.log, [`tail ${file}: no saved position: reading from the start`]);
  appendFileSync(file, lines(50, 60));
  await a.src.pollNow();
  await a.stop();
  appendFileSync(file, lines(60, 80)); // written while serve is down
  const b = await session(db, [file]);
  assert.match(b.log[0]!, /resuming at byte \d+ \(line 60\)/);
  appendFileSync(file, lines(80, 90));
  await b.src.pollNow();
  await b.stop();
  // a third run with nothing new stores nothing
  const c = await session(db, [file]);
  await c.stop();
  const got = await stored(db);
  assert.deepEqual(got.bodies, bodies(0, 90));
  assert.deepEqual(
    got.lines,
    Array.from({ length: 90 }, (_, i) => i + 1),
  );
});

test('truncated while down (shorter than the saved offset): read from the start', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 40));
  await (await session(db, [file])).stop();
  truncateSync(file, 0);
  appendFileSync(file, lines(100, 105));
  const b = await session(db, [file]);
  assert.match(b.log[0]!, /shorter than the saved position .*truncated while serve was down/);
  await b.stop();
  assert.deepEqual((await stored(db)).bodies, [...bodies(0, 40), ...bodies(100, 105)]);
});

test('rewritten while down (same inode, longer, other first bytes): read from the start', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 10));
  await (await session(db, [file])).stop();
  writeFileSync(file, lines(200, 230)); // same inode, truncated and rewritten, now longer
  const b = await session(db, [file]);
  assert.match(b.log[0]!, /first bytes changed .*reading it from the start/);
  await b.stop();
  assert.deepEqual((await stored(db)).bodies, [...bodies(0, 10), ...bodies(200, 230)]);
});

test('rotated while down: the old file found under its rotated name, its rest read first', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 30));
  await (await session(db, [file])).stop();
  renameSync(file, `${file}.1`);
  appendFileSync(`${file}.1`, lines(30, 35)); // the writer's last lines to the old file
  writeFileSync(file, lines(100, 120));
  const b = await session(db, [file]);
  assert.match(
    b.log[0]!,
    /another file than at the last run .*the file read then is now app\.log\.1: reading its rest from byte \d+ first/,
  );
  await b.stop();
  const got = await stored(db);
  assert.deepEqual(got.bodies, [...bodies(0, 30), ...bodies(30, 35), ...bodies(100, 120)]);
  // a third run resumes in the new file: nothing twice
  await (await session(db, [file])).stop();
  assert.equal((await stored(db)).bodies.length, 55);
});

test('rotated while down and the old file gone (or compressed): the new file from the start, the possible loss said', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 30));
  await (await session(db, [file])).stop();
  renameSync(file, `${file}.1.gz`); // compressed by logrotate: another inode, not looked into
  writeFileSync(file, lines(100, 120));
  const b = await session(db, [file]);
  assert.match(
    b.log[0]!,
    /another file than at the last run .*from the start; lines written to the old file after byte \d+ may be missing/,
  );
  await b.stop();
  assert.deepEqual((await stored(db)).bodies, [...bodies(0, 30), ...bodies(100, 120)]);
});

test('rotated while running, then restarted: resumes in the new file', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 20));
  const a = await session(db, [file], { rotateGraceMs: 0 });
  renameSync(file, `${file}.1`);
  writeFileSync(file, lines(20, 30));
  await a.src.pollNow();
  await a.src.pollNow();
  await a.stop();
  appendFileSync(file, lines(30, 40));
  const b = await session(db, [file]);
  assert.match(b.log[0]!, /resuming at byte \d+ \(line 10\)/);
  await b.stop();
  assert.deepEqual((await stored(db)).bodies, bodies(0, 40));
});

test('crash before the final write: the saved position is never ahead of the rows, nothing twice', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 30));
  const a = await session(db, [file]);
  await a.src.pollNow(); // quiet: the last record is complete
  await a.queue.write(); // lines 0..29 and their position, one transaction
  appendFileSync(file, lines(30, 60));
  await a.src.pollNow(); // read and queued, never written
  await a.crash();
  const s = await openDuckDbStore(db);
  const [pos] = await s.tailPositions();
  const n = Number((await s.query('SELECT count(*) FROM logs')).rows[0]![0]);
  await s.close();
  assert.equal(n, 30);
  assert.equal(pos!.lineNo, 30, 'position at the last stored line');
  appendFileSync(file, lines(60, 70));
  const b = await session(db, [file]);
  assert.match(b.log[0]!, /resuming at byte \d+ \(line 30\)/);
  await b.stop();
  assert.deepEqual((await stored(db)).bodies, bodies(0, 70));
});

test('a multi-line record held back at a crash is stored once, whole, after the restart', async () => {
  const { db, file } = fresh();
  const py = (s: number, level: string, msg: string): string =>
    `2026-01-01 00:00:${String(s).padStart(2, '0')},000 - trainer - ${level} - ${msg}\n`;
  writeFileSync(
    file,
    py(1, 'INFO', 'epoch 1 done') +
      py(2, 'ERROR', 'step failed') +
      'Traceback (most recent call last):\n',
  );
  // idle flush off: the ERROR record stays held back, waiting for more traceback lines
  const a = await session(db, [file], {
    idleFlushMs: 3_600_000,
    parse: { format: 'python-logging' },
  });
  await a.queue.write();
  await a.crash();
  const mid = await stored(db);
  assert.deepEqual(mid.bodies, ['epoch 1 done']);
  appendFileSync(
    file,
    '  File "train.py", line 3, in <module>\nRuntimeError: CUDA out of memory\n' +
      py(6, 'WARNING', 'retrying'),
  );
  const b = await session(db, [file], { parse: { format: 'python-logging' } });
  assert.match(b.log[0]!, /resuming at byte \d+ \(line 1\)/);
  await b.stop();
  const got = await stored(db);
  assert.deepEqual(got.bodies, [
    'epoch 1 done',
    'step failed\nTraceback (most recent call last):\n  File "train.py", line 3, in <module>\nRuntimeError: CUDA out of memory',
    'retrying',
  ]);
  assert.deepEqual(got.lines, [1, 2, 6]);
});

test('an unfinished last line at stop is left for the next run and stored whole', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 3) + line(3).slice(0, 20));
  await (await session(db, [file])).stop();
  assert.deepEqual((await stored(db)).bodies, bodies(0, 3));
  appendFileSync(file, line(3).slice(20) + line(4));
  await (await session(db, [file])).stop();
  assert.deepEqual((await stored(db)).bodies, bodies(0, 5));
});

test('--no-resume reads again from the start (or the end with --from-end) and saves anew', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 10));
  await (await session(db, [file])).stop();
  const b = await session(db, [file], { noResume: true });
  assert.match(b.log[0]!, /no saved position: reading from the start/);
  await b.stop();
  assert.equal((await stored(db)).bodies.length, 20, 'the user asked for a second copy');
  appendFileSync(file, lines(10, 12));
  const c = await session(db, [file], { noResume: true, fromEnd: true });
  assert.match(c.log[0]!, /reading from the end \(--from-end\)/);
  appendFileSync(file, lines(12, 14));
  await c.src.pollNow();
  await c.stop();
  const got = (await stored(db)).bodies;
  assert.deepEqual(got.slice(20), bodies(12, 14));
  // and the next normal start resumes where the --no-resume run stopped
  const d = await session(db, [file]);
  assert.match(d.log[0]!, /resuming/);
  await d.stop();
  assert.equal((await stored(db)).bodies.length, 22);
});

test('--from-end only applies to files without a saved position', async () => {
  const { db, file } = fresh();
  writeFileSync(file, lines(0, 10));
  const a = await session(db, [file], { fromEnd: true });
  appendFileSync(file, lines(10, 20));
  await a.src.pollNow();
  await a.stop();
  appendFileSync(file, lines(20, 30)); // while down: not lost
  const b = await session(db, [file], { fromEnd: true });
  assert.match(b.log[0]!, /resuming/);
  await b.stop();
  assert.deepEqual((await stored(db)).bodies, bodies(10, 30));
});

test('a schema-3 database is upgraded and serves resumes from then on', async () => {
  const { db, file } = fresh();
  const s = await openDuckDbStore(db);
  await s.query('DROP TABLE tail_positions');
  await s.query(`UPDATE mlscope_meta SET value = '3' WHERE key = 'schema_version'`);
  await s.close();
  writeFileSync(file, lines(0, 5));
  await (await session(db, [file])).stop();
  appendFileSync(file, lines(5, 8));
  await (await session(db, [file])).stop();
  assert.deepEqual((await stored(db)).bodies, bodies(0, 8));
});

test('decideResume: same file, truncated, rewritten, other file', async () => {
  const saved: TailPosition = {
    path: '/x/app.log',
    dev: '1',
    ino: '2',
    headBytes: 4,
    headHash: 'h',
    offset: 100,
    lineNo: 7,
    updatedMs: 0,
  };
  const now = (over: object) => ({
    dev: 1,
    ino: 2,
    sizeBytes: 150,
    headHash: (n: number) => Promise.resolve(n === 4 ? 'h' : '?'),
    ...over,
  });
  const d = await decideResume('app.log', [saved], now({}));
  assert.equal(d.action, 'resume');
  assert.deepEqual(d.action === 'resume' ? [d.offset, d.lineNo] : null, [100, 7]);
  assert.equal((await decideResume('app.log', [saved], now({ sizeBytes: 99 }))).action, 'start');
  assert.equal(
    (await decideResume('app.log', [saved], now({ headHash: () => Promise.resolve('other') })))
      .action,
    'start',
  );
  const other = await decideResume('app.log', [saved], now({ ino: 3 }));
  assert.equal(other.action, 'start');
  assert.match(other.message, /after byte 100 may be missing/);
  // a second saved file (rotated away while it was still being read) is matched by inode
  const two = await decideResume('app.log', [{ ...saved, ino: '9' }, saved], now({}));
  assert.equal(two.action, 'resume');
});
