// KPIs over time (day, week or month buckets, UTC) and by segment, agent, policy version or model version.
// Decision KPIs (precision of automatic decisions, review verdicts) group by any of those; funnel KPIs (lead to
// SQL and to opportunity, time to first engagement, stage cycle times, lost opportunities) are about leads and
// deals, not decisions, so they group by segment only (the account's size band) and are "all" otherwise.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { forecastAccuracyIfAvailable, type ForecastAccuracy } from './forecast-accuracy.ts';
import { isSuccess } from './outcome-kinds.ts';

export const KPI_BUCKETS = ['day', 'week', 'month'] as const;
export type KpiBucket = (typeof KPI_BUCKETS)[number];
export const KPI_GROUPS = ['none', 'segment', 'agent', 'policy_version', 'model_version'] as const;
export type KpiGroup = (typeof KPI_GROUPS)[number];

/** Horizons of the conversion KPIs: a lead counts once its horizon is over, so young leads do not dilute. */
export const SQL_HORIZON_DAYS = 30;
export const OPPORTUNITY_HORIZON_DAYS = 90;
const SQL_STAGES = ['sql', 'opportunity', 'customer'];
const ENGAGEMENT = sql`(e.type in ('email.replied', 'meeting.booked', 'meeting.held')
  or (e.type = 'call.logged' and e.payload -> 'data' ->> 'outcome' = 'connected'))`;

export interface KpiOptions {
  from: Date;
  to: Date;
  bucket: KpiBucket;
  groupBy: KpiGroup;
  /** The attribution window: how long after execution an outcome counts. */
  windowDays: number;
  now?: Date;
}

export interface KpiRow {
  bucket: string;
  group: string;
  auto_executed: number;
  auto_matured: number;
  auto_successes: number;
  auto_precision: number | null;
  reviews: number;
  approve_rate: number | null;
  reject_rate: number | null;
  edit_rate: number | null;
  leads: number;
  leads_sql_mature: number;
  lead_to_sql_rate: number | null;
  leads_opportunity_mature: number;
  lead_to_opportunity_rate: number | null;
  engaged_within_30d: number | null;
  median_hours_to_first_engagement: number | null;
  opportunities_closed: number;
  lost_opportunity_rate: number | null;
}

export interface StageCycle {
  bucket: string;
  group: string;
  object: 'contact' | 'opportunity';
  stage: string;
  left: number;
  median_days: number | null;
}

export interface KpiReport {
  from: string;
  to: string;
  bucket: KpiBucket;
  group_by: KpiGroup;
  definitions: Record<string, string>;
  rows: KpiRow[];
  stage_cycle_times: StageCycle[];
  forecast: ForecastAccuracy[];
}

export const KPI_DEFINITIONS: Record<string, string> = {
  auto_precision:
    'automatically executed decisions followed by the outcome that makes them right (e.g. an opportunity after a qualification to SQL, engagement after routing) within the attribution window, over those whose window is over or that succeeded',
  review_rates: 'review verdicts (approve, reject, edit) over all verdicts, by the time of the verdict',
  lead_to_sql_rate: `leads (first stage entry) that reached SQL within ${SQL_HORIZON_DAYS} days, among leads at least that old`,
  lead_to_opportunity_rate: `leads on an opportunity within ${OPPORTUNITY_HORIZON_DAYS} days, among leads at least that old`,
  time_to_first_engagement:
    'hours from the lead to its first two-way engagement (reply, meeting booked or held, connected call); median over leads engaged within 30 days',
  stage_cycle_times: 'median days in a stage for entries (in the bucket) that left it',
  lost_opportunity_rate: 'opportunities closed lost over all closed in the bucket',
  forecast:
    'forecast error and bias per period, from the forecasting agent (empty until it records forecasts)',
};

const trunc = (bucket: KpiBucket, column: RawBuilder<unknown>) =>
  sql<Date>`date_trunc(${bucket}, ${column}, 'UTC')`;

function decisionGroup(groupBy: KpiGroup): RawBuilder<string> {
  switch (groupBy) {
    case 'segment':
      return sql<string>`coalesce(d.facts ->> 'segment', 'unknown')`;
    case 'agent':
      return sql<string>`d.agent`;
    case 'policy_version':
      return sql<string>`coalesce(d.policy_version::text, 'none')`;
    case 'model_version':
      return sql<string>`coalesce(d.inputs -> 'model' ->> 'version', case when (d.inputs -> 'model' ->> 'is_prior')::boolean then 'prior' else 'none' end)`;
    default:
      return sql<string>`'all'`;
  }
}

const leadGroup = (groupBy: KpiGroup) =>
  groupBy === 'segment' ? sql<string>`coalesce(a.size_band, 'unknown')` : sql<string>`'all'`;

