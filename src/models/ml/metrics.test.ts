import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  brierScore,
  calibrationCurve,
  expectedCalibrationError,
  liftAt,
  logLoss,
  rocAuc,
  rocCurve,
  trapezoidArea,
} from './metrics.ts';
import { seededRandom } from './random.ts';

/** The share of (positive, negative) pairs ranked right, ties counting one half. */
function pairwiseAuc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((yi, i) => {
    if (yi !== 1) return;
    labels.forEach((yj, j) => {
      if (yj !== 0) return;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

function randomCase(n: number, seed: number, levels: number) {
  const random = seededRandom(seed);
  const labels = Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
  // Few distinct scores, so that many are tied, and informative: positives score higher on average.
  const scores = labels.map((y) => Math.round((random() + 0.3 * y) * levels) / levels);
  return { labels, scores };
}

describe('rocAuc', () => {
  it('matches the hand-computed example from the scikit-learn documentation', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    // Pairs (pos, neg): (0.5, 0.5) tie, (0.5, 0.2) win, (0.9, 0.5) win, (0.9, 0.2) win -> 3.5 / 4.
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])).toBeCloseTo(0.875, 12);
    expect(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, NaN with one class', () => {
    expect(rocAuc([0, 0, 1], [1, 2, 3])).toBe(1);
    expect(rocAuc([0, 0, 1], [3, 2, 1])).toBe(0);
    expect(rocAuc([1, 1], [0.2, 0.4])).toBeNaN();
  });

  it('equals the pairwise count and the trapezoidal area under the ROC curve, with many ties', () => {
    for (const seed of [1, 2, 3]) {
      const { labels, scores } = randomCase(400, seed, 8);
      const curve = rocCurve(labels, scores);
      expect(rocAuc(labels, scores)).toBeCloseTo(pairwiseAuc(labels, scores), 12);
      expect(rocAuc(labels, scores)).toBeCloseTo(trapezoidArea(curve.fpr, curve.tpr), 12);
    }
  });

  it('does not depend on the order of the rows', () => {
    const { labels, scores } = randomCase(200, 9, 5);
    expect(rocAuc([...labels].reverse(), [...scores].reverse())).toBeCloseTo(rocAuc(labels, scores), 12);
  });
});

describe('rocCurve', () => {
  it('has one point per distinct score, from (0, 0) to (1, 1)', () => {
    const curve = rocCurve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]);
    expect(curve.thresholds).toEqual([Infinity, 0.9, 0.5, 0.2]);
    expect(curve.tpr).toEqual([0, 0.5, 1, 1]);
    expect(curve.fpr).toEqual([0, 0, 0.5, 1]);
  });
});

describe('averagePrecision', () => {
  it('matches the hand-computed example from the scikit-learn documentation', () => {
    // Thresholds 0.8: P 1, R 0.5; 0.4: P 1/2, R 0.5; 0.35: P 2/3, R 1 -> 0.5 x 1 + 0 + 0.5 x 2/3.
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it('treats tied scores as one threshold', () => {
    // 0.9 (a positive and a negative): P 1/2, R 1/2; 0.5: P 2/3, R 1 -> 0.25 + 1/3.
    expect(averagePrecision([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1])).toBeCloseTo(0.25 + 1 / 3, 12);
  });

  it('is 1 for a perfect ranking and the positive rate when every score is tied', () => {
    expect(averagePrecision([0, 1, 0, 1], [0.1, 0.8, 0.2, 0.9])).toBe(1);
    expect(averagePrecision([0, 1, 0, 0], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(0.25, 12);
    expect(averagePrecision([0, 0], [0.5, 0.6])).toBeNaN();
  });
});

describe('logLoss and brierScore', () => {
  it('match hand-computed values', () => {
    expect(logLoss([1, 0], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(brierScore([1, 0, 1], [0.9, 0.2, 0.6])).toBeCloseTo((0.01 + 0.04 + 0.16) / 3, 12);
  });

  it('clips probabilities so a confident miss costs -log(eps), not infinity', () => {
    expect(logLoss([0, 1], [1, 0])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(logLoss([1], [1])).toBeCloseTo(0, 12);
  });
});

describe('calibration', () => {
  it('bins by equal width and weights the error by count', () => {
    const labels = [0, 1, 0, 1];
    const probabilities = [0.05, 0.15, 0.15, 0.95];
    // bin 0: |0.05 - 0| x 1; bin 1: |0.15 - 0.5| x 2; bin 9: |0.95 - 1| x 1; over 4 rows.
    expect(expectedCalibrationError(labels, probabilities)).toBeCloseTo((0.05 + 0.7 + 0.05) / 4, 12);
    expect(calibrationCurve(labels, probabilities)).toEqual([
      { bin: 0, lower: 0, upper: 0.1, count: 1, positives: 0, meanPredicted: 0.05, observedRate: 0 },
      { bin: 1, lower: 0.1, upper: 0.2, count: 2, positives: 1, meanPredicted: 0.15, observedRate: 0.5 },
      { bin: 9, lower: 0.9, upper: 1, count: 1, positives: 1, meanPredicted: 0.95, observedRate: 1 },
    ]);
  });

  it('puts a probability of exactly 1 in the last bin and is 0 for a perfectly calibrated table', () => {
    expect(calibrationCurve([1], [1])[0]!.bin).toBe(9);
    expect(expectedCalibrationError([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0);
  });
});

describe('liftAt', () => {
  it('is the positive rate in the top share over the overall rate', () => {
    const labels = [1, 0, 0, 1, 0, 0, 1, 0, 0, 0];
    const scores = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect(liftAt(labels, scores, 0.1)).toBeCloseTo(1 / 0.3, 12); // top 1 row: a positive
    expect(liftAt(labels, scores, 0.5)).toBeCloseTo(2 / 5 / 0.3, 12);
  });

  it('counts rows tied at the cut-off in proportion, whatever their order', () => {
    // Top 2 of 4: one row above the tie (a positive), then one slot among three tied rows holding one positive.
    const lift = liftAt([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.5], 0.5);
    expect(lift).toBeCloseTo((1 + 1 / 3) / 2 / 0.5, 12);
    expect(liftAt([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.9], 0.5)).toBeCloseTo(lift, 12);
    expect(liftAt([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], 0.5)).toBeCloseTo(1, 12);
  });
});
