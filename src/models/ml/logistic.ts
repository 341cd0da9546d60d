// L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least squares): each
// step solves the Hessian system by Cholesky, with step halving if the penalised loss does not fall. The
// intercept is not penalised. Rows are read once into a sparse form, so one-hot features cost what they hold.
import { log1pExp, logit, sigmoid } from './link.ts';
import { solveSymmetric, type Matrix } from './matrix.ts';

export interface LogisticParams {
  /**
   * λ in  Σ log-loss + λ/2 ‖β‖²  (the intercept is not penalised). scikit-learn's C is 1/λ; its default C = 1
   * is λ = 1 here.
   */
  l2: number;
  maxIterations: number;
  /** Stop when no coefficient moves by more than tolerance x (1 + the largest coefficient). */
  tolerance: number;
}

export const DEFAULT_LOGISTIC_PARAMS: LogisticParams = { l2: 1, maxIterations: 100, tolerance: 1e-9 };

export interface LogisticModel {
  intercept: number;
  coefficients: Float64Array;
  /** Training means of the features: the baseline the contributions are measured from. */
  means: Float64Array;
  iterations: number;
  converged: boolean;
}

interface SparseRows {
  start: Uint32Array;
  /** Column of each stored value; column 0 is the intercept, feature j is column j + 1. */
  column: Uint32Array;
  value: Float64Array;
}

function toSparse(x: Matrix): SparseRows {
  let stored = x.rows;
  for (let k = 0; k < x.data.length; k++) if (x.data[k] !== 0) stored++;
  const rows: SparseRows = {
    start: new Uint32Array(x.rows + 1),
    column: new Uint32Array(stored),
    value: new Float64Array(stored),
  };
  let at = 0;
  for (let i = 0; i < x.rows; i++) {
    rows.start[i] = at;
    rows.column[at] = 0;
    rows.value[at++] = 1;
    for (let j = 0; j < x.cols; j++) {
      const v = x.data[i * x.cols + j]!;
      if (v === 0) continue;
      rows.column[at] = j + 1;
      rows.value[at++] = v;
    }
  }
  rows.start[x.rows] = at;
  return rows;
}

function margins(rows: SparseRows, beta: Float64Array, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) {
    let eta = 0;
    for (let k = rows.start[i]!; k < rows.start[i + 1]!; k++) eta += beta[rows.column[k]!]! * rows.value[k]!;
    out[i] = eta;
  }
}

function penalisedLoss(
  rows: SparseRows,
  y: ArrayLike<number>,
  beta: Float64Array,
  l2: number,
  eta: Float64Array,
): number {
  margins(rows, beta, eta);
  let loss = 0;
  for (let i = 0; i < eta.length; i++) loss += log1pExp(eta[i]!) - y[i]! * eta[i]!;
  for (let j = 1; j < beta.length; j++) loss += (l2 / 2) * beta[j]! ** 2;
  return loss;
}

/**
 * Fits the model. `y` holds 0/1 outcomes, or probabilities in [0, 1] as soft targets (Platt scaling uses this).
 */
