// Network namespaces for a lab run: a hub namespace holding a Linux bridge, and one namespace per
// role (client, proxy, apps, wan) joined to the bridge by a veth pair. All addresses share one
// /16, so every hop crosses the bridge and one tcpdump on it sees both client↔nginx and
// nginx↔upstream traffic. Offloads are turned off on every veth so captured frames are what a
// wire would carry (≤ MTU 1500, real checksums).

import { existsSync, readdirSync } from 'node:fs';
import { run } from './exec.js';

const IP = '/usr/sbin/ip';
const PREFIX = 'mlscope';

export interface RoleSpec {
  role: string;
  addrs: string[];
}

export interface Topology {
  id: string;
  hub: string;
  bridge: string;
  ns: Record<string, string>;
}

export function nsName(id: string, role: string): string {
  return `${PREFIX}-${id}-${role}`;
}

/** In-namespace argv prefix: `ip netns exec NS …`. */
export function inNs(ns: string, cmd: string, args: string[]): [string, string[]] {
  return [IP, ['netns', 'exec', ns, cmd, ...args]];
}

async function ip(args: string[]): Promise<void> {
  await run(IP, args);
}

async function noOffload(ns: string, dev: string): Promise<void> {
  await ip(['-n', ns, 'link', 'set', 'dev', dev, 'gso_max_segs', '1', 'gso_max_size', '1500']);
  if (existsSync('/usr/sbin/ethtool'))
    await run(
      IP,
      [
        'netns',
        'exec',
        ns,
        '/usr/sbin/ethtool',
        '-K',
        dev,
        'tx',
        'off',
        'tso',
        'off',
        'gso',
        'off',
        'gro',
        'off',
      ],
      { allowFail: true },
    );
}

export async function createTopology(id: string, roles: RoleSpec[]): Promise<Topology> {
  const hub = nsName(id, 'hub');
  const bridge = 'br0';
  const topo: Topology = { id, hub, bridge, ns: {} };
  await ip(['netns', 'add', hub]);
  await ip(['-n', hub, 'link', 'set', 'lo', 'up']);
  await ip([
    '-n',
    hub,
    'link',
    'add',
    bridge,
    'type',
    'bridge',
    'stp_state',
    '0',
    'forward_delay',
    '0',
  ]);
  await ip(['-n', hub, 'link', 'set', bridge, 'up']);
  for (const [i, r] of roles.entries()) {
    const ns = nsName(id, r.role);
    topo.ns[r.role] = ns;
    await ip(['netns', 'add', ns]);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    const hubSide = `v${i}`;
    await ip([
      '-n',
      hub,
      'link',
      'add',
      hubSide,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns,
    ]);
    await ip(['-n', hub, 'link', 'set', hubSide, 'master', bridge]);
    await noOffload(hub, hubSide);
    await noOffload(ns, 'eth0');
    await ip(['-n', hub, 'link', 'set', hubSide, 'up']);
    for (const a of r.addrs) await ip(['-n', ns, 'addr', 'add', `${a}/16`, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'mtu', '1500', 'up']);
  }
  return topo;
}

/** Delete every namespace of the topology (their veths and nft tables go with them). */
export async function destroyTopology(topo: Topology): Promise<void> {
  for (const ns of [...Object.values(topo.ns), topo.hub])
    await run(IP, ['netns', 'del', ns], { allowFail: true });
}

/** Remove namespaces left by earlier lab runs whose process is gone (a crash or SIGKILL). */
export async function removeStaleNamespaces(): Promise<string[]> {
  const dir = '/var/run/netns';
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^mlscope-(\d+)x[0-9a-f]+-/.exec(name);
    if (!m) continue;
    if (existsSync(`/proc/${m[1]}`)) continue;
    await run(IP, ['netns', 'del', name], { allowFail: true });
    removed.push(name);
  }
  return removed;
}

/** A run id that names the owning pid, so stale namespaces can be told apart from live ones. */
export function runId(): string {
  return `${process.pid}x${Math.floor(Math.random() * 0xfff).toString(16)}`;
}
