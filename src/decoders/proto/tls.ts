// TLS handshake observer (RFC 8446 TLS 1.3, RFC 5246 TLS 1.2 and older): ClientHello and
// ServerHello reassembled across records and TCP segments, alerts, handshake duration. Encrypted
// data is skipped without buffering.
//
// Record (RFC 8446 §5.1):             Handshake message (§4):
//   off 0 size 1 ContentType            off 0 size 1 HandshakeType (1 ClientHello, 2 ServerHello)
//   off 1 size 2 legacy version         off 1 size 3 length
//   off 3 size 2 length (≤ 2^14+2048)   off 4 size n body
// ClientHello body: version(2) random(32) session_id(1+n) cipher_suites(2+n) compression(1+n)
//   extensions(2+n: type(2) len(2) data). ServerHello: version(2) random(32) session_id(1+n)
//   cipher(2) compression(1) extensions(2+n). A ServerHello whose random is the HelloRetryRequest
//   constant (§4.1.3) asks for a second ClientHello.
// Extensions read: server_name(0), supported_groups(10), signature_algorithms(13), ALPN(16),
//   supported_versions(43), encrypted_client_hello(0xfe0d).
// Fingerprint: JA4 (FoxIO, github.com/FoxIO-LLC/ja4/technical_details/JA4.md), e.g.
//   t13d1516h2_8daaf6152771_e5627efa2ab1.

import { nodeCrypto } from '../../util/crypto.js';
import type { Dir } from '../../model/records.js';
import { TlsRecordTimer } from './tls-timing.js';
import type { ProtoContext, ProtoRecogniser, StreamParser } from './stream.js';
import {
  appKeys,
  sessionKeys,
  sessionSecrets,
  type KeysFor,
  type RecordKeys,
  type TlsSessionKeys,
} from './tls-decrypt.js';

const CT_CHANGE_CIPHER_SPEC = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_APPLICATION_DATA = 23;
const CT_HEARTBEAT = 24;
const HT_CLIENT_HELLO = 1;
const HT_SERVER_HELLO = 2;
const HT_FINISHED = 20;
const HT_KEY_UPDATE = 24;
const EXT_SERVER_NAME = 0;
const EXT_SUPPORTED_GROUPS = 10;
const EXT_SIGNATURE_ALGORITHMS = 13;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
const EXT_ECH = 0xfe0d;

/** Max record payload (2^14 + 2048 for TLS 1.2 ciphertext; +256 of slack for odd stacks). */
const MAX_RECORD = (1 << 14) + 2048 + 256;
/** Hello messages larger than this are skipped (post-quantum key shares make them ~2 KiB). */
const MAX_HELLO_BYTES = 128 * 1024;

const HRR_RANDOM = Uint8Array.from(
  Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
);

export const TLS_ALERT_NAMES: Readonly<Record<number, string>> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  22: 'record_overflow',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0304:
      return 'TLS 1.3';
    case 0x0303:
      return 'TLS 1.2';
    case 0x0302:
      return 'TLS 1.1';
    case 0x0301:
      return 'TLS 1.0';
    case 0x0300:
      return 'SSL 3.0';
    default:
      return (v & 0xff00) === 0x7f00
        ? `TLS 1.3 draft ${v & 0xff}`
        : `0x${v.toString(16).padStart(4, '0')}`;
  }
}

export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

export interface ClientHelloInfo {
  legacyVersion: number;
  /** supported_versions (GREASE removed), in order; empty when the extension is absent. */
  supportedVersions: number[];
  /** Cipher suites and extension types as sent (GREASE included, for fidelity). */
  cipherSuites: number[];
  extensions: number[];
  sni: string | null;
  alpn: string[];
  supportedGroups: number[];
  signatureAlgorithms: number[];
  /** An encrypted_client_hello extension was present (the SNI is then the outer, public name). */
  ech: boolean;
  ja4: string;
  /** The 32-byte client random (keys it up in a key log). */
  random: Uint8Array;
}

export interface ServerHelloInfo {
  legacyVersion: number;
  /** The negotiated version (supported_versions if present, else the legacy field). */
  version: number;
  cipherSuite: number;
  alpn: string | null;
  helloRetryRequest: boolean;
  random: Uint8Array;
}

/** Proposed record for the engine (a `tls` table or `Connection.tls`). */
export interface TlsSessionInfo {
  clientHellos: ClientHelloInfo[];
  serverHello: ServerHelloInfo | null;
  version: string | null;
  sni: string | null;
  alpn: string | null;
  ja4: string | null;
  clientHelloUs: number | null;
  clientHelloFrame: number | null;
  /** ClientHello → the client's Finished (its first encrypted record), ms. */
  handshakeMs: number | null;
  /** First application-data record each way (TLS 1.3: includes encrypted handshake), µs. */
  firstAppDataUs: [number | null, number | null];
  alerts: {
    dir: Dir;
    level: 'warning' | 'fatal' | 'encrypted';
    description: string;
    tsUs: number;
  }[];
  /** Bytes of application data records each way. */
  appDataBytes: [number, number];
  /** A record or hello could not be decoded (reason). */
  error: string | null;
}

// ---- pure decoders --------------------------------------------------------------------------

