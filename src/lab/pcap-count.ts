// Count the records of a classic pcap file by walking its record headers (no payload decoding).
// Layout: 24-byte global header (magic a1b2c3d4 / a1b23c4d, either byte order), then per record a
// 16-byte header: ts_sec(4) ts_frac(4) incl_len(4) orig_len(4), then incl_len bytes.

import { open } from 'node:fs/promises';
import { LabError } from './errors.js';

export async function countPcapRecords(
  path: string,
): Promise<{ packets: number; wireBytes: number }> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(24);
    if ((await fh.read(head, 0, 24, 0)).bytesRead < 24)
      throw new LabError('E_LAB_RUN', `${path}: shorter than a pcap header`);
    const magic = head.readUInt32LE(0);
    let le: boolean;
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
    else throw new LabError('E_LAB_RUN', `${path}: not a pcap file`);
    const chunk = Buffer.alloc(1 << 20);
    let pos = 24;
    let packets = 0;
    let wireBytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead < 16) break;
      let off = 0;
      while (off + 16 <= bytesRead) {
        const incl = le ? chunk.readUInt32LE(off + 8) : chunk.readUInt32BE(off + 8);
        const orig = le ? chunk.readUInt32LE(off + 12) : chunk.readUInt32BE(off + 12);
        if (off + 16 + incl > bytesRead) break;
        packets++;
        wireBytes += orig;
        off += 16 + incl;
      }
      if (off === 0) break; // a truncated last record
      pos += off;
    }
    return { packets, wireBytes };
  } finally {
    await fh.close();
  }
}
