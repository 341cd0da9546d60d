// Turning a model's margins (log-odds) into calibrated probabilities. Platt scaling fits sigmoid(a·m + b);
// isotonic regression fits the best non-decreasing step function by pool-adjacent-violators and interpolates
// linearly between its steps. Both must be fitted on margins the model did not train on (held-out folds).
import { sigmoid } from './link.ts';
import { fitLogistic } from './logistic.ts';
import { createMatrix } from './matrix.ts';

export type CalibrationKind = 'none' | 'platt' | 'isotonic';

export type Calibrator =
  | { kind: 'none' }
  | { kind: 'platt'; a: number; b: number }
  /** Knots of a non-decreasing piecewise-linear map from margin to probability; flat beyond the ends. */
  | { kind: 'isotonic'; x: number[]; y: number[] };

/**
 * Platt (1999): a logistic regression of the outcome on the margin, with Platt's smoothed targets
 * (P + 1) / (P + 2) and 1 / (N + 2) in place of 1 and 0, which keeps a and b finite on separable data.
 */
export function fitPlatt(margins: ArrayLike<number>, labels: ArrayLike<number>): Calibrator {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]! > 0 ? 1 : 0;
  const negatives = labels.length - positives;
  const high = (positives + 1) / (positives + 2);
  const low = 1 / (negatives + 2);
  const targets = Float64Array.from(labels, (y) => (y > 0 ? high : low));
  const model = fitLogistic(createMatrix(margins.length, 1, Float64Array.from(margins)), targets, {
    l2: 0,
    tolerance: 1e-12,
  });
  return { kind: 'platt', a: model.coefficients[0]!, b: model.intercept };
}

/**
 * Isotonic regression by pool-adjacent-violators. Rows with equal margins are pooled first (their mean
 * outcome is the value at that margin); each final block becomes a knot at its smallest and largest margin.
 */
export function fitIsotonic(margins: ArrayLike<number>, labels: ArrayLike<number>): Calibrator {
  if (margins.length !== labels.length)
    throw new RangeError(`${margins.length} margins, ${labels.length} labels`);
  const order = Array.from({ length: margins.length }, (_, i) => i).sort((a, b) => margins[a]! - margins[b]!);
  const lo: number[] = [];
  const hi: number[] = [];
  const sum: number[] = [];
  const weight: number[] = [];
  for (const i of order) {
    const m = margins[i]!;
    const y = labels[i]! > 0 ? 1 : 0;
    const last = lo.length - 1;
    if (last >= 0 && hi[last] === m) {
      sum[last]! += y;
      weight[last]!++;
    } else {
      lo.push(m);
      hi.push(m);
      sum.push(y);
      weight.push(1);
    }
    // Pool while the last block's mean is below its predecessor's.
    while (lo.length > 1) {
      const b = lo.length - 1;
      if (sum[b - 1]! / weight[b - 1]! <= sum[b]! / weight[b]!) break;
      hi[b - 1] = hi[b]!;
      sum[b - 1]! += sum[b]!;
      weight[b - 1]! += weight[b]!;
      lo.pop();
      hi.pop();
      sum.pop();
      weight.pop();
    }
  }
  const x: number[] = [];
  const y: number[] = [];
  for (let b = 0; b < lo.length; b++) {
    const value = sum[b]! / weight[b]!;
    x.push(lo[b]!);
    y.push(value);
    if (hi[b]! > lo[b]!) {
      x.push(hi[b]!);
      y.push(value);
    }
  }
  return { kind: 'isotonic', x, y };
}

export function fitCalibrator(
  kind: CalibrationKind,
  margins: ArrayLike<number>,
  labels: ArrayLike<number>,
): Calibrator {
  switch (kind) {
    case 'none':
      return { kind: 'none' };
    case 'platt':
      return fitPlatt(margins, labels);
    case 'isotonic':
      return fitIsotonic(margins, labels);
  }
}

/** The calibrated probability for a margin. */
export function calibrate(calibrator: Calibrator, margin: number): number {
  switch (calibrator.kind) {
    case 'none':
      return sigmoid(margin);
    case 'platt':
      return sigmoid(calibrator.a * margin + calibrator.b);
    case 'isotonic':
      return interpolate(calibrator.x, calibrator.y, margin);
  }
}

function interpolate(xs: number[], ys: number[], x: number): number {
  if (xs.length === 0) return NaN;
  if (x <= xs[0]!) return ys[0]!;
  const last = xs.length - 1;
  if (x >= xs[last]!) return ys[last]!;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const t = (x - xs[lo]!) / (xs[hi]! - xs[lo]!);
  return ys[lo]! + t * (ys[hi]! - ys[lo]!);
}