/** Decodes a ClientHello body (after the 4-byte handshake header); null when malformed. */
export function decodeClientHello(
  b: Uint8Array,
  off: number,
  end: number,
  proto: 't' | 'q' = 't',
): ClientHelloInfo | null {
  let p = off;
  if (end - p < 2 + 32 + 1) return null;
  const legacyVersion = u16(b, p);
  p += 34;
  const sidLen = b[p] ?? 0;
  p += 1 + sidLen;
  if (p + 2 > end) return null;
  const csLen = u16(b, p);
  p += 2;
  if (p + csLen > end || csLen % 2 !== 0) return null;
  const cipherSuites: number[] = [];
  for (let i = 0; i < csLen; i += 2) cipherSuites.push(u16(b, p + i));
  p += csLen;
  if (p + 1 > end) return null;
  p += 1 + (b[p] ?? 0);
  if (p > end) return null;
  const info: ClientHelloInfo = {
    random: b.slice(off + 2, off + 34),
    legacyVersion,
    supportedVersions: [],
    cipherSuites,
    extensions: [],
    sni: null,
    alpn: [],
    supportedGroups: [],
    signatureAlgorithms: [],
    ech: false,
    ja4: '',
  };
  if (p + 2 <= end) {
    const extLen = u16(b, p);
    p += 2;
    const extEnd = p + extLen;
    if (extEnd > end) return null;
    while (p + 4 <= extEnd) {
      const type = u16(b, p);
      const len = u16(b, p + 2);
      p += 4;
      if (p + len > extEnd) return null;
      info.extensions.push(type);
      readClientExtension(info, type, b, p, p + len);
      p += len;
    }
  }
  info.ja4 = ja4(info, proto);
  return info;
}

function readClientExtension(
  info: ClientHelloInfo,
  type: number,
  b: Uint8Array,
  p: number,
  end: number,
): void {
  switch (type) {
    case EXT_SERVER_NAME: {
      if (p + 2 > end) return;
      let q = p + 2;
      const listEnd = Math.min(end, q + u16(b, p));
      while (q + 3 <= listEnd) {
        const nameType = b[q] ?? 0;
        const len = u16(b, q + 1);
        q += 3;
        if (q + len > listEnd) return;
        if (nameType === 0 && info.sni === null)
          info.sni = Buffer.from(b.buffer, b.byteOffset + q, len).toString('latin1');
        q += len;
      }
      return;
    }
    case EXT_ALPN: {
      if (p + 2 > end) return;
      let q = p + 2;
      const listEnd = Math.min(end, q + u16(b, p));
      while (q + 1 <= listEnd) {
        const len = b[q] ?? 0;
        q += 1;
        if (q + len > listEnd) return;
        info.alpn.push(Buffer.from(b.buffer, b.byteOffset + q, len).toString('latin1'));
        q += len;
      }
      return;
    }
    case EXT_SUPPORTED_VERSIONS: {
      const len = b[p] ?? 0;
      for (let q = p + 1; q + 2 <= Math.min(end, p + 1 + len); q += 2) {
        const v = u16(b, q);
        if (!isGrease(v)) info.supportedVersions.push(v);
      }
      return;
    }
    case EXT_SUPPORTED_GROUPS:
    case EXT_SIGNATURE_ALGORITHMS: {
      if (p + 2 > end) return;
      const len = u16(b, p);
      const out = type === EXT_SUPPORTED_GROUPS ? info.supportedGroups : info.signatureAlgorithms;
      for (let q = p + 2; q + 2 <= Math.min(end, p + 2 + len); q += 2) out.push(u16(b, q));
      return;
    }
    case EXT_ECH:
      info.ech = true;
      return;
    default:
      return;
  }
}

/** Decodes a ServerHello body; null when malformed. */
export function decodeServerHello(b: Uint8Array, off: number, end: number): ServerHelloInfo | null {
  let p = off;
  if (end - p < 2 + 32 + 1) return null;
  const legacyVersion = u16(b, p);
  let hrr = true;
  for (let i = 0; i < 32; i++) if (b[p + 2 + i] !== HRR_RANDOM[i]) hrr = false;
  p += 34;
  p += 1 + (b[p] ?? 0);
  if (p + 3 > end) return null;
  const info: ServerHelloInfo = {
    random: b.slice(off + 2, off + 34),
    legacyVersion,
    version: legacyVersion,
    cipherSuite: u16(b, p),
    alpn: null,
    helloRetryRequest: hrr,
  };
  p += 3;
  if (p + 2 <= end) {
    const extEnd = Math.min(end, p + 2 + u16(b, p));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = u16(b, p);
      const len = u16(b, p + 2);
      p += 4;
      if (p + len > extEnd) return null;
      if (type === EXT_SUPPORTED_VERSIONS && len >= 2) info.version = u16(b, p);
      if (type === EXT_ALPN && len >= 3) {
        const l = b[p + 2] ?? 0;
        if (p + 3 + l <= p + len)
          info.alpn = Buffer.from(b.buffer, b.byteOffset + p + 3, l).toString('latin1');
      }
      p += len;
    }
  }
  return info;
}

const JA4_VERSION: Readonly<Record<number, string>> = {
  0x0304: '13',
  0x0303: '12',
  0x0302: '11',
  0x0301: '10',
  0x0300: 's3',
  0x0002: 's2',
  0xfeff: 'd1',
  0xfefd: 'd2',
  0xfefc: 'd3',
};

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