export async function computeKpis(db: Db, options: KpiOptions): Promise<KpiReport> {
  const now = options.now ?? new Date();
  const rows = new Map<string, KpiRow>();
  const row = (bucket: Date, group: string): KpiRow => {
    const key = `${new Date(bucket).toISOString()}|${group}`;
    let r = rows.get(key);
    if (!r) {
      r = emptyRow(new Date(bucket).toISOString().slice(0, 10), group);
      rows.set(key, r);
    }
    return r;
  };

  // Precision of automatic decisions.
  const auto = await sql<{
    bucket: Date;
    grp: string;
    action_type: string;
    params: Record<string, unknown> | null;
    anchor: Date;
    outcomes: { name: string; positive: boolean }[];
  }>`
    select ${trunc(options.bucket, sql`d.created_at`)} as bucket, ${decisionGroup(options.groupBy)} as grp,
           d.action_type, coalesce(d.approved_action, d.action) -> 'params' as params,
           coalesce((d.execution ->> 'delivered_at')::timestamptz,
                    (select min(t.at) from decision_transitions t where t.decision_id = d.id and t.to_status = 'executed'),
                    d.created_at) as anchor,
           coalesce((select jsonb_agg(jsonb_build_object('name', o.name, 'positive', o.positive))
                     from decision_outcomes l join outcomes o on o.id = l.outcome_id where l.decision_id = d.id), '[]'::jsonb) as outcomes
    from decisions d
    where d.gate ->> 'outcome' = 'auto' and d.status in ('executed', 'outcome_observed')
      and d.created_at >= ${options.from} and d.created_at < ${options.to}`.execute(db);
  for (const d of auto.rows) {
    const r = row(d.bucket, d.grp);
    r.auto_executed++;
    const success = isSuccess(d.action_type, d.params ?? {}, d.outcomes);
    const matured = new Date(d.anchor).getTime() + options.windowDays * 86_400_000 <= now.getTime();
    if (success || matured) {
      r.auto_matured++;
      if (success) r.auto_successes++;
    }
  }

  // Review verdicts.
  const reviews = await sql<{ bucket: Date; grp: string; verdict: string; n: string }>`
    select ${trunc(options.bucket, sql`r.at`)} as bucket, ${decisionGroup(options.groupBy)} as grp, r.verdict, count(*) as n
    from reviews r join decisions d on d.id = r.decision_id
    where r.at >= ${options.from} and r.at < ${options.to}
    group by 1, 2, 3`.execute(db);
  const verdicts = new Map<KpiRow, Record<string, number>>();
  for (const v of reviews.rows) {
    const r = row(v.bucket, v.grp);
    const counts = verdicts.get(r) ?? {};
    counts[v.verdict] = (counts[v.verdict] ?? 0) + Number(v.n);
    verdicts.set(r, counts);
    r.reviews += Number(v.n);
  }
  for (const [r, counts] of verdicts) {
    r.approve_rate = (counts['approve'] ?? 0) / r.reviews;
    r.reject_rate = (counts['reject'] ?? 0) / r.reviews;
    r.edit_rate = (counts['edit'] ?? 0) / r.reviews;
  }

  // Leads: conversion and engagement.
  const leads = await sql<{
    bucket: Date;
    grp: string;
    leads: string;
    sql_mature: string;
    sql_converted: string;
    opp_mature: string;
    opp_converted: string;
    engage_mature: string;
    engaged: string;
    median_hours: number | null;
  }>`
    with leads as (
      select h.contact_id, min(h.changed_at) as lead_at from contact_stage_history h group by h.contact_id
    ),
    scoped as (
      select l.contact_id, l.lead_at, ${leadGroup(options.groupBy)} as grp,
             (select min(s.changed_at) from contact_stage_history s
              where s.contact_id = l.contact_id and s.to_stage = any(${SQL_STAGES}::text[])) as sql_at,
             (select min(o.opened_at) from opportunity_contacts oc join opportunities o on o.id = oc.opportunity_id
              where oc.contact_id = l.contact_id) as opp_at,
             (select min(e.occurred_at) from events e
              where e.contact_id = l.contact_id and e.occurred_at >= l.lead_at and ${ENGAGEMENT}) as engaged_at
      from leads l
      left join contacts c on c.id = l.contact_id
      left join accounts a on a.id = c.account_id
      where l.lead_at >= ${options.from} and l.lead_at < ${options.to}
    )
    select ${trunc(options.bucket, sql`lead_at`)} as bucket, grp, count(*) as leads,
           count(*) filter (where lead_at + make_interval(days => ${SQL_HORIZON_DAYS}) <= ${now}) as sql_mature,
           count(*) filter (where lead_at + make_interval(days => ${SQL_HORIZON_DAYS}) <= ${now}
                            and sql_at <= lead_at + make_interval(days => ${SQL_HORIZON_DAYS})) as sql_converted,
           count(*) filter (where lead_at + make_interval(days => ${OPPORTUNITY_HORIZON_DAYS}) <= ${now}) as opp_mature,
           count(*) filter (where lead_at + make_interval(days => ${OPPORTUNITY_HORIZON_DAYS}) <= ${now}
                            and opp_at <= lead_at + make_interval(days => ${OPPORTUNITY_HORIZON_DAYS})) as opp_converted,
           count(*) filter (where lead_at + interval '30 days' <= ${now}) as engage_mature,
           count(*) filter (where lead_at + interval '30 days' <= ${now} and engaged_at <= lead_at + interval '30 days') as engaged,
           percentile_cont(0.5) within group (order by extract(epoch from engaged_at - lead_at) / 3600)
             filter (where engaged_at <= lead_at + interval '30 days') as median_hours
    from scoped group by 1, 2`.execute(db);
  for (const l of leads.rows) {
    const r = row(l.bucket, l.grp);
    r.leads = Number(l.leads);
    r.leads_sql_mature = Number(l.sql_mature);
    r.lead_to_sql_rate = r.leads_sql_mature ? Number(l.sql_converted) / r.leads_sql_mature : null;
    r.leads_opportunity_mature = Number(l.opp_mature);
    r.lead_to_opportunity_rate = r.leads_opportunity_mature
      ? Number(l.opp_converted) / r.leads_opportunity_mature
      : null;
    r.engaged_within_30d = Number(l.engage_mature) ? Number(l.engaged) / Number(l.engage_mature) : null;
    r.median_hours_to_first_engagement = l.median_hours === null ? null : round(Number(l.median_hours), 1);
  }

  // Lost opportunities.
  const closed = await sql<{ bucket: Date; grp: string; closed: string; lost: string }>`
    select ${trunc(options.bucket, sql`o.closed_at`)} as bucket, ${leadGroup(options.groupBy)} as grp,
           count(*) as closed, count(*) filter (where o.status = 'lost') as lost
    from opportunities o left join accounts a on a.id = o.account_id
    where o.status in ('won', 'lost') and o.closed_at >= ${options.from} and o.closed_at < ${options.to}
    group by 1, 2`.execute(db);
  for (const c of closed.rows) {
    const r = row(c.bucket, c.grp);
    r.opportunities_closed = Number(c.closed);
    r.lost_opportunity_rate = Number(c.closed) ? Number(c.lost) / Number(c.closed) : null;
  }

  for (const r of rows.values()) r.auto_precision = r.auto_matured ? r.auto_successes / r.auto_matured : null;

  return {
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    bucket: options.bucket,
    group_by: options.groupBy,
    definitions: KPI_DEFINITIONS,
    rows: [...rows.values()].sort(
      (a, b) => a.bucket.localeCompare(b.bucket) || a.group.localeCompare(b.group),
    ),
    stage_cycle_times: await stageCycleTimes(db, options),
    forecast: await forecastAccuracyIfAvailable(db, options),
  };
}

