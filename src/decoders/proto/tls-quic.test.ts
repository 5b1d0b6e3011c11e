import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { QuicInitialObserver, looksLikeQuicInitial, quicClientInitialKeys } from './tls-quic.js';
import { concat, hex } from './proto-test-context.test-util.js';

const DCID = hex('8394c8f03e515708'); // RFC 9001 Appendix A / RFC 9369 Appendix A

test('Initial keys match RFC 9001 A.1 (v1) and RFC 9369 A.1 (v2)', () => {
  const v1 = quicClientInitialKeys(DCID, 1)!;
  assert.equal(Buffer.from(v1.key).toString('hex'), '1f369613dd76d5467730efcbe3b1a22d');
  assert.equal(Buffer.from(v1.iv).toString('hex'), 'fa044b2f42a3fd3b46fb255c');
  assert.equal(Buffer.from(v1.hp).toString('hex'), '9f50449e04a0e810283a1e9933adedd2');
  const v2 = quicClientInitialKeys(DCID, 0x6b3343cf)!;
  assert.equal(Buffer.from(v2.key).toString('hex'), '8b1a0bc121284290a29e0971b5cd045d');
  assert.equal(Buffer.from(v2.iv).toString('hex'), '91f73e2351d8fa91660e909f');
  assert.equal(Buffer.from(v2.hp).toString('hex'), '45b95e15235d6f45a6b19cbcb0294ba9');
  assert.equal(quicClientInitialKeys(DCID, 0xff00001d), null);
});

// A minimal ClientHello: SNI q.test, ALPN h3, supported_versions TLS 1.3.
const CH = hex(`
  01 00004a                               # ClientHello, 74 bytes
  0303 ${'00'.repeat(32)} 00              # version, random, session id
  0002 1301  01 00                        # one cipher, null compression
  001f                                    # extensions, 31 bytes
  0000 000b 0009 00 0006 712e74657374     # server_name q.test
  0010 0005 0003 02 6833                  # ALPN h3
  002b 0003 02 0304                       # supported_versions TLS 1.3
`);

/** Builds a protected client Initial carrying CRYPTO(offset, data), padded (RFC 9001 §5.4). */
function initial(version: number, pn: number, offset: number, data: Uint8Array): Uint8Array {
  const keys = quicClientInitialKeys(DCID, version)!;
  const crypto = concat(
    Uint8Array.of(
      0x06,
      0x40 | (offset >> 8),
      offset & 255,
      0x40 | (data.length >> 8),
      data.length & 255,
    ),
    data,
  );
  const plain = concat(crypto, new Uint8Array(Math.max(0, 60 - crypto.length))); // PADDING frames
  const length = 2 + plain.length + 16; // 2-byte packet number
  const type = version === 1 ? 0 : 1;
  const header = concat(
    Uint8Array.of(
      0xc0 | (type << 4) | 0x01,
      version >>> 24,
      (version >> 16) & 255,
      (version >> 8) & 255,
      version & 255,
    ),
    Uint8Array.of(DCID.length),
    DCID,
    Uint8Array.of(0), // SCID empty
    Uint8Array.of(0), // token length 0
    Uint8Array.of(0x40 | (length >> 8), length & 255),
    Uint8Array.of(pn >> 8, pn & 255),
  );
  const nonce = Buffer.from(keys.iv);
  nonce[11] = (nonce[11] ?? 0) ^ (pn & 255);
  nonce[10] = (nonce[10] ?? 0) ^ (pn >> 8);
  const gcm = createCipheriv('aes-128-gcm', keys.key, nonce);
  gcm.setAAD(header);
  const sealed = concat(gcm.update(plain), gcm.final(), gcm.getAuthTag());
  const pkt = concat(header, sealed);
  const pnOffset = header.length - 2;
  const mask = createCipheriv('aes-128-ecb', keys.hp, null).update(
    pkt.subarray(pnOffset + 4, pnOffset + 20),
  );
  pkt[0] = (pkt[0] ?? 0) ^ ((mask[0] ?? 0) & 0x0f);
  pkt[pnOffset] = (pkt[pnOffset] ?? 0) ^ (mask[1] ?? 0);
  pkt[pnOffset + 1] = (pkt[pnOffset + 1] ?? 0) ^ (mask[2] ?? 0);
  return pkt;
}

test('v1 and v2: the ClientHello is decrypted, even split over two Initials in any order', () => {
  for (const version of [1, 0x6b3343cf]) {
    const whole = initial(version, 0, 0, CH);
    assert.equal(looksLikeQuicInitial(whole, 0, whole.length), true);
    const o = new QuicInitialObserver();
    const ch = o.datagram(whole, 0, whole.length);
    assert.equal(ch?.sni, 'q.test');
    assert.deepEqual(ch?.alpn, ['h3']);
    assert.match(ch?.ja4 ?? '', /^q13d0103h3_/);
    assert.equal(o.datagram(whole, 0, whole.length), null, 'reported once');
    const a = initial(version, 1, 30, CH.subarray(30));
    const b = initial(version, 2, 0, CH.subarray(0, 30));
    const o2 = new QuicInitialObserver();
    assert.equal(o2.datagram(a, 0, a.length), null);
    assert.equal(o2.datagram(b, 0, b.length)?.sni, 'q.test');
  }
});

test('tampered packets fail authentication and are counted; random datagrams never throw', () => {
  const pkt = initial(1, 0, 0, CH);
  pkt[pkt.length - 20] = (pkt[pkt.length - 20] ?? 0) ^ 1;
  const o = new QuicInitialObserver();
  assert.equal(o.datagram(pkt, 0, pkt.length), null);
  assert.equal(o.failures, 1);
  const good = initial(1, 0, 0, CH);
  for (let i = 0; i <= good.length; i += 3) new QuicInitialObserver().datagram(good, 0, i);
  const deadline = Date.now() + 1000;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (b) => {
      if (Date.now() > deadline) return;
      b[0] = (b[0] ?? 0) | 0xc0;
      new QuicInitialObserver().datagram(b, 0, b.length);
    }),
    { numRuns: 1000 },
  );
});
