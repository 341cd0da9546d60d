// Outcomes become labels: read outcomes from new events (incrementally, by event id), attribute each to the
// decisions on the same subject that preceded it within the attribution window, and move executed decisions
// to `outcome_observed` with the outcome recorded. Idempotent: outcomes are unique per (event, name) and links
// per (decision, outcome), so re-running, overlapping runs and the backfill are safe.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { transition, type Actor } from '../agents/decision-store.ts';

export const FEEDBACK_ACTOR: Actor = { name: 'feedback' };
const EVENTS_CURSOR = 'outcomes.events';
const LINK_CURSOR = 'outcomes.linked';
/** Events are re-read this far back by arrival time: a transaction that committed late is not skipped. */
const LATE_COMMIT_MINUTES = 10;
const STAGE_SQL = ['sql', 'opportunity', 'customer'];

export interface LinkSummary {
  outcomes: number;
  links: number;
  observed: number;
}

export async function linkOutcomes(
  db: Db,
  options: { windowDays: number; backfill?: boolean; batchSize?: number },
): Promise<LinkSummary> {
  const outcomes = await extractOutcomes(db, options.backfill ?? false);
  const { links, observed } = await attribute(db, options);
  return { outcomes, links, observed };
}

async function cursor(db: Db, name: string): Promise<bigint> {
  const row = await db
    .selectFrom('feedback_cursors')
    .select('position')
    .where('name', '=', name)
    .executeTakeFirst();
  return BigInt(row?.position ?? 0);
}

async function saveCursor(db: Db, name: string, position: bigint): Promise<void> {
  await db
    .insertInto('feedback_cursors')
    .values({ name, position: position.toString(), updated_at: new Date() })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({ position: position.toString(), updated_at: new Date() }),
    )
    .execute();
}

/** Reads outcomes from the events after the cursor (and those that arrived in the last minutes). */
async function extractOutcomes(db: Db, backfill: boolean): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const after = backfill ? 0n : await cursor(trx, EVENTS_CURSOR);
    const top = await sql<{ id: string | null }>`select max(id) as id from events`.execute(trx);
    const until = BigInt(top.rows[0]?.id ?? 0);
    const inserted = await sql<{ n: string }>`
      with scope as (
        select e.* from events e
        where e.id <= ${until.toString()}::bigint
          and (e.id > ${after.toString()}::bigint or e.received_at > now() - make_interval(mins => ${LATE_COMMIT_MINUTES}))
      ),
      found as (
        select id as event_id, 'meeting_held' as name, true as positive, null::double precision as value,
               contact_id, account_id, opportunity_id, occurred_at
        from scope where type = 'meeting.held'
        union all
        select id, 'replied', true, null, contact_id, account_id, opportunity_id, occurred_at
        from scope where type = 'email.replied'
        union all
        select id, 'unsubscribed', true, null, contact_id, account_id, opportunity_id, occurred_at
        from scope where type = 'email.unsubscribed'
        union all
        select id, case when payload -> 'data' ->> 'to_stage' = 'disqualified' then 'disqualified' else 'became_sql' end,
               true, null, contact_id, account_id, opportunity_id, occurred_at
        from scope where type = 'crm.contact.stage_changed'
          and (payload -> 'data' ->> 'to_stage' = any(${STAGE_SQL}::text[]) or payload -> 'data' ->> 'to_stage' = 'disqualified')
        union all
        select id, 'opportunity_created', true, nullif(payload -> 'data' ->> 'amount', '')::double precision,
               contact_id, account_id, opportunity_id, occurred_at
        from scope where type = 'crm.opportunity.created'
        union all
        select id, payload -> 'data' ->> 'status', true, nullif(payload -> 'data' ->> 'amount', '')::double precision,
               contact_id, account_id, opportunity_id, occurred_at
        from scope where type in ('crm.opportunity.stage_changed', 'crm.opportunity.updated')
          and payload -> 'data' ->> 'status' in ('won', 'lost')
        union all
        select id, payload -> 'data' ->> 'name',
               coalesce((payload -> 'data' ->> 'positive')::boolean,
                        payload -> 'data' -> 'value' in ('true'::jsonb, '1'::jsonb)),
               case when jsonb_typeof(payload -> 'data' -> 'value') = 'number' then (payload -> 'data' ->> 'value')::double precision end,
               contact_id, account_id, opportunity_id, occurred_at
        from scope where type = 'outcome.observed' and payload -> 'data' ->> 'name' is not null
      ),
      ins as (
        insert into outcomes (event_id, name, positive, value, contact_id, account_id, opportunity_id, occurred_at)
        select event_id, name, positive, value, contact_id, account_id, opportunity_id, occurred_at from found
        on conflict (event_id, name) do nothing
        returning 1
      )
      select count(*) as n from ins`.execute(trx);
    if (until > after) await saveCursor(trx, EVENTS_CURSOR, until);
    return Number(inserted.rows[0]?.n ?? 0);
  });
}

