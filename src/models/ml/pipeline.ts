// The scorer: encoder + model + calibrator, trained from rows in one call, explained per prediction, and
// serialisable to JSON so the model registry can store it and lead scoring can load it.
//
// `margin` is the model's log-odds before calibration and `base + Σ contributions = margin` exactly (linear:
// β·(x - mean); trees: TreeSHAP). `probability` is the calibrated probability of the positive outcome. The
// calibrator is fitted on out-of-fold margins (cross-fitting: each fold's margins come from a model trained
// without it), never on margins of rows the model trained on.
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { calibrate, fitCalibrator, type CalibrationKind, type Calibrator } from './calibration.ts';
import { labelRows, type LabelSpec } from './dataset.ts';
import {
  encodeRow,
  encodeTable,
  featureValue,
  fitEncoder,
  rawValue,
  type Encoder,
  type EncoderOptions,
  type Row,
  type Table,
} from './encode.ts';
import {
  fitGbt,
  gbtMargins,
  treeFromJSON,
  treeToJSON,
  type GbtModel,
  type GbtParams,
  type TreeJSON,
} from './gbt.ts';
import {
  fitLogistic,
  logisticContributions,
  logisticMargins,
  type LogisticModel,
  type LogisticParams,
} from './logistic.ts';
import type { Matrix } from './matrix.ts';
import { stratifiedKFold } from './split.ts';
import { gbtShap } from './treeshap.ts';

export type ModelKind = 'logistic' | 'gbt';
export const MODEL_KINDS: readonly ModelKind[] = ['logistic', 'gbt'];
export const CALIBRATION_KINDS: readonly CalibrationKind[] = ['none', 'platt', 'isotonic'];

export interface ScorerParams {
  logistic?: Partial<LogisticParams>;
  gbt?: Partial<GbtParams>;
  encoder?: Partial<EncoderOptions>;
  /** Folds for cross-fitting the calibrator (default 3). */
  calibrationFolds?: number;
}

export interface TrainScorerOptions extends LabelSpec {
  rows: readonly Row[];
  kind: ModelKind;
  calibration?: CalibrationKind;
  params?: ScorerParams;
  seed?: number;
}

export interface Contribution {
  feature: string;
  value: number | string | null;
  contribution: number;
}

export interface Prediction {
  /** Calibrated probability of the positive outcome. */
  probability: number;
  /** Log-odds before calibration: base + Σ contributions. */
  margin: number;
  /** The expected margin: a linear model's margin at the training means, the trees' cover-weighted mean. */
  base: number;
  /** Per encoded feature (`Lead Source=Google`, `age`), in feature order. */
  contributions: Contribution[];
  /** The same summed per input column, with the column's value, in column order. */
  columns: Contribution[];
}

export type ModelJSON =
  | { kind: 'logistic'; intercept: number; coefficients: number[]; means: number[] }
  | { kind: 'gbt'; baseMargin: number; nFeatures: number; trees: TreeJSON[] };

export interface ScorerJSON {
  format: 'funnelgate.scorer';
  version: 1;
  kind: ModelKind;
  label: string;
  positive: string;
  encoder: Encoder;
  model: ModelJSON;
  calibrator: Calibrator;
  training: { rows: number; positives: number; seed: number; params: ScorerParams };
}

export interface Scorer {
  readonly kind: ModelKind;
  readonly label: string;
  readonly positive: string;
  /** Encoded feature names. */
  readonly features: readonly string[];
  /** Input columns the model reads (ignored columns left out). */
  readonly columns: readonly string[];
  predict(row: Row): Prediction;
  predictMany(rows: readonly Row[]): Prediction[];
  /** Calibrated probabilities only: much faster than predictMany, no explanations. */
  probabilities(table: Table): Float64Array;
  margins(table: Table): Float64Array;
  toJSON(): ScorerJSON;
}

type FittedModel = { kind: 'logistic'; model: LogisticModel } | { kind: 'gbt'; model: GbtModel };

export function trainScorer(options: TrainScorerOptions): Scorer {
  const data = labelRows(options.rows, options);
  return fitScorer({
    rows: data.rows,
    labels: data.labels,
    label: data.label,
    positive: data.positive,
    inputs: data.inputs,
    kind: options.kind,
    calibration: options.calibration ?? 'none',
    params: options.params ?? {},
    seed: options.seed ?? 0,
  });
}

export interface FitScorerInput {
  rows: readonly Row[];
  labels: Uint8Array;
  label: string;
  positive: string;
  inputs: readonly string[];
  kind: ModelKind;
  calibration: CalibrationKind;
  params: ScorerParams;
  seed: number;
}

