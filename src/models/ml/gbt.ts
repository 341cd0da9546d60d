// Histogram gradient-boosted trees for a binary outcome (log-loss), in the manner of LightGBM and
// scikit-learn's HistGradientBoostingClassifier: each feature is cut into at most 255 quantile bins once; every
// tree grows leaf-wise (best gain first) from per-node gradient histograms, building the histogram of the
// smaller child and getting the larger one by subtraction from the parent. Missing values (NaN) have a bin of
// their own and go to whichever side of each split the training gain prefers (to the larger child when the
// node saw none). Optional: a depth limit, row subsampling, early stopping on a stratified validation share.
import { log1pExp, logit, sigmoid } from './link.ts';
import { selectRows, type Matrix } from './matrix.ts';
import { seededRandom, shuffleInPlace } from './random.ts';
import { stratifiedHoldout } from './split.ts';

export interface GbtParams {
  /** Maximum number of trees (boosting iterations). */
  iterations: number;
  learningRate: number;
  maxLeafNodes: number;
  /** Maximum depth of a leaf (root = 0); null for no limit beyond maxLeafNodes. */
  maxDepth: number | null;
  minSamplesLeaf: number;
  /** L2 penalty on leaf values: a leaf's value is -G / (H + l2). */
  l2: number;
  /** At most 255 bins for the values of a feature; missing values get one more. */
  maxBins: number;
  /**
   * 'auto' stops early from 500 rows up (scikit-learn: 10,000): a tenth of the rows (stratified) is held out
   * and training stops when the loss on it has not improved for `patience` trees; the best prefix is kept.
   */
  earlyStopping: boolean | 'auto';
  validationFraction: number;
  /** Stop after this many iterations without the validation loss improving by `tolerance`. */
  patience: number;
  tolerance: number;
  /** Share of rows each tree is grown on (without replacement); 1 uses every row. */
  subsample: number;
}

export const DEFAULT_GBT_PARAMS: GbtParams = {
  iterations: 200,
  learningRate: 0.1,
  maxLeafNodes: 31,
  maxDepth: null,
  minSamplesLeaf: 20,
  l2: 1,
  maxBins: 255,
  earlyStopping: 'auto',
  validationFraction: 0.1,
  patience: 10,
  tolerance: 1e-7,
  subsample: 1,
};

/** A fitted tree as parallel arrays; node 0 is the root, a leaf has left = right = -1. */
export interface Tree {
  feature: Int32Array;
  /** A row goes left when its value is <= threshold; NaN goes left when missingLeft is 1. */
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  missingLeft: Uint8Array;
  /** The leaf's contribution to the margin (learning rate included); for inner nodes, what it would have been. */
  value: Float64Array;
  /** Training rows that reached the node: the weights of TreeSHAP's path-dependent expectation. */
  cover: Float64Array;
}

export interface GbtModel {
  /** Log-odds of the training base rate: the margin before any tree. */
  baseMargin: number;
  trees: Tree[];
  nFeatures: number;
  /** Validation log-loss after each tree, when early stopping was on. */
  validationLoss?: number[];
}

/** JSON form of a tree: plain arrays, thresholds finite. */
export interface TreeJSON {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  missingLeft: number[];
  value: number[];
  cover: number[];
}

const AUTO_EARLY_STOPPING_ROWS = 500;
const MISSING_BIN = 255;
const BIN_SLOTS = 256;
/** The threshold of a split that sends every present value left (and only missing values right). */
const ALL_PRESENT = Number.MAX_VALUE;
const MIN_HESSIAN = 1e-3;