/**
 * Links outcomes after the link cursor to the decisions before them: same subject (a contact's decisions also
 * see the opportunities the contact is on; an account's see its contacts' and opportunities' outcomes), from
 * the execution (or, when it never executed, the decision) to `windowDays` after it. Withdrawn (superseded)
 * proposals are left out.
 */
async function attribute(
  db: Db,
  options: { windowDays: number; backfill?: boolean; batchSize?: number },
): Promise<{ links: number; observed: number }> {
  const batch = options.batchSize ?? 5000;
  let links = 0;
  let observed = 0;
  for (;;) {
    const done = await db.transaction().execute(async (trx) => {
      const after = options.backfill ? 0n : await cursor(trx, LINK_CURSOR);
      const page = await sql<{ last: string | null }>`
        select max(id) as last from (select id from outcomes where id > ${after.toString()}::bigint order by id limit ${batch}) x`.execute(
        trx,
      );
      const last = page.rows[0]?.last;
      if (!last) return true;
      const linked = await sql<{ decision_id: string }>`
        with fresh as (
          select * from outcomes where id > ${after.toString()}::bigint and id <= ${last}::bigint
        ),
        anchored as (
          select d.id, d.subject_type, d.subject_id,
                 coalesce((d.execution ->> 'delivered_at')::timestamptz,
                          (select min(t.at) from decision_transitions t where t.decision_id = d.id and t.to_status = 'executed'),
                          d.decided_at, d.created_at) as anchor
          from decisions d
          where d.status <> 'withdrawn'
            and d.created_at <= (select max(occurred_at) from fresh)
            and d.created_at >= (select min(occurred_at) from fresh) - make_interval(days => ${options.windowDays})
        ),
        pairs as (
          select a.id as decision_id, o.id as outcome_id,
                 extract(epoch from o.occurred_at - a.anchor) as lag_seconds
          from fresh o
          join anchored a on o.occurred_at > a.anchor
                         and o.occurred_at <= a.anchor + make_interval(days => ${options.windowDays})
          where (a.subject_type = 'contact' and (o.contact_id = a.subject_id
                   or exists (select 1 from opportunity_contacts oc
                              where oc.opportunity_id = o.opportunity_id and oc.contact_id = a.subject_id)))
             or (a.subject_type = 'opportunity' and o.opportunity_id = a.subject_id)
             or (a.subject_type = 'account' and o.account_id = a.subject_id)
        )
        insert into decision_outcomes (decision_id, outcome_id, lag_seconds)
        select decision_id, outcome_id, lag_seconds from pairs
        on conflict do nothing
        returning decision_id`.execute(trx);
      links += linked.rows.length;
      observed += await observeExecuted(trx, [...new Set(linked.rows.map((r) => r.decision_id))]);
      await saveCursor(trx, LINK_CURSOR, BigInt(last));
      if (options.backfill) options = { ...options, backfill: false };
      return false;
    });
    if (done) return { links, observed };
  }
}

/** Executed decisions with a linked outcome move to outcome_observed, with their first outcome recorded. */
async function observeExecuted(trx: Db, decisionIds: string[]): Promise<number> {
  if (decisionIds.length === 0) return 0;
  const rows = await sql<{
    id: string;
    name: string;
    positive: boolean;
    value: number | null;
    at: Date;
    event_id: string;
    lag: number;
  }>`
    select distinct on (d.id) d.id, o.name, o.positive, o.value, o.occurred_at as at, o.event_id, l.lag_seconds as lag
    from decisions d
    join decision_outcomes l on l.decision_id = d.id
    join outcomes o on o.id = l.outcome_id
    where d.id = any(${decisionIds}::uuid[]) and d.status = 'executed'
    order by d.id, o.occurred_at, o.id`.execute(trx);
  for (const row of rows.rows) {
    const outcome = {
      name: row.name,
      positive: row.positive,
      value: row.value,
      at: new Date(row.at).toISOString(),
      event_id: row.event_id,
      days_after: Math.round((Number(row.lag) / 86_400) * 10) / 10,
    };
    await transition(trx, {
      decisionId: row.id,
      from: ['executed'],
      to: 'outcome_observed',
      actor: FEEDBACK_ACTOR,
      reason: `outcome observed: ${row.name} ${outcome.days_after} days after execution`,
      details: { outcome },
      patch: { outcome: JSON.stringify(outcome) },
    });
  }
  return rows.rows.length;
}