function sha12(s: string): string {
  return nodeCrypto().createHash('sha256').update(s).digest('hex').slice(0, 12);
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** JA4 fingerprint of a ClientHello: a_b_c as specified by FoxIO (see the header comment). */
export function ja4(ch: ClientHelloInfo, proto: 't' | 'q' = 't'): string {
  const versions = ch.supportedVersions.length > 0 ? ch.supportedVersions : [ch.legacyVersion];
  const top = Math.max(...versions.map((v) => (JA4_VERSION[v] ? v : 0)));
  const ver = JA4_VERSION[top] ?? '00';
  const ciphers = ch.cipherSuites.filter((c) => !isGrease(c));
  const exts = ch.extensions.filter((e) => !isGrease(e));
  let alpn = '00';
  const first = ch.alpn[0];
  if (first !== undefined && first.length > 0) {
    const a = first.charCodeAt(0);
    const z = first.charCodeAt(first.length - 1);
    if (isAlnum(a) && isAlnum(z)) alpn = first[0] + (first[first.length - 1] ?? '');
    else {
      const h = Buffer.from(first, 'latin1').toString('hex');
      alpn = (h[0] ?? '0') + (h[h.length - 1] ?? '0');
    }
  }
  const two = (n: number) => String(Math.min(n, 99)).padStart(2, '0');
  const a = `${proto}${ver}${ch.sni !== null ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${alpn}`;
  const b = ciphers.length === 0 ? '000000000000' : sha12(ciphers.map(hex4).sort().join(','));
  const extList = exts
    .filter((e) => e !== EXT_SERVER_NAME && e !== EXT_ALPN)
    .map(hex4)
    .sort()
    .join(',');
  const sig = ch.signatureAlgorithms.map(hex4).join(',');
  const c =
    exts.length === 0 ? '000000000000' : sha12(sig.length > 0 ? `${extList}_${sig}` : extList);
  return `${a}_${b}_${c}`;
}

function u16(b: Uint8Array, p: number): number {
  return ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0);
}

// ---- stream parser --------------------------------------------------------------------------

interface TlsDir {
  dead: boolean;
  hdr: Uint8Array;
  hdrHave: number;
  ctype: number;
  left: number;
  recordStartUs: number;
  recordStartFrame: number;
  /** After ChangeCipherSpec (TLS ≤ 1.2) the handshake records of this side are encrypted. */
  encrypted: boolean;
  /** Handshake message reassembly: 4-byte header, then body (buffered for hellos, else skipped). */
  hsHdr: Uint8Array;
  hsHdrHave: number;
  hsType: number;
  hsLeft: number;
  hsBody: Uint8Array | null;
  hsHave: number;
  hsStartUs: number;
  hsStartFrame: number;
  alert: Uint8Array;
  alertHave: number;
  /** The current record is a 2-byte plaintext alert. */
  plainAlert: boolean;
  /** Decryption (a key log has this session): this side's record keys, null when off. */
  keys: RecordKeys | null;
  /** The protected record being collected for decryption, and how much of it is in. */
  rec: Buffer | null;
  recHave: number;
  /** TLS 1.3: decrypted handshake bytes not yet split into messages (Finished, KeyUpdate). */
  phs: Buffer | null;
}

function newTlsDir(): TlsDir {
  return {
    dead: false,
    hdr: new Uint8Array(5),
    hdrHave: 0,
    ctype: 0,
    left: 0,
    recordStartUs: 0,
    recordStartFrame: 0,
    encrypted: false,
    hsHdr: new Uint8Array(4),
    hsHdrHave: 0,
    hsType: 0,
    hsLeft: 0,
    hsBody: null,
    hsHave: 0,
    hsStartUs: 0,
    hsStartFrame: 0,
    alert: new Uint8Array(2),
    alertHave: 0,
    plainAlert: false,
    keys: null,
    rec: null,
    recHave: 0,
    phs: null,
  };
}

/** Decrypted bytes of the server held until the client's first bytes say which protocol runs. */
const MAX_HELD_PLAINTEXT = 256 * 1024;
/** Protected records held while a live key log is awaited (a handshake is a few records). */
const MAX_WAITING_RECORDS = 64;

/** A protected record held while its session's keys are awaited, with its timing. */
interface HeldRecord {
  dir: Dir;
  hdr: Uint8Array;
  rec: Buffer;
  tsUs: number;
  startUs: number;
  startFrame: number;
  endFrame: number;
}

export class TlsParser implements StreamParser {
  private readonly ctx: ProtoContext;
  private readonly onSession: ((s: TlsSessionInfo) => void) | null;
  private readonly dirs: [TlsDir, TlsDir] = [newTlsDir(), newTlsDir()];
  private readonly session: TlsSessionInfo = {
    clientHellos: [],
    serverHello: null,
    version: null,
    sni: null,
    alpn: null,
    ja4: null,
    clientHelloUs: null,
    clientHelloFrame: null,
    handshakeMs: null,
    firstAppDataUs: [null, null],
    alerts: [],
    appDataBytes: [0, 0],
    error: null,
  };
  private tls13 = false;
  private reported = false;
  /**
   * ClientHellos are reported once the server's first bytes show it speaks TLS (or the capture
   * ends without a reply): a ClientHello sent to a plaintext server (an HTTP port answering
   * `400 Bad Request`) is a client mistake, reported as `tls.serverNotTls`, not a TLS session.
   */
  private serverVerdict: 'unknown' | 'tls' | 'not-tls' = 'unknown';
  private pendingHellos: (ClientHelloInfo | null)[] = [];
  /** Decryption: TLS 1.2 keys waiting for each side's ChangeCipherSpec; TLS 1.3 traffic secrets. */
  private pending12: [RecordKeys | null, RecordKeys | null] = [null, null];
  /**
   * A live key log (one that can still grow) lacked this session at its ServerHello: protected
   * records are held (bounded) and the lookup is tried again as each one completes; when the
   * keys arrive the held records are decrypted in order. The client writes its secrets during
   * the handshake, so the capture can see the ServerHello before the key log has the line. A
   * capture with secrets blocks (pcapng DSB) can grow its key log the same way. When the keys
   * never come, the held records are timed (TlsRecordTimer) as if they had not been held.
   */
  private waitingFor: ServerHelloInfo | null = null;
  /** TLS 1.3, live key log: a side past its Finished whose traffic secret is not written yet. */
  private appWait: [RecordKeys | null, RecordKeys | null] = [null, null];
  private appHeld: [
    { hdr: Uint8Array; rec: Buffer; tsUs: number }[],
    { hdr: Uint8Array; rec: Buffer; tsUs: number }[],
  ] = [[], []];
  private waiting: HeldRecord[] = [];
  private waitingBytes = 0;
  /**
   * There was no key log at all at the ServerHello: the lookup is made at the session's first
   * protected record instead, for a capture whose secrets block (pcapng DSB) comes in between.
   */
  private lateHello: ServerHelloInfo | null = null;
  private appSecret: [Buffer | null, Buffer | null] = [null, null];
  /** The protocol inside (HTTP/1.x or HTTP/2), once decrypted bytes show it. */
  private app: StreamParser | null = null;
  private held: { tsUs: number; data: Buffer }[] = [];
  private heldBytes = 0;
  /**
   * Parsers for what runs inside decrypted TLS, set by the registry (HTTP/2, HTTP/1.x): the ALPN
   * the server chose picks one, else the client's first bytes do.
   */
  static innerRecognisers: ProtoRecogniser[] = [];

