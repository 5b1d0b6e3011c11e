// Live UDP source: one node:dgram socket bound to an address and port (default 127.0.0.1), with a
// large kernel receive buffer, handing every datagram with its source address and receive time to
// a callback. The only network reader for flows (`mlscope flows --listen`). Counts datagrams and
// bytes; on Linux it can also read the kernel's drop counter for the socket (/proc/net/udp[6]),
// which is where loss shows when the process falls behind.

import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';

/** Asked for by default; Linux caps it at net.core.rmem_max (the effective size is reported). */
export const DEFAULT_RECV_BUFFER_BYTES = 32 << 20;

export interface UdpSourceOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 = any free port (read it back from `port`). */
  port: number;
  /** SO_RCVBUF asked for, in bytes (default 32 MiB). */
  recvBufferSize?: number;
}

export interface UdpDatagramInfo {
  /** Source address of the datagram (the exporter). */
  address: string;
  port: number;
  /** Receive time, UTC µs. */
  tsUs: number;
}

export type UdpDatagramHandler = (buf: Buffer, info: UdpDatagramInfo) => void;

function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export class UdpSource {
  datagrams = 0;
  bytes = 0;
  /** Errors reported by the socket after it was bound (the socket stays open). */
  errors = 0;
  private readonly socket: Socket;
  private closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Bind and start delivering datagrams to `onDatagram`. Rejects if the address cannot be bound. */
  static listen(opts: UdpSourceOptions, onDatagram: UdpDatagramHandler): Promise<UdpSource> {
    const host = opts.host ?? '127.0.0.1';
    const socket = createSocket({
      type: isIPv6(host) ? 'udp6' : 'udp4',
      recvBufferSize: opts.recvBufferSize ?? DEFAULT_RECV_BUFFER_BYTES,
    });
    const src = new UdpSource(socket);
    socket.on('message', (buf, rinfo) => {
      src.datagrams++;
      src.bytes += buf.length;
      onDatagram(buf, { address: rinfo.address, port: rinfo.port, tsUs: nowUs() });
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(opts.port, host, () => {
        socket.removeListener('error', onError);
        socket.on('error', () => src.errors++);
        resolve(src);
      });
    });
  }

  get address(): string {
    return this.socket.address().address;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** The kernel receive buffer in effect (Linux reports twice the value set, as it stores it). */
  get recvBufferSize(): number {
    return this.socket.getRecvBufferSize();
  }

  /** Datagrams the kernel dropped for this socket (buffer full), or null where it cannot be read. */
  kernelDrops(): number | null {
    return this.closed ? null : readSocketDrops(this.address, this.port);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * The `drops` column of /proc/net/udp (or udp6) for the socket bound to host:port, or null (not
 * Linux, not found). Addresses there are hex in host byte order; only the port is matched, plus
 * the address for IPv4.
 */
export function readSocketDrops(host: string, port: number): number | null {
  const cols = procUdpColumns(host, port);
  if (cols === null) return null;
  const drops = Number(cols[cols.length - 1]);
  return Number.isFinite(drops) ? drops : null;
}

/**
 * Bytes waiting in the receive queue of the UDP socket bound to host:port (the `rx_queue` of
 * /proc/net/udp), or null (not found, not Linux): 0 once its owner has read every datagram.
 */
export function readSocketRxQueue(host: string, port: number): number | null {
  const cols = procUdpColumns(host, port);
  const q = cols?.[4]?.split(':')[1];
  if (q === undefined) return null;
  const n = parseInt(q, 16);
  return Number.isFinite(n) ? n : null;
}

/** The /proc/net/udp{,6} row of the socket bound to host:port, split into columns, or null. */
function procUdpColumns(host: string, port: number): string[] | null {
  const v6 = isIPv6(host);
  let text: string;
  try {
    text = readFileSync(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'latin1');
  } catch {
    return null;
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let addrHex: string | null = null;
  if (!v6) {
    const parts = host.split('.').map(Number);
    if (parts.length === 4)
      addrHex = parts
        .reverse()
        .map((n) => n.toString(16).toUpperCase().padStart(2, '0'))
        .join('');
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    const [addr, p] = cols[1]!.split(':');
    if (p !== portHex) continue;
    if (addrHex !== null && addr !== addrHex && addr !== '00000000') continue;
    return cols;
  }
  return null;
}
