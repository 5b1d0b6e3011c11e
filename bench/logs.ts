// Log ingest throughput against jq: generates a 1M-line nginx-style JSON access log (nginx
// `log_format … escape=json`, $time_iso8601) in a temp dir, then times, in their own processes,
//   mlscope ingest FILE --db X.duckdb          (the built CLI: node bin/mlscope.js)
//   jq -c 'select(.status>=500)' FILE          (output to a pipe, counted)
// and prints lines/s for both and the ratio (target: ingest ≥ 10× jq). Checks that both agree on
// the number of 5xx lines. Run: npm run bench:logs [-- lines]   (builds dist/ first)
// The machines are shared: the load average is printed with the result, and the runs alternate
// (ingest, jq, ingest, jq…; `--runs N`, default 1) so a burst of load hits both sides.

import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { xorshift32 as rng } from '../src/util/rng.js';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Math.max(1, Number(args[runsAt + 1])) : 1;
const LINES = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--runs') ?? 1_000_000);
const root = resolve(import.meta.dirname, '..');

function fail(msg: string): never {
  process.stderr.write(`bench/logs: ${msg}\n`);
  process.exit(1);
}

const jq = spawnSync('jq', ['--version'], { encoding: 'utf8' });
if (jq.error || jq.status !== 0)
  fail('jq is not installed (apt-get install -y jq); nothing to compare against');

// The built CLI, as users run it (`npm run bench:logs` builds first). No tsx fallback: its
// start-up and transpiling would be measured as ingest time.
function cliArgv(): { cmd: string; how: string } {
  const bin = join(root, 'bin', 'mlscope.js');
  if (!existsSync(join(root, 'dist', 'cli', 'commands', 'ingest.js')))
    fail('dist/ is not built: run `npm run build` (or `npm run bench:logs`, which builds first)');
  // Run through its shebang, as `npx mlscope` does (it carries the runtime's V8 flags).
  const probe = spawnSync(bin, ['ingest', '--help'], { encoding: 'utf8' });
  if (probe.status !== 0) fail(`bin/mlscope.js ingest --help exited ${probe.status}`);
  return { cmd: bin, how: 'bin/mlscope.js (dist, through its shebang)' };
}

