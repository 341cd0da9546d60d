// Drift of the champion model's inputs and score: the reference is the distribution on the model's training
// window (a sample of its point-in-time training moments, stored once per model in drift_references); the
// recent window is what the model scored over the last days (lead_scores: the feature snapshot each score used).
import type { Db } from '../db/database.ts';
import type { FeatureRow } from '../features/compute.ts';
import { featureSet } from '../features/definitions.ts';
import { buildLeadTrainingSet } from '../features/training-set.ts';
import { toLoadedModel } from '../models/registry.ts';
import { LEAD_MODEL } from '../models/score-contacts.ts';
import { chiSquareHomogeneity, ksTwoSample, psiCategorical, psiNumeric } from './drift-math.ts';

/** Reference sample size: enough for decile bins and a KS test, small enough to store as JSON. */
const REFERENCE_MOMENTS = 2000;
/**
 * Both sides are leads active in the 14 days before the moment (by the feature days_since_last_touch): the ones
 * agents act on. Without it, a backfill that rescores every dormant lead at once compares an old, quiet
 * population with the training moments and "drifts" on every age feature.
 */
export const ACTIVE_DAYS = 14;
const ACTIVITY_FEATURE = 'days_since_last_touch';

export function isActive(row: FeatureRow): boolean {
  const days = row[ACTIVITY_FEATURE];
  return days === undefined || (typeof days === 'number' && days <= ACTIVE_DAYS);
}
const HORIZON_DAYS = 30;
/** Stages past the one the lead model predicts (became SQL); contacts there are not its population. */
const SCORED_PAST = ['sql', 'opportunity', 'customer'];

export type FeatureSample =
  { type: 'number'; values: number[] } | { type: 'category'; counts: Record<string, number> };

export interface DriftReference {
  modelId: string;
  rows: number;
  features: Record<string, FeatureSample>;
  scores: number[];
}

export interface FeatureDrift {
  feature: string;
  type: 'number' | 'category' | 'score';
  psi: number;
  test: 'ks' | 'chi_square';
  statistic: number;
  p_value: number;
  reference_n: number;
  recent_n: number;
}

export interface DriftReport {
  model: { id: string; version: number } | null;
  window_days: number;
  reference_rows: number;
  recent_rows: number;
  skipped: string | null;
  features: FeatureDrift[];
}

export function samplesOf(
  rows: readonly FeatureRow[],
  names: readonly string[],
): Record<string, FeatureSample> {
  const out: Record<string, FeatureSample> = {};
  for (const name of names) {
    const present = rows.map((r) => r[name]).filter((v) => v !== undefined);
    if (present.some((v) => typeof v === 'string')) {
      const counts: Record<string, number> = {};
      for (const v of present) {
        const key = v === null ? '(missing)' : String(v);
        counts[key] = (counts[key] ?? 0) + 1;
      }
      out[name] = { type: 'category', counts };
    } else {
      out[name] = {
        type: 'number',
        values: present.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)),
      };
    }
  }
  return out;
}

export async function championModel(db: Db) {
  return db
    .selectFrom('model_aliases as a')
    .innerJoin('models as m', 'm.id', 'a.model_id')
    .select([
      'm.id',
      'm.name',
      'm.version',
      'm.artifact',
      'm.feature_set',
      'm.feature_set_version',
      'm.train_to',
      'm.trained_at',
      'm.metrics',
    ])
    .where('a.name', '=', LEAD_MODEL)
    .where('a.alias', '=', 'champion')
    .executeTakeFirst();
}

/** Stores a reference snapshot for a model (computed from its training window, or given, e.g. by tests). */
export async function storeDriftReference(
  db: Db,
  reference: DriftReference & { windowFrom?: Date | null; windowTo?: Date | null },
): Promise<void> {
  await db
    .insertInto('drift_references')
    .values({
      model_id: reference.modelId,
      window_from: reference.windowFrom ?? null,
      window_to: reference.windowTo ?? null,
      rows: reference.rows,
      features: JSON.stringify(reference.features),
      scores: JSON.stringify(reference.scores),
    })
    .onConflict((oc) => oc.column('model_id').doNothing())
    .execute();
}

