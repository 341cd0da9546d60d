import { describe, expect, it } from 'vitest';
import {
  binShares,
  chiSquareHomogeneity,
  chiSquareSurvival,
  kolmogorovSurvival,
  ksTwoSample,
  psiCategorical,
  psiFromProportions,
  psiNumeric,
  quantileEdges,
} from './drift-math.ts';

/** Standard normal quantile by bisection on the CDF (erf from Abramowitz-Stegun 7.1.26 is too coarse). */
function normalCdf(x: number): number {
  // Simpson integration of the density from 0: plenty accurate for a test.
  const steps = 200;
  const h = Math.abs(x) / steps;
  let sum = 0;
  for (let i = 0; i <= steps; i++) {
    const t = i * h;
    const w = i === 0 || i === steps ? 1 : i % 2 ? 4 : 2;
    sum += w * Math.exp(-(t * t) / 2);
  }
  const half = ((h / 3) * sum) / Math.sqrt(2 * Math.PI);
  return x >= 0 ? 0.5 + half : 0.5 - half;
}
function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 45; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
/** n points spread exactly like N(mu, 1): the quantiles at (i + 0.5) / n. */
function normalSample(n: number, mu = 0): number[] {
  return Array.from({ length: n }, (_, i) => mu + normalQuantile((i + 0.5) / n));
}

describe('population stability index', () => {
  it('matches a hand computation on given bins', () => {
    // (0.1-0.25)ln(0.4) + (0.2-0.25)ln(0.8) + (0.3-0.25)ln(1.2) + (0.4-0.25)ln(1.6)
    expect(psiFromProportions([0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4])).toBeCloseTo(0.228218, 5);
    expect(psiFromProportions([0.5, 0.5], [0.5, 0.5])).toBe(0);
  });

  it('gives the closed-form value for N(0,1) against N(0.5,1) on the reference deciles', () => {
    // sum_k (a_k - 0.1) ln(a_k / 0.1), a_k = Phi(z_k - 0.5) - Phi(z_{k-1} - 0.5), z_k the deciles of N(0,1):
    // 0.23775 (scipy). With bins fine enough it tends to the J-divergence mu^2 = 0.25.
    const reference = normalSample(4000);
    const shifted = normalSample(4000, 0.5);
    expect(psiNumeric(reference, shifted)).toBeCloseTo(0.23775, 2);
    expect(psiNumeric(reference, shifted, 100)).toBeGreaterThan(0.245);
    expect(psiNumeric(reference, normalSample(4000))).toBeLessThan(1e-6);
    // A shift of 0.2 sd stays below the 0.1 warning; 0.5 sd is above the 0.2 alarm.
    expect(psiNumeric(reference, normalSample(4000, 0.2))).toBeLessThan(0.1);
  });

  it('bins many equal values (counts of zero) without empty reference bins', () => {
    const reference = [0, 0, 0, 0, 0, 0, 1, 1, 2, 5];
    const edges = quantileEdges(reference);
    expect(new Set(edges).size).toBe(edges.length);
    expect(binShares(reference, edges).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });

  it('compares categories, including ones only one side has', () => {
    expect(psiCategorical({ a: 50, b: 50 }, { a: 50, b: 50 })).toBe(0);
    // (0.8-0.5)ln(1.6) + (0.2-0.5)ln(0.4) = 0.3 ln(1.6) + 0.3 ln(2.5)
    expect(psiCategorical({ a: 5, b: 5 }, { a: 8, b: 2 })).toBeCloseTo(0.415888, 5);
    expect(psiCategorical({ a: 10 }, { a: 5, b: 5 })).toBeGreaterThan(1);
  });
});

describe('two-sample Kolmogorov-Smirnov', () => {
  it('has the known critical values of the Kolmogorov distribution', () => {
    expect(kolmogorovSurvival(1.3581)).toBeCloseTo(0.05, 4);
    expect(kolmogorovSurvival(1.6276)).toBeCloseTo(0.01, 4);
    expect(kolmogorovSurvival(0.1)).toBe(1);
  });

  it('computes D and the p-value on a hand-checked pair of samples', () => {
    const x = [0.1, 0.4, 0.7, 1.2, 1.9, 2.5, 3.1, 3.3, 4.0, 5.2];
    const y = [1.5, 2.2, 2.9, 3.6, 4.4, 5.1, 5.5, 6.3];
    const result = ksTwoSample(x, y);
    // D = 0.425 (scipy.stats.ks_2samp); p from lambda = (sqrt(ne) + 0.12 + 0.11/sqrt(ne)) D = 0.96915,
    // scipy.stats.kstwobign.sf(0.96915) = 0.30454.
    expect(result.statistic).toBeCloseTo(0.425, 10);
    expect(result.pValue).toBeCloseTo(0.30454, 4);
    expect(ksTwoSample([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).statistic).toBe(1);
  });

  it('finds a shift of half a standard deviation in large samples, and nothing between equal ones', () => {
    expect(ksTwoSample(normalSample(2000), normalSample(2000, 0.5)).pValue).toBeLessThan(1e-10);
    expect(ksTwoSample(normalSample(2000), normalSample(1500)).pValue).toBeGreaterThan(0.99);
  });
});

describe('chi-square', () => {
  it('has the known 5 % critical values', () => {
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 8);
    expect(chiSquareSurvival(5.991464547107979, 2)).toBeCloseTo(0.05, 8);
    expect(chiSquareSurvival(18.307038053275146, 10)).toBeCloseTo(0.05, 8);
  });

  it('tests two categorical samples for homogeneity like scipy.stats.chi2_contingency', () => {
    const result = chiSquareHomogeneity({ a: 30, b: 50, c: 20 }, { a: 20, b: 40, c: 40 });
    expect(result.statistic).toBeCloseTo(9.777778, 5);
    expect(result.df).toBe(2);
    expect(result.pValue).toBeCloseTo(0.0075298, 6);
  });
});
