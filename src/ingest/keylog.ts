// TLS key logs (SSLKEYLOGFILE): read from a file named with --tls-keylog, or found among an
// investigation bundle's files by content. Bounded: a key log is a few hundred bytes per session.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readChunks, type InputRef } from '../sources/files.js';
import { ErrorCode, InputError } from '../util/errors.js';
import {
  addKeyLogText,
  MAX_KEYLOG_BYTES,
  parseKeyLog,
  type TlsKeyLog,
} from '../decoders/proto/tls-decrypt.js';

export { MAX_KEYLOG_BYTES };

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

/**
 * A key log that is still being written (`serve --capture --tls-keylog`): read now, and read
 * again from where it stopped whenever a session is looked up and missing (TlsKeyLog.refresh —
 * one fstat when nothing was added). A file that shrank (truncated, replaced) is read from the
 * start; sessions already read are kept. Reads stop at MAX_KEYLOG_BYTES in all.
 */
export function followKeyLog(path: string): { log: TlsKeyLog; close: () => void } {
  const log: TlsKeyLog = { sessions: new Map(), lines: 0, used: 0, rejected: 0 };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new InputError(ErrorCode.INPUT_UNREADABLE, path, (err as Error).message);
  }
  let offset = 0;
  let total = 0;
  let rest = '';
  const buf = Buffer.allocUnsafe(1 << 16);
  log.refresh = (): void => {
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch {
      return;
    }
    if (size < offset) {
      offset = 0;
      rest = '';
    }
    while (offset < size && total < MAX_KEYLOG_BYTES) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
      if (n <= 0) break;
      offset += n;
      total += n;
      const text = rest + buf.toString('latin1', 0, n);
      const cut = text.lastIndexOf('\n');
      // a line being written is kept until its end arrives (bounded: a key log line is short)
      rest = cut < 0 ? text : text.slice(cut + 1);
      if (rest.length > 4096) rest = '';
      if (cut >= 0) addKeyLogText(log, text.slice(0, cut));
    }
  };
  log.refresh();
  let closed = false;
  return {
    log,
    close: () => {
      if (closed) return;
      closed = true;
      delete log.refresh;
      closeSync(fd);
    },
  };
}
