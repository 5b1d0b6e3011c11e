import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  closeSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogRecord } from '../model/records.js';
import type { MetricPoint, Span } from '../model/span.js';
import type { TelemetrySink } from './telemetry-store.js';
import { TailSource, type TailOptions } from './tail.js';
import { Registry } from './prometheus.js';

class Sink implements TelemetrySink {
  readonly got: LogRecord[] = [];
  spans(_b: Span[]): void {}
  points(_b: MetricPoint[]): void {}
  logs(b: LogRecord[]): void {
    for (const r of b) this.got.push(r);
  }
  /** Lines seen by their `n` field, in arrival order. */
  ids(): number[] {
    return this.got.map((r) => Number(r.attributes['n']));
  }
}

let seq = 0;
const line = (n: number): string =>
  JSON.stringify({
    ts: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    level: n % 7 === 0 ? 'error' : 'info',
    msg: `request ${n} done`,
    n,
  }) + '\n';
const lines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += line(i);
  return s;
};

function setup(opts: TailOptions = {}): {
  dir: string;
  file: string;
  sink: Sink;
  src: TailSource;
  done: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), `mlscope-tail-${seq++}-`));
  const file = join(dir, 'app.log');
  const sink = new Sink();
  const src = new TailSource([file], { watch: false, pollMs: 60_000, idleFlushMs: 0, ...opts });
  return { dir, file, sink, src, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every id in [0, n) arrived exactly once. */
function exactlyOnce(ids: number[], n: number): void {
  const counts = new Map<number, number>();
  for (const i of ids) counts.set(i, (counts.get(i) ?? 0) + 1);
  const dup = [...counts].filter(([, c]) => c > 1).map(([i]) => i);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!counts.has(i)) missing.push(i);
  assert.deepEqual({ dup, missing, extra: ids.length - n }, { dup: [], missing: [], extra: 0 });
}

test('tail: existing content, then appends, each line once; partial lines wait', async () => {
  const t = setup();
  try {
    writeFileSync(t.file, lines(0, 100));
    await t.src.start(t.sink);
    assert.equal(t.sink.got.length, 99); // the last record is held back for multi-line joining
    await t.src.pollNow(); // … until the file is quiet
    exactlyOnce(t.sink.ids(), 100);
    appendFileSync(t.file, lines(100, 150));
    await t.src.pollNow();
    await t.src.pollNow(); // idle flush of the held-back last record
    exactlyOnce(t.sink.ids(), 150);
    // a line written in two pieces is one line
    const l = line(150);
    appendFileSync(t.file, l.slice(0, 20));
    await t.src.pollNow();
    await t.src.pollNow();
    assert.equal(t.sink.got.length, 150);
    appendFileSync(t.file, l.slice(20));
    await t.src.pollNow();
    await t.src.pollNow();
    exactlyOnce(t.sink.ids(), 151);
    await t.src.stop();
    exactlyOnce(t.sink.ids(), 151);
    const st = t.src.stats()[0]!;
    assert.equal(st.lines, 151);
    assert.equal(st.records, 151);
    assert.equal(st.format, 'json');
    assert.equal(st.quality.skipped, 0);
  } finally {
    t.done();
  }
});

test('tail: rename rotation — rest of the old file, then the new one from the start', async () => {
  const t = setup({ rotateGraceMs: 0 });
  try {
    writeFileSync(t.file, lines(0, 10));
    await t.src.start(t.sink);
    // the writer appends, then logrotate renames and a new file appears before we poll
    appendFileSync(t.file, lines(10, 20));
    renameSync(t.file, t.file + '.1');
    writeFileSync(t.file, lines(20, 30));
    await t.src.pollNow();
    await t.src.pollNow();
    exactlyOnce(t.sink.ids(), 30);
    // old lines come before new ones
    const ids = t.sink.ids();
    assert.ok(ids.indexOf(19) < ids.indexOf(20));
    // a second rotation, with the last old line lacking its newline
    appendFileSync(t.file, lines(30, 40) + line(40).trimEnd());
    renameSync(t.file, t.file + '.2');
    writeFileSync(t.file, lines(41, 45));
    await t.src.pollNow();
    await t.src.pollNow();
    await t.src.stop();
    exactlyOnce(t.sink.ids(), 45);
    assert.equal(t.src.stats()[0]!.rotations, 2);
  } finally {
    t.done();
  }
});

