// Turning table rows into numeric features, fitted on training rows and re-applied unchanged to new rows.
//
// A column is numeric when (almost) all of its present values are numbers, categorical otherwise. Missing
// means null, undefined, NaN, or text that is empty or NA / N/A / NaN / null. Then, by model:
// - linear: a numeric column is standardised with its missing values at the mean (0 after standardising), plus
//   a `column=(missing)` indicator when training had missing values, plus one indicator per quantile bin of
//   its training values (`age=(25, 32]`; `numericBins`, 5 by default), so that the model can bend where the
//   effect is not a straight line (U-shapes, a special value such as -1); a categorical column is one-hot, one
//   indicator per category with at least `minCategoryCount` training rows (at most `maxCategories`), the rest
//   pooled as `column=(other)`, missing values as `column=(missing)`. All levels are kept (no reference level):
//   the L2 penalty makes the fit unique and every category reads on its own.
// - tree: a numeric column is passed as is, missing values as NaN for the trees' learned default direction;
//   a categorical column becomes one code per level, ordered by the level's training positive rate (smoothed
//   towards the overall rate), so that a threshold on the code separates low-rate from high-rate categories.
//   For a binary outcome that order holds the best two-way split of the categories (Fisher 1958; Breiman et
//   al. 1984) — exactly at the root, approximately deeper down, where the trees reuse the global order.
//   Categories unseen in training, and rare ones, score as `(other)`.
// The fitted encoder is plain JSON.
import type { Matrix } from './matrix.ts';

export type Row = Record<string, unknown>;
/** Rows, or one array of values per column. */
export type Table = readonly Row[] | { readonly [column: string]: ArrayLike<unknown> };
export type EncoderMode = 'linear' | 'tree';

export interface EncoderOptions {
  /** Categories seen in fewer training rows than this are pooled as "(other)". */
  minCategoryCount: number;
  /** At most this many categories of a column keep their own level (the most frequent ones). */
  maxCategories: number;
  /** A column is numeric when at least this share of its present values are numbers. */
  numericShare: number;
  /** Pseudo-rows at the overall rate added to each category when ordering the tree codes. */
  smoothing: number;
  /** Linear encoding: quantile bins per numeric column, each with an indicator (0 or 1: none). */
  numericBins: number;
}

export const DEFAULT_ENCODER_OPTIONS: EncoderOptions = {
  minCategoryCount: 10,
  maxCategories: 100,
  numericShare: 0.95,
  smoothing: 10,
  numericBins: 5,
};

export const OTHER = '(other)';
export const MISSING = '(missing)';

export type ColumnEncoding =
  | {
      name: string;
      kind: 'numeric';
      mean: number;
      std: number;
      missing: number;
      /** Upper bounds of the quantile bins but the last (linear encoding). */
      cuts: number[];
    }
  | {
      name: string;
      kind: 'categorical';
      /** Levels in code order (tree) or by frequency (linear); always includes (other) and (missing). */
      levels: string[];
      counts: number[];
      rates: number[];
    }
  | { name: string; kind: 'ignored'; reason: string };

export interface FeatureInfo {
  /** Human-readable: `age`, `age=(missing)`, `job=admin.`. */
  name: string;
  column: string;
  /** For an indicator: the category (or "(missing)") it stands for. */
  level?: string;
}

export interface Encoder {
  version: 1;
  mode: EncoderMode;
  options: EncoderOptions;
  columns: ColumnEncoding[];
  features: FeatureInfo[];
}

const MISSING_TEXT = new Set(['', 'na', 'n/a', 'nan', 'null']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function isMissingValue(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'number') return Number.isNaN(value);
  if (typeof value === 'string') return MISSING_TEXT.has(value.trim().toLowerCase());
  return false;
}

/** The number a value stands for, or NaN when it is missing or not a number. */
export function parseNumber(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : NaN;
  if (typeof value === 'boolean' || value === null || value === undefined) return NaN;
  const text = String(value).trim();
  return NUMBER.test(text) ? Number(text) : NaN;
}

/** The category a present value stands for. */
export function categoryOf(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value).trim();
}

