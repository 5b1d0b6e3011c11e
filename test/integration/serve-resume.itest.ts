// `mlscope serve FILE --db DB` across restarts: a real serve child process tails a log file into a
// DuckDB file and is stopped with SIGTERM, killed with SIGKILL (a crash), restarted after lines
// were appended, after the file was rotated and after it was truncated while serve was down; in
// the end `mlscope sql` must count every line exactly once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runMlscope, startServe, waitFor, type Proc } from './helpers/serve-harness.js';

const line = (n: number): string =>
  JSON.stringify({
    ts: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    level: n % 5 === 0 ? 'error' : 'info',
    service: 'inference',
    msg: `request ${n} done`,
  }) + '\n';
const lines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += line(i);
  return s;
};
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

function mlscope(args: string[]): string {
  const r = runMlscope(args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test(
  'serve --db: SIGTERM, SIGKILL, rotation and truncation between runs; every line stored once',
  { timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlscope-serve-resume-'));
    const log = join(dir, 'inference.log');
    const db = join(dir, 'live.duckdb');
    let serve: Proc | null = null;
    const diag = (): string => `--- serve:\n${serve?.output() ?? ''}`;

    /** Start serve and wait until it answers and has written `logs` log records this run. */
    const run = async (logs: number): Promise<{ api: string; proc: Proc }> => {
      const [apiPort, otlpPort] = [await freePort(), await freePort()];
      const proc = startServe([
        log,
        '--db',
        db,
        '--port',
        String(apiPort),
        '--otlp-port',
        String(otlpPort),
      ]);
      serve = proc;
      const api = `http://127.0.0.1:${apiPort}`;
      await waitFor(
        'serve ready',
        async () => ((await fetch(`${api}/healthz`)).ok ? true : null),
        30_000,
        diag,
      );
      await written(api, logs);
      return { api, proc };
    };
    /** Wait until this run wrote `n` log records to the store (committed with its positions). */
    const written = (api: string, n: number): Promise<number> =>
      waitFor(
        `${n} log records written`,
        async () => {
          const m = /mlscope_store_records_written\{signal="logs"\} (\d+)/.exec(
            await (await fetch(`${api}/metrics`)).text(),
          );
          return m && Number(m[1]) === n ? n : null;
        },
        20_000,
        diag,
      );
    const stopped = (p: Proc): Promise<void> =>
      new Promise((r) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) r();
        else p.child.once('exit', () => r());
      });

    try {
      // 1. first run: the whole file, then appends; SIGTERM
      writeFileSync(log, lines(0, 100));
      let s = await run(100);
      assert.match(s.proc.output(), /no saved position: reading from the start/);
      appendFileSync(log, lines(100, 150));
      await written(s.api, 150);
      await s.proc.stop();
      // 2. lines appended while down; restart resumes; more appends; then a crash (SIGKILL)
      appendFileSync(log, lines(150, 200));
      s = await run(50);
      assert.match(s.proc.output(), /resuming at byte \d+ \(line 150\)/);
      appendFileSync(log, lines(200, 220));
      await written(s.api, 70);
      s.proc.child.kill('SIGKILL');
      await stopped(s.proc);
      // 3. after the crash: what was written is not read again; a rotation while running
      appendFileSync(log, lines(220, 240));
      s = await run(20);
      assert.match(s.proc.output(), /resuming at byte \d+ \(line 220\)/);
      renameSync(log, `${log}.1`);
      writeFileSync(log, lines(300, 310));
      await written(s.api, 30);
      await s.proc.stop();
      // 4. truncated and rewritten shorter while down: read from the start
      writeFileSync(log, lines(400, 405));
      s = await run(5);
      assert.match(s.proc.output(), /truncated while serve was down\): reading it from the start/);
      await s.proc.stop();
      assert.equal(s.proc.child.exitCode, 0, diag());

      const out = mlscope([
        'sql',
        '--db',
        db,
        '--json',
        "SELECT count(*) AS n, count(DISTINCT body) AS d, list(CAST(regexp_extract(body, '\\d+') AS INTEGER) ORDER BY ts) AS ids FROM logs",
      ]);
      const { rows } = JSON.parse(out) as { rows: { n: number; d: number; ids: number[] }[] };
      const { n, d, ids } = rows[0]!;
      const want = [...range(0, 240), ...range(300, 310), ...range(400, 405)];
      assert.equal(n, want.length, diag());
      assert.equal(d, want.length, 'no line stored twice');
      assert.deepEqual(ids, want);
    } finally {
      await (serve as Proc | null)?.stop(); // assigned in run(): not narrowed to null
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
