// A seeded pseudo-random generator (xorshift32) for generated test and bench data: the same seed
// gives the same data on every machine, so a failure can be reproduced from its seed.

/** Returns a function giving numbers in [0, 1). A zero seed is taken as 1. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}
