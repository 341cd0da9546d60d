import { describe, expect, it } from 'vitest';
import { benjaminiHochberg, kaplanMeierMedian, logRank, normalCdf, twoProportion } from './stats.ts';

describe('bottleneck statistics', () => {
  it('normal CDF at known points', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 5);
    expect(normalCdf(3)).toBeCloseTo(0.99865, 5);
  });

  it('Kaplan-Meier median counts censored items as at risk', () => {
    expect(kaplanMeierMedian([1, 2, 3, 4, 5].map((time) => ({ time, event: true })))).toBe(3);
    // Two censored early leave the risk set without exiting: S(2) = 3/4, S(3) = 1/2.
    const items = [
      { time: 1, event: false },
      { time: 1.5, event: false },
      { time: 2, event: true },
      { time: 3, event: true },
      { time: 4, event: true },
      { time: 5, event: true },
    ];
    expect(kaplanMeierMedian(items)).toBe(3);
    expect(kaplanMeierMedian([{ time: 1, event: false }])).toBeNull();
  });

  it('log-rank: identical groups give z = 0, a slower group a negative z and a hazard ratio below 1', () => {
    const fast = Array.from({ length: 40 }, (_, i) => ({ time: 1 + (i % 10), event: true }));
    expect(logRank(fast, fast).z).toBeCloseTo(0, 10);
    const slow = fast.map((s) => ({ ...s, time: s.time * 3 }));
    const test = logRank(slow, fast);
    expect(test.z).toBeLessThan(-3);
    expect(test.hazardRatio).toBeLessThan(0.6);
  });

  it('two proportions and Benjamini-Hochberg', () => {
    expect(twoProportion(30, 100, 50, 100).z).toBeCloseTo(-2.89, 2);
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.5]);
    expect(q.map((v) => Math.round(v * 1000) / 1000)).toEqual([0.04, 0.053, 0.053, 0.5]);
  });
});
