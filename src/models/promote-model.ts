// Promotion: a candidate becomes champion only if it beats the champion on the same holdout by the configured
// rule; the decision, its figures and its reason go to the audit trail.
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { featureSet } from '../features/definitions.ts';
import { buildLeadTrainingSet } from '../features/training-set.ts';
import { currentAlias, getModelVersion, setAlias, toLoadedModel } from './registry.ts';
import { holdoutMetrics, timeSplit, type HoldoutMetrics } from './train-lead-model.ts';

export type PromotionMetric = 'roc_auc' | 'pr_auc' | 'brier' | 'log_loss';

export interface PromotionRule {
  metric: PromotionMetric;
  /** How much better the candidate must be (in the metric's units). */
  minGain: number;
}

const LOWER_IS_BETTER: Record<PromotionMetric, boolean> = {
  roc_auc: false,
  pr_auc: false,
  brier: true,
  log_loss: true,
};

export function beats(candidate: HoldoutMetrics, champion: HoldoutMetrics, rule: PromotionRule): boolean {
  const gain = LOWER_IS_BETTER[rule.metric]
    ? champion[rule.metric] - candidate[rule.metric]
    : candidate[rule.metric] - champion[rule.metric];
  return gain > rule.minGain;
}

/** Both models scored on the candidate's holdout, rebuilt from the candidate's recorded training window. */
async function sameHoldout(
  db: Db,
  candidate: { params: unknown; artifact: unknown; id: string; name: string; version: number },
  championId: string,
) {
  const params = candidate.params as { until: string; holdout_fraction: number };
  const training = await buildLeadTrainingSet(db, {
    set: featureSet('lead_scoring'),
    until: new Date(params.until),
    maxMoments: 60_000,
  });
  const cut = timeSplit(training, params.holdout_fraction);
  const rows = training.rows.slice(cut);
  const labels = training.labels.slice(cut);
  const championRow = await db
    .selectFrom('models')
    .select(['id', 'name', 'version', 'artifact'])
    .where('id', '=', championId)
    .executeTakeFirstOrThrow();
  const challengerModel = toLoadedModel(candidate);
  const championModel = toLoadedModel(championRow);
  return {
    candidate: holdoutMetrics(
      labels,
      rows.map((r) => challengerModel.predict(r).probability),
    ),
    champion: holdoutMetrics(
      labels,
      rows.map((r) => championModel.predict(r).probability),
    ),
  };
}

export async function promoteModel(
  db: Db,
  options: {
    name: string;
    version?: number;
    by: string;
    byId?: string | null;
    reason: string;
    rule: PromotionRule;
  },
) {
  const challengerAlias = await currentAlias(db, options.name, 'challenger');
  const version = options.version ?? challengerAlias?.version;
  if (version === undefined)
    throw new AppError('not_found', `Model ${options.name} has no challenger; name the version to promote`);
  const candidate = await getModelVersion(db, options.name, version);
  const champion = await currentAlias(db, options.name, 'champion');
  if (champion?.id === candidate.id)
    throw new AppError('conflict', `Version ${version} is already the champion`);
  let comparison: { candidate: HoldoutMetrics; champion: HoldoutMetrics } | null = null;
  if (champion) {
    comparison = await sameHoldout(db, candidate, champion.id);
    if (!beats(comparison.candidate, comparison.champion, options.rule)) {
      const m = options.rule.metric;
      throw new AppError(
        'conflict',
        `Version ${version} does not beat the champion (version ${champion.version}) on the same holdout: ${m} ` +
          `${comparison.candidate[m].toFixed(4)} vs ${comparison.champion[m].toFixed(4)} (the rule needs a gain of more than ${options.rule.minGain}). Not promoted.`,
        { rule: options.rule, candidate: comparison.candidate, champion: comparison.champion },
      );
    }
  }
  await db.transaction().execute(async (trx) => {
    await setAlias(trx, {
      name: options.name,
      alias: 'champion',
      modelId: candidate.id,
      by: options.by,
      byId: options.byId ?? null,
      reason: options.reason,
      action: 'model.promote',
      details: { rule: options.rule, comparison },
    });
    if (challengerAlias?.id === candidate.id) {
      await setAlias(trx, {
        name: options.name,
        alias: 'challenger',
        modelId: null,
        by: options.by,
        byId: options.byId ?? null,
        reason: `promoted to champion: ${options.reason}`,
        action: 'model.alias',
      });
    }
  });
  return { promoted: version, previous: champion?.version ?? null, comparison };
}
