// Point-in-time training sets for lead scoring: labelled moments "at time T, did this lead become SQL within
// the next H days?", with every feature value as it was at T. Moments whose label window is not over yet
// (T + H after `until`) are left out, and so are moments after the contact already reached SQL.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { computeFeatures, type FeatureRow } from './compute.ts';
import type { FeatureSet } from './definitions.ts';

export const SQL_STAGES = ['sql', 'opportunity', 'customer'];

export interface TrainingSet {
  rows: FeatureRow[];
  labels: number[];
  moments: { contactId: string; asOf: Date }[];
  positives: number;
}

export interface TrainingSetOptions {
  set: FeatureSet;
  /** Nothing at or after this instant is used, labels included. */
  until: Date;
  horizonDays?: number;
  stepDays?: number;
  /** Keep at most this many moments (the most recent), to bound training cost. */
  maxMoments?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function buildLeadTrainingSet(db: Db, options: TrainingSetOptions): Promise<TrainingSet> {
  const horizon = options.horizonDays ?? 30;
  const step = options.stepDays ?? 14;
  const moments = await sql<{ contact_id: string; as_of: Date; label: boolean }>`
    with first_touch as (
      select contact_id, min(occurred_at) as first_at from events
      where contact_id is not null and occurred_at < ${options.until}
      group by contact_id
    ),
    became_sql as (
      select contact_id, min(changed_at) as sql_at from contact_stage_history
      where to_stage = any(${SQL_STAGES}::text[]) group by contact_id
    ),
    moments as (
      select f.contact_id, t as as_of, s.sql_at
      from first_touch f
      left join became_sql s using (contact_id)
      -- Moments on one fortnightly grid for everyone, so features that are costly to recompute as of a moment
      -- (the knowledge graph) are computed once per grid point, not once per lead.
      cross join lateral generate_series(
        date_bin(make_interval(days => ${step}), f.first_at, timestamptz '2000-01-03 00:00:00+00') + make_interval(days => ${step}),
        ${options.until}::timestamptz - make_interval(days => ${horizon}),
        make_interval(days => ${step})
      ) as t
      where s.sql_at is null or t < s.sql_at
    )
    select contact_id, as_of,
           (sql_at is not null and sql_at > as_of and sql_at <= as_of + make_interval(days => ${horizon})) as label
    from moments
    order by as_of, contact_id`.execute(db);
  let chosen = moments.rows;
  if (options.maxMoments && chosen.length > options.maxMoments)
    chosen = chosen.slice(chosen.length - options.maxMoments);
  const pairs = chosen.map((m) => ({ contactId: m.contact_id, asOf: m.as_of }));
  const rows: FeatureRow[] = [];
  const chunk = 2000;
  for (let start = 0; start < pairs.length; start += chunk) {
    rows.push(
      ...(await computeFeatures(db, options.set, pairs.slice(start, start + chunk), {
        graph: 'point_in_time',
      })),
    );
    options.onProgress?.(Math.min(start + chunk, pairs.length), pairs.length);
  }
  const labels = chosen.map((m) => (m.label ? 1 : 0));
  return { rows, labels, moments: pairs, positives: labels.reduce((a: number, b) => a + b, 0) };
}