export function fitLogistic(
  x: Matrix,
  y: ArrayLike<number>,
  params: Partial<LogisticParams> = {},
): LogisticModel {
  const { l2, maxIterations, tolerance } = { ...DEFAULT_LOGISTIC_PARAMS, ...params };
  if (y.length !== x.rows) throw new RangeError(`${x.rows} rows but ${y.length} labels`);
  const notFinite = x.data.findIndex((v) => !Number.isFinite(v));
  if (notFinite >= 0) {
    throw new RangeError(
      `logistic regression needs finite features; row ${Math.floor(notFinite / x.cols)} has ${x.data[notFinite]}`,
    );
  }
  const n = x.rows;
  const d = x.cols + 1;
  const rows = toSparse(x);
  const beta = new Float64Array(d);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  beta[0] = logit(mean / Math.max(n, 1), 1e-6);

  const eta = new Float64Array(n);
  const trial = new Float64Array(n);
  let loss = penalisedLoss(rows, y, beta, l2, eta);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const gradient = new Float64Array(d);
    const hessian = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const mu = sigmoid(eta[i]!);
      const residual = mu - y[i]!;
      const weight = Math.max(mu * (1 - mu), 1e-12);
      const end = rows.start[i + 1]!;
      for (let a = rows.start[i]!; a < end; a++) {
        const ca = rows.column[a]!;
        const va = rows.value[a]!;
        gradient[ca]! += residual * va;
        const wa = weight * va;
        const rowOffset = ca * d;
        // Columns are ascending within a row, so (ca, cb) with b <= a is the lower triangle.
        for (let b = rows.start[i]!; b <= a; b++)
          hessian[rowOffset + rows.column[b]!]! += wa * rows.value[b]!;
      }
    }
    for (let j = 1; j < d; j++) {
      gradient[j]! += l2 * beta[j]!;
      hessian[j * d + j]! += l2;
    }
    const step = solveSymmetric(hessian, d, gradient);
    let scale = 1;
    let candidate = new Float64Array(d);
    let candidateLoss = Infinity;
    for (let halvings = 0; halvings < 40; halvings++, scale /= 2) {
      candidate = beta.map((b, j) => b - scale * step[j]!);
      candidateLoss = penalisedLoss(rows, y, candidate, l2, trial);
      if (candidateLoss <= loss + 1e-12 * Math.abs(loss)) break;
    }
    if (!(candidateLoss <= loss + 1e-12 * Math.abs(loss))) {
      converged = true; // no step lowers the loss: we are at the minimum to machine precision
      break;
    }
    let largestMove = 0;
    let largest = 0;
    for (let j = 0; j < d; j++) {
      largestMove = Math.max(largestMove, Math.abs(candidate[j]! - beta[j]!));
      largest = Math.max(largest, Math.abs(candidate[j]!));
    }
    beta.set(candidate);
    eta.set(trial);
    loss = candidateLoss;
    converged = largestMove <= tolerance * (1 + largest);
  }

  const means = new Float64Array(x.cols);
  for (let i = 0; i < n; i++) for (let j = 0; j < x.cols; j++) means[j]! += x.data[i * x.cols + j]!;
  for (let j = 0; j < x.cols; j++) means[j] = n > 0 ? means[j]! / n : 0;
  return { intercept: beta[0]!, coefficients: beta.slice(1), means, iterations, converged };
}

/** The log-odds for one encoded row. */
export function logisticMargin(model: LogisticModel, row: ArrayLike<number>): number {
  let eta = model.intercept;
  for (let j = 0; j < model.coefficients.length; j++) eta += model.coefficients[j]! * row[j]!;
  return eta;
}

export function logisticMargins(model: LogisticModel, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++)
    out[i] = logisticMargin(model, x.data.subarray(i * x.cols, (i + 1) * x.cols));
  return out;
}

/**
 * Exact additive explanation of the log-odds: contribution_j = β_j (x_j - mean_j) and base = the log-odds at
 * the training means, so base + Σ contributions = the margin. (For a linear model this is also its Shapley
 * value with independent features.)
 */
export function logisticContributions(
  model: LogisticModel,
  row: ArrayLike<number>,
): { base: number; contributions: Float64Array } {
  let base = model.intercept;
  const contributions = new Float64Array(model.coefficients.length);
  for (let j = 0; j < contributions.length; j++) {
    base += model.coefficients[j]! * model.means[j]!;
    contributions[j] = model.coefficients[j]! * (row[j]! - model.means[j]!);
  }
  return { base, contributions };
}

/** Gradient of the penalised loss at the model (intercept first): about zero at the fitted solution. */
export function logisticGradient(
  model: LogisticModel,
  x: Matrix,
  y: ArrayLike<number>,
  l2 = DEFAULT_LOGISTIC_PARAMS.l2,
): Float64Array {
  const gradient = new Float64Array(x.cols + 1);
  const eta = logisticMargins(model, x);
  for (let i = 0; i < x.rows; i++) {
    const residual = sigmoid(eta[i]!) - y[i]!;
    gradient[0]! += residual;
    for (let j = 0; j < x.cols; j++) gradient[j + 1]! += residual * x.data[i * x.cols + j]!;
  }
  for (let j = 0; j < x.cols; j++) gradient[j + 1]! += l2 * model.coefficients[j]!;
  return gradient;
}
