// Seeded draws use @llm-recipes/bench's createRng (mulberry32, one implementation for the repo); this file mixes seeds.

/** FNV-1a over 32-bit integers; mixes a seed with request content into a new seed. */
export function mixSeed(seed: number, values: ArrayLike<number>): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < values.length; i++) {
    h = Math.imul(h ^ (values[i]! & 0xffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ (values[i]! >>> 16), 0x01000193) >>> 0;
  }
  return h;
}
