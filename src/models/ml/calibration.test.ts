import { describe, expect, it } from 'vitest';
import { calibrate, fitCalibrator, fitIsotonic, fitPlatt, type Calibrator } from './calibration.ts';
import { logit, sigmoid } from './link.ts';
import { brierScore, expectedCalibrationError, rocAuc } from './metrics.ts';
import { normal, seededRandom } from './random.ts';

/** Outcomes drawn from sigmoid(truth); the "model" reports 3 x the true log-odds: right order, overconfident. */
function overconfident(n: number, seed: number) {
  const random = seededRandom(seed);
  const truth = Float64Array.from({ length: n }, () => -1 + 1.2 * normal(random));
  const labels = Float64Array.from(truth, (t) => (random() < sigmoid(t) ? 1 : 0));
  const margins = truth.map((t) => 3 * t);
  return { truth, labels, margins };
}

const apply = (c: Calibrator, margins: Float64Array) => margins.map((m) => calibrate(c, m));

describe('Platt scaling', () => {
  it('undoes a known distortion of the log-odds', () => {
    const { labels, margins } = overconfident(20_000, 1);
    const platt = fitPlatt(margins, labels);
    if (platt.kind !== 'platt') throw new Error('not platt');
    expect(platt.a).toBeCloseTo(1 / 3, 1);
    expect(platt.b).toBeCloseTo(0, 1);
  });
});

describe('isotonic regression', () => {
  it('pools adjacent violators (hand-computed)', () => {
    // Sorted outcomes 0, 1, 0, 1: the middle pair violates order and pools to 0.5.
    expect(fitIsotonic([1, 2, 3, 4], [0, 1, 0, 1])).toEqual({
      kind: 'isotonic',
      x: [1, 2, 3, 4],
      y: [0, 0.5, 0.5, 1],
    });
    // Order of input does not matter; tied margins are pooled before anything else.
    expect(fitIsotonic([2, 1, 1], [1, 1, 0])).toEqual({ kind: 'isotonic', x: [1, 2], y: [0.5, 1] });
    // A decreasing run pools into one block with two knots.
    expect(fitIsotonic([1, 2, 3], [1, 1, 0])).toEqual({ kind: 'isotonic', x: [1, 3], y: [2 / 3, 2 / 3] });
  });

  it('interpolates between knots and is flat beyond them', () => {
    const c = fitIsotonic([1, 2, 3, 4], [0, 1, 0, 1]);
    expect(calibrate(c, 1.5)).toBeCloseTo(0.25, 12);
    expect(calibrate(c, 3.5)).toBeCloseTo(0.75, 12);
    expect(calibrate(c, -10)).toBe(0);
    expect(calibrate(c, 10)).toBe(1);
  });

  it('is non-decreasing', () => {
    const { labels, margins } = overconfident(2000, 2);
    const c = fitIsotonic(margins, labels);
    const grid = Array.from({ length: 200 }, (_, i) => -12 + (24 * i) / 199).map((m) => calibrate(c, m));
    grid.slice(1).forEach((p, i) => expect(p).toBeGreaterThanOrEqual(grid[i]!));
  });
});

describe('calibration of a miscalibrated model', () => {
  it('lowers the expected calibration error on held-out rows, both ways, and keeps the ranking', () => {
    const fit = overconfident(10_000, 3);
    const test = overconfident(10_000, 4);
    const raw = test.margins.map(sigmoid);
    const rawEce = expectedCalibrationError(test.labels, raw);
    expect(rawEce).toBeGreaterThan(0.08);
    for (const kind of ['platt', 'isotonic'] as const) {
      const calibrated = apply(fitCalibrator(kind, fit.margins, fit.labels), test.margins);
      const ece = expectedCalibrationError(test.labels, calibrated);
      expect(ece).toBeLessThan(rawEce / 3);
      expect(ece).toBeLessThan(0.03);
      expect(brierScore(test.labels, calibrated)).toBeLessThan(brierScore(test.labels, raw));
    }
    const platt = apply(fitPlatt(fit.margins, fit.labels), test.margins);
    expect(rocAuc(test.labels, platt)).toBeCloseTo(rocAuc(test.labels, raw), 12);
  });

  it('leaves a calibrated model about as it was', () => {
    const random = seededRandom(5);
    const margins = Float64Array.from({ length: 20_000 }, () => normal(random));
    const labels = margins.map((m) => (random() < sigmoid(m) ? 1 : 0));
    const platt = fitPlatt(margins, labels);
    expect(calibrate(platt, logit(0.3))).toBeCloseTo(0.3, 1);
    expect(calibrate({ kind: 'none' }, logit(0.3))).toBeCloseTo(0.3, 12);
  });
});