/** trainScorer on rows already labelled (evaluate() calls this once per fold). */
export function fitScorer(input: FitScorerInput): Scorer {
  const { rows, labels, kind, params, seed } = input;
  const encoder = fitEncoder(rows, labels, {
    mode: kind === 'gbt' ? 'tree' : 'linear',
    columns: input.inputs,
    ...(params.encoder ? { options: params.encoder } : {}),
  });
  const x = encodeTable(encoder, rows);
  const fitted = fitModel(kind, x, labels, params, seed);
  let calibrator: Calibrator = { kind: 'none' };
  if (input.calibration !== 'none') {
    const margins = crossFittedMargins(input, params.calibrationFolds ?? 3);
    calibrator = fitCalibrator(input.calibration, margins, labels);
  }
  let positives = 0;
  for (const y of labels) positives += y;
  return scorerFrom({
    format: 'funnelgate.scorer',
    version: 1,
    kind,
    label: input.label,
    positive: input.positive,
    encoder,
    model: modelToJSON(fitted),
    calibrator,
    training: { rows: rows.length, positives, seed, params },
  });
}

function fitModel(
  kind: ModelKind,
  x: Matrix,
  labels: Uint8Array,
  params: ScorerParams,
  seed: number,
): FittedModel {
  return kind === 'gbt'
    ? { kind, model: fitGbt(x, labels, params.gbt, seed) }
    : { kind, model: fitLogistic(x, labels, params.logistic) };
}

/** Margins for every row from a model that did not see it: k folds, encoder and model refitted per fold. */
function crossFittedMargins(input: FitScorerInput, folds: number): Float64Array {
  const margins = new Float64Array(input.rows.length);
  for (const split of stratifiedKFold(input.labels, folds, input.seed + 1)) {
    const trainRows = Array.from(split.train, (i) => input.rows[i]!);
    const trainLabels = Uint8Array.from(split.train, (i) => input.labels[i]!);
    const encoder = fitEncoder(trainRows, trainLabels, {
      mode: input.kind === 'gbt' ? 'tree' : 'linear',
      columns: input.inputs,
      ...(input.params.encoder ? { options: input.params.encoder } : {}),
    });
    const fitted = fitModel(
      input.kind,
      encodeTable(encoder, trainRows),
      trainLabels,
      input.params,
      input.seed,
    );
    const held = encodeTable(
      encoder,
      Array.from(split.test, (i) => input.rows[i]!),
    );
    const heldMargins = marginsOf(fitted, held);
    split.test.forEach((row, k) => (margins[row] = heldMargins[k]!));
  }
  return margins;
}

function marginsOf(fitted: FittedModel, x: Matrix): Float64Array {
  return fitted.kind === 'gbt' ? gbtMargins(fitted.model, x) : logisticMargins(fitted.model, x);
}

function modelToJSON(fitted: FittedModel): ModelJSON {
  if (fitted.kind === 'logistic') {
    const m = fitted.model;
    return {
      kind: 'logistic',
      intercept: m.intercept,
      coefficients: Array.from(m.coefficients),
      means: Array.from(m.means),
    };
  }
  return {
    kind: 'gbt',
    baseMargin: fitted.model.baseMargin,
    nFeatures: fitted.model.nFeatures,
    trees: fitted.model.trees.map(treeToJSON),
  };
}

function modelFromJSON(json: ModelJSON): FittedModel {
  if (json.kind === 'logistic') {
    return {
      kind: 'logistic',
      model: {
        intercept: json.intercept,
        coefficients: Float64Array.from(json.coefficients),
        means: Float64Array.from(json.means),
        iterations: 0,
        converged: true,
      },
    };
  }
  return {
    kind: 'gbt',
    model: { baseMargin: json.baseMargin, nFeatures: json.nFeatures, trees: json.trees.map(treeFromJSON) },
  };
}

