import { describe, expect, it } from 'vitest';
import { fitLogistic, logisticContributions, logisticGradient, logisticMargin } from './logistic.ts';
import { createMatrix, matrixFromRows, matrixRow } from './matrix.ts';
import { sigmoid } from './link.ts';
import { normal, seededRandom } from './random.ts';

/** A 2 x 2 table as rows: a with x=1,y=1; b with x=1,y=0; c with x=0,y=1; d with x=0,y=0. */
function twoByTwo(a: number, b: number, c: number, d: number) {
  const x: number[][] = [];
  const y: number[] = [];
  const add = (count: number, xi: number, yi: number) => {
    for (let k = 0; k < count; k++) {
      x.push([xi]);
      y.push(yi);
    }
  };
  add(a, 1, 1);
  add(b, 1, 0);
  add(c, 0, 1);
  add(d, 0, 0);
  return { x: matrixFromRows(x), y };
}

describe('fitLogistic', () => {
  it('finds the log odds ratio for a single binary feature (the closed-form MLE)', () => {
    const { x, y } = twoByTwo(30, 10, 20, 40);
    const model = fitLogistic(x, y, { l2: 0 });
    expect(model.converged).toBe(true);
    expect(model.coefficients[0]).toBeCloseTo(Math.log((30 * 40) / (10 * 20)), 10);
    expect(model.intercept).toBeCloseTo(Math.log(20 / 40), 10);
  });

  it('reproduces the published fit of the Challenger O-ring data', () => {
    // 23 shuttle launches before 1986: launch temperature (°F) and whether an O-ring was damaged. The maximum
    // likelihood fit quoted in Dalal, Fowlkes and Hoadley (JASA 1989) and textbooks since: 15.0429 - 0.2322 t.
    const launches: [number, number][] = [
      [66, 0],
      [70, 1],
      [69, 0],
      [68, 0],
      [67, 0],
      [72, 0],
      [73, 0],
      [70, 0],
      [57, 1],
      [63, 1],
      [70, 1],
      [78, 0],
      [67, 0],
      [53, 1],
      [67, 0],
      [75, 0],
      [70, 0],
      [81, 0],
      [76, 0],
      [79, 0],
      [75, 1],
      [76, 0],
      [58, 1],
    ];
    const x = matrixFromRows(launches.map(([t]) => [t]));
    const model = fitLogistic(
      x,
      launches.map(([, y]) => y),
      { l2: 0 },
    );
    expect(model.intercept).toBeCloseTo(15.0429, 3);
    expect(model.coefficients[0]).toBeCloseTo(-0.2322, 4);
  });

  it('without features, predicts the base rate', () => {
    const model = fitLogistic(createMatrix(5, 0), [1, 0, 0, 1, 1], { l2: 0 });
    expect(sigmoid(model.intercept)).toBeCloseTo(0.6, 12);
  });

  it('has a zero gradient of the penalised loss at the solution', () => {
    const random = seededRandom(5);
    const n = 2000;
    const p = 6;
    const x = createMatrix(n, p);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) x.data[i * p + j] = j === 5 ? (random() < 0.2 ? 1 : 0) : normal(random);
      y[i] = random() < sigmoid(0.5 + x.data[i * p]! - 2 * x.data[i * p + 1]! + x.data[i * p + 5]!) ? 1 : 0;
    }
    for (const l2 of [0, 1, 50]) {
      const model = fitLogistic(x, y, { l2 });
      const gradient = logisticGradient(model, x, y, l2);
      for (const g of gradient) expect(Math.abs(g)).toBeLessThan(1e-7);
    }
  });

  it('recovers the coefficients of its own generator', () => {
    const random = seededRandom(11);
    const n = 20_000;
    const truth = [1.5, -0.75, 0];
    const x = createMatrix(n, 3);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let eta = -1;
      for (let j = 0; j < 3; j++) {
        x.data[i * 3 + j] = normal(random);
        eta += truth[j]! * x.data[i * 3 + j]!;
      }
      y[i] = random() < sigmoid(eta) ? 1 : 0;
    }
    const model = fitLogistic(x, y, { l2: 0 });
    expect(model.intercept).toBeCloseTo(-1, 1);
    truth.forEach((beta, j) => expect(model.coefficients[j]).toBeCloseTo(beta, 1));
  });

  it('stays finite on separable data thanks to the penalty', () => {
    const { x, y } = twoByTwo(10, 0, 0, 10);
    const model = fitLogistic(x, y, { l2: 1 });
    expect(model.converged).toBe(true);
    expect(Number.isFinite(model.coefficients[0]!)).toBe(true);
    expect(model.coefficients[0]).toBeGreaterThan(2);
  });

  it('shrinks coefficients, but not the intercept, as the penalty grows', () => {
    const { x, y } = twoByTwo(30, 10, 20, 40);
    const weak = fitLogistic(x, y, { l2: 0.1 });
    const strong = fitLogistic(x, y, { l2: 1e6 });
    expect(Math.abs(strong.coefficients[0]!)).toBeLessThan(1e-3);
    expect(Math.abs(weak.coefficients[0]!)).toBeGreaterThan(1.7);
    expect(sigmoid(strong.intercept)).toBeCloseTo(0.5, 3); // 50 positives in 100
  });

  it('refuses missing values (the encoder imputes them)', () => {
    expect(() => fitLogistic(matrixFromRows([[1], [NaN]]), [0, 1])).toThrow(/row 1 has NaN/);
  });
});

describe('logisticContributions', () => {
  it('sum with the base to the margin exactly, measured from the training means', () => {
    const x = matrixFromRows([
      [1, 0, 2],
      [0, 1, -1],
      [1, 1, 0.5],
      [0, 0, 3],
      [1, 0, -2],
    ]);
    const model = fitLogistic(x, [1, 0, 1, 0, 0], { l2: 1 });
    for (let i = 0; i < x.rows; i++) {
      const row = matrixRow(x, i);
      const { base, contributions } = logisticContributions(model, row);
      const total = contributions.reduce((a, b) => a + b, base);
      expect(Math.abs(total - logisticMargin(model, row))).toBeLessThan(1e-12);
    }
    const atMean = logisticContributions(model, model.means);
    expect(atMean.contributions.every((c) => Math.abs(c) < 1e-15)).toBe(true);
  });
});
