// Trains a lead-scoring model point-in-time, evaluates it on a later, held-out time window, and registers it:
// champion when there is none yet, challenger otherwise (promotion is a separate, audited decision).
import { createHash } from 'node:crypto';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { FeatureRow } from '../features/compute.ts';
import { featureSet } from '../features/definitions.ts';
import { buildLeadTrainingSet, type TrainingSet } from '../features/training-set.ts';
import {
  averagePrecision,
  brierScore,
  calibrationCurve,
  expectedCalibrationError,
  liftAt,
  logLoss,
  rocAuc,
  rocCurve,
} from './ml/metrics.ts';
import { trainScorer, type ModelKind, type Scorer } from './ml/pipeline.ts';
import type { CalibrationKind } from './ml/calibration.ts';
import { MIN_POSITIVES_TO_TRAIN } from './prior.ts';
import { currentAlias, setAlias, toLoadedModel } from './registry.ts';
import { LEAD_MODEL } from './score-contacts.ts';

export const CODE_VERSION = 'funnelgate-0.1.0';
const LABEL = '__became_sql_30d';

export interface HoldoutMetrics {
  roc_auc: number;
  pr_auc: number;
  brier: number;
  log_loss: number;
  ece: number;
  lift_at_10: number;
  base_rate: number;
  rows: number;
  positives: number;
}

/** The holdout's ROC curve, thinned to at most `max` points (enough to plot it in the console). */
export function rocPoints(
  labels: number[],
  probabilities: number[],
  max = 60,
): { fpr: number; tpr: number }[] {
  const curve = rocCurve(labels, probabilities);
  const step = Math.max(1, Math.ceil(curve.fpr.length / max));
  const points: { fpr: number; tpr: number }[] = [];
  for (let i = 0; i < curve.fpr.length; i += step) points.push({ fpr: curve.fpr[i]!, tpr: curve.tpr[i]! });
  const last = curve.fpr.length - 1;
  if (last % step !== 0) points.push({ fpr: curve.fpr[last]!, tpr: curve.tpr[last]! });
  return points.filter((p) => Number.isFinite(p.fpr) && Number.isFinite(p.tpr));
}

export function holdoutMetrics(labels: number[], probabilities: number[]): HoldoutMetrics {
  const positives = labels.reduce((a, b) => a + b, 0);
  return {
    roc_auc: rocAuc(labels, probabilities),
    pr_auc: averagePrecision(labels, probabilities),
    brier: brierScore(labels, probabilities),
    log_loss: logLoss(labels, probabilities),
    ece: expectedCalibrationError(labels, probabilities),
    lift_at_10: liftAt(labels, probabilities, 0.1),
    base_rate: positives / labels.length,
    rows: labels.length,
    positives,
  };
}

export interface SplitSet {
  training: TrainingSet;
  cut: number;
}

/** The last `holdoutFraction` of moments (by time) are the holdout; the split never cuts through one instant. */
export function timeSplit(training: TrainingSet, holdoutFraction: number): number {
  let cut = Math.floor(training.moments.length * (1 - holdoutFraction));
  while (
    cut > 0 &&
    cut < training.moments.length &&
    training.moments[cut]!.asOf.getTime() === training.moments[cut - 1]!.asOf.getTime()
  )
    cut++;
  return cut;
}

function withLabel(rows: FeatureRow[], labels: number[]) {
  return rows.map((row, i) => ({ ...row, [LABEL]: labels[i]! }));
}

export function dataHash(training: TrainingSet, setName: string, setVersion: number): string {
  const hash = createHash('sha256').update(`${setName}@${setVersion}\n`);
  training.moments.forEach((m, i) =>
    hash.update(`${m.contactId},${m.asOf.toISOString()},${training.labels[i]}\n`),
  );
  return hash.digest('hex');
}

