// Test helpers: a Writable that collects what a command writes; mlscope run in-process.

import { PassThrough, Writable } from 'node:stream';
import { main } from '../main.js';

export function sink(): { w: Writable; text: () => string } {
  const parts: string[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      parts.push(c.toString());
      cb();
    },
  });
  return { w, text: () => parts.join('') };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `mlscope ARGV` in-process (main()), with its exit code and what it wrote. */
export async function run(...argv: string[]): Promise<Run> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (b: Buffer) => o.push(b));
  err.on('data', (b: Buffer) => e.push(b));
  const code = await main(argv, { stdout: out, stderr: err, isTty: false });
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}
