/** Small seeded PRNG (mulberry32): deterministic runs for a given `seed`, no global state. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over 32-bit integers; mixes a seed with request content into a new seed. */
export function mixSeed(seed: number, values: ArrayLike<number>): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < values.length; i++) {
    h = Math.imul(h ^ (values[i]! & 0xffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ (values[i]! >>> 16), 0x01000193) >>> 0;
  }
  return h;
}
