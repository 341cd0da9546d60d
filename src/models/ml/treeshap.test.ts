import { describe, expect, it } from 'vitest';
import { fitGbt, gbtMargin, treeValue, type GbtModel, type Tree } from './gbt.ts';
import { sigmoid } from './link.ts';
import { createMatrix } from './matrix.ts';
import { normal, seededRandom, type Random } from './random.ts';
import { addTreeShap, gbtShap, treeExpectedValue } from './treeshap.ts';

/** E[f(x) | x_S] the path-dependent way: features in S follow x, the others split by cover. */
function conditional(tree: Tree, x: ArrayLike<number>, known: Set<number>, node = 0): number {
  const left = tree.left[node]!;
  if (left < 0) return tree.value[node]!;
  const right = tree.right[node]!;
  const f = tree.feature[node]!;
  if (known.has(f)) {
    const v = x[f]!;
    const goLeft = Number.isNaN(v) ? tree.missingLeft[node] === 1 : v <= tree.threshold[node]!;
    return conditional(tree, x, known, goLeft ? left : right);
  }
  return (
    (tree.cover[left]! * conditional(tree, x, known, left) +
      tree.cover[right]! * conditional(tree, x, known, right)) /
    tree.cover[node]!
  );
}

/** Shapley values by enumerating every coalition: exponential, for checking only. */
function bruteForceShapley(tree: Tree, x: ArrayLike<number>, m: number): number[] {
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const phi = new Array<number>(m).fill(0);
  for (let i = 0; i < m; i++) {
    for (let mask = 0; mask < 1 << m; mask++) {
      if (mask & (1 << i)) continue;
      const coalition = new Set<number>();
      for (let j = 0; j < m; j++) if (mask & (1 << j)) coalition.add(j);
      const weight = (factorial(coalition.size) * factorial(m - coalition.size - 1)) / factorial(m);
      const without = conditional(tree, x, coalition);
      coalition.add(i);
      phi[i]! += weight * (conditional(tree, x, coalition) - without);
    }
  }
  return phi;
}

/** A random full binary tree, features reused along paths, covers consistent, some missing-left nodes. */
function randomTree(random: Random, depth: number, features: number): Tree {
  const nodes: {
    feature: number;
    threshold: number;
    left: number;
    right: number;
    missingLeft: number;
    value: number;
    cover: number;
  }[] = [];
  const grow = (level: number): number => {
    const id = nodes.length;
    nodes.push({ feature: -1, threshold: 0, left: -1, right: -1, missingLeft: 0, value: 0, cover: 0 });
    if (level === depth || (level > 1 && random() < 0.25)) {
      nodes[id]!.value = normal(random);
      nodes[id]!.cover = 1 + Math.floor(random() * 50);
      return id;
    }
    const left = grow(level + 1);
    const right = grow(level + 1);
    Object.assign(nodes[id]!, {
      feature: Math.floor(random() * features),
      threshold: normal(random) * 0.7,
      left,
      right,
      missingLeft: random() < 0.5 ? 1 : 0,
      cover: nodes[left]!.cover + nodes[right]!.cover,
    });
    return id;
  };
  grow(0);
  return {
    feature: Int32Array.from(nodes, (n) => n.feature),
    threshold: Float64Array.from(nodes, (n) => n.threshold),
    left: Int32Array.from(nodes, (n) => n.left),
    right: Int32Array.from(nodes, (n) => n.right),
    missingLeft: Uint8Array.from(nodes, (n) => n.missingLeft),
    value: Float64Array.from(nodes, (n) => n.value),
    cover: Float64Array.from(nodes, (n) => n.cover),
  };
}

describe('TreeSHAP', () => {
  it("gives a stump's whole effect to its feature", () => {
    const stump: Tree = {
      feature: Int32Array.from([1, -1, -1]),
      threshold: Float64Array.from([0, 0, 0]),
      left: Int32Array.from([1, -1, -1]),
      right: Int32Array.from([2, -1, -1]),
      missingLeft: Uint8Array.from([0, 0, 0]),
      value: Float64Array.from([0, -1, 3]),
      cover: Float64Array.from([4, 3, 1]),
    };
    expect(treeExpectedValue(stump)).toBe(0); // (3 x -1 + 1 x 3) / 4
    const phi = new Float64Array(3);
    addTreeShap(stump, [9, 1, 9], phi);
    expect(Array.from(phi)).toEqual([0, 3, 0]);
  });

  it('matches brute-force Shapley values on random trees, with repeated features and missing values', () => {
    const random = seededRandom(21);
    for (let t = 0; t < 40; t++) {
      const m = 2 + (t % 5);
      const tree = randomTree(random, 2 + (t % 4), m);
      for (let r = 0; r < 5; r++) {
        const x = Array.from({ length: m }, () => (random() < 0.15 ? NaN : normal(random)));
        const phi = new Float64Array(m);
        addTreeShap(tree, x, phi);
        const expected = bruteForceShapley(tree, x, m);
        expected.forEach((value, j) => expect(Math.abs(phi[j]! - value)).toBeLessThan(1e-10));
        const total = phi.reduce((a, b) => a + b, treeExpectedValue(tree));
        expect(Math.abs(total - treeValue(tree, x))).toBeLessThan(1e-10);
      }
    }
  });

  it('sums with the expected value to the margin for every row of a fitted model', () => {
    const random = seededRandom(4);
    const n = 3000;
    const p = 5;
    const x = createMatrix(n, p);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++)
        x.data[i * p + j] = random() < 0.1 ? NaN : j === 4 ? Math.floor(random() * 6) : normal(random);
      const row = x.data.subarray(i * p, (i + 1) * p);
      const eta = (Number.isNaN(row[0]!) ? 1 : row[0]!) + row[1]! * (row[2]! || 0) + (row[4] === 3 ? 1.5 : 0);
      y[i] = random() < sigmoid(eta) ? 1 : 0;
    }
    const model: GbtModel = fitGbt(x, y, { iterations: 40 });
    for (let i = 0; i < n; i++) {
      const row = x.data.subarray(i * p, (i + 1) * p);
      const { base, values } = gbtShap(model, row);
      const total = values.reduce((a, b) => a + b, base);
      expect(Math.abs(total - gbtMargin(model, row))).toBeLessThan(1e-9);
    }
  });

  it('gives nothing to a feature the trees never split on', () => {
    const random = seededRandom(8);
    const x = createMatrix(500, 3);
    const y = new Float64Array(500);
    for (let i = 0; i < 500; i++) {
      x.data[i * 3] = normal(random);
      x.data[i * 3 + 1] = normal(random);
      x.data[i * 3 + 2] = 0; // constant: never split on
      y[i] = random() < sigmoid(2 * x.data[i * 3]!) ? 1 : 0;
    }
    const model = fitGbt(x, y, { iterations: 10 });
    expect(gbtShap(model, [0.5, 0.1, 0]).values[2]).toBe(0);
  });
});
