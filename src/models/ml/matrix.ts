// Dense row-major matrices over Float64Array and the one linear-algebra routine the models need: solving a
// symmetric positive-definite system by Cholesky factorisation.

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major: element (i, j) is data[i * cols + j]. */
  readonly data: Float64Array;
}

export function createMatrix(rows: number, cols: number, data?: Float64Array): Matrix {
  if (data && data.length !== rows * cols) {
    throw new RangeError(`a ${rows} x ${cols} matrix needs ${rows * cols} values, not ${data.length}`);
  }
  return { rows, cols, data: data ?? new Float64Array(rows * cols) };
}

export function matrixFromRows(values: readonly (readonly number[])[]): Matrix {
  const cols = values[0]?.length ?? 0;
  const m = createMatrix(values.length, cols);
  values.forEach((row, i) => {
    if (row.length !== cols) throw new RangeError(`row ${i} has ${row.length} values, not ${cols}`);
    m.data.set(row, i * cols);
  });
  return m;
}

export function matrixRow(m: Matrix, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** The rows of m at the given indices, as a new matrix. */
export function selectRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = createMatrix(indices.length, m.cols);
  for (let k = 0; k < indices.length; k++) out.data.set(matrixRow(m, indices[k]!), k * m.cols);
  return out;
}

/**
 * Overwrites the lower triangle of the n x n row-major matrix `a` with its Cholesky factor L (a = L Lᵀ).
 * Returns false when `a` is not (numerically) positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let diagonal = a[j * n + j]!;
    for (let k = 0; k < j; k++) diagonal -= a[j * n + k]! ** 2;
    if (!(diagonal > 0)) return false;
    const ljj = Math.sqrt(diagonal);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = sum / ljj;
    }
  }
  return true;
}

/** Solves L Lᵀ x = b given the factor from choleskyInPlace. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let sum = x[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = x[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}

/**
 * Solves a x = b for a symmetric positive-(semi)definite `a` (only the lower triangle is read). A matrix that
 * is singular in floating point gets a growing ridge on its diagonal until it factors, which is what a Newton
 * step on a flat direction needs: a finite step rather than an exception.
 */
export function solveSymmetric(a: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(a[i * n + i]!));
  for (let ridge = 0; ; ridge = ridge === 0 ? 1e-12 * (scale || 1) : ridge * 10) {
    const factor = Float64Array.from(a);
    for (let i = 0; i < n; i++) factor[i * n + i] = factor[i * n + i]! + ridge;
    if (choleskyInPlace(factor, n)) return choleskySolve(factor, n, b);
    if (ridge > 1e6 * (scale || 1))
      throw new RangeError('the system cannot be solved: the matrix is not finite');
  }
}
