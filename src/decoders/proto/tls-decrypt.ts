// TLS record decryption with a key log (the NSS key log format that SSLKEYLOGFILE makes curl,
// Python, Go, Firefox and Chrome write; Wireshark's "(Pre)-Master-Secret log"). With it, HTTPS
// to an inference endpoint is analysed like plain HTTP.
//
// Key log lines (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/):
//   CLIENT_RANDOM <client random, 64 hex> <TLS ≤ 1.2 master secret, 96 hex>
//   CLIENT_HANDSHAKE_TRAFFIC_SECRET / SERVER_HANDSHAKE_TRAFFIC_SECRET /
//   CLIENT_TRAFFIC_SECRET_0 / SERVER_TRAFFIC_SECRET_0 <client random> <TLS 1.3 secret>
//
// TLS 1.3 (RFC 8446 §7): key = HKDF-Expand-Label(secret, "key", "", key length),
//   iv = HKDF-Expand-Label(secret, "iv", "", 12); nonce = iv XOR the record's 64-bit sequence
//   number; additional data = the 5-byte record header; the plaintext ends with the real content
//   type and zero padding. Handshake secrets until that side's Finished, then traffic secrets
//   (sequence numbers restart at 0); KeyUpdate moves to HKDF-Expand-Label(secret, "traffic upd").
// TLS 1.2 AEAD suites (RFC 5246 §6.3, RFC 5288, RFC 7905): key block = PRF(master secret,
//   "key expansion", server random + client random); AES-GCM nonce = 4-byte salt + the record's
//   8-byte explicit nonce, ChaCha20-Poly1305 nonce = 12-byte iv XOR sequence number; additional
//   data = sequence number, type, version, plaintext length. Keys start at each side's
//   ChangeCipherSpec. CBC suites are not decrypted (counted as such).

import { nodeCrypto } from '../../util/crypto.js';

/**
 * Largest key log read (≈ 300k TLS 1.3 sessions): from a --tls-keylog file, and in all from a
 * capture's Decryption Secrets Blocks.
 */
export const MAX_KEYLOG_BYTES = 128 << 20;
/** Sessions kept from one key log (a hostile file cannot grow memory without bound). */
const MAX_SESSIONS = 1_000_000;
/** Longest key log line considered. */
const MAX_LINE = 1024;

export interface TlsSessionKeys {
  /** TLS ≤ 1.2 master secret. */
  master?: Buffer;
  clientHandshake?: Buffer;
  serverHandshake?: Buffer;
  clientTraffic?: Buffer;
  serverTraffic?: Buffer;
}

export interface TlsKeyLog {
  /** By client random (lower-case hex). */
  sessions: Map<string, TlsSessionKeys>;
  /** Lines read, lines used, lines that were not key log lines. */
  lines: number;
  used: number;
  rejected: number;
  /**
   * A key log still being written (live capture): read what was added since. Called when a
   * session is not found, since the client may have written its line a moment ago.
   */
  refresh?: () => void;
  /**
   * A key log beneath this one, for sessions (or secrets) this one lacks: a capture's embedded
   * secrets (pcapng Decryption Secrets Blocks) lie over the --tls-keylog file.
   */
  under?: TlsKeyLog;
}

/** A session's secrets (client random in lower-case hex) in `log` and the logs beneath it. */
export function sessionSecrets(log: TlsKeyLog, random: string): TlsSessionKeys | undefined {
  const own = log.sessions.get(random);
  const under = log.under !== undefined ? sessionSecrets(log.under, random) : undefined;
  if (under === undefined) return own;
  return own === undefined ? under : { ...under, ...own };
}

const LABELS: Record<string, keyof TlsSessionKeys> = {
  CLIENT_RANDOM: 'master',
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'clientTraffic',
  SERVER_TRAFFIC_SECRET_0: 'serverTraffic',
};

const HEX_RE = /^[0-9a-fA-F]+$/;

/** Parse a key log. Unknown labels (EXPORTER_SECRET, early traffic) and comments are ignored. */
export function parseKeyLog(text: string): TlsKeyLog {
  const log: TlsKeyLog = { sessions: new Map(), lines: 0, used: 0, rejected: 0 };
  addKeyLogText(log, text);
  return log;
}

/** Add the lines of `text` (complete lines) to `log`. */
export function addKeyLogText(log: TlsKeyLog, text: string): void {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    log.lines++;
    if (line.length > MAX_LINE) {
      log.rejected++;
      continue;
    }
    const [label, random, secret] = line.split(/\s+/);
    const field = label !== undefined ? LABELS[label] : undefined;
    if (field === undefined || random === undefined || secret === undefined) {
      if (!/^(EXPORTER_SECRET|CLIENT_EARLY_TRAFFIC_SECRET|EARLY_EXPORTER_SECRET|RSA)\b/.test(line))
        log.rejected++;
      continue;
    }
    if (random.length !== 64 || !HEX_RE.test(random) || !HEX_RE.test(secret) || secret.length % 2) {
      log.rejected++;
      continue;
    }
    const key = random.toLowerCase();
    let s = log.sessions.get(key);
    if (!s) {
      if (log.sessions.size >= MAX_SESSIONS) continue;
      s = {};
      log.sessions.set(key, s);
    }
    s[field] = Buffer.from(secret, 'hex');
    log.used++;
  }
}

