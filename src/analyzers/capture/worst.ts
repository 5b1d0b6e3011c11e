// "Worst offenders" among TCP connections: a score weighting retransmissions and RTO stalls most,
// then duplicate ACKs, zero windows, resets and SYN retries; and the row shown for each.

import type { Connection } from '../../model/records.js';

/** A score for "worst offenders": retransmissions and stalls weigh most. */
export function badness(c: Connection): number {
  const r = c.retransmissions[0] + c.retransmissions[1];
  return (
    r * 10 +
    c.maxRtoStallMs / 10 +
    (c.duplicateAcks[0] + c.duplicateAcks[1]) +
    (c.zeroWindows[0] + c.zeroWindows[1]) * 5 +
    (c.resets[0] + c.resets[1]) * 3 +
    (c.synCount > 1 ? 20 * (c.synCount - 1) : 0)
  );
}

export interface WorstConnection {
  id: number;
  client: string;
  server: string;
  packets: number;
  retransmissions: number;
  duplicateAcks: number;
  zeroWindows: number;
  resets: number;
  synRetries: number;
  maxRtoStallMs: number;
  handshakeRttMs: number | null;
  appProtocol: string | null;
  retransmissionFrames: number[];
}

export function toWorst(c: Connection): WorstConnection {
  return {
    id: c.id,
    client: `${c.client.ip}:${c.client.port}`,
    server: `${c.server.ip}:${c.server.port}`,
    packets: c.packets[0] + c.packets[1],
    retransmissions: c.retransmissions[0] + c.retransmissions[1],
    duplicateAcks: c.duplicateAcks[0] + c.duplicateAcks[1],
    zeroWindows: c.zeroWindows[0] + c.zeroWindows[1],
    resets: c.resets[0] + c.resets[1],
    synRetries: Math.max(0, c.synCount - 1),
    maxRtoStallMs: Math.round(c.maxRtoStallMs * 1000) / 1000,
    handshakeRttMs: c.handshakeRttMs === null ? null : Math.round(c.handshakeRttMs * 1000) / 1000,
    appProtocol: c.appProtocol,
    retransmissionFrames: c.retransmissionFrames.slice(0, 8),
  };
}
