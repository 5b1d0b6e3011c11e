// The command-line process: a reader that closes the pipe early ends mlscope quietly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

test('output piped into a reader that stops early (| head) ends quietly with status 0', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "import { main, stopQuietlyOnClosedPipe } from './src/cli/main.ts'; stopQuietlyOnClosedPipe(); process.exitCode = await main(process.argv.slice(1));",
      'http',
      'test/fixtures/capture/http-lo.pcap',
      '--csv',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // read the first chunk, then close our end, as `head -1` does
  const first = await Promise.race([
    new Promise<'data'>((resolve) => child.stdout.once('data', () => resolve('data'))),
    exited.then(() => 'exit' as const),
  ]);
  assert.equal(first, 'data', `no output before exit: ${stderr}`);
  child.stdout.destroy();
  const code = await exited;
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
});

/** Run mlscope in-process; its stdout (the run must exit 0). */
async function run(...argv: string[]): Promise<string> {
  const { main } = await import('./main.js');
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const code = await main(argv, { stdout: out as never, stderr: new PassThrough() as never });
  assert.equal(code, 0);
  return text;
}

test('http --limit N keeps the N earliest requests by time, not the first N to complete', async () => {
  // the bundled incident: slow requests complete after faster ones that started later
  const fixture = join(ROOT, 'examples/slow-endpoint/bundle/cap.pcap');
  const all = JSON.parse(await run('http', fixture, '--json')) as {
    exchanges: { reqFirstTime: string }[];
    total: number;
  };
  const times = all.exchanges.map((x) => x.reqFirstTime).sort();
  for (const n of [1, 3, 10]) {
    const some = JSON.parse(await run('http', fixture, '--json', '--limit', String(n))) as {
      exchanges: { reqFirstTime: string }[];
      total: number;
    };
    assert.equal(some.total, all.total);
    assert.deepEqual(
      some.exchanges.map((x) => x.reqFirstTime),
      times.slice(0, n),
    );
  }
});

test('http --csv and --json (no limit) stream every exchange in start order', async () => {
  // slow requests complete after faster ones that started later: completion order is not start order
  const fixture = join(ROOT, 'examples/slow-endpoint/bundle/cap.pcap');
  const doc = JSON.parse(await run('http', fixture, '--json')) as {
    exchanges: { reqFirstTime: string; id: number }[];
    total: number;
  };
  assert.equal(doc.exchanges.length, doc.total);
  assert.ok(doc.total > 100);
  const times = doc.exchanges.map((x) => x.reqFirstTime);
  assert.deepEqual(times, times.slice().sort());
  const ids = doc.exchanges.map((x) => x.id);
  assert.notDeepEqual(
    ids,
    ids.slice().sort((a, b) => a - b),
    'the fixture completes out of order',
  );
  const csv = (await run('http', fixture, '--csv')).trim().split('\n');
  const col = csv[0]!.split(',').indexOf('reqFirstTime');
  const csvTimes = csv.slice(1).map((l) => l.split(',')[col]!);
  assert.equal(csvTimes.length, doc.total);
  assert.deepEqual(csvTimes, times);
});