test('tail: a writer still appending to the renamed file within the grace period', async () => {
  const t = setup({ rotateGraceMs: 60_000 });
  try {
    const fd = openSync(t.file, 'a');
    writeSync(fd, lines(0, 10));
    await t.src.start(t.sink);
    renameSync(t.file, t.file + '.1');
    writeFileSync(t.file, lines(10, 20)); // new file (another writer)
    await t.src.pollNow();
    writeSync(fd, lines(20, 25)); // the old writer has not reopened yet
    closeSync(fd);
    await t.src.pollNow();
    await t.src.pollNow();
    exactlyOnce(t.sink.ids(), 25);
    await t.src.stop();
    exactlyOnce(t.sink.ids(), 25);
  } finally {
    t.done();
  }
});

test('tail: truncation (> file) restarts at 0', async () => {
  const t = setup();
  try {
    writeFileSync(t.file, lines(0, 50));
    await t.src.start(t.sink);
    truncateSync(t.file, 0);
    appendFileSync(t.file, lines(50, 55));
    await t.src.pollNow();
    await t.src.pollNow();
    exactlyOnce(t.sink.ids(), 55);
    assert.equal(t.src.stats()[0]!.truncations, 1);
    await t.src.stop();
  } finally {
    t.done();
  }
});

test('tail: copytruncate, also when the writer refills past the old size before the poll', async () => {
  const t = setup();
  try {
    writeFileSync(t.file, lines(0, 20));
    await t.src.start(t.sink);
    // logrotate copytruncate: copy, truncate in place; the writer goes on (O_APPEND)
    copyFileSync(t.file, t.file + '.1');
    truncateSync(t.file, 0);
    appendFileSync(t.file, lines(20, 25));
    await t.src.pollNow();
    await t.src.pollNow();
    exactlyOnce(t.sink.ids(), 25);
    // again, but the new content outgrows our position before we look: size alone misses it
    copyFileSync(t.file, t.file + '.2');
    truncateSync(t.file, 0);
    appendFileSync(t.file, lines(25, 60));
    await t.src.pollNow();
    await t.src.pollNow();
    await t.src.stop();
    exactlyOnce(t.sink.ids(), 60);
    assert.equal(t.src.stats()[0]!.truncations, 2);
  } finally {
    t.done();
  }
});

test('tail: a file that appears later, is removed and recreated', async () => {
  const t = setup({ rotateGraceMs: 0 });
  try {
    await t.src.start(t.sink);
    assert.equal(t.src.stats()[0]!.open, false);
    writeFileSync(t.file, lines(0, 5));
    await t.src.pollNow();
    await t.src.pollNow();
    unlinkSync(t.file);
    await t.src.pollNow();
    writeFileSync(t.file, lines(5, 9));
    await t.src.pollNow();
    await t.src.pollNow();
    await t.src.stop();
    exactlyOnce(t.sink.ids(), 9);
  } finally {
    t.done();
  }
});

test('tail: --from-end skips existing content; long lines are cut and counted', async () => {
  const t = setup({ fromEnd: true, maxLineBytes: 1024 });
  try {
    writeFileSync(t.file, lines(0, 10));
    await t.src.start(t.sink);
    appendFileSync(t.file, lines(10, 12) + 'x'.repeat(5000) + '\n' + lines(12, 14));
    await t.src.pollNow();
    await t.src.stop();
    assert.deepEqual(
      t.sink.ids().filter((n) => !Number.isNaN(n)),
      [10, 11, 12, 13],
    );
    const st = t.src.stats()[0]!;
    assert.equal(st.lines, 5);
    assert.equal(st.quality.skippedByReason['truncated-line'], 1);
    const reg = new Registry();
    t.src.register(reg);
    assert.match(reg.render(), /mlscope_tail_lines_total\{file=".*app\.log"\} 5/);
  } finally {
    t.done();
  }
});

test('tail: live, with fs.watch and the timer, many appends and rotations arrive exactly once', async () => {
  const t = setup({ watch: true, pollMs: 50, idleFlushMs: 100, rotateGraceMs: 200 });
  try {
    await t.src.start(t.sink);
    let n = 0;
    for (let round = 0; round < 6; round++) {
      for (let k = 0; k < 20; k++) {
        appendFileSync(t.file, lines(n, n + 10));
        n += 10;
        if (k % 5 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      if (round % 2 === 0) renameSync(t.file, `${t.file}.${round}`);
      else {
        // copytruncate loses what is still unread: let the tail catch up first
        const until = Date.now() + 5000;
        while (t.sink.got.length < n && Date.now() < until)
          await new Promise((r) => setTimeout(r, 20));
        copyFileSync(t.file, `${t.file}.${round}`);
        truncateSync(t.file, 0);
      }
    }
    appendFileSync(t.file, lines(n, n + 10));
    n += 10;
    const deadline = Date.now() + 5000;
    while (t.sink.got.length < n && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await t.src.stop();
    exactlyOnce(t.sink.ids(), n);
  } finally {
    t.done();
  }
});
