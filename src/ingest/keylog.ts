// TLS key logs (SSLKEYLOGFILE): read from a file named with --tls-keylog, or found among an
// investigation bundle's files by content. Bounded: a key log is a few hundred bytes per session.

import { readChunks, type InputRef } from '../sources/files.js';
import { ErrorCode, InputError } from '../util/errors.js';
import { parseKeyLog, type TlsKeyLog } from '../decoders/proto/tls-decrypt.js';

/** Largest key log read (≈ 300k TLS 1.3 sessions). */
export const MAX_KEYLOG_BYTES = 128 << 20;

export async function readKeyLog(ref: InputRef): Promise<TlsKeyLog> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of readChunks(ref)) {
    size += c.length;
    if (size > MAX_KEYLOG_BYTES)
      throw new InputError(
        ErrorCode.LIMIT,
        ref.name,
        `key log larger than ${MAX_KEYLOG_BYTES} bytes`,
      );
    parts.push(Buffer.from(c));
  }
  const log = parseKeyLog(Buffer.concat(parts).toString('latin1'));
  if (log.used === 0)
    throw new InputError(
      ErrorCode.INPUT_FORMAT,
      ref.name,
      'not a TLS key log (NSS format: CLIENT_RANDOM / *_TRAFFIC_SECRET lines, as SSLKEYLOGFILE writes)',
    );
  return log;
}

/** Several key logs as one (later files add sessions and fill in secrets). */
export function mergeKeyLogs(logs: readonly TlsKeyLog[]): TlsKeyLog | null {
  if (logs.length === 0) return null;
  if (logs.length === 1) return logs[0]!;
  const out: TlsKeyLog = { sessions: new Map(), lines: 0, used: 0, rejected: 0 };
  for (const l of logs) {
    out.lines += l.lines;
    out.used += l.used;
    out.rejected += l.rejected;
    for (const [k, v] of l.sessions) out.sessions.set(k, { ...out.sessions.get(k), ...v });
  }
  return out;
}

/** `--tls-keylog FILE` of a capture command: the parsed key log, or null when not given. */
export async function keyLogFlag(path: string | undefined): Promise<TlsKeyLog | null> {
  if (path === undefined) return null;
  return readKeyLog({ name: path, path: path === '-' ? null : path });
}