  /** Request timing from record sizes and times while the session is not decrypted. */
  private readonly timer: TlsRecordTimer;

  constructor(ctx: ProtoContext, onSession: ((s: TlsSessionInfo) => void) | null = null) {
    this.ctx = ctx;
    this.onSession = onSession;
    this.timer = new TlsRecordTimer(ctx);
  }

  /** The session as observed so far (for engines that read it rather than take the callback). */
  get info(): TlsSessionInfo {
    return this.session;
  }

  data(dir: Dir, tsUs: number, buf: Uint8Array, off: number, end: number): void {
    const d = this.dirs[dir];
    let p = off;
    if (dir === 1 && this.serverVerdict === 'unknown' && p < end) {
      const b0 = buf[p] ?? 0;
      const ok =
        b0 >= CT_CHANGE_CIPHER_SPEC && b0 <= CT_HEARTBEAT && (p + 1 >= end || buf[p + 1] === 3);
      this.serverVerdict = ok ? 'tls' : 'not-tls';
      if (ok) this.flushHellos();
      else {
        const text = Buffer.from(buf.buffer, buf.byteOffset + p, Math.min(40, end - p)).toString(
          'latin1',
        );
        this.ctx.skip('tls.serverNotTls', text.replace(/[^\x20-\x7e]/g, '.'));
        this.ctx.count('tls.serverNotTls');
        this.pendingHellos = [];
        d.dead = true;
        this.dirs[0].dead = true;
        return;
      }
    }
    while (p < end && !d.dead) {
      if (d.hdrHave < 5) {
        if (d.hdrHave === 0) {
          d.recordStartUs = tsUs;
          d.recordStartFrame = this.ctx.frame();
        }
        const take = Math.min(5 - d.hdrHave, end - p);
        d.hdr.set(buf.subarray(p, p + take), d.hdrHave);
        d.hdrHave += take;
        p += take;
        if (d.hdrHave < 5) return;
        d.ctype = d.hdr[0] ?? 0;
        d.left = u16(d.hdr, 3);
        if (
          d.ctype < CT_CHANGE_CIPHER_SPEC ||
          d.ctype > CT_HEARTBEAT ||
          d.hdr[1] !== 3 ||
          d.left > MAX_RECORD
        ) {
          this.fail(dir, `bad record header ${Buffer.from(d.hdr).toString('hex')}`);
          return;
        }
        this.recordStart(dir, d, tsUs);
        if (d.left === 0) {
          d.hdrHave = 0;
          continue;
        }
      }
      const take = Math.min(d.left, end - p);
      if (d.rec !== null) {
        d.rec.set(buf.subarray(p, p + take), d.recHave);
        d.recHave += take;
        if (d.ctype === CT_APPLICATION_DATA) this.session.appDataBytes[dir] += take;
        d.left -= take;
        p += take;
        if (d.left === 0) {
          d.hdrHave = 0;
          if (d.ctype === CT_APPLICATION_DATA) this.timed(dir, d, tsUs);
          this.recordDone(dir, d, tsUs);
        }
        continue;
      }
      if (d.ctype === CT_HANDSHAKE && !d.encrypted)
        this.handshakeBytes(dir, d, buf, p, p + take, tsUs);
      else if (d.plainAlert) {
        for (let i = p; i < p + take; i++) {
          if (d.alertHave < 2) d.alert[d.alertHave] = buf[i] ?? 0;
          d.alertHave++;
          if (d.alertHave === 2) this.alert(dir, d.alert[0] ?? 0, d.alert[1] ?? 0, tsUs);
          if (d.alertHave === 2) d.alertHave = 0;
        }
      } else if (d.ctype === CT_APPLICATION_DATA) this.session.appDataBytes[dir] += take;
      d.left -= take;
      p += take;
      if (d.left === 0) {
        d.hdrHave = 0;
        if (d.ctype === CT_APPLICATION_DATA) this.timed(dir, d, tsUs);
      }
    }
  }