export function tableLength(table: Table): number {
  if (Array.isArray(table)) return table.length;
  const first = Object.values(table)[0];
  return first ? first.length : 0;
}

export function tableColumns(table: Table): string[] {
  if (!Array.isArray(table)) return Object.keys(table);
  const names = new Set<string>();
  for (const row of table as readonly Row[]) for (const name of Object.keys(row)) names.add(name);
  return [...names];
}

export function columnValues(table: Table, name: string): ArrayLike<unknown> {
  if (Array.isArray(table)) return (table as readonly Row[]).map((row) => row[name]);
  const values = (table as { readonly [column: string]: ArrayLike<unknown> })[name];
  if (!values) throw new RangeError(`no column "${name}"`);
  return values;
}

export interface FitEncoderOptions {
  mode: EncoderMode;
  /** The columns to encode (default: every column of the table). */
  columns?: readonly string[];
  options?: Partial<EncoderOptions>;
}

/** Learns the encoding from training rows; `labels` (0/1) order the categories of tree encodings. */
export function fitEncoder(table: Table, labels: ArrayLike<number>, fit: FitEncoderOptions): Encoder {
  const options = { ...DEFAULT_ENCODER_OPTIONS, ...fit.options };
  const n = tableLength(table);
  if (labels.length !== n) throw new RangeError(`${n} rows but ${labels.length} labels`);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]! > 0 ? 1 : 0;
  const prior = n > 0 ? positives / n : 0.5;
  const columns = (fit.columns ?? tableColumns(table)).map((name) =>
    fitColumn(name, columnValues(table, name), labels, prior, fit.mode, options),
  );
  return { version: 1, mode: fit.mode, options, columns, features: featuresOf(columns, fit.mode) };
}

function fitColumn(
  name: string,
  values: ArrayLike<unknown>,
  labels: ArrayLike<number>,
  prior: number,
  mode: EncoderMode,
  options: EncoderOptions,
): ColumnEncoding {
  let present = 0;
  let numeric = 0;
  for (let i = 0; i < values.length; i++) {
    if (isMissingValue(values[i])) continue;
    present++;
    if (!Number.isNaN(parseNumber(values[i]))) numeric++;
  }
  if (present === 0) return { name, kind: 'ignored', reason: 'every value is missing' };
  if (numeric >= options.numericShare * present)
    return fitNumeric(name, values, mode === 'linear' ? options.numericBins : 0);
  return fitCategorical(name, values, labels, prior, mode, options);
}

function fitNumeric(name: string, values: ArrayLike<unknown>, bins: number): ColumnEncoding {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  let missing = 0;
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = parseNumber(values[i]);
    if (Number.isNaN(v)) {
      missing++;
      continue;
    }
    present.push(v);
    const delta = v - mean;
    count++;
    mean += delta / count;
    m2 += delta * (v - mean);
  }
  const std = Math.sqrt(m2 / count);
  if (!(std > 0) && missing === 0) return { name, kind: 'ignored', reason: 'the same value in every row' };
  return { name, kind: 'numeric', mean, std: std > 0 ? std : 0, missing, cuts: quantileCuts(present, bins) };
}

/** Distinct values at the 1/bins, 2/bins, ... quantiles, leaving no bin empty. */
function quantileCuts(values: number[], bins: number): number[] {
  if (bins < 2 || values.length === 0) return [];
  const sorted = Float64Array.from(values).sort();
  const cuts = new Set<number>();
  for (let k = 1; k < bins; k++) cuts.add(sorted[Math.floor((k / bins) * (sorted.length - 1))]!);
  return [...cuts].filter((cut) => cut < sorted[sorted.length - 1]!);
}

/** The labels of the bins the cuts make: (-∞, 25], (25, 32], ..., (60, ∞). */
export function binLabels(cuts: readonly number[]): string[] {
  const bounds = ['-∞', ...cuts.map(String), '∞'];
  return bounds.slice(1).map((upper, k) => `(${bounds[k]}, ${upper}${upper === '∞' ? ')' : ']'}`);
}