function scorerFrom(json: ScorerJSON): Scorer {
  const { encoder, calibrator } = json;
  const fitted = modelFromJSON(json.model);
  const columns = encoder.columns.filter((c) => c.kind !== 'ignored').map((c) => c.name);

  const explain = (row: Row): Prediction => {
    const x = encodeRow(encoder, row);
    const { base, values } =
      fitted.kind === 'gbt'
        ? gbtShap(fitted.model, x)
        : (({ base, contributions }) => ({ base, values: contributions }))(
            logisticContributions(fitted.model, x),
          );
    const margin = marginsOf(fitted, { rows: 1, cols: x.length, data: x })[0]!;
    const contributions = encoder.features.map((feature, j) => ({
      feature: feature.name,
      value: featureValue(encoder, feature, row),
      contribution: values[j]!,
    }));
    const byColumn = new Map(columns.map((c) => [c, 0]));
    encoder.features.forEach((feature, j) =>
      byColumn.set(feature.column, byColumn.get(feature.column)! + values[j]!),
    );
    return {
      probability: calibrate(calibrator, margin),
      margin,
      base,
      contributions,
      columns: columns.map((column) => ({
        feature: column,
        value: rawValue(encoder, column, row[column]),
        contribution: byColumn.get(column)!,
      })),
    };
  };
  const margins = (table: Table) => marginsOf(fitted, encodeTable(encoder, table));

  return {
    kind: json.kind,
    label: json.label,
    positive: json.positive,
    features: encoder.features.map((f) => f.name),
    columns,
    predict: explain,
    predictMany: (rows) => rows.map(explain),
    margins,
    probabilities: (table) => margins(table).map((m) => calibrate(calibrator, m)),
    toJSON: () => json,
  };
}

// ---- loading -------------------------------------------------------------------------------------------------

const numbers = z.array(z.number());
const treeSchema = z.object({
  feature: numbers,
  threshold: numbers,
  left: numbers,
  right: numbers,
  missingLeft: numbers,
  value: numbers,
  cover: numbers,
});
const scorerSchema = z.object({
  format: z.literal('funnelgate.scorer'),
  version: z.literal(1),
  kind: z.enum(['logistic', 'gbt']),
  label: z.string(),
  positive: z.string(),
  encoder: z.object({
    version: z.literal(1),
    mode: z.enum(['linear', 'tree']),
    options: z.object({
      minCategoryCount: z.number(),
      maxCategories: z.number(),
      numericShare: z.number(),
      smoothing: z.number(),
      // Scorers saved before numeric bins existed had none.
      numericBins: z.number().default(0),
    }),
    columns: z.array(
      z.discriminatedUnion('kind', [
        z.object({
          name: z.string(),
          kind: z.literal('numeric'),
          mean: z.number(),
          std: z.number(),
          missing: z.number(),
          cuts: numbers.default([]),
        }),
        z.object({
          name: z.string(),
          kind: z.literal('categorical'),
          levels: z.array(z.string()),
          counts: numbers,
          rates: numbers,
        }),
        z.object({ name: z.string(), kind: z.literal('ignored'), reason: z.string() }),
      ]),
    ),
    features: z.array(z.object({ name: z.string(), column: z.string(), level: z.string().optional() })),
  }),
  model: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('logistic'), intercept: z.number(), coefficients: numbers, means: numbers }),
    z.object({
      kind: z.literal('gbt'),
      baseMargin: z.number(),
      nFeatures: z.number(),
      trees: z.array(treeSchema),
    }),
  ]),
  calibrator: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('none') }),
    z.object({ kind: z.literal('platt'), a: z.number(), b: z.number() }),
    z.object({ kind: z.literal('isotonic'), x: numbers, y: numbers }),
  ]),
  training: z.object({
    rows: z.number(),
    positives: z.number(),
    seed: z.number(),
    params: z.record(z.string(), z.unknown()),
  }),
});

/** Rebuilds a scorer from its toJSON() (or that JSON as text, parsed). */
export function loadScorer(json: unknown): Scorer {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new AppError(
        'validation_failed',
        `Not a Funnelgate scorer: not JSON (${(error as Error).message})`,
      );
    }
  }
  const parsed = scorerSchema.safeParse(value);
  if (!parsed.success) {
    throw new AppError('validation_failed', `Not a Funnelgate scorer: ${z.prettifyError(parsed.error)}`, {
      issues: parsed.error.issues,
    });
  }
  const scorer = parsed.data as ScorerJSON;
  const width = scorer.encoder.features.length;
  const model = scorer.model;
  const consistent =
    scorer.kind === model.kind &&
    scorer.encoder.mode === (model.kind === 'gbt' ? 'tree' : 'linear') &&
    (model.kind === 'logistic'
      ? model.coefficients.length === width && model.means.length === width
      : model.nFeatures === width && model.trees.every((t) => t.feature.every((f) => f < width)));
  if (!consistent) {
    throw new AppError('validation_failed', 'Not a Funnelgate scorer: the model does not match its encoder');
  }
  return scorerFrom(scorer);
}
