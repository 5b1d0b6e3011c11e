// Container runtime log wrappers. The payload line is handed back to be parsed by its own format.
//  - Docker json-file: `{"log":"<line>\n","stream":"stdout","time":"2019-04-01T17:58:33.5986Z"}`;
//    a `log` without the trailing `\n` is a piece of a line Docker split (16 KiB) → re-joined.
//  - CRI (containerd, CRI-O, /var/log/pods): `<RFC3339Nano> <stdout|stderr> <P|F> <line>`;
//    `P` = partial, the next pieces up to the `F` one complete the line.

import type { TimeOpts } from './time.js';
import { readIso, tsEnd } from './time.js';

export interface Unwrapped {
  text: string;
  tsUs: number | null;
  stream: string | null;
  /** The line continues in the next wrapper record. */
  partial: boolean;
}

export function isDockerLine(s: string): boolean {
  return s.startsWith('{"log":');
}

/** Returns null when the line is not a Docker json-file record. */
export function unwrapDocker(s: string, o: TimeOpts): Unwrapped | null {
  if (!isDockerLine(s)) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch {
    return null;
  }
  if (obj === null || typeof obj !== 'object') return null;
  const rec = obj as Record<string, unknown>;
  const log = rec['log'];
  if (typeof log !== 'string') return null;
  const time = rec['time'];
  const stream = rec['stream'];
  let tsUs: number | null = null;
  if (typeof time === 'string') {
    const t = readIso(time, 0, o);
    if (!Number.isNaN(t)) tsUs = t;
  }
  const partial = !log.endsWith('\n');
  let text = partial ? log : log.slice(0, -1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return { text, tsUs, stream: typeof stream === 'string' ? stream : null, partial };
}

export function isCriLine(s: string): boolean {
  const c = s.charCodeAt(0);
  if (c < 48 || c > 57 || s.charCodeAt(4) !== 45 || s.charCodeAt(10) !== 84) return false;
  const sp = s.indexOf(' ');
  if (sp < 20 || sp > 40) return false;
  return (
    (s.startsWith(' stdout ', sp) || s.startsWith(' stderr ', sp)) &&
    (s.charCodeAt(sp + 8) === 70 || s.charCodeAt(sp + 8) === 80) &&
    (s.length === sp + 9 || s.charCodeAt(sp + 9) === 32)
  );
}

export function unwrapCri(s: string, o: TimeOpts): Unwrapped | null {
  if (!isCriLine(s)) return null;
  const t = readIso(s, 0, o);
  const sp = s.indexOf(' ');
  const tsUs = !Number.isNaN(t) && tsEnd === sp ? t : null;
  return {
    text: s.slice(sp + 10),
    tsUs,
    stream: s.slice(sp + 1, sp + 7),
    partial: s.charCodeAt(sp + 8) === 80,
  };
}