export function fitGbt(x: Matrix, y: ArrayLike<number>, params: Partial<GbtParams> = {}, seed = 0): GbtModel {
  const p = { ...DEFAULT_GBT_PARAMS, ...params };
  checkParams(p);
  if (y.length !== x.rows) throw new RangeError(`${x.rows} rows but ${y.length} labels`);
  const stopEarly = p.earlyStopping === 'auto' ? x.rows >= AUTO_EARLY_STOPPING_ROWS : p.earlyStopping;
  let train = x;
  let trainY = Float64Array.from(y);
  let valid: Matrix | undefined;
  let validY: Float64Array | undefined;
  if (stopEarly) {
    const split = stratifiedHoldout(y, p.validationFraction, seed ^ 0x5eed);
    if (split.test.length > 0 && split.train.length > 0) {
      train = selectRows(x, split.train);
      trainY = Float64Array.from(split.train, (i) => y[i]!);
      valid = selectRows(x, split.test);
      validY = Float64Array.from(split.test, (i) => y[i]!);
    }
  }

  const n = train.rows;
  const binned = binMatrix(train, p.maxBins);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += trainY[i]!;
  const baseMargin = logit(positives / Math.max(n, 1), 1e-6);
  const margin = new Float64Array(n).fill(baseMargin);
  const gradient = new Float64Array(n);
  const hessian = new Float64Array(n);
  const validMargin = valid ? new Float64Array(valid.rows).fill(baseMargin) : undefined;
  const validationLoss: number[] = [];
  const random = seededRandom(seed);
  const sampleSize = Math.max(1, Math.round(n * p.subsample));
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const grower = new TreeGrower(binned, gradient, hessian, p);

  const trees: Tree[] = [];
  let best = Infinity;
  let bestTrees = 0;
  for (let iteration = 0; iteration < p.iterations; iteration++) {
    for (let i = 0; i < n; i++) {
      const q = sigmoid(margin[i]!);
      gradient[i] = q - trainY[i]!;
      hessian[i] = Math.max(q * (1 - q), 1e-16);
    }
    let rows = all.slice();
    if (sampleSize < n) {
      shuffleInPlace(rows, random);
      rows = rows.slice(0, sampleSize);
    }
    const { tree, leafRanges } = grower.grow(rows);
    trees.push(tree);
    if (sampleSize < n) {
      for (let i = 0; i < n; i++) margin[i]! += binnedTreeValue(tree, binned, i);
    } else {
      for (const leaf of leafRanges) {
        for (let k = leaf.start; k < leaf.end; k++) margin[rows[k]!]! += tree.value[leaf.node]!;
      }
    }
    if (valid && validMargin && validY) {
      let loss = 0;
      for (let i = 0; i < valid.rows; i++) {
        validMargin[i]! += treeValue(tree, valid.data, i * valid.cols);
        loss += log1pExp(validMargin[i]!) - validY[i]! * validMargin[i]!;
      }
      loss /= valid.rows;
      validationLoss.push(loss);
      if (loss < best - p.tolerance) {
        best = loss;
        bestTrees = trees.length;
      } else if (trees.length - bestTrees >= p.patience) {
        break;
      }
    }
  }
  return {
    baseMargin,
    trees: valid ? trees.slice(0, bestTrees) : trees,
    nFeatures: x.cols,
    ...(valid ? { validationLoss } : {}),
  };
}

function checkParams(p: GbtParams): void {
  const problems: string[] = [];
  if (!(Number.isInteger(p.iterations) && p.iterations >= 1)) problems.push('iterations must be 1 or more');
  if (!(p.learningRate > 0)) problems.push('learningRate must be above 0');
  if (!(Number.isInteger(p.maxLeafNodes) && p.maxLeafNodes >= 2))
    problems.push('maxLeafNodes must be 2 or more');
  if (p.maxDepth !== null && !(Number.isInteger(p.maxDepth) && p.maxDepth >= 1))
    problems.push('maxDepth must be 1 or more, or null');
  if (!(Number.isInteger(p.minSamplesLeaf) && p.minSamplesLeaf >= 1))
    problems.push('minSamplesLeaf must be 1 or more');
  if (!(p.l2 >= 0)) problems.push('l2 must be 0 or more');
  if (!(Number.isInteger(p.maxBins) && p.maxBins >= 2 && p.maxBins <= 255))
    problems.push('maxBins must be 2..255');
  if (!(p.validationFraction > 0 && p.validationFraction < 1))
    problems.push('validationFraction must be in (0, 1)');
  if (!(p.subsample > 0 && p.subsample <= 1)) problems.push('subsample must be in (0, 1]');
  if (problems.length > 0) throw new RangeError(`bad gradient boosting parameters: ${problems.join('; ')}`);
}

// ---- binning -------------------------------------------------------------------------------------------------

interface Binned {
  n: number;
  p: number;
  /** Feature-major: the bin of row i for feature f is bins[f * n + i]. */
  bins: Uint8Array;
  /** Per feature, ascending: value v falls in bin #{t < v}; there are thresholds.length + 1 value bins. */
  thresholds: Float64Array[];
}

