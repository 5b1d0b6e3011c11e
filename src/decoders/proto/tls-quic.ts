// The TLS ClientHello inside QUIC Initial packets (RFC 9000 §17.2.2, RFC 9001 §5 for v1,
// RFC 9369 for v2). Initial packets are protected with keys every observer can derive from the
// client's Destination Connection ID, so the ClientHello (SNI, ALPN, JA4 with 'q') is readable.
// UDP, so this is not a StreamParser: the engine hands each client → server datagram of a UDP
// flow to one QuicInitialObserver and counts the ClientHello it returns (once per flow).
//
// Long header (Initial):
//   off 0 size 1  Header Form(1)=1, Fixed(1)=1, Type(2) (v1: 0, v2: 1), Reserved(2), PN Length(2)
//   off 1 size 4  Version
//         1+n     DCID length + DCID (≤ 20)
//         1+n     SCID length + SCID (≤ 20)
//         var+n   Token length (varint) + token
//         var     Length (varint): packet number + protected payload (incl. 16-byte AEAD tag)
//         1..4    Packet Number (header-protected)
// Payload frames read: PADDING(0x00), PING(0x01), ACK(0x02/0x03), CRYPTO(0x06),
// CONNECTION_CLOSE(0x1c/0x1d); anything else ends the packet's frame walk.

import { nodeCrypto } from '../../util/crypto.js';
import { decodeClientHello, type ClientHelloInfo } from './tls.js';

const QUIC_V1 = 0x00000001;
const QUIC_V2 = 0x6b3343cf;
const SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
const SALT_V2 = Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex');
/** CRYPTO bytes kept per flow while waiting for the whole ClientHello. */
const MAX_CRYPTO_BYTES = 64 * 1024;

interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

function hkdfExpandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 255, full.length]),
    full,
    Buffer.from([0]),
  ]);
  // HKDF-Expand (RFC 5869) for length ≤ 32: T(1) = HMAC(PRK, info || 0x01)
  return nodeCrypto()
    .createHmac('sha256', secret)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest()
    .subarray(0, length);
}

/** Client Initial keys for a Destination Connection ID (RFC 9001 §5.2 / RFC 9369 §3.3.1). */
export function quicClientInitialKeys(dcid: Uint8Array, version: number): InitialKeys | null {
  const v2 = version === QUIC_V2;
  if (!v2 && version !== QUIC_V1) return null;
  const initial = nodeCrypto()
    .createHmac('sha256', v2 ? SALT_V2 : SALT_V1)
    .update(dcid)
    .digest();
  const client = hkdfExpandLabel(initial, 'client in', 32);
  const p = v2 ? 'quicv2 ' : 'quic ';
  return {
    key: hkdfExpandLabel(client, `${p}key`, 16),
    iv: hkdfExpandLabel(client, `${p}iv`, 12),
    hp: hkdfExpandLabel(client, `${p}hp`, 16),
  };
}

/** RFC 9000 §16 variable-length integer at p; -1 if truncated. Sets varintEnd. */
let varintEnd = 0;
function readVarint(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const first = b[p] ?? 0;
  const len = 1 << (first >> 6);
  if (p + len > end) return -1;
  let v = first & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + (b[p + i] ?? 0);
  varintEnd = p + len;
  return v;
}

export interface QuicInitialResult {
  version: number;
  clientHello: ClientHelloInfo | null;
}

/**
 * Watches the client → server datagrams of one UDP flow. `datagram` returns the ClientHello once,
 * when its CRYPTO bytes are complete; null otherwise (not QUIC, not Initial, undecryptable, or
 * still incomplete). `failures` counts Initial packets that did not decrypt.
 */
export class QuicInitialObserver {
  failures = 0;
  done = false;
  version = 0;
  private crypto = new Map<number, Uint8Array>();
  private cryptoBytes = 0;
  private firstDcid: Uint8Array | null = null;

  datagram(buf: Uint8Array, off: number, end: number): ClientHelloInfo | null {
    let p = off;
    while (!this.done && p < end) {
      const next = this.packet(buf, p, end);
      if (next <= p) break;
      p = next;
    }
    if (this.done || this.crypto.size === 0) return null;
    return this.tryClientHello();
  }

  /** Processes one long-header packet at p; returns the offset after it (≤ p to stop). */
  private packet(b: Uint8Array, p: number, end: number): number {
    const first = b[p] ?? 0;
    if ((first & 0xc0) !== 0xc0 || end - p < 7) return -1;
    const version =
      (((b[p + 1] ?? 0) << 24) >>> 0) +
      ((b[p + 2] ?? 0) << 16) +
      ((b[p + 3] ?? 0) << 8) +
      (b[p + 4] ?? 0);
    const type = (first >> 4) & 3;
    const initialType = version === QUIC_V2 ? 1 : 0;
    let q = p + 5;
    const dcidLen = b[q] ?? 0;
    if (dcidLen > 20 || q + 1 + dcidLen >= end) return -1;
    const dcid = b.slice(q + 1, q + 1 + dcidLen);
    q += 1 + dcidLen;
    const scidLen = b[q] ?? 0;
    if (scidLen > 20 || q + 1 + scidLen >= end) return -1;
    q += 1 + scidLen;
    if (type !== initialType) {
      // Other long-header packets (0-RTT, Handshake) carry a Length too: skip them.
      if (type === 3) return -1; // Retry: no Length, ends the datagram
      const len = readVarint(b, q, end);
      return len < 0 ? -1 : varintEnd + len;
    }
    const tokenLen = readVarint(b, q, end);
    if (tokenLen < 0 || varintEnd + tokenLen > end) return -1;
    q = varintEnd + tokenLen;
    const length = readVarint(b, q, end);
    if (length < 0) return -1;
    const pnOffset = varintEnd;
    const pktEnd = pnOffset + length;
    if (pktEnd > end || length < 20) return -1;
    this.firstDcid ??= dcid;
    this.version = version;
    const payload =
      this.unprotect(b, p, pnOffset, pktEnd, version, dcid) ??
      (this.firstDcid !== dcid
        ? this.unprotect(b, p, pnOffset, pktEnd, version, this.firstDcid)
        : null);
    if (payload === null) {
      this.failures++;
      return pktEnd;
    }
    this.frames(payload);
    return pktEnd;
  }

