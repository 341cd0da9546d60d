// The ML library: pure functions, no I/O, deterministic for a seed. Lead scoring and the model registry use the
// scorer (trainScorer / loadScorer); `funnelgate model eval` uses evaluate(); the parts are exported for tests,
// benchmarks and models built from them.
export type {
  Row,
  Table,
  Encoder,
  EncoderMode,
  EncoderOptions,
  ColumnEncoding,
  FeatureInfo,
} from './encode.ts';
export {
  fitEncoder,
  encodeRow,
  encodeTable,
  isMissingValue,
  parseNumber,
  DEFAULT_ENCODER_OPTIONS,
} from './encode.ts';
export type { Matrix } from './matrix.ts';
export { createMatrix, matrixFromRows } from './matrix.ts';
export type { LogisticModel, LogisticParams } from './logistic.ts';
export { fitLogistic, logisticMargins, logisticContributions, DEFAULT_LOGISTIC_PARAMS } from './logistic.ts';
export type { GbtModel, GbtParams, Tree, TreeJSON } from './gbt.ts';
export { fitGbt, gbtMargins, DEFAULT_GBT_PARAMS } from './gbt.ts';
export { gbtShap, treeExpectedValue } from './treeshap.ts';
export type { Calibrator, CalibrationKind } from './calibration.ts';
export { fitPlatt, fitIsotonic, fitCalibrator, calibrate } from './calibration.ts';
export type { CalibrationBin, RocCurve } from './metrics.ts';
export {
  rocAuc,
  rocCurve,
  averagePrecision,
  logLoss,
  brierScore,
  expectedCalibrationError,
  calibrationCurve,
  liftAt,
  baseRate,
} from './metrics.ts';
export type { Split, TimeOrderedHoldoutOptions } from './split.ts';
export { stratifiedKFold, timeOrderedHoldout } from './split.ts';
export type { LabelSpec, LabelledRows } from './dataset.ts';
export { labelRows } from './dataset.ts';
export type {
  ModelKind,
  Scorer,
  ScorerJSON,
  ScorerParams,
  ModelJSON,
  Prediction,
  Contribution,
  TrainScorerOptions,
} from './pipeline.ts';
export { trainScorer, loadScorer, MODEL_KINDS, CALIBRATION_KINDS } from './pipeline.ts';
export type { EvaluateOptions, Evaluation, EvaluationSplit, ModelEvaluation } from './evaluate.ts';
export { evaluate, ROW_ORDER } from './evaluate.ts';
export { sigmoid, logit } from './link.ts';