/** The model's reference, computed on first use from the latest moments of its training window. */
export async function driftReference(
  db: Db,
  model: NonNullable<Awaited<ReturnType<typeof championModel>>>,
): Promise<DriftReference | null> {
  const stored = await db
    .selectFrom('drift_references')
    .selectAll()
    .where('model_id', '=', model.id)
    .executeTakeFirst();
  if (stored)
    return {
      modelId: model.id,
      rows: stored.rows,
      features: stored.features as Record<string, FeatureSample>,
      scores: stored.scores as number[],
    };
  if (!model.train_to) return null;
  const set = featureSet(model.feature_set, model.feature_set_version);
  const training = await buildLeadTrainingSet(db, {
    set,
    until: new Date(model.train_to.getTime() + HORIZON_DAYS * 86_400_000 + 1),
    horizonDays: HORIZON_DAYS,
    maxMoments: REFERENCE_MOMENTS * 4,
  });
  const chosen = training.rows
    .map((row, i) => ({ row, asOf: training.moments[i]!.asOf }))
    .filter((m) => isActive(m.row))
    .slice(-REFERENCE_MOMENTS);
  if (chosen.length === 0) return null;
  const rows = chosen.map((m) => m.row);
  const loaded = toLoadedModel(model);
  const reference: DriftReference = {
    modelId: model.id,
    rows: rows.length,
    features: samplesOf(
      rows,
      set.features.map((f) => f.name),
    ),
    scores: rows.map((r) => loaded.predict(r).probability),
  };
  await storeDriftReference(db, {
    ...reference,
    windowFrom: chosen[0]?.asOf ?? null,
    windowTo: chosen.at(-1)?.asOf ?? null,
  });
  return reference;
}

export function compareSamples(
  name: string,
  reference: FeatureSample,
  recent: FeatureSample,
): FeatureDrift | null {
  if (reference.type === 'number' && recent.type === 'number') {
    if (reference.values.length === 0 || recent.values.length === 0) return null;
    const ks = ksTwoSample(reference.values, recent.values);
    return {
      feature: name,
      type: 'number',
      psi: psiNumeric(reference.values, recent.values),
      test: 'ks',
      statistic: ks.statistic,
      p_value: ks.pValue,
      reference_n: reference.values.length,
      recent_n: recent.values.length,
    };
  }
  const counts = (s: FeatureSample) =>
    s.type === 'category' ? s.counts : Object.fromEntries(Object.entries(countValues(s.values)));
  const a = counts(reference);
  const b = counts(recent);
  const chi = chiSquareHomogeneity(a, b);
  const total = (c: Record<string, number>) => Object.values(c).reduce((x, y) => x + y, 0);
  return {
    feature: name,
    type: 'category',
    psi: psiCategorical(a, b),
    test: 'chi_square',
    statistic: chi.statistic,
    p_value: chi.pValue,
    reference_n: total(a),
    recent_n: total(b),
  };
}

function countValues(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  return counts;
}

export async function measureDrift(
  db: Db,
  options: { windowDays: number; minSamples: number; now?: Date },
): Promise<DriftReport> {
  const empty = (skipped: string, model: DriftReport['model'] = null): DriftReport => ({
    model,
    window_days: options.windowDays,
    reference_rows: 0,
    recent_rows: 0,
    skipped,
    features: [],
  });
  const model = await championModel(db);
  if (!model) return empty('no trained champion model: scores come from the rule-based prior');
  const info = { id: model.id, version: model.version };
  const reference = await driftReference(db, model);
  if (!reference) return empty('the model has no training window to compare with', info);
  const since = new Date((options.now ?? new Date()).getTime() - options.windowDays * 86_400_000);
  // Like for like: the training moments are leads not yet SQL, so the recent window is the leads the model
  // scores for decisions, not contacts already past the stage it predicts.
  const recent = await db
    .selectFrom('lead_scores as s')
    .innerJoin('contacts as c', 'c.id', 's.contact_id')
    .select(['s.probability', 's.feature_snapshot'])
    .where('s.model_id', '=', model.id)
    .where('s.scored_at', '>=', since)
    .where('c.lifecycle_stage', 'not in', SCORED_PAST)
    .execute();
  if (recent.length < options.minSamples || reference.rows < options.minSamples)
    return {
      ...empty(
        `too few rows to compare (reference ${reference.rows}, recent ${recent.length}; at least ${options.minSamples} each)`,
        info,
      ),
      reference_rows: reference.rows,
      recent_rows: recent.length,
    };
  const active = recent.filter((r) => isActive(r.feature_snapshot as FeatureRow));
  if (active.length < options.minSamples)
    return {
      ...empty(
        `too few recently active leads to compare (${active.length}; at least ${options.minSamples})`,
        info,
      ),
      reference_rows: reference.rows,
      recent_rows: active.length,
    };
  const rows = active.map((r) => r.feature_snapshot as FeatureRow);
  const samples = samplesOf(rows, Object.keys(reference.features));
  const features: FeatureDrift[] = [];
  for (const [name, ref] of Object.entries(reference.features)) {
    const drift = compareSamples(name, ref, samples[name]!);
    if (drift) features.push(drift);
  }
  const score = compareSamples(
    'score',
    { type: 'number', values: reference.scores },
    { type: 'number', values: active.map((r) => r.probability) },
  );
  if (score) features.push({ ...score, type: 'score' });
  return {
    model: info,
    window_days: options.windowDays,
    reference_rows: reference.rows,
    recent_rows: active.length,
    skipped: null,
    features: features.sort((a, b) => b.psi - a.psi),
  };
}
