// Loads what agents see, in bulk: the environment shared by every subject of a run (reps and their load, typical
// deal values, how similar contacts respond by channel and by hour, win records per rep and segment) once, and
// the per-contact context (contact and account, online features, latest score, recent events, history) for
// many contacts in a handful of set-based queries.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { WorkingHours } from '../db/schema.ts';
import type { FeatureRow } from '../features/compute.ts';
import { ONLINE_FEATURE_SET } from '../features/materialize.ts';
import type { Factor } from '../models/explain.ts';
import { LEAD_MODEL } from '../models/score-contacts.ts';
import { OPEN_STATES } from '../domain/decision-state.ts';
import type { Action } from './actions.ts';
import type {
  AgentContext,
  AgentEnvironment,
  ChannelCounts,
  DealValue,
  Rep,
  TerritoryRules,
  WinRecord,
} from './agent.ts';
import { HOURS_PER_WEEK, RESPONSE_WEIGHTS, typicalDealValue } from './estimates.ts';
import { COUNTRY_TIMEZONES, REGION_TIMEZONES } from './time-zones.ts';

/** How far back a contact's own events and similar contacts' response patterns are read. */
export const EVENT_WINDOW_DAYS = 180;
/** At most this many of a contact's most recent events are loaded. */
export const MAX_EVENTS_PER_CONTACT = 300;
/** Won deals from this far back inform the typical deal value. */
export const DEAL_VALUE_WINDOW_DAYS = 730;
/** Stages in which a contact is still worked by sales development. */
export const OPEN_LEAD_STAGES = ['lead', 'mql', 'sql'] as const;

const EVENT_TYPES = [
  'email.sent',
  'email.opened',
  'email.clicked',
  'email.replied',
  'email.bounced',
  'email.unsubscribed',
  'web.page_viewed',
  'web.form_submitted',
  'meeting.booked',
  'meeting.held',
  'meeting.no_show',
  'call.logged',
  'crm.contact.stage_changed',
  'crm.contact.owner_changed',
];

const CHUNK = 1000;

function daysBefore(date: Date, days: number): Date {
  return new Date(date.getTime() - days * 86_400_000);
}

