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
