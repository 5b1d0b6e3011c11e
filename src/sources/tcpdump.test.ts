import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TcpdumpProcess,
  checkInterfaceName,
  parseTcpdumpStats,
  tcpdumpArgs,
  type TcpdumpExit,
  type TcpdumpStats,
} from './tcpdump.js';
import { FakeChild, fakeSpawn } from './tcpdump.test-util.js';

test('tcpdump arguments: pcap to stdout, packet-buffered, the filter after --', () => {
  assert.deepEqual(tcpdumpArgs({ iface: 'eth0', filter: '-tcp port 80', snaplen: 1500 }), [
    '-i',
    'eth0',
    '-w',
    '-',
    '-U',
    '--immediate-mode',
    '-s',
    '1500',
    '-n',
    '--',
    '-tcp port 80',
  ]);
  assert.deepEqual(tcpdumpArgs({ iface: 'lo' }).slice(-3), ['-s', '262144', '-n']);
});

test('interface names: letters, digits and _.:@-, never an option', () => {
  for (const ok of ['lo', 'eth0', 'any', 'veth1@if2', 'br-1a2b.100', 'ens3:1'])
    assert.equal(checkInterfaceName(ok), null, ok);
  for (const bad of ['', '-i', '--help', 'eth 0', 'a/b', 'x'.repeat(65), 'eth0\n'])
    assert.notEqual(checkInterfaceName(bad), null, JSON.stringify(bad));
});

test('counter lines: the SIGUSR1 one-liner and the exit lines', () => {
  const s: TcpdumpStats = {
    captured: null,
    receivedByFilter: null,
    droppedByKernel: null,
    droppedByInterface: null,
  };
  assert.ok(
    parseTcpdumpStats(
      'tcpdump: 12 packets captured, 13 packets received by filter, 1 packet dropped by kernel',
      s,
    ),
  );
  assert.deepEqual(s, {
    captured: 12,
    receivedByFilter: 13,
    droppedByKernel: 1,
    droppedByInterface: null,
  });
  assert.ok(parseTcpdumpStats('7 packets dropped by kernel', s));
  assert.ok(parseTcpdumpStats('3 packets dropped by interface', s));
  assert.equal(s.droppedByKernel, 7);
  assert.equal(s.droppedByInterface, 3);
  assert.equal(parseTcpdumpStats('tcpdump: listening on lo, link-type EN10MB', s), false);
});

test('a running tcpdump: stream chunks in order, messages, counters, SIGTERM and drain', async () => {
  const child = new FakeChild();
  const calls: { cmd: string; args: readonly string[] }[] = [];
  const chunks: Buffer[] = [];
  const messages: string[] = [];
  let exit: TcpdumpExit | null = null;
  const p = new TcpdumpProcess(
    { iface: 'lo', filter: 'tcp', spawn: fakeSpawn(child, calls), bin: '/usr/bin/tcpdump' },
    {
      data: (c) => chunks.push(c),
      message: (m) => messages.push(m),
      exit: (h) => (exit = h),
    },
  );
  assert.equal(calls[0]!.cmd, '/usr/bin/tcpdump');
  assert.equal(p.pid, 4242);
  child.stderr.write('tcpdump: listening on lo, link-type EN10MB (Ethernet), snap');
  child.stderr.write('shot length 262144 bytes\n');
  child.stdout.write(Buffer.from('abc'));
  child.stdout.write(Buffer.from('def'));
  child.stderr.write('tcpdump: 5 packets captured, 5 packets received by filter, 0 packets ');
  child.stderr.write('dropped by kernel\n');
  await new Promise((r) => setImmediate(r));
  p.requestStats();
  assert.deepEqual(child.signals, ['SIGUSR1']);
  // what was written before the stop is still read
  child.stdout.write(Buffer.from('ghi'));
  await p.stop();
  assert.deepEqual(child.signals, ['SIGUSR1', 'SIGTERM']);
  assert.equal(Buffer.concat(chunks).toString(), 'abcdefghi');
  assert.equal(p.bytes, 9);
  assert.deepEqual(messages, [
    'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
  ]);
  assert.equal(p.stats.captured, 5);
  assert.equal(p.stats.droppedByKernel, 0);
  assert.deepEqual(exit, { code: null, signal: 'SIGTERM', error: null, requested: true });
  assert.equal(p.running, false);
});

test('tcpdump that fails on its own: exit code and its message, not requested', async () => {
  const child = new FakeChild();
  let exit: TcpdumpExit | null = null;
  const p = new TcpdumpProcess(
    { iface: 'nosuch0', spawn: fakeSpawn(child) },
    { data: () => undefined, exit: (h) => (exit = h) },
  );
  child.stderr.write('tcpdump: nosuch0: No such device exists\n(No such device exists)\n');
  child.exit(1);
  await p.whenDone();
  assert.deepEqual(exit, { code: 1, signal: null, error: null, requested: false });
  assert.deepEqual(p.messages, [
    'tcpdump: nosuch0: No such device exists',
    '(No such device exists)',
  ]);
  await p.stop(); // already gone: returns at once
});

test('no tcpdump binary: the spawn error is reported once', async () => {
  const child = new FakeChild();
  let exits = 0;
  let exit: TcpdumpExit | null = null;
  const p = new TcpdumpProcess(
    { iface: 'lo', spawn: fakeSpawn(child) },
    {
      data: () => undefined,
      exit: (h) => {
        exits++;
        exit = h;
      },
    },
  );
  const err = Object.assign(new Error('spawn tcpdump ENOENT'), { code: 'ENOENT' });
  child.emit('error', err);
  await p.whenDone();
  assert.equal(exits, 1);
  assert.equal((exit as TcpdumpExit | null)?.error, err);
  assert.equal(p.running, false);
});