function binMatrix(x: Matrix, maxBins: number): Binned {
  const { rows: n, cols: p } = x;
  const bins = new Uint8Array(n * p);
  const thresholds: Float64Array[] = [];
  const column = new Float64Array(n);
  for (let f = 0; f < p; f++) {
    for (let i = 0; i < n; i++) column[i] = x.data[i * p + f]!;
    const cuts = binThresholds(column, maxBins);
    thresholds.push(cuts);
    for (let i = 0; i < n; i++) bins[f * n + i] = binOf(column[i]!, cuts);
  }
  return { n, p, bins, thresholds };
}

/** Cut points between distinct values: one per gap when there are at most maxBins values, else at quantiles. */
export function binThresholds(values: ArrayLike<number>, maxBins: number): Float64Array {
  const present = Float64Array.from(values).filter((v) => !Number.isNaN(v));
  present.sort();
  const distinct: number[] = [];
  const cumulative: number[] = [];
  for (let i = 0; i < present.length; i++) {
    if (i === 0 || present[i] !== present[i - 1]) distinct.push(present[i]!);
    cumulative[distinct.length - 1] = i + 1;
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let k = 0; k + 1 < distinct.length; k++) cuts.push(midpoint(distinct[k]!, distinct[k + 1]!));
  } else {
    let target = 1;
    for (let k = 0; k + 1 < distinct.length && cuts.length < maxBins - 1; k++) {
      if (cumulative[k]! >= (target * present.length) / maxBins) {
        cuts.push(midpoint(distinct[k]!, distinct[k + 1]!));
        while ((target * present.length) / maxBins <= cumulative[k]!) target++;
      }
    }
  }
  return Float64Array.from(cuts);
}

function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  return m < b ? m : a;
}

