// Honest model-quality figures on a user's own rows: out-of-fold predictions from stratified k-fold, or a
// time-ordered holdout (train on the earliest rows, test on the latest) when an order column is given. Each
// fold trains the whole scorer — encoder, model and calibrator — on its training rows only.
import { AppError } from '../../errors.ts';
import type { CalibrationKind } from './calibration.ts';
import { labelRows, type LabelSpec } from './dataset.ts';
import { fitEncoder, isMissingValue, tableColumns, type ColumnEncoding, type Row } from './encode.ts';
import {
  averagePrecision,
  baseRate,
  brierScore,
  calibrationCurve,
  expectedCalibrationError,
  liftAt,
  logLoss,
  rocAuc,
  type CalibrationBin,
} from './metrics.ts';
import { fitScorer, MODEL_KINDS, type ModelKind, type ScorerParams } from './pipeline.ts';
import { stratifiedKFold, timeOrderedHoldout, type Split } from './split.ts';

/** `orderBy: ROW_ORDER` means the rows are already in time order. */
export const ROW_ORDER = '__row__';

export interface EvaluateOptions extends LabelSpec {
  rows: readonly Row[];
  /** A column that orders the rows in time, or ROW_ORDER; without it, stratified k-fold. */
  orderBy?: string;
  /** Share of the earliest rows trained on in a time-ordered holdout (default 0.8). */
  trainFraction?: number;
  folds?: number;
  kinds?: readonly ModelKind[];
  calibration?: CalibrationKind;
  params?: ScorerParams;
  seed?: number;
  /** Equal-width bins of the calibration table and of ECE (default 10). */
  bins?: number;
  onProgress?: (progress: { done: number; total: number; kind: ModelKind; fold: number }) => void;
}

export interface ModelEvaluation {
  kind: ModelKind;
  calibration: CalibrationKind;
  /** On all out-of-fold (or holdout) predictions pooled. */
  rocAuc: number;
  /** Per fold, and their mean: the figure scikit-learn's cross_val_score reports. */
  rocAucFolds: number[];
  rocAucFoldMean: number;
  prAuc: number;
  brier: number;
  logLoss: number;
  ece: number;
  liftAt10: number;
  calibrationTable: CalibrationBin[];
  /** Seconds spent training (calibration cross-fitting included), summed over folds. */
  fitSeconds: number;
}

export type EvaluationSplit =
  | { kind: 'stratified-k-fold'; folds: number; seed: number }
  | {
      kind: 'time-ordered-holdout';
      orderBy: string;
      trainRows: number;
      testRows: number;
      /** Rows left out because their order value is missing. */
      unorderedRows: number;
      trainPositiveRate: number;
      testPositiveRate: number;
    };

export interface Evaluation {
  label: string;
  positive: string;
  rows: number;
  unlabelled: number;
  positives: number;
  baseRate: number;
  split: EvaluationSplit;
  /** Rows predicted: every row for k-fold, the test rows for a holdout. */
  testRows: number;
  columns: {
    used: { name: string; type: 'numeric' | 'categorical'; levels?: number }[];
    ignored: { name: string; reason: string }[];
  };
  models: ModelEvaluation[];
}