/** Index of the bin a value falls in: the first cut at or above it. */
function binIndex(cuts: readonly number[], value: number): number {
  let k = 0;
  while (k < cuts.length && value > cuts[k]!) k++;
  return k;
}

function fitCategorical(
  name: string,
  values: ArrayLike<unknown>,
  labels: ArrayLike<number>,
  prior: number,
  mode: EncoderMode,
  options: EncoderOptions,
): ColumnEncoding {
  const stats = new Map<string, { count: number; positives: number }>();
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const level = isMissingValue(value) ? MISSING : categoryOf(value);
    const entry = stats.get(level) ?? { count: 0, positives: 0 };
    entry.count++;
    entry.positives += labels[i]! > 0 ? 1 : 0;
    stats.set(level, entry);
  }
  const missing = stats.get(MISSING) ?? { count: 0, positives: 0 };
  stats.delete(MISSING);
  const frequent = [...stats.entries()]
    .filter(([, s]) => s.count >= options.minCategoryCount)
    .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.maxCategories);
  const kept = new Set(frequent.map(([level]) => level));
  const other = { count: 0, positives: 0 };
  for (const [level, s] of stats) {
    if (kept.has(level)) continue;
    other.count += s.count;
    other.positives += s.positives;
  }
  const all: [string, { count: number; positives: number }][] = [
    ...frequent,
    [OTHER, other],
    [MISSING, missing],
  ];
  if (all.filter(([, s]) => s.count > 0).length < 2) {
    return {
      name,
      kind: 'ignored',
      reason:
        frequent.length === 0 && stats.size > 1
          ? `no value occurs in ${options.minCategoryCount} or more rows (an identifier?)`
          : 'the same value in every row',
    };
  }
  const rated = all.map(([level, s]) => ({
    level,
    count: s.count,
    rate: (s.positives + options.smoothing * prior) / (s.count + options.smoothing),
  }));
  if (mode === 'tree')
    rated.sort((a, b) => a.rate - b.rate || b.count - a.count || (a.level < b.level ? -1 : 1));
  return {
    name,
    kind: 'categorical',
    levels: rated.map((r) => r.level),
    counts: rated.map((r) => r.count),
    rates: rated.map((r) => r.rate),
  };
}

function featuresOf(columns: ColumnEncoding[], mode: EncoderMode): FeatureInfo[] {
  const features: FeatureInfo[] = [];
  for (const column of columns) {
    if (column.kind === 'ignored') continue;
    if (mode === 'tree') {
      features.push({ name: column.name, column: column.name });
    } else if (column.kind === 'numeric') {
      if (column.std > 0) features.push({ name: column.name, column: column.name });
      if (column.missing > 0) features.push(indicator(column.name, MISSING));
      if (column.cuts.length > 0)
        for (const bin of binLabels(column.cuts)) features.push(indicator(column.name, bin));
    } else {
      column.levels.forEach((level, i) => {
        if (column.counts[i]! > 0) features.push(indicator(column.name, level));
      });
    }
  }
  return features;
}

function indicator(column: string, level: string): FeatureInfo {
  return { name: `${column}=${level}`, column, level };
}

// ---- applying a fitted encoder -------------------------------------------------------------------------------

type Plan =
  | {
      kind: 'numeric';
      column: string;
      mean: number;
      std: number;
      value: number;
      missing: number;
      cuts: number[];
      /** Slot of the first bin indicator (the others follow), -1 for none. */
      firstBin: number;
    }
  | {
      kind: 'categorical';
      column: string;
      /** Tree: the feature slot that holds the code. Linear: -1 (each level has its own slot). */
      slot: number;
      /** Tree: category -> code. Linear: category -> indicator slot, -1 for a level without one. */
      codes: Map<string, number>;
      other: number;
      missing: number;
    };

const plans = new WeakMap<Encoder, Plan[]>();

