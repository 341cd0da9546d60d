// A lead-scoring champion whose drift reference is a known distribution, and leads scored from another one, so a
// test chooses exactly how far the live scores have drifted (used by the drift-alarm and console tests).
import type { Db } from '../../src/db/database.ts';
import { normal, seededRandom } from '../../src/models/ml/random.ts';
import { storeDriftReference } from '../../src/monitoring/drift.ts';

/** n draws of N(mean, 1) from a seeded generator. */
export function normals(n: number, mean: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => mean + normal(random));
}

const probability = (x: number) => 1 / (1 + Math.exp(-(x - 2)));

export interface DriftWorld {
  modelId: string;
  contacts: string[];
}

/** A champion `lead_score` v1 with a reference of 1,000 draws of N(0, 1) for `intent` and an even `segment`,
 * and `leads` contacts with no score yet. */
export async function championWithDriftReference(db: Db, leads = 400): Promise<DriftWorld> {
  const model = await db
    .insertInto('models')
    .values({
      name: 'lead_score',
      version: 1,
      kind: 'logistic',
      feature_set: 'lead_scoring',
      feature_set_version: 2,
      label: 'became SQL within 30 days',
      training_data_hash: 'test',
      train_rows: 1000,
      holdout_rows: 250,
      params: '{}',
      code_version: 'test',
      metrics: '{}',
      calibration_curve: '[]',
      artifact: '{}',
      trained_by: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('model_aliases')
    .values({ name: 'lead_score', alias: 'champion', model_id: model.id, updated_by: 'test' })
    .execute();
  const reference = normals(1000, 0, 1);
  await storeDriftReference(db, {
    modelId: model.id,
    rows: 1000,
    features: {
      intent: { type: 'number', values: reference },
      segment: { type: 'category', counts: { smb: 500, enterprise: 500 } },
    },
    scores: reference.map(probability),
  });
  const rows = await db
    .insertInto('contacts')
    .values(Array.from({ length: leads }, (_, i) => ({ email: `drift-${i}@example.com` })))
    .returning('id')
    .execute();
  return { modelId: model.id, contacts: rows.map((r) => r.id) };
}

/** Replaces every lead score with one whose `intent` is drawn from N(shift, 1). */
export async function scoreLeads(db: Db, world: DriftWorld, shift: number, seed: number): Promise<void> {
  const xs = normals(world.contacts.length, shift, seed);
  await db.deleteFrom('lead_scores').execute();
  await db
    .insertInto('lead_scores')
    .values(
      world.contacts.map((id, i) => ({
        contact_id: id,
        model_name: 'lead_score',
        model_id: world.modelId,
        model_version: 1,
        alias: 'champion',
        is_prior: false,
        probability: probability(xs[i]!),
        factors: '[]',
        feature_snapshot: JSON.stringify({ intent: xs[i], segment: i % 2 ? 'smb' : 'enterprise' }),
        as_of: new Date(),
        scored_at: new Date(),
      })),
    )
    .execute();
}
