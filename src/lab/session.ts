// The lifecycle of one lab run: the namespaces and daemons it created, torn down exactly once —
// on success, on error, or on SIGINT/SIGTERM — by pid and by namespace name, never by process
// name.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  labEnv,
  run,
  startDaemon,
  stopDaemon,
  waitFor,
  fileHas,
  isRunning,
  sleep,
  type Daemon,
} from './exec.js';
import { LabError } from './errors.js';
import {
  createTopology,
  destroyTopology,
  inNs,
  removeStaleNamespaces,
  runId,
  type RoleSpec,
  type Topology,
} from './netns.js';

export type Progress = (msg: string) => void;

export class LabSession {
  readonly id = runId();
  topo: Topology | null = null;
  private daemons: Daemon[] = [];
  private cleaned = false;
  private readonly onSignal: (sig: NodeJS.Signals) => void;

  constructor(
    readonly workDir: string,
    readonly progress: Progress,
  ) {
    this.onSignal = (sig) => {
      this.progress(`lab: ${sig}, cleaning up`);
      void this.cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  async up(roles: RoleSpec[]): Promise<Topology> {
    const stale = await removeStaleNamespaces();
    if (stale.length) this.progress(`lab: removed ${stale.length} stale namespaces`);
    // Register before creating so a half-built topology is still torn down.
    this.topo = { id: this.id, hub: `mlscope-${this.id}-hub`, bridge: 'br0', ns: {} };
    for (const r of roles) this.topo.ns[r.role] = `mlscope-${this.id}-${r.role}`;
    await createTopology(this.id, roles);
    return this.topo;
  }

  ns(role: string): string {
    const ns = this.topo?.ns[role];
    if (!ns) throw new LabError('E_LAB_RUN', `no namespace for role ${role}`);
    return ns;
  }

  /** Start `cmd` inside the role's namespace (or the hub when role is 'hub'). */
  start(
    name: string,
    role: string,
    cmd: string,
    args: string[],
    out: { stdout: string; stderr?: string },
    env: Record<string, string> = {},
  ): Daemon {
    const ns = role === 'hub' ? this.topo!.hub : this.ns(role);
    const [c, a] = inNs(ns, cmd, args);
    const d = startDaemon(
      name,
      c,
      a,
      { stdout: out.stdout, stderr: out.stderr ?? out.stdout },
      labEnv(env),
    );
    this.daemons.push(d);
    return d;
  }

  /** Wait until something listens on addr:port inside the role's namespace (no traffic sent). */
  async waitListening(
    d: Daemon,
    role: string,
    addr: string,
    port: number,
    timeoutMs = 30_000,
  ): Promise<void> {
    const [c, a] = inNs(this.ns(role), '/usr/bin/ss', ['-Hltn', 'src', `${addr}:${port}`]);
    await waitFor(
      `${d.name} to listen on ${addr}:${port}`,
      async () => {
        if (!isRunning(d)) {
          const tail = readTail(d.stderrPath);
          throw new LabError('E_LAB_RUN', `${d.name} exited before listening:\n${tail}`);
        }
        return (await run(c, a, { allowFail: true })).stdout.trim().length > 0;
      },
      timeoutMs,
      150,
    );
  }

  async waitText(d: Daemon, path: string, needle: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      `${d.name} (${needle})`,
      () => {
        if (!isRunning(d))
          throw new LabError('E_LAB_RUN', `${d.name} exited early:\n${readTail(path)}`);
        return fileHas(path, needle);
      },
      timeoutMs,
    );
  }

  /**
   * tcpdump on the hub bridge, which sees every hop; resolves once it is listening. `stop()` ends
   * it and returns its closing statistics, warning when it dropped packets. `--immediate-mode`:
   * with TPACKET_V3, libpcap holds packets in a buffer block and loses them at exit.
   */
  async captureBridge(
    pcap: string,
    filter: string,
    bufferKiB = 8192,
  ): Promise<{ stop: () => Promise<string> }> {
    const err = join(this.workDir, 'tcpdump.err');
    const td = this.start(
      'tcpdump',
      'hub',
      '/usr/bin/tcpdump',
      [
        '-i',
        'br0',
        '-n',
        '-s',
        '0',
        '-B',
        String(bufferKiB),
        '--immediate-mode',
        '-Z',
        'root',
        '-w',
        pcap,
        filter,
      ],
      { stdout: join(this.workDir, 'tcpdump.out'), stderr: err },
    );
    await this.waitText(td, err, 'listening on');
    await sleep(200);
    return {
      stop: async () => {
        await this.stop(td, 'SIGINT');
        const stats = readTail(err, 3);
        const cap = /(\d+) packets? captured[\s\S]*?(\d+) packets? received by filter/.exec(stats);
        if (cap && Number(cap[2]) > Number(cap[1]))
          this.progress(
            `lab: warning: tcpdump captured ${cap[1]} of ${cap[2]} packets received by its filter`,
          );
        return stats;
      },
    };
  }

  async stop(d: Daemon, signal: NodeJS.Signals = 'SIGTERM', graceMs = 4000): Promise<void> {
    await stopDaemon(d, signal, graceMs);
    this.daemons = this.daemons.filter((x) => x !== d);
  }

  /** Stop every daemon still running (newest first), then delete the namespaces. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const d of [...this.daemons].reverse()) await stopDaemon(d, 'SIGTERM', 3000);
    this.daemons = [];
    if (this.topo) await destroyTopology(this.topo);
    this.topo = null;
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }

  writeWork(name: string, text: string): string {
    const p = join(this.workDir, name);
    writeFileSync(p, text);
    return p;
  }
}

export function readTail(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}
