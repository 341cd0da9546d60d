// Lead scoring: latest features -> the champion's probability (or the cold-start prior), with factors for and
// against in business language, the model version and the exact feature snapshot; shadow models score too,
// stored beside it, and never act.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { FeatureRow } from '../features/compute.ts';
import { materializeContacts } from '../features/materialize.ts';
import { toFactors } from './explain.ts';
import { priorPredict, type Prediction } from './prior.ts';
import { loadAliasedModels, type LoadedModel } from './registry.ts';

export const LEAD_MODEL = 'lead_score';

export interface ContactScore {
  contactId: string;
  alias: string;
  isPrior: boolean;
  modelId: string | null;
  modelVersion: number | null;
  probability: number;
}

export async function scoreContacts(
  db: Db,
  contactIds: string[],
  options: { asOf?: Date } = {},
): Promise<ContactScore[]> {
  if (contactIds.length === 0) return [];
  const asOf = options.asOf ?? new Date();
  const features = await materializeContacts(db, contactIds, { asOf });
  const models = await loadAliasedModels(db, LEAD_MODEL, ['champion', 'shadow']);
  const scorers: { alias: string; model: LoadedModel | null }[] = [
    { alias: 'champion', model: models.get('champion') ?? null },
    ...(models.get('shadow') ? [{ alias: 'shadow', model: models.get('shadow')! }] : []),
  ];
  const rows: Record<string, unknown>[] = [];
  const scores: ContactScore[] = [];
  for (const [contactId, row] of features) {
    for (const { alias, model } of scorers) {
      const prediction: Prediction = model ? model.predict(row) : priorPredict(row);
      const factors = toFactors(prediction.contributions, row);
      rows.push({
        contact_id: contactId,
        model_name: LEAD_MODEL,
        model_id: model?.id ?? null,
        model_version: model?.version ?? null,
        alias,
        is_prior: !model,
        probability: prediction.probability,
        factors: { ...factors, base: prediction.base },
        feature_snapshot: row satisfies FeatureRow,
        as_of: asOf.toISOString(),
      });
      scores.push({
        contactId,
        alias,
        isPrior: !model,
        modelId: model?.id ?? null,
        modelVersion: model?.version ?? null,
        probability: prediction.probability,
      });
    }
  }
  for (let start = 0; start < rows.length; start += 1000) {
    await sql`
      insert into lead_scores (contact_id, model_name, model_id, model_version, alias, is_prior, probability, factors, feature_snapshot, as_of, scored_at)
      select x.contact_id, x.model_name, x.model_id, x.model_version, x.alias, x.is_prior, x.probability, x.factors, x.feature_snapshot, x.as_of, now()
      from jsonb_to_recordset(${JSON.stringify(rows.slice(start, start + 1000))}::jsonb) as x(
        contact_id uuid, model_name text, model_id uuid, model_version int, alias text, is_prior boolean,
        probability float8, factors jsonb, feature_snapshot jsonb, as_of timestamptz)
      on conflict (contact_id, model_name, alias) do update set
        model_id = excluded.model_id, model_version = excluded.model_version, is_prior = excluded.is_prior,
        probability = excluded.probability, factors = excluded.factors, feature_snapshot = excluded.feature_snapshot,
        as_of = excluded.as_of, scored_at = excluded.scored_at
      where lead_scores.as_of <= excluded.as_of`.execute(db);
  }
  return scores;
}

export async function getContactScores(db: Db, contactId: string) {
  const live = await db
    .selectFrom('contacts')
    .select(['id', 'merged_into_id'])
    .where('id', '=', contactId)
    .executeTakeFirst();
  const id = live?.merged_into_id ?? contactId;
  return db.selectFrom('lead_scores').selectAll().where('contact_id', '=', id).orderBy('alias').execute();
}
