// Runs a CLI command in-process with captured stdout and stderr (no TTY), as `main` would.

import { PassThrough } from 'node:stream';
import type { Command } from '../../../src/cli/command.js';

export interface CommandResult {
  code: number;
  out: string;
  err: string;
}

export async function runCommand(cmd: Command, argv: string[]): Promise<CommandResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await cmd.run(argv, { stdout, stderr, isTty: false });
  stdout.end();
  stderr.end();
  return { code, out, err };
}