  /** A whole application-data record: to the timer unless the session is being decrypted. */
  private timed(dir: Dir, d: TlsDir, tsUs: number): void {
    if (this.app !== null || d.keys !== null || this.appWait[dir]) {
      this.timer.disable();
      return;
    }
    // held while the keys are awaited: its timing goes with it, to the timer if they never come
    if (this.waitingFor !== null && d.rec !== null) return;
    this.timer.record(dir, d.recordStartUs, d.recordStartFrame, tsUs, u16(d.hdr, 3));
  }

  gap(dir: Dir, tsUs: number, lengthBytes: number): void {
    const d = this.dirs[dir];
    if (d.dead) return;
    if (d.keys !== null) {
      // Record boundaries and sequence numbers are lost: nothing after this decrypts.
      this.ctx.skip('tls.decryptGap', `${lengthBytes} bytes missing in direction ${dir}`);
      d.keys = null;
      d.rec = null;
      this.app?.gap(dir, tsUs, lengthBytes);
    }
    if (d.encrypted || (this.tls13 && this.session.serverHello !== null)) {
      // Lost ciphertext does not matter, but record boundaries are gone.
      d.dead = true;
      return;
    }
    this.ctx.skip(
      'tls.gap',
      `${lengthBytes} bytes missing in direction ${dir} during the handshake`,
    );
    d.dead = true;
  }

  close(dir: Dir | null, tsUs: number, reset: boolean): void {
    this.lastLook();
    this.app?.close(dir, tsUs, reset);
    // the connection is going: what was asked and not answered is reported now
    if (dir === null || reset) {
      this.giveUpWaiting();
      this.timer.end(reset);
    }
  }

  end(tsUs: number): void {
    this.lastLook();
    this.giveUpWaiting();
    if (this.app !== null) this.timer.disable();
    this.timer.end(false);
    for (const dir of [0, 1] as const) {
      if (this.appWait[dir] === null) continue;
      this.appWait[dir] = null;
      this.appHeld[dir] = [];
      this.ctx.skip('tls.notDecrypted', `the key log has no traffic secret for direction ${dir}`);
    }
    this.app?.end(tsUs);
    if (this.serverVerdict === 'unknown') this.flushHellos();
    if (this.reported) return;
    this.reported = true;
    this.onSession?.(this.session);
  }

  private flushHellos(): void {
    for (const ch of this.pendingHellos) {
      this.ctx.count('tls.clientHellos');
      if (ch === null) {
        this.ctx.skip('tls.badClientHello');
        continue;
      }
      if (ch.sni !== null) this.ctx.fact('tls.sni', ch.sni);
      this.ctx.fact('tls.ja4', ch.ja4);
      for (const a of ch.alpn) this.ctx.fact('tls.alpnOffered', a);
    }
    this.pendingHellos = [];
  }

  private fail(dir: Dir, why: string): void {
    this.dirs[dir].dead = true;
    this.session.error ??= why;
    this.ctx.skip('tls.badRecord', why);
  }

  private recordStart(dir: Dir, d: TlsDir, tsUs: number): void {
    const s = this.session;
    if (d.ctype === CT_CHANGE_CIPHER_SPEC) {
      // In TLS 1.3 ChangeCipherSpec is a no-op for middleboxes (§D.4); keys change with the hellos.
      if (!this.tls13) {
        d.encrypted = true;
        d.keys = this.pending12[dir];
        this.pending12[dir] = null;
      }
      return;
    }
    if (this.lateHello !== null && (d.ctype === CT_APPLICATION_DATA || d.encrypted)) {
      // the first protected record: a key log that appeared since the ServerHello is used now
      const sh = this.lateHello;
      this.lateHello = null;
      if (this.ctx.limits.tlsKeys) this.setUpDecryption(sh);
    }
    // A protected record, and this side's keys are known (or awaited): collect it whole.
    d.rec =
      (d.keys !== null || this.waitingFor !== null || this.appWait[dir] !== null) &&
      (d.ctype === CT_APPLICATION_DATA || d.encrypted) &&
      d.left > 0
        ? Buffer.allocUnsafe(d.left)
        : null;
    d.recHave = 0;
    const encryptedRecord =
      d.ctype === CT_APPLICATION_DATA || (d.encrypted && d.ctype === CT_HANDSHAKE);
    if (encryptedRecord) {
      if (d.ctype === CT_APPLICATION_DATA) s.firstAppDataUs[dir] ??= tsUs;
      if (dir === 0 && s.handshakeMs === null && s.clientHelloUs !== null) {
        s.handshakeMs = (tsUs - s.clientHelloUs) / 1000;
      }
    }
    // A plaintext alert is exactly 2 bytes; a protected one carries at least a MAC or AEAD tag
    // (TLS 1.3 protects alerts as type 23, so any type 21 record there is plaintext).
    d.plainAlert = d.ctype === CT_ALERT && d.left === 2 && d.rec === null;
    d.alertHave = 0;
    if (d.ctype === CT_ALERT && !d.plainAlert && d.rec === null) {
      s.alerts.push({ dir, level: 'encrypted', description: 'encrypted', tsUs });
      this.ctx.count('tls.encryptedAlerts');
    }
  }

  private alert(dir: Dir, level: number, desc: number, tsUs: number): void {
    const name = TLS_ALERT_NAMES[desc] ?? `alert_${desc}`;
    const lvl = level === 2 ? 'fatal' : 'warning';
    this.session.alerts.push({ dir, level: lvl, description: name, tsUs });
    this.ctx.count('tls.alerts');
    this.ctx.fact('tls.alert', `${dir === 0 ? 'client' : 'server'} ${lvl} ${name}`);
  }

