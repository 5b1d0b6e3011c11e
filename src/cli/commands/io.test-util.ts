// Test helper: a Writable that collects what a command writes.

import { Writable } from 'node:stream';

export function sink(): { w: Writable; text: () => string } {
  const parts: string[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      parts.push(c.toString());
      cb();
    },
  });
  return { w, text: () => parts.join('') };
}