async function generate(path: string, n: number): Promise<number> {
  const rand = rng(42);
  const paths = [
    '/v1/chat/completions',
    '/v1/completions',
    '/v1/embeddings',
    '/health',
    '/v1/models',
  ];
  const agents = [
    'python-requests/2.31.0',
    'openai-python/1.30.1',
    'curl/8.5.0',
    'Go-http-client/1.1',
  ];
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let t = Date.UTC(2024, 4, 1, 12, 0, 0);
  let errors = 0;
  let buf = '';
  for (let i = 0; i < n; i++) {
    t += Math.floor(rand() * 20);
    const r = rand();
    const status = r < 0.03 ? 503 : r < 0.04 ? 500 : r < 0.06 ? 429 : r < 0.08 ? 400 : 200;
    if (status >= 500) errors++;
    const rt = (rand() * (status === 503 ? 30 : 2)).toFixed(3);
    const line = {
      time: new Date(t).toISOString().replace('Z', '+00:00'),
      remote_addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      request_id:
        ((i * 2654435761) >>> 0).toString(16).padStart(8, '0') + i.toString(16).padStart(8, '0'),
      request_method: 'POST',
      request_uri: paths[Math.floor(rand() * paths.length)]!,
      status,
      body_bytes_sent: Math.floor(rand() * 8000),
      request_time: Number(rt),
      upstream_response_time: rt,
      http_user_agent: agents[Math.floor(rand() * agents.length)]!,
      upstream_addr: '10.0.0.10:8000',
    };
    buf += JSON.stringify(line) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return errors;
}

function timed(
  cmd: string,
  args: string[],
  opts: { capture?: boolean } = {},
): { s: number; stdout: string; status: number | null; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', opts.capture === false ? 'ignore' : 'pipe', 'pipe'],
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  return { s, stdout: r.stdout ?? '', status: r.status, stderr: r.stderr ?? '' };
}

const dir = mkdtempSync(join(tmpdir(), 'mlscope-bench-logs-'));
try {
  const file = join(dir, 'access.json.log');
  const errors = await generate(file, LINES);
  const size = statSync(file).size;
  const cli = cliArgv();
  process.stdout.write(
    `input: ${LINES} lines, ${(size / 1048576).toFixed(1)} MiB, ${errors} with status >= 500\n`,
  );
  process.stdout.write(`mlscope via: ${cli.how}\n`);

  let ingS = Infinity;
  let jqS = Infinity;
  let doc = { records: 0, skipped: 0 };
  let jqHits = -1;
  let db = '';
  for (let run = 0; run < RUNS; run++) {
    db = join(dir, `bench-${run}.duckdb`);
    const ing = timed(cli.cmd, ['ingest', file, '--db', db, '--json']);
    if (ing.status !== 0) fail(`ingest exited ${ing.status}: ${ing.stderr.slice(0, 500)}`);
    doc = JSON.parse(ing.stdout) as { records: number; skipped: number };
    ingS = Math.min(ingS, ing.s);

    const jqRun = timed('jq', ['-c', 'select(.status>=500)', file]);
    if (jqRun.status !== 0) fail(`jq exited ${jqRun.status}: ${jqRun.stderr.slice(0, 500)}`);
    jqHits = jqRun.stdout.split('\n').filter(Boolean).length;
    jqS = Math.min(jqS, jqRun.s);
  }

  // The ceiling for any ingest into a DuckDB file here, in two steps timed inside one process:
  // DuckDB's own multi-threaded NDJSON reader into an in-memory table (parsing, its own typing),
  // then those rows, already columnar in memory, written into a table of a DuckDB file (storage
  // alone: what no parser, however fast, can avoid).
  const ceilingDb = join(dir, 'ceiling.duckdb');
  const src = JSON.stringify(file).replace(/"/g, "'");
  const ceiling = timed(process.execPath, [
    '--input-type=module',
    '-e',
    `import { DuckDBInstance } from '@duckdb/node-api';
     const db = await DuckDBInstance.create(${JSON.stringify(ceilingDb)});
     const c = await db.connect();
     await c.run("ATTACH ':memory:' AS mem");
     let t = performance.now();
     await c.run(${JSON.stringify(`CREATE TABLE mem.t AS SELECT * FROM read_ndjson(${src})`)});
     const parse = (performance.now() - t) / 1000;
     t = performance.now();
     await c.run('CREATE TABLE t AS SELECT * FROM mem.t');
     await c.run('CHECKPOINT');
     const store = (performance.now() - t) / 1000;
     c.closeSync();
     process.stdout.write(JSON.stringify({ parse, store }));`,
  ]);
  if (ceiling.status !== 0) fail(`duckdb read_ndjson: ${ceiling.stderr.slice(0, 500)}`);
  const dk = JSON.parse(ceiling.stdout) as { parse: number; store: number };

  const check = timed(cli.cmd, [
    'sql',
    'SELECT count(*) AS n FROM logs WHERE http_status >= 500',
    '--db',
    db,
    '--json',
  ]);
  const storeHits = (JSON.parse(check.stdout) as { rows: { n: number }[] }).rows[0]?.n;

  const ingRate = LINES / ingS;
  const jqRate = LINES / jqS;
  const best = RUNS > 1 ? ` (best of ${RUNS})` : '';
  process.stdout.write(
    [
      `mlscope ingest: ${ingS.toFixed(2)} s  ${Math.round(ingRate).toLocaleString('en')} lines/s${best}  (records ${doc.records}, skipped ${doc.skipped})`,
      `jq select:      ${jqS.toFixed(2)} s  ${Math.round(jqRate).toLocaleString('en')} lines/s${best}  (${jqHits} lines out)`,
      `ratio:          ${(ingRate / jqRate).toFixed(2)}× jq  (target ≥ 10×)`,
      `DuckDB alone:   read_ndjson into memory ${dk.parse.toFixed(2)} s + writing those rows into a file table ${dk.store.toFixed(2)} s = ${(LINES / (dk.parse + dk.store) / jqRate).toFixed(2)}× jq; storage alone caps any DuckDB-file ingest at ${(LINES / dk.store / jqRate).toFixed(2)}× jq here`,
      `5xx agree:      store ${storeHits}, jq ${jqHits}, generated ${errors}${storeHits === jqHits ? '' : '  MISMATCH'}`,
      `load average:   ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}  (shared machine: compare runs made under similar load)`,
    ].join('\n') + '\n',
  );
  if (doc.records !== LINES || storeHits !== jqHits) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
