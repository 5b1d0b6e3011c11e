// Shared harness for the integration tests that run `mlscope serve` as a child process next to a
// real daemon (Prometheus, Alertmanager): binaries (installed with apt-get when missing and root),
// free loopback ports, child processes stopped by PID, polling with a deadline.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../../..');

export function ensureBinary(bin: string, pkg: string, suite: string): string | false {
  if (!existsSync(bin) && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get'))
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  if (existsSync(bin)) return false;
  const why = `${bin} missing (apt-get install -y ${pkg})`;
  if (process.env['CI']) throw new Error(`${suite} integration test cannot run in CI: ${why}`);
  return why;
}

/**
 * Why this machine cannot run a suite that needs root and these commands (installing `pkgs` with
 * apt-get when some are missing), or false. Under CI a reason is an error, never a skip.
 */
export function cannotRunAsRootWith(
  tools: string[],
  pkgs: string[],
  suite: string,
): string | false {
  const have = (tool: string): boolean =>
    spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
  let why: string | false = false;
  if (process.getuid?.() !== 0) why = 'needs root (tcpdump on lo)';
  else {
    if (!tools.every(have))
      spawnSync('apt-get', ['install', '-y', ...pkgs], {
        stdio: 'ignore',
        timeout: 300_000,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    const missing = tools.filter((t) => !have(t));
    if (missing.length) why = `missing ${missing.join(', ')} (apt-get install ${pkgs.join(' ')})`;
  }
  if (why && process.env['CI']) throw new Error(`${suite} test cannot run in CI: ${why}`);
  return why;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Proc {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  child.stderr.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, 'SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, 'SIGKILL');
    },
  };
}

/** Node arguments that run the mlscope CLI from the sources (no build needed), from ROOT. */
const CLI_FROM_SOURCES = [
  '--import',
  'tsx',
  '--input-type=module',
  '-e',
  "import { main } from './src/cli/main.ts'; main(process.argv.slice(1)).then((c) => process.exit(c));",
];

/** serve's arguments for a DuckDB file, an API port and live capture on lo of one TCP port. */
export function captureServeArgs(db: string, apiPort: number, tcpPort: number): string[] {
  return [
    '--db',
    db,
    '--port',
    String(apiPort),
    '--otlp-port',
    '0',
    '--capture',
    'lo',
    '--capture-filter',
    `tcp port ${tcpPort}`,
  ];
}

/** `mlscope serve ARGS` from the sources. */
export function startServe(args: string[]): Proc {
  return start(process.execPath, [...CLI_FROM_SOURCES, 'serve', ...args]);
}

/** `mlscope ARGS` from the sources, to completion (a minute at most). */
export function runMlscope(args: string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const r = spawnSync(process.execPath, [...CLI_FROM_SOURCES, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null>,
  ms: number,
  diag: () => string,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(
    `${what} did not happen within ${ms} ms (${String(last)})\n${diag().slice(-3000)}`,
  );
}

/** The value of one series (`name{labels}`) in a Prometheus text exposition, or null. */
export function metricValue(text: string, series: string): number | null {
  for (const line of text.split('\n'))
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return null;
}
