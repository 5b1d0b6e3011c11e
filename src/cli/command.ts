// The shape of a CLI command and the helpers every command shares (argument parsing, output,
// exit codes). Only cli/ and server/ print.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

export const ExitCode = { OK: 0, INPUT_ERROR: 1, USAGE: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** True when stderr is a terminal (progress is only drawn then). */
  isTty: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: Io): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with strict checking; unknown flags become a UsageError naming the command. */
export function parseCommandArgs<O extends Options>(
  cmd: string,
  argv: string[],
  options: O,
): {
  values: ReturnType<
    typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
  >['values'];
  positionals: string[];
} {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UsageError(`${cmd}: ${msg}`);
  }
}

/** Parse a non-negative number flag, or throw a UsageError. */
export function numberFlag(cmd: string, flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`${cmd}: --${flag} expects a non-negative number, got '${v}'`);
  return n;
}

export function writeJson(io: Io, doc: unknown): void {
  io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

/**
 * Resolves once `w` has room again (Writable backpressure). process.stdout into a pipe is
 * asynchronous in Node: a command that writes rows while it reads a large input must wait here
 * between input chunks, or everything not yet read by the consumer piles up in memory (`mlscope
 * http --csv big.pcap | …` held 0.5 GB). Also resolves if the stream closes or fails (a reader
 * that went away), so a caller never hangs on it.
 */
export function drained(w: NodeJS.WritableStream): Promise<void> | null {
  const s = w as NodeJS.WritableStream & {
    writableNeedDrain?: boolean;
    destroyed?: boolean;
  };
  if (!s.writableNeedDrain || s.destroyed) return null;
  return new Promise((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      s.off('error', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
    s.on('error', done);
  });
}