  private handshakeBytes(
    dir: Dir,
    d: TlsDir,
    buf: Uint8Array,
    p: number,
    end: number,
    tsUs: number,
  ): void {
    while (p < end) {
      if (d.hsHdrHave < 4) {
        if (d.hsHdrHave === 0) {
          d.hsStartUs = d.recordStartUs;
          d.hsStartFrame = this.ctx.frame();
        }
        const take = Math.min(4 - d.hsHdrHave, end - p);
        d.hsHdr.set(buf.subarray(p, p + take), d.hsHdrHave);
        d.hsHdrHave += take;
        p += take;
        if (d.hsHdrHave < 4) return;
        d.hsType = d.hsHdr[0] ?? 0;
        d.hsLeft = ((d.hsHdr[1] ?? 0) << 16) | ((d.hsHdr[2] ?? 0) << 8) | (d.hsHdr[3] ?? 0);
        d.hsHave = 0;
        const hello = d.hsType === HT_CLIENT_HELLO || d.hsType === HT_SERVER_HELLO;
        if (hello && d.hsLeft > MAX_HELLO_BYTES)
          this.ctx.skip('tls.helloTooLarge', `${d.hsLeft} bytes`);
        d.hsBody = hello && d.hsLeft <= MAX_HELLO_BYTES ? new Uint8Array(d.hsLeft) : null;
        if (d.hsLeft === 0) {
          this.handshakeMessage(dir, d, tsUs);
          continue;
        }
      }
      const take = Math.min(d.hsLeft, end - p);
      if (d.hsBody !== null) d.hsBody.set(buf.subarray(p, p + take), d.hsHave);
      d.hsHave += take;
      d.hsLeft -= take;
      p += take;
      if (d.hsLeft === 0) this.handshakeMessage(dir, d, tsUs);
    }
  }

  /**
   * A key log has this session: keys for both sides (TLS 1.3 now, TLS 1.2 at each CCS). A live
   * key log is read again when the session is missing (its line may have just been written); a
   * TLS 1.2 session missing at the ServerHello is looked up again at the first ChangeCipherSpec.
   * With no key log at all yet, the lookup waits for the session's first protected record.
   */
  private setUpDecryption(sh: ServerHelloInfo): void {
    const log = this.ctx.limits.tlsKeys;
    const ch = this.session.clientHellos[this.session.clientHellos.length - 1];
    if (!ch) return;
    if (!log) {
      this.lateHello = sh;
      return;
    }
    const version = this.tls13 ? 0x0304 : sh.version;
    // missing, or only some of its secrets written yet: a live key log is read again
    const k = this.keyLogLookup(
      (keys): KeysFor =>
        sessionKeys(keys, version, sh.cipherSuite, Buffer.from(ch.random), Buffer.from(sh.random)),
      (got) => got.ok || got.missing !== true,
    );
    if (k === null || (!k.ok && k.missing === true)) {
      // not there (yet): a live key log may get the lines in a moment (one secret at a time)
      if (log.refresh && this.waitingFor === null) this.waitingFor = sh;
      else if (k === null) this.ctx.count('tls.notInKeyLog');
      else this.ctx.skip('tls.notDecrypted', k.why);
      return;
    }
    if (!k.ok) {
      this.ctx.skip('tls.notDecrypted', k.why);
      return;
    }
    this.ctx.count('tls.decryptedSessions');
    if (this.tls13) {
      this.dirs[0].keys = k.client;
      this.dirs[1].keys = k.server;
      this.appSecret = [k.clientApp, k.serverApp];
    } else {
      this.pending12 = [k.client, k.server];
      // a side whose ChangeCipherSpec went by while the keys were awaited
      for (const dir of [0, 1] as const) {
        if (this.dirs[dir].encrypted && this.dirs[dir].keys === null) {
          this.dirs[dir].keys = this.pending12[dir];
          this.pending12[dir] = null;
        }
      }
    }
  }

  /** A whole protected record arrived: decrypt it, or hold it while the keys are awaited. */
  private recordDone(dir: Dir, d: TlsDir, tsUs: number): void {
    const rec = d.rec!;
    d.rec = null;
    if (this.appWait[dir] !== null) {
      const held = this.appHeld[dir];
      held.push({ hdr: Uint8Array.from(d.hdr), rec, tsUs });
      const secret = this.trafficSecret(dir);
      if (secret !== null) this.releaseAppWait(dir, secret);
      else if (held.length > MAX_WAITING_RECORDS) {
        this.appWait[dir] = null;
        this.appHeld[dir] = [];
        this.ctx.skip('tls.notDecrypted', `the key log has no traffic secret for direction ${dir}`);
      }
      return;
    }
    if (this.waitingFor === null) {
      this.decryptRecord(dir, d, d.hdr, rec, tsUs);
      return;
    }
    this.waiting.push({
      dir,
      hdr: Uint8Array.from(d.hdr),
      rec,
      tsUs,
      startUs: d.recordStartUs,
      startFrame: d.recordStartFrame,
      endFrame: this.ctx.frame(),
    });
    this.waitingBytes += rec.length;
    this.retryWaiting();
  }