function binOf(value: number, cuts: Float64Array): number {
  if (Number.isNaN(value)) return MISSING_BIN;
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- tree growth ---------------------------------------------------------------------------------------------

interface Candidate {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  leftG: number;
  leftH: number;
  leftCount: number;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  histogram: Float64Array | undefined;
  candidate: Candidate | undefined;
}

class TreeGrower {
  readonly binned: Binned;
  readonly gradient: Float64Array;
  readonly hessian: Float64Array;
  readonly params: GbtParams;
  readonly valueBins: Int32Array;
  private readonly pool: Float64Array[] = [];

  constructor(binned: Binned, gradient: Float64Array, hessian: Float64Array, params: GbtParams) {
    this.binned = binned;
    this.gradient = gradient;
    this.hessian = hessian;
    this.params = params;
    this.valueBins = Int32Array.from(binned.thresholds, (t) => t.length + 1);
  }

  /** Grows one tree on `rows` (reordered in place so each leaf's rows are contiguous). */
  grow(rows: Uint32Array): { tree: Tree; leafRanges: { node: number; start: number; end: number }[] } {
    const nodes = new NodeList();
    let g = 0;
    let h = 0;
    for (const r of rows) {
      g += this.gradient[r]!;
      h += this.hessian[r]!;
    }
    const root = nodes.add(this.leafValue(g, h), rows.length);
    const histogram = this.histogramFor(rows, 0, rows.length);
    const leaves: Leaf[] = [
      { node: root, start: 0, end: rows.length, depth: 0, g, h, histogram, candidate: undefined },
    ];
    this.consider(leaves[0]!);
    for (let count = 1; count < this.params.maxLeafNodes; count++) {
      let best: Leaf | undefined;
      for (const leaf of leaves) {
        if (leaf.candidate && (!best || leaf.candidate.gain > best.candidate!.gain)) best = leaf;
      }
      if (!best) break;
      leaves.push(this.split(best, rows, nodes));
    }
    for (const leaf of leaves) this.release(leaf);
    return {
      tree: nodes.toTree(),
      leafRanges: leaves.map(({ node, start, end }) => ({ node, start, end })),
    };
  }

  /** Splits `leaf` in place into its left child and returns the new right child. */
  private split(leaf: Leaf, rows: Uint32Array, nodes: NodeList): Leaf {
    const c = leaf.candidate!;
    const { n } = this.binned;
    const bins = this.binned.bins;
    const offset = c.feature * n;
    let i = leaf.start;
    let j = leaf.end - 1;
    const goesLeft = (r: number) => {
      const b = bins[offset + r]!;
      return b === MISSING_BIN ? c.missingLeft : b <= c.bin;
    };
    while (i <= j) {
      if (goesLeft(rows[i]!)) i++;
      else {
        const tmp = rows[i]!;
        rows[i] = rows[j]!;
        rows[j--] = tmp;
      }
    }
    const middle = i;
    const cuts = this.binned.thresholds[c.feature]!;
    const threshold = c.bin >= cuts.length ? ALL_PRESENT : cuts[c.bin]!;
    const rightG = leaf.g - c.leftG;
    const rightH = leaf.h - c.leftH;
    const leftNode = nodes.add(this.leafValue(c.leftG, c.leftH), middle - leaf.start);
    const rightNode = nodes.add(this.leafValue(rightG, rightH), leaf.end - middle);
    nodes.setSplit(leaf.node, c.feature, threshold, c.missingLeft, leftNode, rightNode);

    const depth = leaf.depth + 1;
    const left: Leaf = {
      node: leftNode,
      start: leaf.start,
      end: middle,
      depth,
      g: c.leftG,
      h: c.leftH,
      histogram: undefined,
      candidate: undefined,
    };
    const right: Leaf = {
      node: rightNode,
      start: middle,
      end: leaf.end,
      depth,
      g: rightG,
      h: rightH,
      histogram: undefined,
      candidate: undefined,
    };
    const parent = leaf.histogram!;
    leaf.histogram = undefined;
    if (this.maySplit(left) || this.maySplit(right)) {
      const [small, large] = left.end - left.start <= right.end - right.start ? [left, right] : [right, left];
      small.histogram = this.histogramFor(rows, small.start, small.end);
      for (let k = 0; k < parent.length; k++) parent[k]! -= small.histogram[k]!;
      large.histogram = parent;
      this.consider(left);
      this.consider(right);
      this.release(left);
      this.release(right);
    } else {
      this.pool.push(parent);
    }
    Object.assign(leaf, left);
    return right;
  }

  private maySplit(leaf: Leaf): boolean {
    const { maxDepth, minSamplesLeaf } = this.params;
    return (maxDepth === null || leaf.depth < maxDepth) && leaf.end - leaf.start >= 2 * minSamplesLeaf;
  }

  /** Finds the leaf's best split; a leaf that cannot split gives its histogram back. */
  private consider(leaf: Leaf): void {
    leaf.candidate = this.maySplit(leaf) ? this.bestSplit(leaf) : undefined;
  }

  private release(leaf: Leaf): void {
    if (!leaf.candidate && leaf.histogram) {
      this.pool.push(leaf.histogram);
      leaf.histogram = undefined;
    }
  }

  private histogramFor(rows: Uint32Array, start: number, end: number): Float64Array {
    const { n, p, bins } = this.binned;
    const histogram = this.pool.pop() ?? new Float64Array(p * BIN_SLOTS * 3);
    histogram.fill(0);
    const gradient = this.gradient;
    const hessian = this.hessian;
    for (let f = 0; f < p; f++) {
      const offset = f * n;
      const base = f * BIN_SLOTS * 3;
      for (let k = start; k < end; k++) {
        const r = rows[k]!;
        const o = base + bins[offset + r]! * 3;
        histogram[o]! += gradient[r]!;
        histogram[o + 1]! += hessian[r]!;
        histogram[o + 2]!++;
      }
    }
    return histogram;
  }

  private bestSplit(leaf: Leaf): Candidate | undefined {
    const { l2, minSamplesLeaf } = this.params;
    const histogram = leaf.histogram!;
    const total = leaf.end - leaf.start;
    const parentScore = (leaf.g * leaf.g) / (leaf.h + l2);
    const found: { best: Candidate | undefined } = { best: undefined };
    const consider = (f: number, bin: number, missingLeft: boolean, lg: number, lh: number, lc: number) => {
      const rc = total - lc;
      const rh = leaf.h - lh;
      if (lc < minSamplesLeaf || rc < minSamplesLeaf || lh < MIN_HESSIAN || rh < MIN_HESSIAN) return;
      const rg = leaf.g - lg;
      const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentScore;
      if (gain > 1e-12 && (!found.best || gain > found.best.gain)) {
        found.best = { gain, feature: f, bin, missingLeft, leftG: lg, leftH: lh, leftCount: lc };
      }
    };
    for (let f = 0; f < this.binned.p; f++) {
      const base = f * BIN_SLOTS * 3;
      const m = base + MISSING_BIN * 3;
      const mg = histogram[m]!;
      const mh = histogram[m + 1]!;
      const mc = histogram[m + 2]!;
      const valueBins = this.valueBins[f]!;
      let lg = 0;
      let lh = 0;
      let lc = 0;
      for (let b = 0; b < valueBins; b++) {
        const o = base + b * 3;
        lg += histogram[o]!;
        lh += histogram[o + 1]!;
        lc += histogram[o + 2]!;
        if (b < valueBins - 1) {
          consider(f, b, false, lg, lh, lc);
          if (mc > 0) consider(f, b, true, lg + mg, lh + mh, lc + mc);
        } else if (mc > 0) {
          consider(f, b, false, lg, lh, lc); // every present value left, the missing ones right
        }
      }
    }
    const best = found.best;
    // A node that saw no missing value for the feature sends future ones to the larger child.
    if (best && histogram[best.feature * BIN_SLOTS * 3 + MISSING_BIN * 3 + 2] === 0) {
      best.missingLeft = best.leftCount >= total - best.leftCount;
    }
    return best;
  }

  private leafValue(g: number, h: number): number {
    const denominator = h + this.params.l2;
    return denominator > 0 ? (-g / denominator) * this.params.learningRate : 0;
  }
}

class NodeList {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  missingLeft: number[] = [];
  value: number[] = [];
  cover: number[] = [];

  add(value: number, cover: number): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.missingLeft.push(0);
    this.value.push(value);
    this.cover.push(cover);
    return this.value.length - 1;
  }

  setSplit(
    node: number,
    feature: number,
    threshold: number,
    missingLeft: boolean,
    l: number,
    r: number,
  ): void {
    this.feature[node] = feature;
    this.threshold[node] = threshold;
    this.missingLeft[node] = missingLeft ? 1 : 0;
    this.left[node] = l;
    this.right[node] = r;
  }

  toTree(): Tree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      missingLeft: Uint8Array.from(this.missingLeft),
      value: Float64Array.from(this.value),
      cover: Float64Array.from(this.cover),
    };
  }
}

