// Model-quality metrics for binary outcomes. Labels are 0/1; scores are any monotone score (probability or
// log-odds) where a metric only needs the ranking, and probabilities in [0, 1] where it needs calibration.
// A metric that is undefined for the data (AUC with one class only) is NaN rather than an exception.

export interface CalibrationBin {
  /** Bin index, 0-based; bins are equal-width on [0, 1]. */
  bin: number;
  lower: number;
  upper: number;
  count: number;
  positives: number;
  meanPredicted: number;
  observedRate: number;
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** The score at and above which each point predicts positive; the first point (0, 0) has +Infinity. */
  thresholds: number[];
}

function checkLengths(labels: ArrayLike<number>, values: ArrayLike<number>): void {
  if (labels.length !== values.length) {
    throw new RangeError(`${labels.length} labels but ${values.length} scores`);
  }
}

function countPositives(labels: ArrayLike<number>): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]! > 0 ? 1 : 0;
  return positives;
}

export function baseRate(labels: ArrayLike<number>): number {
  return labels.length === 0 ? NaN : countPositives(labels) / labels.length;
}

/** Indices sorted by score, ascending or descending; equal scores keep their original order. */
function orderByScore(scores: ArrayLike<number>, descending: boolean): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const sign = descending ? -1 : 1;
  return order.sort((a, b) => sign * (scores[a]! - scores[b]!) || a - b);
}

/**
 * ROC AUC as the Mann–Whitney U statistic with midranks: the probability that a random positive scores above a
 * random negative, ties counting one half. Identical to the trapezoidal area under the ROC curve.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores);
  const order = orderByScore(scores, false);
  const positives = countPositives(labels);
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  let rankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) end++;
    const midrank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (labels[order[k]!]! > 0) rankSum += midrank;
    start = end;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The ROC curve with one point per distinct score, from (0, 0) to (1, 1). */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocCurve {
  checkLengths(labels, scores);
  const order = orderByScore(scores, true);
  const positives = countPositives(labels);
  const negatives = labels.length - positives;
  const curve: RocCurve = { fpr: [0], tpr: [0], thresholds: [Infinity] };
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    if (labels[order[k]!]! > 0) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[order[k]!]) {
      curve.tpr.push(positives === 0 ? NaN : tp / positives);
      curve.fpr.push(negatives === 0 ? NaN : fp / negatives);
      curve.thresholds.push(scores[order[k]!]!);
    }
  }
  return curve;
}

/** Area under a piecewise-linear curve through (x[i], y[i]), x non-decreasing. */
export function trapezoidArea(x: readonly number[], y: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return area;
}

/**
 * Average precision as scikit-learn computes it: the sum over distinct score thresholds (descending) of
 * (recall gained at the threshold) x (precision at the threshold). A step function, not an interpolated area.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores);
  const positives = countPositives(labels);
  if (positives === 0) return NaN;
  const order = orderByScore(scores, true);
  let tp = 0;
  let seen = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let k = 0; k < order.length; k++) {
    seen++;
    if (labels[order[k]!]! > 0) tp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[order[k]!]) {
      const recall = tp / positives;
      ap += (recall - previousRecall) * (tp / seen);
      previousRecall = recall;
    }
  }
  return ap;
}

/** Mean negative log-likelihood; the probability given to what happened is at least eps, so a miss is finite. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>, eps = 1e-15): number {
  checkLengths(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = labels[i]! > 0 ? probabilities[i]! : 1 - probabilities[i]!;
    sum -= Math.log(Math.min(Math.max(p, eps), 1));
  }
  return sum / labels.length;
}

/** Mean squared difference between the probability and the 0/1 outcome. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkLengths(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (probabilities[i]! - (labels[i]! > 0 ? 1 : 0)) ** 2;
  return sum / labels.length;
}

/**
 * Calibration by equal-width probability bins (bins = 10 by default: [0, 0.1), ..., [0.9, 1.0]); empty bins are
 * left out. A probability of exactly 1 falls in the last bin.
 */
export function calibrationCurve(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  bins = 10,
): CalibrationBin[] {
  checkLengths(labels, probabilities);
  const count = new Float64Array(bins);
  const positives = new Float64Array(bins);
  const predicted = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b]!++;
    predicted[b]! += p;
    if (labels[i]! > 0) positives[b]!++;
  }
  const curve: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    curve.push({
      bin: b,
      lower: b / bins,
      upper: (b + 1) / bins,
      count: count[b]!,
      positives: positives[b]!,
      meanPredicted: predicted[b]! / count[b]!,
      observedRate: positives[b]! / count[b]!,
    });
  }
  return curve;
}

/**
 * Expected calibration error: the count-weighted mean over equal-width bins (10 by default) of
 * |mean predicted probability - observed positive rate|.
 */
export function expectedCalibrationError(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  bins = 10,
): number {
  if (labels.length === 0) return NaN;
  let sum = 0;
  for (const bin of calibrationCurve(labels, probabilities, bins)) {
    sum += bin.count * Math.abs(bin.meanPredicted - bin.observedRate);
  }
  return sum / labels.length;
}

/**
 * Lift at the top `fraction` of rows by score: the positive rate among them divided by the overall positive
 * rate. The top is round(fraction x n) rows (at least one). Rows tied with the last one in the top count in
 * proportion, which is the expected lift under a random order of ties, and does not depend on the input order.
 */
export function liftAt(labels: ArrayLike<number>, scores: ArrayLike<number>, fraction = 0.1): number {
  checkLengths(labels, scores);
  const n = labels.length;
  const positives = countPositives(labels);
  if (n === 0 || positives === 0) return NaN;
  const k = Math.min(n, Math.max(1, Math.round(fraction * n)));
  const order = orderByScore(scores, true);
  const cutoff = scores[order[k - 1]!]!;
  let above = 0;
  let positivesAbove = 0;
  let tied = 0;
  let positivesTied = 0;
  for (let i = 0; i < n; i++) {
    const positive = labels[i]! > 0 ? 1 : 0;
    if (scores[i]! > cutoff) {
      above++;
      positivesAbove += positive;
    } else if (scores[i] === cutoff) {
      tied++;
      positivesTied += positive;
    }
  }
  const positivesInTop = positivesAbove + ((k - above) * positivesTied) / tied;
  return positivesInTop / k / (positives / n);
}
