// Lift of treatment over holdout, with confidence intervals. Pure.
// - Proportions (conversion to SQL, to opportunity): the difference with Newcombe's hybrid score interval
//   (method 10 of Newcombe 1998, built from the two Wilson intervals); good coverage even for small counts
//   and rates near 0 or 1, where the Wald interval fails.
// - Durations (cycle time): the difference of medians with a percentile bootstrap interval (seeded, so the
//   same data gives the same interval); cycle times are skewed, and a median is what people quote.

import { seededRandom } from '../models/ml/random.ts';

export const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** Wilson score interval for a proportion x/n. */
export function wilson(x: number, n: number, z = Z95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const p = x / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denominator = 1 + z2 / n;
  return {
    low: Math.max(0, (centre - spread) / denominator),
    high: Math.min(1, (centre + spread) / denominator),
  };
}

export interface ProportionLift {
  treatment: { n: number; x: number; rate: number | null };
  holdout: { n: number; x: number; rate: number | null };
  /** Treatment rate minus holdout rate (absolute, in proportion points). */
  difference: number | null;
  interval: Interval | null;
  /** Treatment rate / holdout rate - 1. */
  relative: number | null;
  method: 'newcombe-wilson';
}

/** Difference of two proportions p1 - p2 with Newcombe's hybrid score interval. */
export function proportionLift(x1: number, n1: number, x2: number, n2: number, z = Z95): ProportionLift {
  const p1 = n1 ? x1 / n1 : null;
  const p2 = n2 ? x2 / n2 : null;
  const base = {
    treatment: { n: n1, x: x1, rate: p1 },
    holdout: { n: n2, x: x2, rate: p2 },
    method: 'newcombe-wilson' as const,
  };
  if (p1 === null || p2 === null) return { ...base, difference: null, interval: null, relative: null };
  const w1 = wilson(x1, n1, z);
  const w2 = wilson(x2, n2, z);
  const d = p1 - p2;
  const low = d - Math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2);
  const high = d + Math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2);
  return { ...base, difference: d, interval: { low, high }, relative: p2 > 0 ? p1 / p2 - 1 : null };
}

export interface MedianDifference {
  treatment: { n: number; median: number | null };
  holdout: { n: number; median: number | null };
  /** Treatment median minus holdout median (negative: treatment is faster). */
  difference: number | null;
  interval: Interval | null;
  method: 'bootstrap-percentile';
  resamples: number;
}

/** Difference of medians with a percentile bootstrap interval (deterministic for a given seed). */
export function medianDifference(
  treatment: readonly number[],
  holdout: readonly number[],
  options: { resamples?: number; seed?: number; level?: number } = {},
): MedianDifference {
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const base = {
    treatment: { n: treatment.length, median: median(treatment) },
    holdout: { n: holdout.length, median: median(holdout) },
    method: 'bootstrap-percentile' as const,
    resamples,
  };
  if (treatment.length < 2 || holdout.length < 2) return { ...base, difference: null, interval: null };
  const random = seededRandom(options.seed ?? 1);
  const diffs = new Float64Array(resamples);
  const a = new Float64Array(treatment.length);
  const b = new Float64Array(holdout.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < a.length; i++) a[i] = treatment[Math.floor(random() * treatment.length)]!;
    for (let i = 0; i < b.length; i++) b[i] = holdout[Math.floor(random() * holdout.length)]!;
    diffs[r] = medianOfTyped(a) - medianOfTyped(b);
  }
  diffs.sort();
  const tail = (1 - level) / 2;
  const at = (q: number) => diffs[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return {
    ...base,
    difference: base.treatment.median! - base.holdout.median!,
    interval: { low: at(tail), high: at(1 - tail) },
  };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return medianOfTyped(Float64Array.from(values));
}

/** Sorts `values` in place (callers pass a copy or a scratch buffer: no second copy per bootstrap resample). */
function medianOfTyped(values: Float64Array): number {
  const sorted = values.sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
