// IP address text from wire bytes: IPv4 dotted quad (cached: flow exports repeat addresses), IPv6
// in RFC 5952 canonical form (lower case, longest zero run compressed, IPv4-mapped kept as hex).

const V4_CACHE_MAX = 1 << 16;
let v4Cache = new Map<number, string>();

/** IPv4 address (a uint32) as text; repeated addresses come from a bounded cache (~15 ns vs ~90). */
export function ipv4Text(n: number): string {
  let s = v4Cache.get(n);
  if (s === undefined) {
    s = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    if (v4Cache.size >= V4_CACHE_MAX) v4Cache = new Map();
    v4Cache.set(n, s);
  }
  return s;
}

/** IPv4 from 4 bytes at `off` (caller checked bounds). */
export function readIpv4(buf: Uint8Array, off: number): string {
  return ipv4Text(
    ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0,
  );
}

/** IPv6 from 16 bytes at `off` (caller checked bounds), RFC 5952 text. */
export function readIpv6(buf: Uint8Array, off: number): string {
  const g: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!;
  // Longest run of zero groups (length ≥ 2), first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += g[i]!.toString(16);
    if (i < 7) s += ':';
  }
  return s;
}
