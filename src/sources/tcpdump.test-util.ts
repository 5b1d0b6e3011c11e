// Test helper: a stand-in for the tcpdump child process (no root, no tcpdump needed).

import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildLike, SpawnFn } from './tcpdump.js';

/** A child process stand-in: stdout/stderr streams, signals recorded, SIGTERM ends it. */
export class FakeChild extends EventEmitter implements ChildLike {
  readonly pid = 4242;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly signals: string[] = [];
  exited = false;
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.signals.push(signal);
    if (signal === 'SIGTERM' || signal === 'SIGKILL') this.exit(null, signal);
    return true;
  }
  /** End the streams and report the exit, as a process does. */
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exited) return;
    this.exited = true;
    this.stdout.end();
    this.stderr.end();
    setImmediate(() => this.emit('exit', code, signal));
  }
}

export function fakeSpawn(
  child: FakeChild,
  calls: { cmd: string; args: readonly string[] }[] = [],
) {
  const fn: SpawnFn = (cmd, args) => {
    calls.push({ cmd, args });
    return child;
  };
  return fn;
}