function num(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/**
 * The history-wide aggregates (deal values, response rates and hours, win records) move slowly; runs close to the
 * wall clock reuse them for this long instead of scanning half a year of events every few seconds. Reps and their
 * load are always read fresh. A cache only: any process can rebuild it.
 */
export const AGGREGATE_CACHE_MS = 10 * 60_000;

type Aggregates = Pick<AgentEnvironment, 'dealValues' | 'channels' | 'responseHours' | 'winRecords'>;
const aggregateCache = new WeakMap<Db, { at: number; value: Promise<Aggregates> }>();

async function loadAggregates(db: Db, now: Date): Promise<Aggregates> {
  const [dealValues, channels, responseHours, winRecords] = await Promise.all([
    loadDealValues(db, now),
    loadChannelCounts(db, now),
    loadResponseHours(db, now),
    loadWinRecords(db, now),
  ]);
  return { dealValues, channels, responseHours, winRecords };
}

export async function loadAgentEnvironment(db: Db, now: Date): Promise<AgentEnvironment> {
  // Only a run about the present may use (and fill) the cache; a replay of another moment computes its own.
  const live = Math.abs(Date.now() - now.getTime()) < 60_000;
  let aggregates: Promise<Aggregates>;
  const cached = live ? aggregateCache.get(db) : undefined;
  if (cached && now.getTime() - cached.at < AGGREGATE_CACHE_MS) {
    aggregates = cached.value;
  } else {
    aggregates = loadAggregates(db, now);
    if (live) {
      aggregateCache.set(db, { at: now.getTime(), value: aggregates });
      aggregates.catch(() => aggregateCache.delete(db));
    }
  }
  const [reps, rest] = await Promise.all([loadReps(db), aggregates]);
  return { now, reps, repsById: new Map(reps.map((r) => [r.id, r])), ...rest };
}

async function loadReps(db: Db): Promise<Rep[]> {
  const result = await sql<{
    id: string;
    name: string;
    email: string;
    team_id: string | null;
    territory_id: string | null;
    territory_name: string | null;
    rules: TerritoryRules | null;
    capacity: number;
    skills: string[];
    timezone: string;
    working_hours: WorkingHours | null;
    load: string;
  }>`
    with contact_load as (
      select owner_id, count(*) as n from contacts
      where owner_id is not null and merged_into_id is null and lifecycle_stage in ('lead', 'mql', 'sql')
      group by owner_id
    ), opportunity_load as (
      select owner_id, count(*) as n from opportunities where owner_id is not null and status = 'open' group by owner_id
    )
    select u.id, u.name, u.email, u.team_id, u.territory_id, t.name as territory_name, t.rules, u.capacity, u.skills,
           u.timezone, u.working_hours,
           coalesce(cl.n, 0) + coalesce(ol.n, 0) as load
    from users u
    left join territories t on t.id = u.territory_id
    left join contact_load cl on cl.owner_id = u.id
    left join opportunity_load ol on ol.owner_id = u.id
    where u.active and 'rep' = any(u.roles)
    order by u.id`.execute(db);
  return result.rows.map((r) => ({
    id: r.id,
    name: r.name,
    email: r.email,
    teamId: r.team_id,
    territoryId: r.territory_id,
    territoryName: r.territory_name,
    territoryRules: r.territory_id ? (r.rules ?? {}) : null,
    capacity: r.capacity,
    skills: r.skills,
    timezone: r.timezone,
    workingHours: validWorkingHours(r.working_hours),
    load: num(r.load),
  }));
}

function validWorkingHours(value: unknown): WorkingHours | null {
  if (!value || typeof value !== 'object') return null;
  const w = value as Partial<WorkingHours>;
  if (!Array.isArray(w.days) || typeof w.start !== 'string' || typeof w.end !== 'string') return null;
  return { days: w.days.map(Number), start: w.start, end: w.end };
}

async function loadDealValues(db: Db, now: Date): Promise<Map<string, DealValue>> {
  const result = await sql<{ band: string | null; median: number; deals: string }>`
    select coalesce(a.size_band, 'unknown') as band,
           percentile_cont(0.5) within group (order by o.amount::float8) as median,
           count(*) as deals
    from opportunities o
    left join accounts a on a.id = o.account_id
    where o.status = 'won' and o.amount is not null and o.amount > 0
      and coalesce(o.closed_at, o.updated_at) >= ${daysBefore(now, DEAL_VALUE_WINDOW_DAYS)}
      and coalesce(o.closed_at, o.updated_at) <= ${now}
    group by grouping sets ((coalesce(a.size_band, 'unknown')), ())`.execute(db);
  const bands = new Map<string, { median: number; deals: number }>();
  let overall: { median: number; deals: number } | null = null;
  for (const row of result.rows) {
    const entry = { median: num(row.median), deals: num(row.deals) };
    if (row.band === null) overall = entry;
    else bands.set(row.band, entry);
  }
  const values = new Map<string, DealValue>();
  for (const band of new Set(['smb', 'mid_market', 'enterprise', 'unknown', ...bands.keys()])) {
    values.set(band, typicalDealValue(bands, overall, band));
  }
  return values;
}

function segmentSql() {
  return sql<string>`coalesce(a.size_band, 'unknown') || ':' || coalesce(c.seniority, 'unknown')`;
}

async function loadChannelCounts(
  db: Db,
  now: Date,
): Promise<{ global: ChannelCounts; bySegment: Map<string, ChannelCounts> }> {
  const result = await sql<Record<string, string | null>>`
    select ${segmentSql()} as segment,
      count(*) filter (where e.type = 'email.sent') as emails_sent,
      count(*) filter (where e.type = 'email.replied') as email_replies,
      count(*) filter (where e.type = 'email.clicked') as email_clicks,
      count(*) filter (where e.type = 'call.logged' and coalesce(e.payload->'data'->>'direction', 'outbound') <> 'inbound') as calls,
      count(*) filter (where e.type = 'call.logged' and coalesce(e.payload->'data'->>'direction', 'outbound') <> 'inbound'
                         and e.payload->'data'->>'outcome' = 'connected') as calls_connected,
      count(*) filter (where e.type = 'meeting.booked') as meetings_booked,
      count(*) filter (where e.type = 'meeting.held') as meetings_held
    from events e
    join contacts c on c.id = e.contact_id
    left join accounts a on a.id = c.account_id
    where e.occurred_at >= ${daysBefore(now, EVENT_WINDOW_DAYS)} and e.occurred_at < ${now}
      and e.type in ('email.sent', 'email.replied', 'email.clicked', 'call.logged', 'meeting.booked', 'meeting.held')
    group by 1`.execute(db);
  const global: ChannelCounts = {
    emailsSent: 0,
    emailReplies: 0,
    emailClicks: 0,
    calls: 0,
    callsConnected: 0,
    meetingsBooked: 0,
    meetingsHeld: 0,
  };
  const bySegment = new Map<string, ChannelCounts>();
  for (const row of result.rows) {
    const counts: ChannelCounts = {
      emailsSent: num(row['emails_sent']),
      emailReplies: num(row['email_replies']),
      emailClicks: num(row['email_clicks']),
      calls: num(row['calls']),
      callsConnected: num(row['calls_connected']),
      meetingsBooked: num(row['meetings_booked']),
      meetingsHeld: num(row['meetings_held']),
    };
    bySegment.set(row['segment']!, counts);
    for (const key of Object.keys(global) as (keyof ChannelCounts)[]) global[key] += counts[key];
  }
  return { global, bySegment };
}

/**
 * Weighted responses per local hour of week. Each response is read in its contact's zone, chosen as the
 * agents choose it (contact, country, account country, account region, owner, UTC).
 */
async function loadResponseHours(
  db: Db,
  now: Date,
): Promise<{ global: number[]; bySegment: Map<string, number[]> }> {
  const result = await sql<{ segment: string; how: number; weight: number }>`
    with zones as (select name from pg_timezone_names),
    countries as (select key as code, value #>> '{}' as zone from jsonb_each(${JSON.stringify(COUNTRY_TIMEZONES)}::jsonb)),
    regions as (select key as code, value #>> '{}' as zone from jsonb_each(${JSON.stringify(REGION_TIMEZONES)}::jsonb)),
    weights as (select key as kind, (value #>> '{}')::float8 as weight from jsonb_each(${JSON.stringify(RESPONSE_WEIGHTS)}::jsonb)),
    responses as (
      select ${segmentSql()} as segment, w.weight,
             e.occurred_at at time zone coalesce(
               (select z.name from zones z where z.name = c.timezone),
               cc.zone, ac.zone, rr.zone,
               (select z.name from zones z where z.name = u.timezone),
               'UTC') as local_time
      from events e
      join contacts c on c.id = e.contact_id
      left join accounts a on a.id = c.account_id
      left join users u on u.id = c.owner_id
      left join countries cc on cc.code = upper(c.country)
      left join countries ac on ac.code = upper(a.country)
      left join regions rr on rr.code = upper(a.region)
      join weights w on w.kind = case
        when e.type = 'call.logged' and e.payload->'data'->>'outcome' = 'connected' then 'call.connected'
        else e.type end
      where e.occurred_at >= ${daysBefore(now, EVENT_WINDOW_DAYS)} and e.occurred_at < ${now}
        and e.type in ('email.replied', 'email.opened', 'email.clicked', 'meeting.booked', 'call.logged')
    )
    select segment, ((extract(isodow from local_time) - 1) * 24 + extract(hour from local_time))::int as how,
           sum(weight)::float8 as weight
    from responses group by 1, 2`.execute(db);
  const global = new Array<number>(HOURS_PER_WEEK).fill(0);
  const bySegment = new Map<string, number[]>();
  for (const row of result.rows) {
    let bins = bySegment.get(row.segment);
    if (!bins) {
      bins = new Array<number>(HOURS_PER_WEEK).fill(0);
      bySegment.set(row.segment, bins);
    }
    bins[row.how]! += num(row.weight);
    global[row.how]! += num(row.weight);
  }
  return { global, bySegment };
}

async function loadWinRecords(db: Db, now: Date): Promise<AgentEnvironment['winRecords']> {
  const result = await sql<{
    owner_id: string | null;
    team_id: string | null;
    band: string;
    won: string;
    closed: string;
  }>`
    select o.owner_id, u.team_id, coalesce(a.size_band, 'unknown') as band,
           count(*) filter (where o.status = 'won') as won, count(*) as closed
    from opportunities o
    left join accounts a on a.id = o.account_id
    left join users u on u.id = o.owner_id
    where o.status in ('won', 'lost') and coalesce(o.closed_at, o.updated_at) <= ${now}
    group by 1, 2, 3`.execute(db);
  const byRep = new Map<string, Map<string, WinRecord>>();
  const byTeam = new Map<string, Map<string, WinRecord>>();
  const global = new Map<string, WinRecord>();
  const add = (map: Map<string, WinRecord>, band: string, won: number, closed: number) => {
    const current = map.get(band) ?? { won: 0, closed: 0 };
    map.set(band, { won: current.won + won, closed: current.closed + closed });
  };
  for (const row of result.rows) {
    const won = num(row.won);
    const closed = num(row.closed);
    add(global, row.band, won, closed);
    if (row.owner_id) {
      if (!byRep.has(row.owner_id)) byRep.set(row.owner_id, new Map());
      add(byRep.get(row.owner_id)!, row.band, won, closed);
    }
    if (row.team_id) {
      if (!byTeam.has(row.team_id)) byTeam.set(row.team_id, new Map());
      add(byTeam.get(row.team_id)!, row.band, won, closed);
    }
  }
  return { byRep, byTeam, global };
}

/** The live contact ids for these ids (a merged contact stands for its survivor), without repeats. */
export async function liveContactIds(db: Db, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const live: string[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db
      .selectFrom('contacts')
      .select(['id', 'merged_into_id'])
      .where('id', 'in', ids.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) live.push(r.merged_into_id ?? r.id);
  }
  return [...new Set(live)];
}

/** Contexts for live contacts, keyed by id; ids that are unknown or merged are left out. */
export async function loadAgentContexts(
  db: Db,
  contactIds: readonly string[],
  env: AgentEnvironment,
): Promise<Map<string, AgentContext>> {
  const contexts = new Map<string, AgentContext>();
  for (let i = 0; i < contactIds.length; i += CHUNK) {
    for (const [id, context] of await loadChunk(db, contactIds.slice(i, i + CHUNK), env))
      contexts.set(id, context);
  }
  return contexts;
}

async function loadChunk(db: Db, ids: string[], env: AgentEnvironment): Promise<Map<string, AgentContext>> {
  const now = env.now;
  const contexts = new Map<string, AgentContext>();
  if (ids.length === 0) return contexts;
  const rows = await db
    .selectFrom('contacts as c')
    .leftJoin('accounts as a', 'a.id', 'c.account_id')
    .select([
      'c.id',
      'c.account_id',
      'c.email',
      'c.phone',
      'c.first_name',
      'c.last_name',
      'c.title',
      'c.seniority',
      'c.department',
      'c.lifecycle_stage',
      'c.lifecycle_stage_at',
      'c.owner_id',
      'c.timezone',
      'c.country',
      'a.id as a_id',
      'a.name as a_name',
      'a.industry as a_industry',
      'a.size_band as a_size_band',
      'a.employees as a_employees',
      'a.region as a_region',
      'a.country as a_country',
      'a.tier as a_tier',
      'a.owner_id as a_owner_id',
    ])
    .where('c.id', 'in', ids)
    .where('c.merged_into_id', 'is', null)
    .execute();
  if (rows.length === 0) return contexts;
  const live = rows.map((r) => r.id);

  const [features, scores, events, stages, opportunities, decisions, graph] = await Promise.all([
    db
      .selectFrom('feature_values')
      .select(['entity_id', 'values', 'feature_set', 'feature_set_version', 'as_of'])
      .where('entity_type', '=', 'contact')
      .where('feature_set', '=', ONLINE_FEATURE_SET)
      .where('entity_id', 'in', live)
      .execute(),
    db
      .selectFrom('lead_scores as s')
      .leftJoin('models as m', 'm.id', 's.model_id')
      .select([
        's.contact_id',
        's.model_name',
        's.model_id',
        's.model_version',
        's.alias',
        's.is_prior',
        's.probability',
        's.factors',
        's.feature_snapshot',
        's.as_of',
        's.scored_at',
        'm.trained_at',
      ])
      .where('s.model_name', '=', LEAD_MODEL)
      .where('s.alias', '=', 'champion')
      .where('s.contact_id', 'in', live)
      .execute(),
    sql<{
      id: string;
      contact_id: string;
      type: string;
      occurred_at: Date;
      outcome: string | null;
      direction: string | null;
    }>`
      select id, contact_id, type, occurred_at, outcome, direction from (
        select e.id, coalesce(m.merged_into_id, e.contact_id) as contact_id, e.type, e.occurred_at,
               coalesce(e.payload->'data'->>'outcome', e.payload->'data'->>'bounce_type') as outcome,
               e.payload->'data'->>'direction' as direction,
               row_number() over (partition by coalesce(m.merged_into_id, e.contact_id)
                                  order by e.occurred_at desc, e.id desc) as n
        from events e
        left join contacts m on m.id = e.contact_id and m.merged_into_id is not null
        where (e.contact_id = any(${live}::uuid[])
               or e.contact_id in (select id from contacts where merged_into_id = any(${live}::uuid[])))
          and e.occurred_at >= ${daysBefore(now, EVENT_WINDOW_DAYS)} and e.occurred_at <= ${now}
          and e.type = any(${EVENT_TYPES}::text[])
      ) x where n <= ${MAX_EVENTS_PER_CONTACT}
      order by contact_id, occurred_at desc, id desc`.execute(db),
    db
      .selectFrom('contact_stage_history')
      .select(['contact_id', 'from_stage', 'to_stage', 'changed_at'])
      .where('contact_id', 'in', live)
      .where('changed_at', '<=', now)
      .orderBy('changed_at')
      .execute(),
    db
      .selectFrom('opportunity_contacts as oc')
      .innerJoin('opportunities as o', 'o.id', 'oc.opportunity_id')
      .select(['oc.contact_id', 'o.id', 'o.status', 'o.stage', 'o.amount'])
      .where('oc.contact_id', 'in', live)
      .execute(),
    db
      .selectFrom('decisions')
      .select(['id', 'subject_id', 'agent', 'action_kind', 'status', 'action', 'created_at'])
      .where('subject_type', '=', 'contact')
      .where('subject_id', 'in', live)
      .where('status', 'in', [...OPEN_STATES])
      .execute(),
    db
      .selectFrom('graph_features')
      .select(['entity_id', 'name', 'value'])
      .where('entity_type', '=', 'contact')
      .where('entity_id', 'in', live)
      .execute(),
  ]);

  const group = <T, K extends keyof T>(items: readonly T[], key: K) => {
    const map = new Map<unknown, T[]>();
    for (const item of items) {
      const list = map.get(item[key]);
      if (list) list.push(item);
      else map.set(item[key], [item]);
    }
    return map;
  };
  const featuresBy = new Map(features.map((f) => [f.entity_id, f]));
  const scoresBy = new Map(scores.map((s) => [s.contact_id, s]));
  const eventsBy = group(events.rows, 'contact_id');
  const stagesBy = group(stages, 'contact_id');
  const opportunitiesBy = group(opportunities, 'contact_id');
  const decisionsBy = group(decisions, 'subject_id');
  const graphBy = group(graph, 'entity_id');

  for (const r of rows) {
    const f = featuresBy.get(r.id);
    const s = scoresBy.get(r.id);
    const factors = (s?.factors ?? {}) as { for?: Factor[]; against?: Factor[] };
    contexts.set(r.id, {
      now,
      contact: {
        id: r.id,
        accountId: r.account_id,
        email: r.email,
        phone: r.phone,
        firstName: r.first_name,
        lastName: r.last_name,
        title: r.title,
        seniority: r.seniority,
        department: r.department,
        lifecycleStage: r.lifecycle_stage,
        lifecycleStageAt: r.lifecycle_stage_at,
        ownerId: r.owner_id,
        timezone: r.timezone,
        country: r.country,
      },
      account: r.a_id
        ? {
            id: r.a_id,
            name: r.a_name!,
            industry: r.a_industry,
            sizeBand: r.a_size_band,
            employees: r.a_employees,
            region: r.a_region,
            country: r.a_country,
            tier: r.a_tier,
            ownerId: r.a_owner_id,
          }
        : null,
      owner: r.owner_id ? (env.repsById.get(r.owner_id) ?? null) : null,
      features: f
        ? {
            values: f.values as FeatureRow,
            featureSet: f.feature_set,
            featureSetVersion: f.feature_set_version,
            asOf: f.as_of,
          }
        : null,
      score: s
        ? {
            probability: s.probability,
            modelName: s.model_name,
            modelId: s.model_id,
            modelVersion: s.model_version,
            alias: s.alias,
            isPrior: s.is_prior,
            factors: { for: factors.for ?? [], against: factors.against ?? [] },
            featureSnapshot: s.feature_snapshot as FeatureRow,
            asOf: s.as_of,
            scoredAt: s.scored_at,
            modelTrainedAt: s.trained_at ?? null,
          }
        : null,
      events: (eventsBy.get(r.id) ?? []).map((e) => ({
        id: String(e.id),
        type: e.type,
        occurredAt: e.occurred_at,
        outcome: e.outcome,
        direction: e.direction,
      })),
      history: {
        stages: (stagesBy.get(r.id) ?? []).map((h) => ({
          fromStage: h.from_stage,
          toStage: h.to_stage,
          changedAt: h.changed_at,
        })),
        opportunities: (opportunitiesBy.get(r.id) ?? []).map((o) => ({
          id: o.id,
          status: o.status,
          stage: o.stage,
          amount: o.amount === null ? null : Number(o.amount),
        })),
        openDecisions: (decisionsBy.get(r.id) ?? []).map((d) => ({
          id: d.id,
          agent: d.agent,
          actionKind: d.action_kind,
          status: d.status,
          action: d.action as Action,
          createdAt: d.created_at,
        })),
      },
      graph: Object.fromEntries((graphBy.get(r.id) ?? []).map((g) => [g.name, g.value])),
      env,
    });
  }
  return contexts;
}