export function evaluate(options: EvaluateOptions): Evaluation {
  let data = labelRows(options.rows, options);
  let unordered = 0;
  if (options.orderBy && options.orderBy !== ROW_ORDER) {
    requireColumn(options.orderBy, tableColumns(options.rows));
    // Rows without a time cannot be placed before or after the others; they are left out and counted.
    const orderBy = options.orderBy;
    const keep = data.rows.flatMap((row, i) => (isMissingValue(row[orderBy]) ? [] : [i]));
    unordered = data.rows.length - keep.length;
    data = {
      ...data,
      rows: keep.map((i) => data.rows[i]!),
      labels: Uint8Array.from(keep, (i) => data.labels[i]!),
    };
  }
  const seed = options.seed ?? 42;
  const kinds = options.kinds ?? MODEL_KINDS;
  const calibration = options.calibration ?? 'platt';
  const bins = options.bins ?? 10;
  const folds = options.folds ?? 5;

  let splits: Split[];
  let split: EvaluationSplit;
  if (options.orderBy) {
    const orderBy = options.orderBy;
    const order = orderBy === ROW_ORDER ? undefined : data.rows.map((row) => row[orderBy]);
    const holdout = timeOrderedHoldout({
      n: data.rows.length,
      ...(order ? { order } : {}),
      trainFraction: options.trainFraction ?? 0.8,
    });
    splits = [holdout];
    split = {
      kind: 'time-ordered-holdout',
      orderBy: options.orderBy,
      trainRows: holdout.train.length,
      testRows: holdout.test.length,
      unorderedRows: unordered,
      trainPositiveRate: baseRate(Array.from(holdout.train, (i) => data.labels[i]!)),
      testPositiveRate: baseRate(Array.from(holdout.test, (i) => data.labels[i]!)),
    };
  } else {
    splits = stratifiedKFold(data.labels, folds, seed);
    split = { kind: 'stratified-k-fold', folds, seed };
  }
  // The order column is not an input: a model would learn the time itself, which the future does not repeat.
  const inputs = data.inputs.filter((c) => c !== options.orderBy);
  const summary = fitEncoder(data.rows, data.labels, {
    mode: 'linear',
    columns: inputs,
    options: options.params?.encoder ?? {},
  });
  const total = kinds.length * splits.length;
  let done = 0;
  const models = kinds.map((kind): ModelEvaluation => {
    const predicted: number[] = [];
    const truth: number[] = [];
    const foldAucs: number[] = [];
    let fitSeconds = 0;
    splits.forEach((s, fold) => {
      const started = performance.now();
      const scorer = fitScorer({
        rows: Array.from(s.train, (i) => data.rows[i]!),
        labels: Uint8Array.from(s.train, (i) => data.labels[i]!),
        label: data.label,
        positive: data.positive,
        inputs,
        kind,
        calibration,
        params: options.params ?? {},
        seed: seed + fold,
      });
      fitSeconds += (performance.now() - started) / 1000;
      const probabilities = scorer.probabilities(Array.from(s.test, (i) => data.rows[i]!));
      const labels = Array.from(s.test, (i) => data.labels[i]!);
      foldAucs.push(rocAuc(labels, probabilities));
      predicted.push(...probabilities);
      truth.push(...labels);
      options.onProgress?.({ done: ++done, total, kind, fold });
    });
    return {
      kind,
      calibration,
      rocAuc: rocAuc(truth, predicted),
      rocAucFolds: foldAucs,
      rocAucFoldMean: foldAucs.reduce((a, b) => a + b, 0) / foldAucs.length,
      prAuc: averagePrecision(truth, predicted),
      brier: brierScore(truth, predicted),
      logLoss: logLoss(truth, predicted),
      ece: expectedCalibrationError(truth, predicted, bins),
      liftAt10: liftAt(truth, predicted, 0.1),
      calibrationTable: calibrationCurve(truth, predicted, bins),
      fitSeconds,
    };
  });

  const positives = data.labels.reduce((a, b) => a + b, 0);
  return {
    label: data.label,
    positive: data.positive,
    rows: data.rows.length,
    unlabelled: data.unlabelled,
    positives,
    baseRate: positives / data.rows.length,
    split,
    testRows: splits.reduce((sum, s) => sum + s.test.length, 0),
    columns: describeColumns(summary.columns),
    models,
  };
}

function requireColumn(column: string, columns: string[]): void {
  if (!columns.includes(column)) {
    throw new AppError(
      'validation_failed',
      `There is no column "${column}" to order the rows by (use ${ROW_ORDER} for the row order). ` +
        `The columns are: ${columns.map((c) => `"${c}"`).join(', ')}`,
      { columns },
    );
  }
}

function describeColumns(columns: ColumnEncoding[]): Evaluation['columns'] {
  const used: Evaluation['columns']['used'] = [];
  const ignored: Evaluation['columns']['ignored'] = [];
  for (const c of columns) {
    if (c.kind === 'numeric') used.push({ name: c.name, type: 'numeric' });
    else if (c.kind === 'categorical')
      used.push({ name: c.name, type: 'categorical', levels: c.counts.filter((n) => n > 0).length });
    else ignored.push({ name: c.name, reason: c.reason });
  }
  return { used, ignored };
}
