// Every entry into an opportunity (or contact) stage with how it ended, read from the stage histories with the
// same rules as the funnel report (feedback/funnel-stages.ts): an entry advanced when the next move went to a
// stage that is not a loss, was lost when it went to a loss, and is open otherwise. Segment, region and owner
// are today's (the histories do not record what they were at the time).
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { FINAL_STAGES, LOSS_STAGES, type FunnelObject } from '../../feedback/funnel-stages.ts';
import type { StageEntry } from './detect.ts';

interface Row {
  subject_id: string;
  stage: string;
  entered_at: Date;
  left_at: Date | null;
  next_stage: string | null;
  segment: string | null;
  region: string | null;
  owner: string | null;
  owner_id: string | null;
  product: string | null;
  amount: string | null;
}

export async function loadStageEntries(db: Db, object: FunnelObject, since: Date): Promise<StageEntry[]> {
  const query =
    object === 'opportunity'
      ? sql<Row>`
          with entries as (
            select h.opportunity_id as subject_id, h.to_stage as stage, h.changed_at as entered_at,
                   lead(h.to_stage) over w as next_stage, lead(h.changed_at) over w as left_at
            from opportunity_stage_history h
            window w as (partition by h.opportunity_id order by h.changed_at, h.id)
          )
          select e.*, a.size_band as segment, a.region, coalesce(u.name, u.email) as owner, s.owner_id,
                 coalesce(p.name, p.sku) as product, s.amount
          from entries e
          join opportunities s on s.id = e.subject_id
          left join accounts a on a.id = s.account_id
          left join users u on u.id = s.owner_id
          left join products p on p.id = s.product_id
          where e.entered_at >= ${since} and not (e.stage = any(${FINAL_STAGES}::text[]))`
      : sql<Row>`
          with entries as (
            select h.contact_id as subject_id, h.to_stage as stage, h.changed_at as entered_at,
                   lead(h.to_stage) over w as next_stage, lead(h.changed_at) over w as left_at
            from contact_stage_history h
            window w as (partition by h.contact_id order by h.changed_at, h.id)
          )
          select e.*, a.size_band as segment, a.region, coalesce(u.name, u.email) as owner, s.owner_id,
                 null::text as product, null::numeric as amount
          from entries e
          join contacts s on s.id = e.subject_id and s.merged_into_id is null
          left join accounts a on a.id = s.account_id
          left join users u on u.id = s.owner_id
          where e.entered_at >= ${since} and not (e.stage = any(${FINAL_STAGES}::text[]))`;
  const rows = (await query.execute(db)).rows;
  return rows.map((r) => ({
    subjectId: r.subject_id,
    stage: r.stage,
    enteredAt: r.entered_at.getTime(),
    leftAt: r.left_at ? r.left_at.getTime() : null,
    outcome: r.next_stage === null ? 'open' : LOSS_STAGES.includes(r.next_stage) ? 'lost' : 'advanced',
    segment: r.segment ?? 'unknown',
    region: r.region ?? 'unknown',
    owner: r.owner ?? 'unassigned',
    ownerId: r.owner_id,
    product: r.product ?? 'unknown',
    amount: r.amount === null ? null : Number(r.amount),
  }));
}
