// A small seeded PRNG (xoshiro128**, seeded through splitmix32) with the distributions the simulator needs.
// Pure and deterministic: the same seed gives the same sequence on every machine. Math.random is never used.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(min: number, max: number): number;
  /** Whole number in [min, max], both included. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  normal(mean?: number, sd?: number): number;
  /** exp(N(log(median), sigma)): positive, right-skewed; the median is `median`. */
  lognormal(median: number, sigma: number): number;
  exponential(mean: number): number;
  poisson(lambda: number): number;
  pick<T>(items: readonly T[]): T;
  weighted<T>(items: readonly T[], weights: readonly number[]): T;
  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[];
  /** An independent stream derived from this one's seed and a label; drawing from it does not move this one. */
  fork(...label: (string | number)[]): Random;
}

export function createRandom(seed: number | string): Random {
  const base = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  return new Xoshiro128(base);
}

class Xoshiro128 implements Random {
  readonly #seed: number;
  readonly #s = new Uint32Array(4);
  #spareNormal: number | undefined;

  constructor(seed: number) {
    this.#seed = seed >>> 0;
    let state = this.#seed;
    for (let i = 0; i < 4; i++) {
      state = (state + 0x9e3779b9) >>> 0;
      this.#s[i] = splitmix32(state);
    }
    // An all-zero state would stay zero forever.
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  next(): number {
    const s = this.#s;
    let [s0, s1, s2, s3] = [s[0]!, s[1]!, s[2]!, s[3]!];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result / 4294967296;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  normal(mean = 0, sd = 1): number {
    if (this.#spareNormal !== undefined) {
      const spare = this.#spareNormal;
      this.#spareNormal = undefined;
      return mean + sd * spare;
    }
    // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
    const u = 1 - this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = radius * Math.sin(2 * Math.PI * v);
    return mean + sd * radius * Math.cos(2 * Math.PI * v);
  }

  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 50) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    // Knuth's method: fine for the small rates used here.
    const limit = Math.exp(-lambda);
    let k = 0;
    let product = this.next();
    while (product > limit) {
      k++;
      product *= this.next();
    }
    return k;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick() from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    if (items.length === 0 || items.length !== weights.length) {
      throw new Error('weighted() needs as many weights as items, and at least one item');
    }
    const total = weights.reduce((sum, w) => sum + Math.max(0, w), 0);
    let target = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      target -= Math.max(0, weights[i]!);
      if (target < 0) return items[i]!;
    }
    return items[items.length - 1]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  fork(...label: (string | number)[]): Random {
    return new Xoshiro128(hashString(`${this.#seed}/${label.join('/')}`));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function splitmix32(input: number): number {
  let z = input >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a, then mixed: a stable 32-bit seed from any text. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return splitmix32(hash >>> 0);
}

/** The logistic function, used wherever a probability comes from a linear score. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
