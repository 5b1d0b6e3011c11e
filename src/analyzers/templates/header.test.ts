import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learnHeader, messageStart, NO_HEADER } from './header.js';
import { splitTokens } from './tokenize.js';

function message(line: string, lines: string[]): string {
  const model = learnHeader(lines.map((l) => splitTokens(l, 200)));
  const toks = splitTokens(line, 200);
  return toks.slice(messageStart(toks, model)).join(' ');
}

/** n lines of a format, with varying numbers and a few different messages. */
function sample(n: number, fmt: (i: number, msg: string) => string): string[] {
  const msgs = [
    'Receiving block blk_1 src: /10.0.0.1:5 dest: /10.0.0.2:5',
    'Deleting block blk_2 file x',
    'Verification succeeded for blk_3',
    'served request',
  ];
  return Array.from({ length: n }, (_, i) => fmt(i, msgs[i % msgs.length]!));
}

test('learned header: log4j-style date time pid level component:', () => {
  const lines = sample(
    100,
    (i, m) => `081109 2036${10 + (i % 50)} ${100 + i} INFO dfs.DataNode$DataXceiver: ${m}`,
  );
  assert.equal(message(lines[1]!, lines), 'Deleting block blk_2 file x');
});

test('learned header: fixed fields without a level (HPC-like)', () => {
  const comps = ['unix.hw state_change.unavailable', 'node status', 'gige temperature'];
  const lines = sample(
    90,
    (i, m) => `${134681 + i} node-${i} ${comps[i % 3]} ${1077804742 + i} 1 ${m}`,
  );
  assert.equal(message(lines[3]!, lines), 'served request');
});

test('learned header: bracket groups are one field (OpenStack-like)', () => {
  const ctx = ['[req-3a1b-22 113d3 54fa - - -]', '[-]', '[req-9f0c-11 - - - - -]'];
  const lines = sample(
    90,
    (i, m) =>
      `nova-api.log.1 2017-05-16 00:00:${10 + (i % 50)}.008 ${2000 + i} INFO nova.osapi_compute.wsgi.server ${ctx[i % 3]} ${m}`,
  );
  assert.equal(message(lines[1]!, lines), 'Deleting block blk_2 file x');
  assert.equal(message(lines[2]!, lines), 'Verification succeeded for blk_3');
});

test('learned header: syslog host and program tag', () => {
  const tags = ['sshd(pam_unix)[19939]:', 'ftpd[2831]:', 'su(pam_unix)[10735]:'];
  const lines = sample(
    60,
    (i, m) => `Jun ${1 + (i % 28)} 15:16:${10 + (i % 50)} combo ${tags[i % 3]} ${m}`,
  );
  assert.equal(message(lines[3]!, lines), 'served request');
});

test('rules alone (too few lines to learn): bracketed timestamp, level, BGL-style facility', () => {
  assert.equal(
    message('[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd', []),
    'workerEnv.init() ok /etc/httpd',
  );
  assert.equal(
    message(
      '- 1117838570 2005.06.03 R02-M1-N0 2005-06-03-15.42.50.675872 R02-M1-N0 RAS KERNEL INFO instruction cache parity error corrected',
      [],
    ),
    'instruction cache parity error corrected',
  );
  assert.equal(
    message('03-17 16:13:38.811  1702  2395 D WindowManager: printFreezing x', []),
    'printFreezing x',
  );
  assert.equal(
    message(
      '2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:2181:Fast@774] - Notification time out: 3200',
      [],
    ),
    'Notification time out: 3200',
  );
});

test('a message is never stripped away entirely', () => {
  for (const line of ['INFO', '2015-07-29 12:00:00', '- - -', '[a b c']) {
    const toks = splitTokens(line, 200);
    assert.ok(messageStart(toks, NO_HEADER) <= Math.max(0, toks.length - 1), line);
  }
});