function planFor(encoder: Encoder): Plan[] {
  const cached = plans.get(encoder);
  if (cached) return cached;
  const slots = new Map(encoder.features.map((f, i) => [`${f.column}\u0000${f.level ?? ''}`, i]));
  const slot = (column: string, level?: string) => slots.get(`${column}\u0000${level ?? ''}`) ?? -1;
  const tree = encoder.mode === 'tree';
  const plan: Plan[] = [];
  for (const column of encoder.columns) {
    if (column.kind === 'numeric') {
      plan.push({
        kind: 'numeric',
        column: column.name,
        mean: column.mean,
        std: column.std,
        value: slot(column.name),
        missing: tree ? -1 : slot(column.name, MISSING),
        cuts: column.cuts,
        firstBin: tree || column.cuts.length === 0 ? -1 : slot(column.name, binLabels(column.cuts)[0]),
      });
    } else if (column.kind === 'categorical') {
      const codes = new Map(column.levels.map((level, i) => [level, tree ? i : slot(column.name, level)]));
      plan.push({
        kind: 'categorical',
        column: column.name,
        slot: tree ? slot(column.name) : -1,
        codes,
        other: codes.get(OTHER)!,
        missing: codes.get(MISSING)!,
      });
    }
  }
  plans.set(encoder, plan);
  return plan;
}

/** Encodes one row into `out` (length = number of features). */
export function encodeRow(
  encoder: Encoder,
  row: Row,
  out = new Float64Array(encoder.features.length),
): Float64Array {
  out.fill(0);
  for (const p of planFor(encoder)) writeValue(encoder.mode, p, row[p.column], out, 0);
  return out;
}

/** Encodes a table into a dense row-major matrix. */
export function encodeTable(encoder: Encoder, table: Table): Matrix {
  const n = tableLength(table);
  const cols = encoder.features.length;
  const data = new Float64Array(n * cols);
  for (const p of planFor(encoder)) {
    const values = columnValues(table, p.column);
    for (let i = 0; i < n; i++) writeValue(encoder.mode, p, values[i], data, i * cols);
  }
  return { rows: n, cols, data };
}

function writeValue(mode: EncoderMode, p: Plan, value: unknown, out: Float64Array, offset: number): void {
  if (p.kind === 'numeric') {
    const v = parseNumber(value);
    if (mode === 'tree') out[offset + p.value] = v;
    else if (Number.isNaN(v)) {
      if (p.missing >= 0) out[offset + p.missing] = 1;
    } else {
      if (p.value >= 0) out[offset + p.value] = (v - p.mean) / p.std;
      if (p.firstBin >= 0) out[offset + p.firstBin + binIndex(p.cuts, v)] = 1;
    }
    return;
  }
  const level = isMissingValue(value) ? p.missing : (p.codes.get(categoryOf(value)) ?? p.other);
  if (mode === 'tree') out[offset + p.slot] = level;
  else if (level >= 0) out[offset + level] = 1;
}

/**
 * What a row holds for a feature, for explanations: the number or category of a column, 1 or 0 for an
 * indicator, null when missing.
 */
export function featureValue(encoder: Encoder, feature: FeatureInfo, row: Row): number | string | null {
  const value = row[feature.column];
  if (feature.level !== undefined) {
    const column = encoder.columns.find((c) => c.name === feature.column);
    if (column?.kind === 'numeric') {
      const v = parseNumber(value);
      if (feature.level === MISSING) return Number.isNaN(v) ? 1 : 0;
      return !Number.isNaN(v) && binLabels(column.cuts)[binIndex(column.cuts, v)] === feature.level ? 1 : 0;
    }
    if (column?.kind !== 'categorical') return null;
    const level = isMissingValue(value)
      ? MISSING
      : column.levels.includes(categoryOf(value))
        ? categoryOf(value)
        : OTHER;
    return level === feature.level ? 1 : 0;
  }
  return rawValue(encoder, feature.column, value);
}

/** A column's value as the model read it: a number, a category, or null when missing. */
export function rawValue(encoder: Encoder, column: string, value: unknown): number | string | null {
  if (isMissingValue(value)) return null;
  const encoding = encoder.columns.find((c) => c.name === column);
  if (encoding?.kind === 'numeric') {
    const v = parseNumber(value);
    return Number.isNaN(v) ? null : v;
  }
  return categoryOf(value);
}
