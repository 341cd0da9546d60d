import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.ts';
import { stratifiedHoldout, stratifiedKFold, timeOrderedHoldout } from './split.ts';

const labels = Array.from({ length: 103 }, (_, i) => (i % 4 === 0 ? 1 : 0)); // 26 positives, 77 negatives

describe('stratifiedKFold', () => {
  it('puts every row in exactly one test fold, with the positive rate kept in each', () => {
    const folds = stratifiedKFold(labels, 5, 7);
    const seen = new Set<number>();
    for (const fold of folds) {
      for (const i of fold.test) {
        expect(seen.has(i)).toBe(false);
        seen.add(i);
      }
      expect(fold.train.length + fold.test.length).toBe(labels.length);
      expect(fold.train.some((i) => fold.test.includes(i))).toBe(false);
      const positives = Array.from(fold.test).filter((i) => labels[i] === 1).length;
      expect(positives).toBeGreaterThanOrEqual(5);
      expect(positives).toBeLessThanOrEqual(6);
    }
    expect(seen.size).toBe(labels.length);
  });

  it('is the same for the same seed and different for another', () => {
    expect(stratifiedKFold(labels, 3, 1)).toEqual(stratifiedKFold(labels, 3, 1));
    expect(stratifiedKFold(labels, 3, 1)[0]!.test).not.toEqual(stratifiedKFold(labels, 3, 2)[0]!.test);
  });

  it('refuses more folds than rows of the smaller class', () => {
    expect(() => stratifiedKFold([1, 1, 0, 0, 0, 0], 3, 0)).toThrow(AppError);
    expect(() => stratifiedKFold(labels, 1, 0)).toThrow(/2 or more/);
  });
});

describe('stratifiedHoldout', () => {
  it('holds out the share of each class', () => {
    const split = stratifiedHoldout(labels, 0.2, 3);
    expect(Array.from(split.test).filter((i) => labels[i] === 1)).toHaveLength(5);
    expect(split.test.length).toBe(5 + 15);
  });
});

describe('timeOrderedHoldout', () => {
  it('trains on the first rows and tests on the last when there is no order column', () => {
    const split = timeOrderedHoldout({ n: 10 });
    expect(Array.from(split.train)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(split.test)).toEqual([8, 9]);
  });

  it('orders by numbers, by dates or by text, ties in row order', () => {
    const byNumber = timeOrderedHoldout({ n: 5, order: ['10', 2, '3.5', 1, 100], trainFraction: 0.6 });
    expect(Array.from(byNumber.test)).toEqual([0, 4]);
    const byDate = timeOrderedHoldout({
      n: 4,
      order: ['2024-03-01', 'March 2, 2023', '2022-12-31T23:00:00Z', new Date('2025-01-01')],
      trainFraction: 0.5,
    });
    expect(Array.from(byDate.test)).toEqual([0, 3]);
    const byText = timeOrderedHoldout({ n: 4, order: ['b', 'a', 'c', 'a'], trainFraction: 0.5 });
    expect(Array.from(byText.train)).toEqual([1, 3]);
  });

  it('refuses an order column with empty values and a split that leaves a side empty', () => {
    expect(() => timeOrderedHoldout({ n: 3, order: [1, '', 3] })).toThrow(/empty in 1 of 3 rows/);
    expect(() => timeOrderedHoldout({ n: 2, trainFraction: 0.9 })).toThrow(/too few/);
  });
});