/** Does this text look like a key log (for detecting one among a bundle's files)? */
export function looksLikeKeyLog(head: string): boolean {
  const first = head.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  return (
    first !== undefined &&
    /^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET|CLIENT_EARLY_TRAFFIC_SECRET) [0-9a-fA-F]{64} [0-9a-fA-F]+\s*$/.test(
      first.trim(),
    )
  );
}

// ---- key schedule ------------------------------------------------------------------------------

type Hash = 'sha256' | 'sha384';
type Aead = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

interface Suite {
  aead: Aead;
  keyLen: number;
  hash: Hash;
}

const TLS13_SUITES: Record<number, Suite> = {
  0x1301: { aead: 'aes-128-gcm', keyLen: 16, hash: 'sha256' },
  0x1302: { aead: 'aes-256-gcm', keyLen: 32, hash: 'sha384' },
  0x1303: { aead: 'chacha20-poly1305', keyLen: 32, hash: 'sha256' },
};

/** TLS 1.2 AEAD suites: RSA/DHE/ECDHE(RSA|ECDSA) with AES-GCM or ChaCha20-Poly1305. */
const TLS12_SUITES: Record<number, Suite> = {
  0x009c: { aead: 'aes-128-gcm', keyLen: 16, hash: 'sha256' },
  0x009d: { aead: 'aes-256-gcm', keyLen: 32, hash: 'sha384' },
  0x009e: { aead: 'aes-128-gcm', keyLen: 16, hash: 'sha256' },
  0x009f: { aead: 'aes-256-gcm', keyLen: 32, hash: 'sha384' },
  0xc02b: { aead: 'aes-128-gcm', keyLen: 16, hash: 'sha256' },
  0xc02c: { aead: 'aes-256-gcm', keyLen: 32, hash: 'sha384' },
  0xc02f: { aead: 'aes-128-gcm', keyLen: 16, hash: 'sha256' },
  0xc030: { aead: 'aes-256-gcm', keyLen: 32, hash: 'sha384' },
  0xcca8: { aead: 'chacha20-poly1305', keyLen: 32, hash: 'sha256' },
  0xcca9: { aead: 'chacha20-poly1305', keyLen: 32, hash: 'sha256' },
  0xccaa: { aead: 'chacha20-poly1305', keyLen: 32, hash: 'sha256' },
};

function hkdfExpand(hash: Hash, prk: Buffer, info: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  let have = 0;
  for (let i = 1; have < length; i++) {
    t = nodeCrypto()
      .createHmac(hash, prk)
      .update(Buffer.concat([t, info, Buffer.from([i])]))
      .digest();
    out.push(t);
    have += t.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function hkdfExpandLabel(hash: Hash, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, full.length]),
    full,
    Buffer.from([0]), // empty context
  ]);
  return hkdfExpand(hash, secret, info, length);
}

/** TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed). */
function prf12(hash: Hash, secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const s = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let a = s;
  let have = 0;
  while (have < length) {
    a = nodeCrypto().createHmac(hash, secret).update(a).digest();
    const p = nodeCrypto()
      .createHmac(hash, secret)
      .update(Buffer.concat([a, s]))
      .digest();
    out.push(p);
    have += p.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** One direction's record protection: key, iv, sequence number. */
export class RecordKeys {
  seq = 0n;
  constructor(
    readonly suite: Suite,
    private key: Buffer,
    private iv: Buffer,
    readonly tls13: boolean,
    private secret: Buffer | null,
  ) {}

  static tls13(suite: Suite, secret: Buffer): RecordKeys {
    return new RecordKeys(
      suite,
      hkdfExpandLabel(suite.hash, secret, 'key', suite.keyLen),
      hkdfExpandLabel(suite.hash, secret, 'iv', 12),
      true,
      secret,
    );
  }

  /** KeyUpdate (TLS 1.3): the next generation of this direction's traffic secret. */
  update(): void {
    if (this.secret === null) return;
    const h = this.suite.hash;
    this.secret = hkdfExpandLabel(h, this.secret, 'traffic upd', this.secret.length);
    this.key = hkdfExpandLabel(h, this.secret, 'key', this.suite.keyLen);
    this.iv = hkdfExpandLabel(h, this.secret, 'iv', 12);
    this.seq = 0n;
  }

  /**
   * Decrypt one record (`header` = its 5 bytes, `payload` = the rest). Returns the plaintext and
   * its content type, or null when authentication fails (wrong keys, damaged record).
   */
  open(header: Uint8Array, payload: Buffer): { type: number; data: Buffer } | null {
    const tag = 16;
    const seq = this.seq++;
    let nonce: Buffer;
    let ct: Buffer;
    let aad: Buffer;
    if (this.tls13) {
      if (payload.length < tag + 1) return null;
      nonce = xorSeq(this.iv, seq);
      ct = payload.subarray(0, payload.length - tag);
      aad = Buffer.from(header);
    } else {
      const gcm = this.suite.aead !== 'chacha20-poly1305';
      const explicit = gcm ? 8 : 0;
      if (payload.length < explicit + tag) return null;
      nonce = gcm
        ? Buffer.concat([this.iv.subarray(0, 4), payload.subarray(0, 8)])
        : xorSeq(this.iv, seq);
      ct = payload.subarray(explicit, payload.length - tag);
      aad = Buffer.alloc(13);
      aad.writeBigUInt64BE(seq, 0);
      aad[8] = header[0]!;
      aad[9] = header[1]!;
      aad[10] = header[2]!;
      aad.writeUInt16BE(ct.length, 11);
    }
    let plain: Buffer;
    try {
      // (typed as GCM: @types/node 20 has no ChaCha20-Poly1305 overload; the API is the same)
      const d = nodeCrypto().createDecipheriv(this.suite.aead as 'aes-128-gcm', this.key, nonce, {
        authTagLength: tag,
      });
      d.setAAD(aad);
      d.setAuthTag(payload.subarray(payload.length - tag));
      plain = Buffer.concat([d.update(ct), d.final()]);
    } catch {
      return null;
    }
    if (!this.tls13) return { type: header[0]!, data: plain };
    // TLSInnerPlaintext: content, the real type, zero padding
    let i = plain.length - 1;
    while (i >= 0 && plain[i] === 0) i--;
    if (i < 0) return null;
    return { type: plain[i]!, data: plain.subarray(0, i) };
  }
}

function xorSeq(iv: Buffer, seq: bigint): Buffer {
  const n = Buffer.from(iv);
  const s = Buffer.alloc(8);
  s.writeBigUInt64BE(seq);
  for (let i = 0; i < 8; i++) n[4 + i]! ^= s[i]!;
  return n;
}

export type KeysFor =
  | {
      ok: true;
      client: RecordKeys;
      server: RecordKeys;
      clientApp: Buffer | null;
      serverApp: Buffer | null;
    }
  /** `missing`: the key log lacks secrets it may still get (a live one is being written). */
  | { ok: false; why: string; missing?: boolean };

/**
 * The record keys for a session given its hellos: TLS 1.3 handshake keys (the traffic secrets come
 * later, see appKeys) or TLS 1.2 keys from the master secret.
 */
export function sessionKeys(
  keys: TlsSessionKeys,
  version: number,
  cipherSuite: number,
  clientRandom: Buffer,
  serverRandom: Buffer,
): KeysFor {
  if (version === 0x0304) {
    const suite = TLS13_SUITES[cipherSuite];
    if (!suite)
      return { ok: false, why: `cipher suite 0x${cipherSuite.toString(16)} not supported` };
    if (!keys.clientHandshake || !keys.serverHandshake)
      return {
        ok: false,
        why: 'the key log has no TLS 1.3 handshake secrets for this session',
        missing: true,
      };
    return {
      ok: true,
      client: RecordKeys.tls13(suite, keys.clientHandshake),
      server: RecordKeys.tls13(suite, keys.serverHandshake),
      clientApp: keys.clientTraffic ?? null,
      serverApp: keys.serverTraffic ?? null,
    };
  }
  if (version === 0x0303) {
    const suite = TLS12_SUITES[cipherSuite];
    if (!suite)
      return {
        ok: false,
        why: `cipher suite 0x${cipherSuite.toString(16)} not decrypted (not AEAD)`,
      };
    if (!keys.master)
      return { ok: false, why: 'the key log has no master secret for this session' };
    const ivLen = suite.aead === 'chacha20-poly1305' ? 12 : 4;
    const block = prf12(
      suite.hash,
      keys.master,
      'key expansion',
      Buffer.concat([serverRandom, clientRandom]),
      2 * suite.keyLen + 2 * ivLen,
    );
    const ck = block.subarray(0, suite.keyLen);
    const sk = block.subarray(suite.keyLen, 2 * suite.keyLen);
    const civ = block.subarray(2 * suite.keyLen, 2 * suite.keyLen + ivLen);
    const siv = block.subarray(2 * suite.keyLen + ivLen, 2 * suite.keyLen + 2 * ivLen);
    return {
      ok: true,
      client: new RecordKeys(suite, ck, civ, false, null),
      server: new RecordKeys(suite, sk, siv, false, null),
      clientApp: null,
      serverApp: null,
    };
  }
  return { ok: false, why: `TLS version 0x${version.toString(16)} not decrypted` };
}

/** TLS 1.3 application traffic keys from a traffic secret, for the suite of `hs`. */
export function appKeys(hs: RecordKeys, secret: Buffer): RecordKeys {
  return RecordKeys.tls13(hs.suite, secret);
}
