import { describe, expect, it } from 'vitest';
import { assignArm, assignmentPoint } from './assign-arm.ts';
import { seededRandom } from '../models/ml/random.ts';
import { medianDifference, proportionLift, wilson } from './lift.ts';

describe('intervals for proportions', () => {
  it('Wilson matches Newcombe (1998) for 81/263', () => {
    const w = wilson(81, 263);
    expect(w.low).toBeCloseTo(0.2553, 4);
    expect(w.high).toBeCloseTo(0.3662, 4);
  });

  it("Newcombe's hybrid score interval for 56/70 - 48/80 is 0.0524 to 0.3339 (Newcombe 1998, example a)", () => {
    const lift = proportionLift(56, 70, 48, 80);
    expect(lift.difference).toBeCloseTo(0.2, 10);
    expect(lift.interval!.low).toBeCloseTo(0.0524, 4);
    expect(lift.interval!.high).toBeCloseTo(0.3339, 4);
    expect(lift.relative).toBeCloseTo(0.8 / 0.6 - 1, 10);
  });

  it('stays inside [-1, 1] at the extremes and says nothing without data', () => {
    const lift = proportionLift(10, 10, 0, 10);
    expect(lift.interval!.high).toBeLessThanOrEqual(1);
    expect(lift.interval!.low).toBeGreaterThan(0);
    expect(proportionLift(0, 0, 3, 10).interval).toBeNull();
  });
});

describe('difference of medians', () => {
  it('covers the true difference about 95 % of the time, and is reproducible', () => {
    const random = seededRandom(9);
    // Exponential cycle times (mean 10 days), the treatment 3 days shorter: the true difference is -3.
    const sample = (n: number, shift: number) =>
      Array.from({ length: n }, () => shift - 10 * Math.log(1 - random()));
    let covered = 0;
    const trials = 40;
    for (let t = 0; t < trials; t++) {
      const result = medianDifference(sample(300, -3), sample(300, 0), { seed: t, resamples: 400 });
      if (result.interval!.low <= -3 && result.interval!.high >= -3) covered++;
    }
    expect(covered / trials).toBeGreaterThanOrEqual(0.85);
    const a = sample(50, 0);
    const b = sample(50, 1);
    expect(medianDifference(a, b, { seed: 3 })).toEqual(medianDifference(a, b, { seed: 3 }));
  });
});

describe('holdout assignment', () => {
  it('is stable and close to the share', () => {
    const ids = Array.from(
      { length: 20_000 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const arms = ids.map((id) => assignArm('salt-1', id, 0.2));
    expect(ids.map((id) => assignArm('salt-1', id, 0.2))).toEqual(arms);
    const share = arms.filter((a) => a === 'holdout').length / ids.length;
    expect(Math.abs(share - 0.2)).toBeLessThan(0.01);
    // A different salt gives an independent split.
    const other = ids.map((id) => assignArm('salt-2', id, 0.2));
    const both = arms.filter((a, i) => a === 'holdout' && other[i] === 'holdout').length / ids.length;
    expect(Math.abs(both - 0.04)).toBeLessThan(0.006);
    expect(assignmentPoint('s', 'x')).toBeGreaterThanOrEqual(0);
    expect(assignmentPoint('s', 'x')).toBeLessThan(1);
    expect(assignmentPoint('s', 'x')).toBe(assignmentPoint('s', 'x'));
    expect(assignmentPoint('s', 'x')).not.toBe(assignmentPoint('s2', 'x'));
  });
});
