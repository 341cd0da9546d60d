// Drift statistics. Pure: population stability index (numeric and categorical), the two-sample
// Kolmogorov-Smirnov test and Pearson's chi-square test of homogeneity, each with its p-value.

/** Keeps an empty bin from making the logarithm infinite; the usual choice in credit-risk practice. */
export const PSI_EPSILON = 1e-4;

/** PSI = sum over bins of (actual - expected) * ln(actual / expected), on proportions. */
export function psiFromProportions(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new Error('psi: the two distributions need the same bins');
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, PSI_EPSILON);
    const a = Math.max(actual[i]!, PSI_EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * Bin edges from the reference's quantiles (deciles by default), so each reference bin holds about the same
 * share. Repeated edges (many equal values, e.g. counts of zero) are merged.
 */
export function quantileEdges(reference: readonly number[], bins = 10): number[] {
  const sorted = [...reference].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const edge = quantileOfSorted(sorted, k / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return edges;
}

/** Shares per bin: bin i holds values v with edges[i-1] < v <= edges[i]; the last bin everything above. */
export function binShares(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binIndex(edges, v)]!++;
  return counts.map((c) => (values.length ? c / values.length : 0));
}

function binIndex(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** PSI of a numeric feature: bins from the reference's quantiles. */
export function psiNumeric(reference: readonly number[], actual: readonly number[], bins = 10): number {
  const edges = quantileEdges(reference, bins);
  return psiFromProportions(binShares(reference, edges), binShares(actual, edges));
}

/** PSI of a categorical feature: one bin per category seen in either sample. */
export function psiCategorical(
  reference: Readonly<Record<string, number>>,
  actual: Readonly<Record<string, number>>,
): number {
  const { expected, observed } = alignCounts(reference, actual);
  return psiFromProportions(shares(expected), shares(observed));
}

function alignCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return { keys, expected: keys.map((k) => a[k] ?? 0), observed: keys.map((k) => b[k] ?? 0) };
}

function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (total ? c / total : 0));
}

export interface TestResult {
  statistic: number;
  pValue: number;
}

/**
 * Two-sample Kolmogorov-Smirnov: D = the largest gap between the two empirical CDFs; the p-value from the
 * asymptotic Kolmogorov distribution with Stephens' small-sample correction (as in Numerical Recipes).
 */
export function ksTwoSample(a: readonly number[], b: readonly number[]): TestResult {
  if (a.length === 0 || b.length === 0) return { statistic: NaN, pValue: NaN };
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const ne = (x.length * y.length) / (x.length + y.length);
  const sq = Math.sqrt(ne);
  return { statistic: d, pValue: kolmogorovSurvival((sq + 0.12 + 0.11 / sq) * d) };
}

/** P(K > lambda) for the Kolmogorov distribution: 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2). */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-12) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Pearson's chi-square test that two samples of a categorical come from the same distribution. */
export function chiSquareHomogeneity(
  reference: Readonly<Record<string, number>>,
  actual: Readonly<Record<string, number>>,
): TestResult & { df: number } {
  const { expected: r, observed: s } = alignCounts(reference, actual);
  const nr = r.reduce((a, c) => a + c, 0);
  const ns = s.reduce((a, c) => a + c, 0);
  const n = nr + ns;
  let statistic = 0;
  let categories = 0;
  for (let k = 0; k < r.length; k++) {
    const column = r[k]! + s[k]!;
    if (column === 0) continue;
    categories++;
    const er = (nr * column) / n;
    const es = (ns * column) / n;
    statistic += (r[k]! - er) ** 2 / er + (s[k]! - es) ** 2 / es;
  }
  const df = Math.max(1, categories - 1);
  if (nr === 0 || ns === 0) return { statistic: NaN, pValue: NaN, df };
  return { statistic, pValue: chiSquareSurvival(statistic, df), df };
}

/** P(X > x) for a chi-square with `df` degrees of freedom: the regularized upper incomplete gamma Q(df/2, x/2). */
export function chiSquareSurvival(x: number, df: number): number {
  if (x <= 0) return 1;
  return upperGammaQ(df / 2, x / 2);
}

function upperGammaQ(a: number, x: number): number {
  if (x < a + 1) return 1 - lowerSeries(a, x);
  return upperContinuedFraction(a, x);
}

function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 1000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function upperContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Lanczos approximation (g = 7, n = 9), accurate to about 15 digits for positive arguments. */
export function logGamma(z: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let a = c[0]!;
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Linear interpolation between order statistics (type 7, the default of R and NumPy). */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
