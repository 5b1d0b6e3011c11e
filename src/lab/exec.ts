// Process helpers for the lab runner: run a command to completion, start a daemon with its output
// in files, wait for a condition, stop a process by pid. Nothing here kills by name.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { LabError } from './errors.js';

/** The environment every lab child gets: Debian's tools first, no pyenv shims, no user site. */
export function labEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env['HOME'] ?? '/root',
    LANG: 'C.UTF-8',
    PYTHONNOUSERSITE: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd args…` to completion. Throws LabError on a non-zero exit unless `allowFail`. */
export function run(
  cmd: string,
  args: string[],
  opts: {
    allowFail?: boolean;
    input?: string;
    env?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? labEnv(),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new LabError('E_LAB_RUN', `${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const r: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (r.code !== 0 && !opts.allowFail) {
        const msg = r.stderr.trim().split('\n').slice(-3).join(' | ');
        reject(new LabError('E_LAB_RUN', `${cmd} ${args.join(' ')} exited ${r.code}: ${msg}`));
      } else resolve(r);
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

export interface Daemon {
  name: string;
  pid: number;
  child: ChildProcess;
  stdoutPath: string;
  stderrPath: string;
  exited: Promise<number>;
}

/** Start a long-running process with stdout/stderr appended to files. */
export function startDaemon(
  name: string,
  cmd: string,
  args: string[],
  files: { stdout: string; stderr: string },
  env?: Record<string, string>,
): Daemon {
  const o = openSync(files.stdout, 'a');
  const e = files.stderr === files.stdout ? o : openSync(files.stderr, 'a');
  const child = spawn(cmd, args, { env: env ?? labEnv(), stdio: ['ignore', o, e] });
  closeSync(o);
  if (e !== o) closeSync(e);
  if (child.pid === undefined) throw new LabError('E_LAB_RUN', `could not start ${name} (${cmd})`);
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
  return {
    name,
    pid: child.pid,
    child,
    stdoutPath: files.stdout,
    stderrPath: files.stderr,
    exited,
  };
}

export function isRunning(d: Daemon): boolean {
  return d.child.exitCode === null && d.child.signalCode === null;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every `stepMs` until it returns true; throws a LabError naming `what` on timeout. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  stepMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(stepMs);
  }
  throw new LabError('E_LAB_RUN', `timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Send `signal`, wait up to `graceMs`, then SIGKILL. Only ever targets this daemon's pid. */
export async function stopDaemon(
  d: Daemon,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 4000,
): Promise<void> {
  if (!isRunning(d)) return;
  try {
    process.kill(d.pid, signal);
  } catch {
    return;
  }
  const t = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([d.exited, t])) === 'timeout') {
    try {
      process.kill(d.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await d.exited;
  }
}

export function fileHas(path: string, needle: string): boolean {
  return existsSync(path) && readFileSync(path, 'utf8').includes(needle);
}