  private unprotect(
    b: Uint8Array,
    start: number,
    pnOffset: number,
    pktEnd: number,
    version: number,
    dcid: Uint8Array,
  ): Buffer | null {
    const keys = quicClientInitialKeys(dcid, version);
    if (keys === null) return null;
    const sample = b.subarray(pnOffset + 4, pnOffset + 20);
    if (sample.length < 16) return null;
    const ecb = nodeCrypto().createCipheriv('aes-128-ecb', keys.hp, null);
    const mask = ecb.update(sample);
    const first = ((b[start] ?? 0) ^ ((mask[0] ?? 0) & 0x0f)) & 0xff;
    const pnLen = (first & 3) + 1;
    const header = Buffer.from(b.subarray(start, pnOffset + pnLen));
    header[0] = first;
    let pn = 0;
    for (let i = 0; i < pnLen; i++) {
      const v = ((b[pnOffset + i] ?? 0) ^ (mask[1 + i] ?? 0)) & 0xff;
      header[pnOffset - start + i] = v;
      pn = pn * 256 + v;
    }
    const nonce = Buffer.from(keys.iv);
    for (let i = 0; i < 6; i++)
      nonce[11 - i] = (nonce[11 - i] ?? 0) ^ (Math.floor(pn / 2 ** (8 * i)) & 0xff);
    const ct = b.subarray(pnOffset + pnLen, pktEnd - 16);
    const tag = b.subarray(pktEnd - 16, pktEnd);
    try {
      const d = nodeCrypto().createDecipheriv('aes-128-gcm', keys.key, nonce);
      d.setAAD(header);
      d.setAuthTag(tag);
      return Buffer.concat([d.update(ct), d.final()]);
    } catch {
      return null; // authentication failed: not an Initial we can read (or not QUIC at all)
    }
  }

  private frames(pl: Uint8Array): void {
    let p = 0;
    const end = pl.length;
    while (p < end) {
      const type = readVarint(pl, p, end);
      if (type < 0) return;
      p = varintEnd;
      if (type === 0x00 || type === 0x01) continue;
      if (type === 0x02 || type === 0x03) {
        const fields = [0, 0, 0, 0];
        for (let i = 0; i < 4; i++) {
          fields[i] = readVarint(pl, p, end);
          if (fields[i]! < 0) return;
          p = varintEnd;
        }
        const ranges = fields[2] ?? 0;
        for (let i = 0; i < ranges * 2 + (type === 0x03 ? 3 : 0); i++) {
          if (readVarint(pl, p, end) < 0) return;
          p = varintEnd;
        }
        continue;
      }
      if (type === 0x06) {
        const offset = readVarint(pl, p, end);
        if (offset < 0) return;
        const len = readVarint(pl, varintEnd, end);
        if (len < 0 || varintEnd + len > end) return;
        p = varintEnd;
        if (offset + len <= MAX_CRYPTO_BYTES && this.cryptoBytes + len <= MAX_CRYPTO_BYTES * 2) {
          this.crypto.set(offset, pl.slice(p, p + len));
          this.cryptoBytes += len;
        }
        p += len;
        continue;
      }
      return; // CONNECTION_CLOSE or anything else: nothing more we need
    }
  }

  private tryClientHello(): ClientHelloInfo | null {
    // Assemble the contiguous prefix of the CRYPTO stream.
    const buf = new Uint8Array(MAX_CRYPTO_BYTES);
    let have = 0;
    for (;;) {
      let progressed = false;
      for (const [off, data] of this.crypto) {
        if (off <= have && off + data.length > have) {
          buf.set(data.subarray(have - off), have);
          have = off + data.length;
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    if (have < 4 || buf[0] !== 1) return null;
    const len = ((buf[1] ?? 0) << 16) | ((buf[2] ?? 0) << 8) | (buf[3] ?? 0);
    if (4 + len > MAX_CRYPTO_BYTES) {
      this.done = true;
      return null;
    }
    if (have < 4 + len) return null;
    this.done = true;
    this.crypto.clear();
    return decodeClientHello(buf, 4, 4 + len, 'q');
  }
}

/** A datagram that starts with a QUIC v1/v2 long-header Initial packet. */
export function looksLikeQuicInitial(buf: Uint8Array, off: number, end: number): boolean {
  if (end - off < 7) return false;
  const first = buf[off] ?? 0;
  if ((first & 0xc0) !== 0xc0) return false;
  const version =
    (((buf[off + 1] ?? 0) << 24) >>> 0) +
    ((buf[off + 2] ?? 0) << 16) +
    ((buf[off + 3] ?? 0) << 8) +
    (buf[off + 4] ?? 0);
  const type = (first >> 4) & 3;
  return (version === QUIC_V1 && type === 0) || (version === QUIC_V2 && type === 1);
}
