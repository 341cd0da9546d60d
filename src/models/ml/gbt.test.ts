import { describe, expect, it } from 'vitest';
import { binThresholds, fitGbt, gbtMargin, gbtMargins, treeFromJSON, treeToJSON, type Tree } from './gbt.ts';
import { sigmoid } from './link.ts';
import { fitLogistic, logisticMargins } from './logistic.ts';
import { createMatrix, type Matrix } from './matrix.ts';
import { rocAuc } from './metrics.ts';
import { normal, seededRandom } from './random.ts';
import { treeDepth } from './treeshap.ts';

function data(n: number, p: number, seed: number, logit: (row: Float64Array) => number) {
  const random = seededRandom(seed);
  const x = createMatrix(n, p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = x.data.subarray(i * p, (i + 1) * p);
    for (let j = 0; j < p; j++) row[j] = normal(random);
    y[i] = random() < sigmoid(logit(row)) ? 1 : 0;
  }
  return { x, y };
}

function leaves(tree: Tree): number[] {
  return Array.from(tree.left.keys()).filter((node) => tree.left[node]! < 0);
}

describe('binThresholds', () => {
  it('cuts between each pair of distinct values when there are few', () => {
    expect(Array.from(binThresholds([3, 1, 2, NaN, 2, 1], 255))).toEqual([1.5, 2.5]);
    expect(Array.from(binThresholds([NaN, NaN], 255))).toEqual([]);
  });

  it('cuts at quantiles when there are more distinct values than bins', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const cuts = binThresholds(values, 10);
    expect(cuts.length).toBe(9);
    expect(Array.from(cuts)).toEqual([99.5, 199.5, 299.5, 399.5, 499.5, 599.5, 699.5, 799.5, 899.5]);
  });

  it('keeps a heavily repeated value in one bin', () => {
    const values = [...Array.from({ length: 900 }, () => 0), ...Array.from({ length: 100 }, (_, i) => i + 1)];
    const cuts = binThresholds(values, 10);
    expect(cuts[0]).toBe(0.5);
    expect(new Set(cuts).size).toBe(cuts.length);
  });
});

