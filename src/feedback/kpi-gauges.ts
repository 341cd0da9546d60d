// The KPI gauges /metrics shows, computed on a schedule (feedback.jobs.ts) and stored as metric snapshots.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { writeSnapshots, type Snapshot } from '../monitoring/metric-snapshots.ts';
import { experimentLift } from './experiment-report.ts';
import { computeKpis } from './kpis.ts';
import { reviewerWorkload } from './reviewer-workload.ts';

const DAY = 86_400_000;

export async function refreshKpiGauges(db: Db, options: { windowDays: number; now?: Date }): Promise<number> {
  const now = options.now ?? new Date();
  const out: Snapshot[] = [];
  const recent = { from: new Date(now.getTime() - 30 * DAY), to: now, now, windowDays: options.windowDays };
  const byAgent = await computeKpis(db, { ...recent, bucket: 'month', groupBy: 'agent' });
  const perAgent = new Map<string, { ok: number; n: number }>();
  for (const row of byAgent.rows) {
    const a = perAgent.get(row.group) ?? { ok: 0, n: 0 };
    a.ok += row.auto_successes;
    a.n += row.auto_matured;
    perAgent.set(row.group, a);
  }
  for (const [agent, a] of perAgent)
    if (a.n > 0) out.push({ name: 'funnelgate_kpi_auto_precision', labels: { agent }, value: a.ok / a.n });
  const verdicts = { approve: 0, reject: 0, edit: 0 };
  let reviews = 0;
  for (const row of byAgent.rows) {
    reviews += row.reviews;
    verdicts.approve += (row.approve_rate ?? 0) * row.reviews;
    verdicts.reject += (row.reject_rate ?? 0) * row.reviews;
    verdicts.edit += (row.edit_rate ?? 0) * row.reviews;
  }
  if (reviews > 0)
    for (const [verdict, n] of Object.entries(verdicts))
      out.push({ name: 'funnelgate_kpi_review_rate', labels: { verdict }, value: n / reviews });

  const leads = await computeKpis(db, {
    ...recent,
    from: new Date(now.getTime() - 180 * DAY),
    bucket: 'month',
    groupBy: 'none',
  });
  const sum = (f: (r: (typeof leads.rows)[number]) => number) => leads.rows.reduce((s, r) => s + f(r), 0);
  const sqlMature = sum((r) => r.leads_sql_mature);
  const oppMature = sum((r) => r.leads_opportunity_mature);
  if (sqlMature)
    out.push({
      name: 'funnelgate_kpi_conversion_rate',
      labels: { to: 'sql' },
      value: sum((r) => (r.lead_to_sql_rate ?? 0) * r.leads_sql_mature) / sqlMature,
    });
  if (oppMature)
    out.push({
      name: 'funnelgate_kpi_conversion_rate',
      labels: { to: 'opportunity' },
      value: sum((r) => (r.lead_to_opportunity_rate ?? 0) * r.leads_opportunity_mature) / oppMature,
    });

  for (const r of await reviewerWorkload(db, { from: recent.from, to: now, now })) {
    out.push({ name: 'funnelgate_reviewer_queue', labels: { reviewer: r.reviewer }, value: r.queue });
    if (r.queue_oldest_seconds !== null)
      out.push({
        name: 'funnelgate_reviewer_queue_oldest_seconds',
        labels: { reviewer: r.reviewer },
        value: r.queue_oldest_seconds,
      });
  }
  const experiments = await db
    .selectFrom('experiments')
    .select('name')
    .where('status', '=', 'active')
    .execute();
  for (const e of experiments) {
    const lift = await experimentLift(db, { experiment: e.name, now });
    if (lift.lead_to_sql.difference !== null)
      out.push({
        name: 'funnelgate_experiment_lift',
        labels: { experiment: e.name },
        value: lift.lead_to_sql.difference,
      });
  }
  out.push(...(await forecastAndBottleneckGauges(db)));
  await writeSnapshots(db, 'kpis', out);
  return out.length;
}

/** The latest plain forecast per period kind (its current and next period) and the open bottleneck findings. */
async function forecastAndBottleneckGauges(db: Db): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  const periods = await sql<{
    period_kind: string;
    label: string;
    expected: number;
    p10: number;
    p50: number;
    p90: number;
  }>`
    select r.period_kind, p.label, p.expected, p.p10, p.p50, p.p90
    from (select distinct on (period_kind) id, period_kind from forecast_runs
          where scenario is null order by period_kind, as_of desc, created_at desc) r
    join forecast_run_periods p on p.run_id = r.id`.execute(db);
  for (const p of periods.rows)
    for (const statistic of ['expected', 'p10', 'p50', 'p90'] as const)
      out.push({
        name: 'funnelgate_forecast_won_value',
        labels: { period_kind: p.period_kind, period: p.label, statistic },
        value: Number(p[statistic]),
      });
  const findings = await db
    .selectFrom('bottleneck_findings')
    .select(['object', 'kind', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', '=', 'open')
    .groupBy(['object', 'kind'])
    .execute();
  for (const f of findings)
    out.push({
      name: 'funnelgate_bottlenecks_open',
      labels: { object: f.object, kind: f.kind },
      value: Number(f.n),
    });
  return out;
}
