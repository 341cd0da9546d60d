// The lift of the funnel KPIs, treatment against holdout, for one experiment. Intention to treat: every lead
// of the experiment's subject type that entered the funnel while it ran is in the arm its hash gives it (the
// stored arm where one was recorded), whether or not an agent ever proposed anything for it.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { assignArm, type Arm } from './assign-arm.ts';
import { getExperiment } from './experiments.ts';
import { OPPORTUNITY_HORIZON_DAYS, SQL_HORIZON_DAYS } from './kpis.ts';
import { medianDifference, proportionLift, type MedianDifference, type ProportionLift } from './lift.ts';

export interface ExperimentLift {
  experiment: { id: string; name: string; holdout_share: number; status: string; started_at: string };
  from: string;
  to: string;
  subjects: { treatment: number; holdout: number; observed_holdout_share: number | null };
  lead_to_sql: ProportionLift & { horizon_days: number };
  lead_to_opportunity: ProportionLift & { horizon_days: number };
  days_to_sql: MedianDifference;
  decisions: { treatment: number; holdout_blocked: number };
  method: string;
}

const DAY = 86_400_000;

export async function experimentLift(
  db: Db,
  options: { experiment: string; from?: Date; to?: Date; now?: Date },
): Promise<ExperimentLift> {
  const experiment = await getExperiment(db, options.experiment);
  const now = options.now ?? new Date();
  const from = new Date(Math.max(experiment.started_at.getTime(), options.from?.getTime() ?? 0));
  const to = new Date(
    Math.min(options.to?.getTime() ?? Infinity, experiment.stopped_at?.getTime() ?? Infinity, now.getTime()),
  );
  const leads = await sql<{
    id: string;
    lead_at: Date;
    sql_at: Date | null;
    opp_at: Date | null;
    arm: Arm | null;
  }>`
    with leads as (
      select contact_id, min(changed_at) as lead_at from contact_stage_history group by contact_id
    )
    select l.contact_id as id, l.lead_at,
           (select min(s.changed_at) from contact_stage_history s
            where s.contact_id = l.contact_id and s.to_stage in ('sql', 'opportunity', 'customer')) as sql_at,
           (select min(o.opened_at) from opportunity_contacts oc join opportunities o on o.id = oc.opportunity_id
            where oc.contact_id = l.contact_id) as opp_at,
           ea.arm
    from leads l
    join contacts c on c.id = l.contact_id and c.merged_into_id is null
    left join experiment_assignments ea on ea.experiment_id = ${experiment.id} and ea.subject_id = l.contact_id
    where l.lead_at >= ${from} and l.lead_at < ${to}`.execute(db);
  const arms = { treatment: newArm(), holdout: newArm() };
  for (const lead of leads.rows) {
    const arm = lead.arm ?? assignArm(experiment.salt, lead.id, experiment.holdout_share);
    const a = arms[arm];
    a.n++;
    const leadAt = new Date(lead.lead_at).getTime();
    const sqlAt = lead.sql_at ? new Date(lead.sql_at).getTime() : null;
    const oppAt = lead.opp_at ? new Date(lead.opp_at).getTime() : null;
    if (leadAt + SQL_HORIZON_DAYS * DAY <= now.getTime()) {
      a.sqlMature++;
      if (sqlAt !== null && sqlAt <= leadAt + SQL_HORIZON_DAYS * DAY) {
        a.sql++;
        a.daysToSql.push((sqlAt - leadAt) / DAY);
      }
    }
    if (leadAt + OPPORTUNITY_HORIZON_DAYS * DAY <= now.getTime()) {
      a.oppMature++;
      if (oppAt !== null && oppAt <= leadAt + OPPORTUNITY_HORIZON_DAYS * DAY) a.opp++;
    }
  }
  const decisions = await sql<{ treatment: string; holdout: string }>`
    select count(*) filter (where experiment_arm = 'treatment') as treatment,
           count(*) filter (where experiment_arm = 'holdout') as holdout
    from decisions where experiment_id = ${experiment.id}`.execute(db);
  const total = arms.treatment.n + arms.holdout.n;
  return {
    experiment: {
      id: experiment.id,
      name: experiment.name,
      holdout_share: experiment.holdout_share,
      status: experiment.status,
      started_at: experiment.started_at.toISOString(),
    },
    from: from.toISOString(),
    to: to.toISOString(),
    subjects: {
      treatment: arms.treatment.n,
      holdout: arms.holdout.n,
      observed_holdout_share: total ? arms.holdout.n / total : null,
    },
    lead_to_sql: {
      ...proportionLift(
        arms.treatment.sql,
        arms.treatment.sqlMature,
        arms.holdout.sql,
        arms.holdout.sqlMature,
      ),
      horizon_days: SQL_HORIZON_DAYS,
    },
    lead_to_opportunity: {
      ...proportionLift(
        arms.treatment.opp,
        arms.treatment.oppMature,
        arms.holdout.opp,
        arms.holdout.oppMature,
      ),
      horizon_days: OPPORTUNITY_HORIZON_DAYS,
    },
    days_to_sql: medianDifference(arms.treatment.daysToSql, arms.holdout.daysToSql, { seed: 7 }),
    decisions: {
      treatment: Number(decisions.rows[0]?.treatment ?? 0),
      holdout_blocked: Number(decisions.rows[0]?.holdout ?? 0),
    },
    method:
      'intention to treat over leads that entered the funnel while the experiment ran; conversion: difference of proportions with the Newcombe hybrid score (Wilson) 95 % interval, among leads whose horizon is over; days to SQL: difference of medians with a 95 % percentile bootstrap interval (2000 resamples)',
  };
}

