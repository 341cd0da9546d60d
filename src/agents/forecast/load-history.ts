// Opportunities with their recorded history, for the forecast: stage entries from opportunity_stage_history,
// amounts as each event recorded them (so a past as-of date sees the amount known then, not today's), activity
// from the events attributed to the opportunity, segment and region from the account, owner and product names.
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { OpportunityHistory } from './history.ts';

interface OpportunityRow {
  id: string;
  name: string;
  opened_at: Date;
  closed_at: Date | null;
  status: 'open' | 'won' | 'lost';
  amount: string | null;
  segment: string | null;
  region: string | null;
  owner: string | null;
  owner_id: string | null;
  product: string | null;
}

export async function loadOpportunityHistory(db: Db): Promise<OpportunityHistory[]> {
  const [opportunities, stages, amounts, activity] = await Promise.all([
    sql<OpportunityRow>`
      select o.id, o.name, o.opened_at, o.closed_at, o.status, o.amount,
             a.size_band as segment, a.region, coalesce(u.name, u.email) as owner, o.owner_id,
             coalesce(p.name, p.sku) as product
      from opportunities o
      left join accounts a on a.id = o.account_id
      left join users u on u.id = o.owner_id
      left join products p on p.id = o.product_id`.execute(db),
    sql<{ opportunity_id: string; to_stage: string; changed_at: Date }>`
      select opportunity_id, to_stage, changed_at from opportunity_stage_history
      order by opportunity_id, changed_at, id`.execute(db),
    sql<{ opportunity_id: string; amount: string; occurred_at: Date }>`
      select opportunity_id, payload->'data'->>'amount' as amount, occurred_at from events
      where opportunity_id is not null and type like 'crm.opportunity.%'
        and jsonb_typeof(payload->'data'->'amount') = 'number'
      order by opportunity_id, occurred_at, id`.execute(db),
    sql<{ opportunity_id: string; occurred_at: Date }>`
      select opportunity_id, occurred_at from events
      where opportunity_id is not null and type not like 'crm.%'
      order by opportunity_id, occurred_at`.execute(db),
  ]);
  const byId = new Map<string, OpportunityHistory>();
  for (const row of opportunities.rows) {
    byId.set(row.id, {
      id: row.id,
      name: row.name,
      openedAt: row.opened_at.getTime(),
      closedAt: row.status === 'open' || !row.closed_at ? null : row.closed_at.getTime(),
      status: row.status,
      segment: row.segment ?? 'unknown',
      region: row.region ?? 'unknown',
      owner: row.owner ?? 'unassigned',
      ownerId: row.owner_id,
      product: row.product ?? 'unknown',
      stages: [],
      amounts: [],
      activity: [],
    });
  }
  for (const s of stages.rows)
    byId.get(s.opportunity_id)?.stages.push({ stage: s.to_stage, at: s.changed_at.getTime() });
  for (const a of amounts.rows) {
    const amount = Number(a.amount);
    if (Number.isFinite(amount))
      byId.get(a.opportunity_id)?.amounts.push({ amount, at: a.occurred_at.getTime() });
  }
  for (const e of activity.rows) byId.get(e.opportunity_id)?.activity.push(e.occurred_at.getTime());
  // An amount set without an event (e.g. a manual fix) still counts, from the last update on.
  for (const row of opportunities.rows) {
    const o = byId.get(row.id)!;
    const current = row.amount === null ? null : Number(row.amount);
    if (o.amounts.length === 0 && current !== null && o.status === 'open')
      o.amounts.push({ amount: current, at: o.openedAt });
  }
  return [...byId.values()];
}
