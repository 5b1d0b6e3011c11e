import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { UdpSource, readSocketDrops } from './udp.js';

function send(port: number, bufs: Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    let left = bufs.length;
    for (const b of bufs)
      s.send(b, port, '127.0.0.1', (e) => {
        if (e) reject(e);
        else if (--left === 0) s.close(() => resolve());
      });
  });
}

test('UdpSource: binds a free port, hands over datagrams with source and time, counts them', async () => {
  const got: { text: string; address: string; tsUs: number }[] = [];
  const src = await UdpSource.listen({ port: 0 }, (buf, info) =>
    got.push({ text: buf.toString(), address: info.address, tsUs: info.tsUs }),
  );
  try {
    assert.equal(src.address, '127.0.0.1');
    assert.ok(src.port > 0);
    assert.ok(src.recvBufferSize >= 212992 / 2, `receive buffer ${src.recvBufferSize}`);
    const before = Date.now() * 1000;
    await send(src.port, [Buffer.from('one'), Buffer.from('two!'), Buffer.alloc(0)]);
    const end = Date.now() + 2000;
    while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      got.map((g) => g.text),
      ['one', 'two!', ''],
    );
    assert.equal(src.datagrams, 3);
    assert.equal(src.bytes, 7);
    for (const g of got) {
      assert.equal(g.address, '127.0.0.1');
      assert.ok(g.tsUs >= before - 5000 && g.tsUs <= Date.now() * 1000 + 5000);
    }
    if (process.platform === 'linux') {
      assert.equal(src.kernelDrops(), 0);
      assert.equal(readSocketDrops('127.0.0.1', src.port), 0);
    }
  } finally {
    await src.close();
  }
  assert.equal(src.kernelDrops(), null);
  await src.close(); // idempotent
});

test('UdpSource: a port in use rejects', async () => {
  const a = await UdpSource.listen({ port: 0 }, () => {});
  try {
    await assert.rejects(
      UdpSource.listen({ port: a.port }, () => {}),
      /EADDRINUSE/,
    );
  } finally {
    await a.close();
  }
});
