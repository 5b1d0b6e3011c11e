import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../util/errors.js';
import { parseCaptureFlags } from './serve.js';

test('serve --capture flags: defaults, checks, one-line usage errors', () => {
  assert.deepEqual(parseCaptureFlags([], undefined, undefined), {
    interfaces: [],
    filter: null,
    snaplen: 262144,
  });
  assert.deepEqual(parseCaptureFlags(['lo', 'eth0'], 'tcp port 8000', '1500'), {
    interfaces: ['lo', 'eth0'],
    filter: 'tcp port 8000',
    snaplen: 1500,
  });
  const bad: [string[], string | undefined, string | undefined, RegExp][] = [
    [[], 'tcp', undefined, /need --capture IFACE/],
    [[], undefined, '100', /need --capture IFACE/],
    [['-w'], undefined, undefined, /not an interface name/],
    [['lo', 'lo'], undefined, undefined, /same interface twice/],
    [['lo'], 'x'.repeat(9000), undefined, /longer than 8192/],
    [['lo'], 'tcp\u0000', undefined, /control characters/],
    [['lo'], undefined, '10', /--snaplen expects bytes per packet/],
    [['lo'], undefined, 'lots', /--snaplen expects bytes per packet/],
  ];
  for (const [i, f, s, re] of bad)
    assert.throws(
      () => parseCaptureFlags(i, f, s),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
      `${i.join(',')} ${f?.slice(0, 10)} ${s}`,
    );
});