describe('fitGbt', () => {
  it('learns a threshold on one feature', () => {
    const { x, y } = data(3000, 3, 1, (row) => (row[1]! > 0.5 ? 2 : -2));
    const model = fitGbt(x, y, { iterations: 30 });
    expect(model.trees[0]!.feature[0]).toBe(1);
    expect(model.trees[0]!.threshold[0]).toBeCloseTo(0.5, 1);
    expect(sigmoid(gbtMargin(model, [0, 2, 0]))).toBeGreaterThan(0.8);
    expect(sigmoid(gbtMargin(model, [0, -1, 0]))).toBeLessThan(0.2);
  });

  it('beats a linear model on an interaction the linear model cannot express', () => {
    const xor = (row: Float64Array) => (row[0]! * row[1]! > 0 ? 2 : -2);
    const train = data(4000, 4, 2, xor);
    const test = data(2000, 4, 3, xor);
    const trees = fitGbt(train.x, train.y, { iterations: 60 });
    const linear = fitLogistic(train.x, train.y);
    expect(rocAuc(test.y, gbtMargins(trees, test.x))).toBeGreaterThan(0.8);
    expect(rocAuc(test.y, logisticMargins(linear, test.x))).toBeLessThan(0.6);
  });

  it('learns where missing values should go', () => {
    // Missing x0 means a high rate; present x0 has no effect.
    const { x, y } = data(4000, 2, 4, () => 0);
    const random = seededRandom(9);
    for (let i = 0; i < x.rows; i++) {
      if (random() < 0.3) {
        x.data[i * 2] = NaN;
        y[i] = random() < 0.9 ? 1 : 0;
      } else {
        y[i] = random() < 0.2 ? 1 : 0;
      }
    }
    const model = fitGbt(x, y, { iterations: 20, earlyStopping: false });
    expect(sigmoid(gbtMargin(model, [NaN, 0]))).toBeGreaterThan(0.8);
    expect(sigmoid(gbtMargin(model, [0.3, 0]))).toBeLessThan(0.3);
  });

  it('sends missing values it never saw to the larger child', () => {
    const { x, y } = data(2000, 1, 5, (row) => (row[0]! > 1 ? 3 : -1)); // most rows are below 1
    const model = fitGbt(x, y, { iterations: 1, maxLeafNodes: 2, earlyStopping: false });
    const stump = model.trees[0]!;
    const larger = stump.cover[stump.left[0]!]! > stump.cover[stump.right[0]!]! ? 1 : 0;
    expect(stump.missingLeft[0]).toBe(larger);
    expect(gbtMargin(model, [NaN])).toBe(gbtMargin(model, [-5]));
  });

  it('respects maxLeafNodes, maxDepth and minSamplesLeaf', () => {
    const { x, y } = data(3000, 5, 6, (row) => row[0]! + row[1]! * row[2]! - row[3]!);
    const model = fitGbt(x, y, { iterations: 10, maxLeafNodes: 8, maxDepth: 2, minSamplesLeaf: 100 });
    for (const tree of model.trees) {
      expect(leaves(tree).length).toBeLessThanOrEqual(4);
      expect(treeDepth(tree)).toBeLessThanOrEqual(2);
      for (const leaf of leaves(tree)) expect(tree.cover[leaf]).toBeGreaterThanOrEqual(100);
    }
    const wide = fitGbt(x, y, { iterations: 5, maxLeafNodes: 8, minSamplesLeaf: 5 });
    expect(Math.max(...wide.trees.map((t) => leaves(t).length))).toBe(8);
  });

  it("covers add up: each inner node has its children's rows", () => {
    const { x, y } = data(1000, 3, 7, (row) => row[0]!);
    const model = fitGbt(x, y, { iterations: 5, earlyStopping: false });
    for (const tree of model.trees) {
      expect(tree.cover[0]).toBe(1000);
      tree.left.forEach((l, node) => {
        if (l >= 0) expect(tree.cover[l]! + tree.cover[tree.right[node]!]!).toBe(tree.cover[node]);
      });
    }
  });

  it('stops early on a validation share and keeps the best number of trees', () => {
    const { x, y } = data(3000, 3, 8, (row) => 0.3 * row[0]!); // weak signal: overfits quickly
    const model = fitGbt(x, y, { iterations: 500, learningRate: 0.3, earlyStopping: true, patience: 5 });
    const losses = model.validationLoss!;
    expect(losses.length).toBeLessThan(500);
    expect(model.trees.length).toBe(losses.indexOf(Math.min(...losses)) + 1);
    expect(model.trees[0]!.cover[0]).toBe(2700); // trained on the other 90 %
  });

  it('is deterministic for a seed, also with subsampling', () => {
    const { x, y } = data(1500, 3, 9, (row) => row[0]! - row[2]!);
    const params = { iterations: 15, subsample: 0.5, earlyStopping: false };
    const a = gbtMargins(fitGbt(x, y, params, 1), x);
    expect(gbtMargins(fitGbt(x, y, params, 1), x)).toEqual(a);
    expect(gbtMargins(fitGbt(x, y, params, 2), x)).not.toEqual(a);
    expect(fitGbt(x, y, params, 1).trees[0]!.cover[0]).toBe(750);
    expect(rocAuc(y, a)).toBeGreaterThan(0.7);
  });

  it('predicts the same after a JSON round trip', () => {
    const { x, y } = data(1000, 3, 10, (row) => row[0]!);
    for (let i = 0; i < 1000; i += 7) x.data[i * 3 + 1] = NaN;
    const model = fitGbt(x, y, { iterations: 10 });
    const trees = (
      JSON.parse(JSON.stringify(model.trees.map(treeToJSON))) as ReturnType<typeof treeToJSON>[]
    ).map(treeFromJSON);
    expect(gbtMargins({ ...model, trees }, x)).toEqual(gbtMargins(model, x));
  });

  it('rejects nonsense parameters', () => {
    const x: Matrix = createMatrix(2, 1);
    expect(() => fitGbt(x, [0, 1], { learningRate: 0 })).toThrow(/learningRate/);
    expect(() => fitGbt(x, [0, 1], { maxBins: 300 })).toThrow(/maxBins/);
  });
});