  /** The session's keys are looked up again for its held records (decrypted once they are in). */
  private retryWaiting(): void {
    const sh = this.waitingFor;
    if (sh === null) return;
    this.waitingFor = null;
    this.setUpDecryption(sh); // sets waitingFor again when still missing
    if (this.waitingFor === null) {
      const held = this.waiting;
      this.waiting = [];
      this.waitingBytes = 0;
      const d0 = this.dirs[0];
      const d1 = this.dirs[1];
      if (d0.keys || d1.keys || this.pending12[0] || this.pending12[1])
        for (const h of held) this.decryptRecord(h.dir, this.dirs[h.dir], h.hdr, h.rec, h.tsUs);
      else this.replayTimings(held); // found, but not decryptable (e.g. a CBC suite)
    } else if (
      this.waiting.length > MAX_WAITING_RECORDS ||
      this.waitingBytes > MAX_HELD_PLAINTEXT
    ) {
      this.dirs[0].rec = null;
      this.dirs[1].rec = null;
      this.giveUpWaiting();
    }
  }

  /**
   * The keys awaited for this session did not come (too many records held, or the connection
   * ended): counted as not in the key log, and the held records are timed as if never held.
   */
  private giveUpWaiting(): void {
    if (this.waitingFor === null) return;
    const held = this.waiting;
    this.waitingFor = null;
    this.waiting = [];
    this.waitingBytes = 0;
    this.ctx.count('tls.notInKeyLog');
    this.replayTimings(held);
  }

  /** Held application-data records to the request timer, in the order they came. */
  private replayTimings(held: readonly HeldRecord[]): void {
    for (const h of held) {
      if (h.hdr[0] !== CT_APPLICATION_DATA) continue;
      this.timer.record(h.dir, h.startUs, h.startFrame, h.tsUs, u16(h.hdr, 3), h.endFrame);
    }
  }

  private decryptRecord(dir: Dir, d: TlsDir, hdr: Uint8Array, rec: Buffer, tsUs: number): void {
    const keys = d.keys;
    if (keys === null) return;
    const r = keys.open(hdr, rec);
    if (r === null) {
      this.ctx.skip(
        'tls.decryptFailed',
        `direction ${dir}: a record did not authenticate with the key log's keys`,
      );
      d.keys = null;
      return;
    }
    if (r.type === CT_HANDSHAKE) {
      if (keys.tls13) this.protectedHandshake(dir, d, r.data);
    } else if (r.type === CT_APPLICATION_DATA) {
      if (r.data.length > 0) this.appData(dir, tsUs, r.data);
    } else if (r.type === CT_ALERT && r.data.length >= 2) {
      this.alert(dir, r.data[0] ?? 0, r.data[1] ?? 0, tsUs);
    }
  }

  /**
   * The connection is closing: records held for a live key log get one more look (the secrets are
   * written by now if they ever will be), the client's side first so requests precede responses.
   */
  private lastLook(): void {
    if (this.waiting.length > 0) this.retryWaiting();
    for (const dir of [0, 1] as const) {
      if (this.appWait[dir] === null) continue;
      const secret = this.trafficSecret(dir);
      if (secret !== null) this.releaseAppWait(dir, secret);
    }
  }

  /**
   * `get` applied to this session's entry in the key log (null: no entry). A live key log is read
   * again once when there is no entry or `done` says it lacks something (the client may have just
   * written its line).
   */
  private keyLogLookup<T>(get: (keys: TlsSessionKeys) => T, done: (v: T) => boolean): T | null {
    const log = this.ctx.limits.tlsKeys;
    const ch = this.session.clientHellos[this.session.clientHellos.length - 1];
    if (!log || !ch) return null;
    const random = Buffer.from(ch.random).toString('hex');
    const look = (): T | null => {
      const keys = sessionSecrets(log, random);
      return keys === undefined ? null : get(keys);
    };
    const first = look();
    if ((first !== null && done(first)) || !log.refresh) return first;
    log.refresh();
    return look();
  }

  /** This session's TLS 1.3 traffic secret for `dir` in the key log (read again if live). */
  private trafficSecret(dir: Dir): Buffer | null {
    const secret = this.keyLogLookup(
      (keys) => (dir === 0 ? keys.clientTraffic : keys.serverTraffic) ?? null,
      (v) => v !== null,
    );
    return secret ?? null;
  }

  /** A side held for its traffic secret: with the secret, its held records are decrypted. */
  private releaseAppWait(dir: Dir, secret: Buffer): void {
    const hs = this.appWait[dir]!;
    const d = this.dirs[dir];
    const held = this.appHeld[dir];
    this.appWait[dir] = null;
    this.appHeld[dir] = [];
    d.keys = appKeys(hs, secret);
    for (const h of held) this.decryptRecord(dir, d, h.hdr, h.rec, h.tsUs);
  }