async function stageCycleTimes(db: Db, options: KpiOptions): Promise<StageCycle[]> {
  const out: StageCycle[] = [];
  for (const object of ['contact', 'opportunity'] as const) {
    const history =
      object === 'contact'
        ? sql`select h.id, h.contact_id as subject_id, h.to_stage, h.changed_at, c.account_id from contact_stage_history h left join contacts c on c.id = h.contact_id`
        : sql`select h.id, h.opportunity_id as subject_id, h.to_stage, h.changed_at, o.account_id from opportunity_stage_history h left join opportunities o on o.id = h.opportunity_id`;
    const rows = await sql<{
      bucket: Date;
      grp: string;
      stage: string;
      left: string;
      median_s: number | null;
    }>`
      with entries as (
        select x.to_stage as stage, x.changed_at as entered_at, x.account_id,
               lead(x.changed_at) over (partition by x.subject_id order by x.changed_at, x.id) as left_at
        from (${history}) x
      )
      select ${trunc(options.bucket, sql`entered_at`)} as bucket, ${leadGroup(options.groupBy)} as grp, stage,
             count(left_at) as left,
             percentile_cont(0.5) within group (order by extract(epoch from left_at - entered_at)) filter (where left_at is not null) as median_s
      from entries e left join accounts a on a.id = e.account_id
      where entered_at >= ${options.from} and entered_at < ${options.to}
      group by 1, 2, 3 having count(left_at) > 0
      order by 1, 2, 3`.execute(db);
    for (const r of rows.rows)
      out.push({
        bucket: new Date(r.bucket).toISOString().slice(0, 10),
        group: r.grp,
        object,
        stage: r.stage,
        left: Number(r.left),
        median_days: r.median_s === null ? null : round(Number(r.median_s) / 86_400, 2),
      });
  }
  return out;
}

function emptyRow(bucket: string, group: string): KpiRow {
  return {
    bucket,
    group,
    auto_executed: 0,
    auto_matured: 0,
    auto_successes: 0,
    auto_precision: null,
    reviews: 0,
    approve_rate: null,
    reject_rate: null,
    edit_rate: null,
    leads: 0,
    leads_sql_mature: 0,
    lead_to_sql_rate: null,
    leads_opportunity_mature: 0,
    lead_to_opportunity_rate: null,
    engaged_within_30d: null,
    median_hours_to_first_engagement: null,
    opportunities_closed: 0,
    lost_opportunity_rate: null,
  };
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
