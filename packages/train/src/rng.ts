/**
 * Counter-based pseudo-random numbers for the trainer: every random draw is a pure function of
 * (seed, stream, counters...), so the data order, crops and flips of step k are the same whether the run
 * started at step 0 or resumed at step k (no stateful generator to save). The mixer is the MurmurHash3
 * 32-bit finaliser applied to each key word in turn (a "hash as PRNG" in the spirit of Salmon et al. 2011,
 * "Parallel random numbers: as easy as 1, 2, 3").
 */

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of the given integer keys (each taken modulo 2^32; larger values are split into two words). */
export function hash32(...keys: number[]): number {
  let h = 0x2545f491;
  for (const key of keys) {
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) >>> 0;
    h = fmix(Math.imul(h ^ lo, 0x9e3779b1) + 0x6a09e667);
    if (hi !== 0) h = fmix(Math.imul(h ^ hi, 0x9e3779b1) + 0x3c6ef372);
  }
  return h;
}

/** Uniform in [0, 1), 32 bits of resolution, from the keys. */
export function uniform(...keys: number[]): number {
  return hash32(...keys) / 4294967296;
}

/** Integer uniform in [0, n). */
export function randInt(n: number, ...keys: number[]): number {
  return Math.floor(uniform(...keys) * n);
}

/** Named streams, so draws for different purposes never collide. */
export const STREAM = {
  permutation: 1,
  crop: 2,
  flip: 3,
  scale: 4,
  substitute: 5,
  holdout: 6,
  jitter: 7,
  stability: 8,
} as const;

/** A permutation of 0..n-1 (Fisher–Yates) fully determined by (seed, stream, epoch). */
export function permutation(n: number, seed: number, stream: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(i + 1, seed, stream, epoch, i);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
