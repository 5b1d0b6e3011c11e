// node:crypto, loaded on first use: importing it costs ≈3 ms of start-up (about twenty internal
// modules) that a capture without TLS or QUIC never needs.

import { createRequire } from 'node:module';
import type * as NodeCrypto from 'node:crypto';

let loaded: typeof NodeCrypto | null = null;

export function nodeCrypto(): typeof NodeCrypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as typeof NodeCrypto);
}