// ---- prediction ----------------------------------------------------------------------------------------------

/** Whether a row with `value` for the node's feature goes to the left child. */
export function goesLeft(tree: Tree, node: number, value: number): boolean {
  return Number.isNaN(value) ? tree.missingLeft[node] === 1 : value <= tree.threshold[node]!;
}

/** The leaf value for the row stored at data[offset .. offset + features). */
export function treeValue(tree: Tree, data: ArrayLike<number>, offset = 0): number {
  let node = 0;
  while (tree.left[node]! >= 0) {
    node = goesLeft(tree, node, data[offset + tree.feature[node]!]!) ? tree.left[node]! : tree.right[node]!;
  }
  return tree.value[node]!;
}

function binnedTreeValue(tree: Tree, binned: Binned, row: number): number {
  let node = 0;
  while (tree.left[node]! >= 0) {
    const f = tree.feature[node]!;
    const b = binned.bins[f * binned.n + row]!;
    const cuts = binned.thresholds[f]!;
    const left =
      b === MISSING_BIN
        ? tree.missingLeft[node] === 1
        : tree.threshold[node] === ALL_PRESENT || (b < cuts.length && cuts[b]! <= tree.threshold[node]!);
    node = left ? tree.left[node]! : tree.right[node]!;
  }
  return tree.value[node]!;
}

/** The log-odds for one encoded row. */
export function gbtMargin(model: GbtModel, row: ArrayLike<number>): number {
  let margin = model.baseMargin;
  for (const tree of model.trees) margin += treeValue(tree, row);
  return margin;
}

export function gbtMargins(model: GbtModel, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows).fill(model.baseMargin);
  for (const tree of model.trees) {
    for (let i = 0; i < x.rows; i++) out[i]! += treeValue(tree, x.data, i * x.cols);
  }
  return out;
}

export function treeToJSON(tree: Tree): TreeJSON {
  return {
    feature: Array.from(tree.feature),
    threshold: Array.from(tree.threshold),
    left: Array.from(tree.left),
    right: Array.from(tree.right),
    missingLeft: Array.from(tree.missingLeft),
    value: Array.from(tree.value),
    cover: Array.from(tree.cover),
  };
}

export function treeFromJSON(json: TreeJSON): Tree {
  const size = json.value.length;
  for (const key of ['feature', 'threshold', 'left', 'right', 'missingLeft', 'cover'] as const) {
    if (!Array.isArray(json[key]) || json[key].length !== size)
      throw new RangeError(`tree.${key} is not ${size} long`);
  }
  return {
    feature: Int32Array.from(json.feature),
    threshold: Float64Array.from(json.threshold),
    left: Int32Array.from(json.left),
    right: Int32Array.from(json.right),
    missingLeft: Uint8Array.from(json.missingLeft),
    value: Float64Array.from(json.value),
    cover: Float64Array.from(json.cover),
  };
}
