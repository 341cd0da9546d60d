// Stage conversion and cycle time from the stage histories, by month of entry and by segment, region or owner.
// An entry into a stage "advanced" when the subject's next move went to a stage that is not a loss, was "lost"
// when it went to a loss (disqualified, closed_lost), and is still "open" otherwise. The cycle time is how long
// the entries that left the stage stayed in it. Segment and region are the account's, owner is the current
// owner's: the histories do not record what they were at the time.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export const FUNNEL_OBJECTS = ['contact', 'opportunity'] as const;
export type FunnelObject = (typeof FUNNEL_OBJECTS)[number];
export const FUNNEL_GROUPS = ['none', 'segment', 'region', 'owner'] as const;
export type FunnelGroup = (typeof FUNNEL_GROUPS)[number];

/** Known stages in funnel order; stages not listed come after them, alphabetically. */
const STAGE_ORDER = [
  'lead',
  'mql',
  'sql',
  'opportunity',
  'customer',
  'discovery',
  'demo',
  'proposal',
  'negotiation',
  'closed_won',
];
export const LOSS_STAGES = ['disqualified', 'closed_lost', 'lost'];
/** Nothing converts out of these. */
export const FINAL_STAGES = ['customer', 'closed_won', ...LOSS_STAGES];

export interface FunnelCell {
  month: string | null;
  group: string | null;
  stage: string;
  entered: number;
  advanced: number;
  lost: number;
  open: number;
  conversion_rate: number | null;
  median_days: number | null;
  mean_days: number | null;
}

export interface FunnelReport {
  object: FunnelObject;
  group_by: FunnelGroup;
  from: Date;
  to: Date;
  stages: string[];
  groups: string[];
  rows: FunnelCell[];
  totals: FunnelCell[];
}

interface RawCell {
  month: Date | null;
  grp: string | null;
  stage: string;
  entered: string;
  advanced: string;
  lost: string;
  median_s: number | null;
  mean_s: number | null;
}

export async function funnelStages(
  db: Db,
  options: { object: FunnelObject; groupBy: FunnelGroup; from: Date; to: Date },
): Promise<FunnelReport> {
  const history =
    options.object === 'contact'
      ? sql`select h.id, h.contact_id as subject_id, h.to_stage, h.changed_at from contact_stage_history h`
      : sql`select h.id, h.opportunity_id as subject_id, h.to_stage, h.changed_at from opportunity_stage_history h`;
  const subject =
    options.object === 'contact'
      ? sql`left join contacts s on s.id = e.subject_id left join accounts a on a.id = s.account_id`
      : sql`left join opportunities s on s.id = e.subject_id left join accounts a on a.id = s.account_id`;
  const group = {
    none: sql<string | null>`null::text`,
    segment: sql<string | null>`coalesce(a.size_band, 'unknown')`,
    region: sql<string | null>`coalesce(a.region, 'unknown')`,
    owner: sql<string | null>`coalesce(u.name, 'unassigned')`,
  }[options.groupBy];

  const query = (byMonth: boolean) => sql<RawCell>`
    with entries as (
      select x.subject_id, x.to_stage as stage, x.changed_at as entered_at,
             lead(x.to_stage) over w as next_stage, lead(x.changed_at) over w as left_at
      from (${history}) x
      window w as (partition by x.subject_id order by x.changed_at, x.id)
    ),
    scoped as (
      select e.*, ${group} as grp
      from entries e
      ${subject}
      left join users u on u.id = s.owner_id
      where e.entered_at >= ${options.from} and e.entered_at < ${options.to}
        and not (e.stage = any(${FINAL_STAGES}::text[]))
    )
    select ${byMonth ? sql`date_trunc('month', entered_at, 'UTC')` : sql`null::timestamptz`} as month,
           grp, stage,
           count(*) as entered,
           count(*) filter (where next_stage is not null and not (next_stage = any(${LOSS_STAGES}::text[]))) as advanced,
           count(*) filter (where next_stage = any(${LOSS_STAGES}::text[])) as lost,
           percentile_cont(0.5) within group (order by extract(epoch from left_at - entered_at))
             filter (where left_at is not null) as median_s,
           avg(extract(epoch from left_at - entered_at)) filter (where left_at is not null) as mean_s
    from scoped
    group by 1, 2, 3
    order by 1, 2, 3`;

  const [monthly, overall] = await Promise.all([query(true).execute(db), query(false).execute(db)]);
  const stages = orderStages(new Set(overall.rows.map((r) => r.stage)));
  const groups = [...new Set(overall.rows.map((r) => r.grp).filter((g): g is string => g !== null))].sort();
  return {
    object: options.object,
    group_by: options.groupBy,
    from: options.from,
    to: options.to,
    stages,
    groups,
    rows: monthly.rows.map(toCell),
    totals: overall.rows.map(toCell),
  };
}

function toCell(row: RawCell): FunnelCell {
  const entered = Number(row.entered);
  const advanced = Number(row.advanced);
  const lost = Number(row.lost);
  const days = (seconds: number | null) =>
    seconds === null ? null : Math.round((Number(seconds) / 86_400) * 10) / 10;
  return {
    month: row.month ? new Date(row.month).toISOString().slice(0, 7) : null,
    group: row.grp,
    stage: row.stage,
    entered,
    advanced,
    lost,
    open: entered - advanced - lost,
    conversion_rate: entered > 0 ? advanced / entered : null,
    median_days: days(row.median_s),
    mean_days: days(row.mean_s),
  };
}

function orderStages(found: Set<string>): string[] {
  const known = STAGE_ORDER.filter((s) => found.has(s));
  const rest = [...found].filter((s) => !STAGE_ORDER.includes(s)).sort();
  return [...known, ...rest];
}
