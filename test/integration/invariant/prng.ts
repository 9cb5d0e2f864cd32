/** A tiny seeded PRNG (mulberry32) so a failing operation sequence can be replayed from its seed. */
export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [ceil(lo), floor(hi)] (both inclusive). */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** Picks a key by relative weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K;
}

export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (lo: number, hi: number): number => {
    const a = Math.ceil(lo);
    const b = Math.max(a, Math.floor(hi));
    return a + Math.floor(next() * (b - a + 1));
  };
  return {
    seed,
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(0, items.length - 1)]!;
    },
    chance: (p) => next() < p,
    weighted: (weights) => {
      const entries = Object.entries(weights) as [keyof typeof weights, number][];
      const total = entries.reduce((s, [, w]) => s + w, 0);
      let r = next() * total;
      for (const [k, w] of entries) {
        r -= w;
        if (r < 0) return k;
      }
      return entries[entries.length - 1]![0];
    },
  };
}

/**
 * Seeds to run: INVARIANT_SEEDS="17,42" replays exact seeds; otherwise the fixed defaults plus
 * one fresh seed per run (printed with any failure, so it can be replayed).
 */
export function seedsToRun(defaults: readonly number[]): number[] {
  const fromEnv = process.env.INVARIANT_SEEDS?.split(',').map((s) => Number.parseInt(s.trim(), 10)).filter((n) => Number.isFinite(n));
  if (fromEnv?.length) return fromEnv;
  return [...defaults, Math.floor(Math.random() * 2 ** 31)];
}
