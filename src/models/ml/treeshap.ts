// Exact TreeSHAP (Lundberg, Erion and Lee 2018, "Consistent individualized feature attribution for tree
// ensembles", Algorithm 2): Shapley values of a tree's output where a feature outside the coalition is
// integrated out by following both children in proportion to their training cover (the path-dependent
// conditional expectation). Polynomial: O(leaves x depth²) per tree. The recursion follows the reference
// implementation in the shap package (tree_shap_recursive, extend_path, unwind_path, unwound_path_sum).
import { goesLeft, type GbtModel, type Tree } from './gbt.ts';

interface PathStore {
  feature: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  weight: Float64Array;
}

const pathStores = new WeakMap<Tree, PathStore>();

function pathStoreFor(tree: Tree): PathStore {
  let store = pathStores.get(tree);
  if (!store) {
    const depth = treeDepth(tree);
    const size = ((depth + 2) * (depth + 3)) / 2 + 2 * depth + 4;
    store = {
      feature: new Int32Array(size),
      zero: new Float64Array(size),
      one: new Float64Array(size),
      weight: new Float64Array(size),
    };
    pathStores.set(tree, store);
  }
  return store;
}

export function treeDepth(tree: Tree, node = 0): number {
  if (tree.left[node]! < 0) return 0;
  return 1 + Math.max(treeDepth(tree, tree.left[node]!), treeDepth(tree, tree.right[node]!));
}

/** The cover-weighted mean of the leaf values: what the tree predicts when nothing is known. */
export function treeExpectedValue(tree: Tree, node = 0): number {
  const left = tree.left[node]!;
  if (left < 0) return tree.value[node]!;
  const right = tree.right[node]!;
  return (
    (tree.cover[left]! * treeExpectedValue(tree, left) +
      tree.cover[right]! * treeExpectedValue(tree, right)) /
    tree.cover[node]!
  );
}

/** Adds the tree's SHAP values for the row `x` into `phi` (one slot per feature). */
export function addTreeShap(tree: Tree, x: ArrayLike<number>, phi: Float64Array): void {
  recurse(tree, x, phi, pathStoreFor(tree), 0, 0, 0, 1, 1, -1);
}

/**
 * SHAP values of a boosted model's margin: base (the expected margin) + Σ values = the margin of the row,
 * exactly up to floating-point rounding.
 */
export function gbtShap(model: GbtModel, x: ArrayLike<number>): { base: number; values: Float64Array } {
  const values = new Float64Array(model.nFeatures);
  let base = model.baseMargin;
  for (const tree of model.trees) {
    base += treeExpectedValue(tree);
    addTreeShap(tree, x, values);
  }
  return { base, values };
}

function extendPath(
  p: PathStore,
  o: number,
  depth: number,
  zero: number,
  one: number,
  feature: number,
): void {
  p.feature[o + depth] = feature;
  p.zero[o + depth] = zero;
  p.one[o + depth] = one;
  p.weight[o + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    p.weight[o + i + 1]! += (one * p.weight[o + i]! * (i + 1)) / (depth + 1);
    p.weight[o + i] = (zero * p.weight[o + i]! * (depth - i)) / (depth + 1);
  }
}

function unwindPath(p: PathStore, o: number, depth: number, index: number): void {
  const one = p.one[o + index]!;
  const zero = p.zero[o + index]!;
  let next = p.weight[o + depth]!;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = p.weight[o + i]!;
      p.weight[o + i] = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (p.weight[o + i]! * zero * (depth - i)) / (depth + 1);
    } else {
      p.weight[o + i] = (p.weight[o + i]! * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    p.feature[o + i] = p.feature[o + i + 1]!;
    p.zero[o + i] = p.zero[o + i + 1]!;
    p.one[o + i] = p.one[o + i + 1]!;
  }
}

/** The total weight the path would have with element `index` unwound, without changing the path. */
function unwoundPathSum(p: PathStore, o: number, depth: number, index: number): number {
  const one = p.one[o + index]!;
  const zero = p.zero[o + index]!;
  let next = p.weight[o + depth]!;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = p.weight[o + i]! - tmp * zero * ((depth - i) / (depth + 1));
    } else if (zero !== 0) {
      total += p.weight[o + i]! / zero / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

function recurse(
  tree: Tree,
  x: ArrayLike<number>,
  phi: Float64Array,
  p: PathStore,
  node: number,
  depth: number,
  parentOffset: number,
  parentZero: number,
  parentOne: number,
  parentFeature: number,
): void {
  // Each level works on its own copy of the path, stored after its parent's.
  const o = parentOffset + depth + 1;
  for (let k = 0; k <= depth; k++) {
    p.feature[o + k] = p.feature[parentOffset + k]!;
    p.zero[o + k] = p.zero[parentOffset + k]!;
    p.one[o + k] = p.one[parentOffset + k]!;
    p.weight[o + k] = p.weight[parentOffset + k]!;
  }
  extendPath(p, o, depth, parentZero, parentOne, parentFeature);

  const left = tree.left[node]!;
  if (left < 0) {
    const value = tree.value[node]!;
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(p, o, depth, i);
      phi[p.feature[o + i]!]! += w * (p.one[o + i]! - p.zero[o + i]!) * value;
    }
    return;
  }

  const right = tree.right[node]!;
  const feature = tree.feature[node]!;
  const [hot, cold] = goesLeft(tree, node, x[feature]!) ? [left, right] : [right, left];
  const cover = tree.cover[node]!;
  let incomingZero = 1;
  let incomingOne = 1;
  // A feature already on the path is taken off and put back with this node's fractions multiplied in.
  let index = 0;
  while (index <= depth && p.feature[o + index] !== feature) index++;
  if (index <= depth) {
    incomingZero = p.zero[o + index]!;
    incomingOne = p.one[o + index]!;
    unwindPath(p, o, depth, index);
    depth--;
  }
  recurse(
    tree,
    x,
    phi,
    p,
    hot,
    depth + 1,
    o,
    (tree.cover[hot]! / cover) * incomingZero,
    incomingOne,
    feature,
  );
  recurse(tree, x, phi, p, cold, depth + 1, o, (tree.cover[cold]! / cover) * incomingZero, 0, feature);
}
