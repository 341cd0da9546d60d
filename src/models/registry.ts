// The model registry: versions with everything needed to trust or reproduce them, aliases (champion,
// challenger, shadow), and the audited actions that move them: promotion (only when the candidate beats the
// champion on the same holdout) and rollback.
import type { Db } from '../db/database.ts';
import type { ModelAlias } from '../db/schema.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import type { FeatureRow } from '../features/compute.ts';
import { loadScorer } from './ml/pipeline.ts';
import type { Prediction } from './prior.ts';

export interface LoadedModel {
  id: string;
  name: string;
  version: number;
  predict(row: FeatureRow): Prediction;
}

// Parsed artifacts by model id: a version never changes, so the cache never goes stale.
const loaded = new Map<string, LoadedModel>();

export function toLoadedModel(row: {
  id: string;
  name: string;
  version: number;
  artifact: unknown;
}): LoadedModel {
  const cached = loaded.get(row.id);
  if (cached) return cached;
  const scorer = loadScorer(row.artifact);
  const model: LoadedModel = {
    id: row.id,
    name: row.name,
    version: row.version,
    predict(features) {
      const p = scorer.predict(features);
      // Per input column (a categorical's one-hot parts summed), so factors name the feature, not its encoding.
      return { probability: p.probability, base: p.base, contributions: p.columns };
    },
  };
  loaded.set(row.id, model);
  return model;
}

export async function loadAliasedModels(
  db: Db,
  name: string,
  aliases: ModelAlias[],
): Promise<Map<ModelAlias, LoadedModel>> {
  const rows = await db
    .selectFrom('model_aliases as a')
    .innerJoin('models as m', 'm.id', 'a.model_id')
    .select(['a.alias', 'm.id', 'm.name', 'm.version', 'm.artifact'])
    .where('a.name', '=', name)
    .where('a.alias', 'in', aliases)
    .execute();
  return new Map(rows.map((r) => [r.alias, toLoadedModel(r)]));
}

export async function getModelVersion(db: Db, name: string, version: number) {
  const model = await db
    .selectFrom('models')
    .selectAll()
    .where('name', '=', name)
    .where('version', '=', version)
    .executeTakeFirst();
  if (!model) throw new AppError('not_found', `No version ${version} of model ${name}`);
  return model;
}

/** Everything but the artifact, newest first, with the aliases each version holds. */
export async function listModels(db: Db, name: string) {
  const [models, aliases] = await Promise.all([
    db
      .selectFrom('models')
      .select([
        'id',
        'name',
        'version',
        'kind',
        'feature_set',
        'feature_set_version',
        'label',
        'training_data_hash',
        'train_from',
        'train_to',
        'holdout_from',
        'holdout_to',
        'train_rows',
        'holdout_rows',
        'params',
        'code_version',
        'metrics',
        'calibration_curve',
        'trained_by',
        'trained_at',
      ])
      .where('name', '=', name)
      .orderBy('version', 'desc')
      .execute(),
    db.selectFrom('model_aliases').selectAll().where('name', '=', name).execute(),
  ]);
  return models.map((m) => ({
    ...m,
    aliases: aliases.filter((a) => a.model_id === m.id).map((a) => a.alias),
  }));
}

export async function currentAlias(db: Db, name: string, alias: ModelAlias) {
  return db
    .selectFrom('model_aliases as a')
    .innerJoin('models as m', 'm.id', 'a.model_id')
    .select(['m.id', 'm.version', 'a.updated_at', 'a.updated_by'])
    .where('a.name', '=', name)
    .where('a.alias', '=', alias)
    .executeTakeFirst();
}

/** Points an alias at a version (or removes it), recording who, why, and what it pointed at before. */
export async function setAlias(
  trx: Db,
  options: {
    name: string;
    alias: ModelAlias;
    modelId: string | null;
    by: string;
    byId?: string | null;
    reason: string;
    action: string;
    details?: Record<string, unknown>;
  },
): Promise<void> {
  const before = await currentAlias(trx, options.name, options.alias);
  if (options.modelId) {
    await trx
      .insertInto('model_aliases')
      .values({ name: options.name, alias: options.alias, model_id: options.modelId, updated_by: options.by })
      .onConflict((oc) =>
        oc
          .columns(['name', 'alias'])
          .doUpdateSet({ model_id: options.modelId!, updated_by: options.by, updated_at: new Date() }),
      )
      .execute();
  } else {
    await trx
      .deleteFrom('model_aliases')
      .where('name', '=', options.name)
      .where('alias', '=', options.alias)
      .execute();
  }
  const after = options.modelId
    ? await trx
        .selectFrom('models')
        .select(['id', 'version'])
        .where('id', '=', options.modelId)
        .executeTakeFirstOrThrow()
    : null;
  await appendAudit(trx, {
    actor: options.by,
    actorId: options.byId ?? null,
    action: options.action,
    subjectType: 'model',
    subjectId: `${options.name}:${options.alias}`,
    reason: options.reason,
    before: before ? { model_id: before.id, version: before.version } : null,
    after: after
      ? { model_id: after.id, version: after.version, ...options.details }
      : (options.details ?? null),
  });
}

/**
 * The version the champion pointed at before its latest change, from the audit trail (the trail is the
 * history of aliases; it cannot be rewritten quietly).
 */
export async function previousChampion(db: Db, name: string): Promise<number | null> {
  const entry = await db
    .selectFrom('audit_log')
    .select(['before'])
    .where('subject_type', '=', 'model')
    .where('subject_id', '=', `${name}:champion`)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const before = entry?.before as { version?: number } | null | undefined;
  return before?.version ?? null;
}

export async function rollbackModel(
  db: Db,
  options: { name: string; toVersion?: number; by: string; byId?: string | null; reason: string },
): Promise<{ from: number | null; to: number }> {
  return db.transaction().execute(async (trx) => {
    const current = await currentAlias(trx, options.name, 'champion');
    const target = options.toVersion ?? (await previousChampion(trx, options.name));
    if (target === null || target === undefined) {
      throw new AppError(
        'conflict',
        `Model ${options.name} has no earlier champion to roll back to; name a version with --to`,
      );
    }
    if (current && current.version === target)
      throw new AppError('conflict', `Version ${target} is already the champion`);
    const model = await getModelVersion(trx, options.name, target);
    await setAlias(trx, {
      name: options.name,
      alias: 'champion',
      modelId: model.id,
      by: options.by,
      byId: options.byId ?? null,
      reason: options.reason,
      action: 'model.rollback',
    });
    return { from: current?.version ?? null, to: target };
  });
}