function newArm() {
  return { n: 0, sqlMature: 0, sql: 0, oppMature: 0, opp: 0, daysToSql: [] as number[] };
}

export interface ReviewEffort {
  reviews: number;
  reviewers: number;
  hours: number;
  /** Reviews without a recorded time to decide are counted at the median of those with one. */
  estimated_reviews: number;
}

/** Human hours spent in review, from the review timestamps (time from claim or assignment to the verdict). */
export async function reviewEffort(db: Db, options: { from: Date; to: Date }): Promise<ReviewEffort> {
  const row = await sql<{
    n: string;
    reviewers: string;
    seconds: number | null;
    timed: string;
    median: number | null;
  }>`
    select count(*) as n, count(distinct reviewer_id) as reviewers, sum(seconds_to_decide) as seconds,
           count(seconds_to_decide) as timed,
           percentile_cont(0.5) within group (order by seconds_to_decide) as median
    from reviews where at >= ${options.from} and at < ${options.to}`.execute(db);
  const r = row.rows[0]!;
  const untimed = Number(r.n) - Number(r.timed);
  const seconds = Number(r.seconds ?? 0) + untimed * Number(r.median ?? 0);
  return {
    reviews: Number(r.n),
    reviewers: Number(r.reviewers),
    hours: Math.round((seconds / 3600) * 100) / 100,
    estimated_reviews: r.median === null ? 0 : untimed,
  };
}

export interface RoiReport {
  since: string;
  to: string;
  experiments: ExperimentLift[];
  review: ReviewEffort;
  automatic_executions: number;
}

export async function roiReport(
  db: Db,
  options: { since: Date; now?: Date; experiment?: string },
): Promise<RoiReport> {
  const now = options.now ?? new Date();
  const names = options.experiment
    ? [options.experiment]
    : (await db.selectFrom('experiments').select('name').orderBy('started_at').execute()).map((e) => e.name);
  const experiments: ExperimentLift[] = [];
  for (const name of names)
    experiments.push(await experimentLift(db, { experiment: name, from: options.since, now }));
  const auto = await db
    .selectFrom('decisions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('created_at', '>=', options.since)
    .where(sql<boolean>`gate ->> 'outcome' = 'auto'`)
    .where('status', 'in', ['executed', 'outcome_observed'])
    .executeTakeFirst();
  return {
    since: options.since.toISOString(),
    to: now.toISOString(),
    experiments,
    review: await reviewEffort(db, { from: options.since, to: now }),
    automatic_executions: Number(auto?.n ?? 0),
  };
}
