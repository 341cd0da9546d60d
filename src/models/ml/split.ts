// Train/test splits: stratified k-fold for data without time order, and a time-ordered holdout (train on the
// earliest rows, test on the latest) for data where the future must not leak into the past.
import { AppError } from '../../errors.ts';
import { seededRandom, shuffleInPlace } from './random.ts';

export interface Split {
  /** Row indices, ascending. */
  train: Uint32Array;
  test: Uint32Array;
}

function sorted(indices: number[]): Uint32Array {
  return Uint32Array.from(indices).sort();
}

/**
 * k folds with the positive rate of each close to the overall rate: positives and negatives are shuffled
 * separately (seeded) and dealt to the folds in turn. Each row is in exactly one test fold.
 */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, seed: number): Split[] {
  if (!Number.isInteger(k) || k < 2) throw new AppError('bad_request', `folds must be 2 or more, not ${k}`);
  const byClass: number[][] = [[], []];
  for (let i = 0; i < labels.length; i++) byClass[labels[i]! > 0 ? 1 : 0]!.push(i);
  const smallest = Math.min(byClass[0]!.length, byClass[1]!.length);
  if (smallest < k) {
    throw new AppError(
      'validation_failed',
      `${k}-fold cross-validation needs at least ${k} rows of each class; the smaller class has ${smallest}`,
    );
  }
  const random = seededRandom(seed);
  const folds: number[][] = Array.from({ length: k }, () => []);
  let next = 0;
  for (const members of byClass) {
    shuffleInPlace(members, random);
    for (const i of members) folds[next++ % k]!.push(i);
  }
  return folds.map((test, f) => ({
    train: sorted(folds.flatMap((other, g) => (g === f ? [] : other))),
    test: sorted(test),
  }));
}

/** A random stratified holdout of about `fraction` of the rows (for early stopping). */
export function stratifiedHoldout(labels: ArrayLike<number>, fraction: number, seed: number): Split {
  const byClass: number[][] = [[], []];
  for (let i = 0; i < labels.length; i++) byClass[labels[i]! > 0 ? 1 : 0]!.push(i);
  const random = seededRandom(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const members of byClass) {
    shuffleInPlace(members, random);
    const held = Math.round(members.length * fraction);
    test.push(...members.slice(0, held));
    train.push(...members.slice(held));
  }
  return { train: sorted(train), test: sorted(test) };
}

export interface TimeOrderedHoldoutOptions {
  /** Number of rows. */
  n: number;
  /** Values that order the rows in time (numbers, dates, ISO strings); without it the row order is the time. */
  order?: ArrayLike<unknown>;
  /** Share of the earliest rows to train on; the rest is the test set. Default 0.8. */
  trainFraction?: number;
}

/**
 * The earliest `trainFraction` of rows train, the latest test. Rows are ordered by `order` (ties keep their
 * row order): numerically when every value is a number, by time when every value is a date, else as text.
 */
export function timeOrderedHoldout(options: TimeOrderedHoldoutOptions): Split {
  const { n, order } = options;
  const trainFraction = options.trainFraction ?? 0.8;
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new AppError('bad_request', `the training share must be between 0 and 1, not ${trainFraction}`);
  }
  const indices = Array.from({ length: n }, (_, i) => i);
  if (order) {
    if (order.length !== n) throw new RangeError(`${order.length} order values for ${n} rows`);
    const keys = orderKeys(order);
    indices.sort((a, b) => compareKeys(keys[a]!, keys[b]!) || a - b);
  }
  const cut = Math.round(n * trainFraction);
  if (cut === 0 || cut === n) {
    throw new AppError('validation_failed', `${n} rows are too few for a time-ordered holdout`);
  }
  return { train: sorted(indices.slice(0, cut)), test: sorted(indices.slice(cut)) };
}

function isMissing(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

function orderKeys(order: ArrayLike<unknown>): (number | string)[] {
  const values = Array.from(order);
  const missing = values.filter(isMissing).length;
  if (missing > 0) {
    throw new AppError(
      'validation_failed',
      `The order column is empty in ${missing} of ${values.length} rows; a time-ordered split needs it in every row`,
    );
  }
  const numbers = values.map((v) => (typeof v === 'number' ? v : Number(String(v).trim())));
  if (numbers.every(Number.isFinite)) return numbers;
  const times = values.map((v) => (v instanceof Date ? v.getTime() : Date.parse(String(v).trim())));
  if (times.every(Number.isFinite)) return times;
  return values.map(String);
}

function compareKeys(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return a < b ? -1 : a > b ? 1 : 0;
}