  /** TLS 1.3 handshake messages under protection: Finished switches keys, KeyUpdate renews them. */
  private protectedHandshake(dir: Dir, d: TlsDir, data: Buffer): void {
    let b = d.phs === null ? data : Buffer.concat([d.phs, data]);
    d.phs = null;
    while (b.length >= 4) {
      const len = ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0);
      if (b.length < 4 + len) break;
      const type = b[0];
      b = b.subarray(4 + len);
      if (type === HT_FINISHED && d.keys !== null) {
        const secret = this.appSecret[dir] ?? this.trafficSecret(dir);
        this.appSecret[dir] = null;
        if (secret === null) {
          if (this.ctx.limits.tlsKeys?.refresh) {
            // a live key log: the client writes the traffic secrets after the server's Finished;
            // hold this side's records until they are there
            this.appWait[dir] = d.keys;
            d.keys = null;
            return;
          }
          this.ctx.skip(
            'tls.notDecrypted',
            `the key log has no traffic secret for direction ${dir}`,
          );
          d.keys = null;
          return;
        }
        d.keys = appKeys(d.keys, secret);
      } else if (type === HT_KEY_UPDATE && d.keys !== null) d.keys.update();
    }
    if (b.length > 0) {
      if (b.length > MAX_HELLO_BYTES) {
        this.ctx.skip('tls.notDecrypted', 'a protected handshake message is too large');
        d.keys = null;
        return;
      }
      d.phs = Buffer.from(b);
    }
  }

  /** Decrypted application bytes: to the HTTP parser the ALPN or the client's first bytes pick. */
  private appData(dir: Dir, tsUs: number, data: Buffer): void {
    if (this.app === null) {
      const alpn = this.session.alpn;
      const rs = TlsParser.innerRecognisers;
      let r: ProtoRecogniser | undefined;
      if (alpn === 'h2') r = rs.find((x) => x.name === 'HTTP/2');
      else if (dir === 0) r = rs.find((x) => x.recognise(0, data, 0, data.length));
      if (r === undefined) {
        if (dir === 0) {
          this.ctx.skip('tls.unknownInnerProtocol', alpn ?? 'no ALPN');
          this.dirs[0].keys = null;
          this.dirs[1].keys = null;
          this.held = [];
          return;
        }
        // the server spoke first (a banner, HTTP/2 SETTINGS without ALPN): wait for the client
        if (this.heldBytes + data.length <= MAX_HELD_PLAINTEXT) {
          this.held.push({ tsUs, data: Buffer.from(data) });
          this.heldBytes += data.length;
        }
        return;
      }
      this.app = r.create(this.ctx);
      this.ctx.count('tls.decryptedStreams');
      const held = this.held;
      this.held = [];
      if (dir === 0) this.app.data(0, tsUs, data, 0, data.length);
      for (const h of held) this.app.data(1, h.tsUs, h.data, 0, h.data.length);
      if (dir === 0) return;
    }
    this.app.data(dir, tsUs, data, 0, data.length);
  }

  private handshakeMessage(dir: Dir, d: TlsDir, tsUs: number): void {
    d.hsHdrHave = 0;
    const body = d.hsBody;
    d.hsBody = null;
    if (body === null) return;
    const s = this.session;
    if (d.hsType === HT_CLIENT_HELLO && dir === 0) {
      const ch = decodeClientHello(body, 0, body.length);
      if (ch !== null) {
        s.clientHellos.push(ch);
        s.sni ??= ch.sni;
        s.ja4 ??= ch.ja4;
      }
      if (s.clientHelloUs === null) {
        s.clientHelloUs = d.hsStartUs;
        s.clientHelloFrame = d.hsStartFrame;
      }
      this.pendingHellos.push(ch);
      if (this.serverVerdict === 'tls') this.flushHellos();
    } else if (d.hsType === HT_SERVER_HELLO && dir === 1) {
      const sh = decodeServerHello(body, 0, body.length);
      if (sh === null) {
        this.ctx.skip('tls.badServerHello', `${body.length} bytes`);
        return;
      }
      this.ctx.count(sh.helloRetryRequest ? 'tls.helloRetryRequests' : 'tls.serverHellos');
      s.serverHello = sh;
      s.version = tlsVersionName(sh.version);
      s.alpn = sh.alpn;
      this.tls13 = sh.version === 0x0304 || (sh.version & 0xff00) === 0x7f00;
      this.timer.tls13 = this.tls13;
      this.timer.maybeH2 =
        sh.alpn === 'h2' ||
        (this.tls13 && sh.alpn === null && s.clientHellos.some((c) => c.alpn.includes('h2')));
      if (!sh.helloRetryRequest) {
        this.ctx.fact('tls.version', s.version);
        if (sh.alpn !== null) this.ctx.fact('tls.alpn', sh.alpn);
        // From a TLS 1.3 ServerHello on, the server's handshake is encrypted (type 23 records).
        if (this.tls13) this.dirs[1].encrypted = true;
        this.setUpDecryption(sh);
      }
    }
    void tsUs;
  }
}

export function createTlsParser(
  ctx: ProtoContext,
  onSession: ((s: TlsSessionInfo) => void) | null = null,
): TlsParser {
  return new TlsParser(ctx, onSession);
}

/**
 * TLS: a handshake record from the client (ClientHello) or, when the client side was missed, from
 * the server (ServerHello). Needs 6 bytes to see the handshake type; 3 bytes are accepted as
 * "maybe" only when that is all there is. A capture that starts inside a session (a pooled
 * keep-alive connection opened before it) shows application-data records instead: a whole record
 * header (TLS 1.0–1.3, a length a record can have) is taken too, so its requests are timed.
 */
export const tlsRecogniser: ProtoRecogniser = {
  name: 'TLS',
  recognise(dir: Dir, buf: Uint8Array, off: number, end: number): boolean {
    const n = end - off;
    if (n >= 5 && buf[off] === CT_APPLICATION_DATA && buf[off + 1] === 3) {
      const minor = buf[off + 2] ?? 9;
      const len = u16(buf, off + 3);
      return minor >= 1 && minor <= 4 && len >= 17 && len <= MAX_RECORD;
    }
    if (n < 3 || buf[off] !== CT_HANDSHAKE || buf[off + 1] !== 3 || (buf[off + 2] ?? 9) > 4)
      return false;
    if (n < 5) return true;
    const len = u16(buf, off + 3);
    if (len < 4 || len > MAX_RECORD) return false;
    if (n < 6) return true;
    return buf[off + 5] === (dir === 0 ? HT_CLIENT_HELLO : HT_SERVER_HELLO);
  },
  create(ctx: ProtoContext): StreamParser {
    return new TlsParser(ctx);
  },
};