export interface TrainOptions {
  kind?: ModelKind;
  calibration?: CalibrationKind;
  until?: Date;
  holdoutFraction?: number;
  maxMoments?: number;
  by: string;
  byId?: string | null;
  seed?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export async function trainLeadModel(db: Db, options: TrainOptions) {
  const kind = options.kind ?? 'gbt';
  const calibration = options.calibration ?? 'isotonic';
  const until = options.until ?? new Date();
  const holdoutFraction = options.holdoutFraction ?? 0.2;
  const set = featureSet('lead_scoring');
  const training = await buildLeadTrainingSet(db, {
    set,
    until,
    maxMoments: options.maxMoments ?? 60_000,
    onProgress: (done, total) => options.onProgress?.('features', done, total),
  });
  if (training.positives < MIN_POSITIVES_TO_TRAIN) {
    throw new AppError(
      'conflict',
      `Not enough outcomes to train a model: ${training.positives} lead(s) became SQL within 30 days in the history; ` +
        `${MIN_POSITIVES_TO_TRAIN} are needed (${MIN_POSITIVES_TO_TRAIN - training.positives} more). Until then the rule-based prior scores leads.`,
      { positives: training.positives, needed: MIN_POSITIVES_TO_TRAIN },
    );
  }
  const cut = timeSplit(training, holdoutFraction);
  const trainLabels = training.labels.slice(0, cut);
  const holdLabels = training.labels.slice(cut);
  if (
    !trainLabels.some((l) => l === 1) ||
    !holdLabels.some((l) => l === 1) ||
    holdLabels.every((l) => l === 1)
  ) {
    throw new AppError(
      'conflict',
      'The time-ordered holdout has only one class; more history is needed before a model can be evaluated honestly',
    );
  }
  options.onProgress?.('train', 0, 1);
  const seed = options.seed ?? 7;
  const started = performance.now();
  const scorer: Scorer = trainScorer({
    rows: withLabel(training.rows.slice(0, cut), trainLabels),
    label: LABEL,
    positive: '1',
    kind,
    calibration,
    seed,
  });
  const fitSeconds = (performance.now() - started) / 1000;
  options.onProgress?.('train', 1, 1);
  const holdRows = training.rows.slice(cut);
  const probabilities = holdRows.map((row) => scorer.predict(row).probability);
  const metrics = holdoutMetrics(holdLabels, probabilities);

  // The champion on the same holdout, so the promotion decision compares like with like.
  const champion = await currentAlias(db, LEAD_MODEL, 'champion');
  let championMetrics: HoldoutMetrics | null = null;
  if (champion) {
    const row = await db
      .selectFrom('models')
      .select(['id', 'name', 'version', 'artifact'])
      .where('id', '=', champion.id)
      .executeTakeFirstOrThrow();
    const model = toLoadedModel(row);
    championMetrics = holdoutMetrics(
      holdLabels,
      holdRows.map((r) => model.predict(r).probability),
    );
  }

  return db.transaction().execute(async (trx) => {
    const last = await trx
      .selectFrom('models')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('name', '=', LEAD_MODEL)
      .executeTakeFirst();
    const version = Number(last?.v ?? 0) + 1;
    const model = await trx
      .insertInto('models')
      .values({
        name: LEAD_MODEL,
        version,
        kind,
        feature_set: set.name,
        feature_set_version: set.version,
        label: 'became SQL within 30 days',
        training_data_hash: dataHash(training, set.name, set.version),
        train_from: training.moments[0]!.asOf,
        train_to: training.moments[cut - 1]!.asOf,
        holdout_from: training.moments[cut]!.asOf,
        holdout_to: training.moments.at(-1)!.asOf,
        train_rows: cut,
        holdout_rows: training.moments.length - cut,
        params: JSON.stringify({
          kind,
          calibration,
          seed,
          holdout_fraction: holdoutFraction,
          until: until.toISOString(),
          horizon_days: 30,
          step_days: 14,
        }),
        code_version: CODE_VERSION,
        metrics: JSON.stringify({
          holdout: metrics,
          fit_seconds: fitSeconds,
          roc_curve: rocPoints(holdLabels, probabilities),
          champion_on_same_holdout: champion ? { version: champion.version, ...championMetrics } : null,
        }),
        calibration_curve: JSON.stringify(calibrationCurve(holdLabels, probabilities)),
        artifact: JSON.stringify(scorer.toJSON()),
        trained_by: options.by,
      })
      .returning(['id', 'version'])
      .executeTakeFirstOrThrow();
    const alias = champion ? 'challenger' : 'champion';
    await setAlias(trx, {
      name: LEAD_MODEL,
      alias,
      modelId: model.id,
      by: options.by,
      byId: options.byId ?? null,
      reason: champion
        ? `trained; challenger to champion version ${champion.version}`
        : 'first trained model replaces the rule-based prior',
      action: 'model.register',
      details: { roc_auc: metrics.roc_auc, brier: metrics.brier },
    });
    return { id: model.id, version: model.version, alias, metrics, championMetrics };
  });
}
