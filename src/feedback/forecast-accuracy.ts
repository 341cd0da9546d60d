// Forecast error and bias for the KPIs, from the forecasting agent's runs (forecast_runs and
// forecast_run_periods, migration 0008). For every period that is over, the forecast is the latest plain run
// (no scenario) made at or before the period started, and the actual is the value of the opportunities won in
// the period. Until the forecasting tables exist or hold such a run, this returns nothing.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface ForecastAccuracy {
  period_kind: string;
  period_start: string;
  period_end: string;
  as_of: string;
  forecast: number;
  p10: number;
  p90: number;
  actual: number;
  /** |forecast - actual| / actual */
  abs_pct_error: number | null;
  /** (forecast - actual) / actual: positive means over-forecast */
  bias: number | null;
  within_p10_p90: boolean;
}

export async function forecastAccuracyIfAvailable(
  db: Db,
  options: { from: Date; to: Date; now?: Date },
): Promise<ForecastAccuracy[]> {
  const exists = await sql<{ found: string | null }>`
    select to_regclass('forecast_run_periods')::text as found`.execute(db);
  if (!exists.rows[0]?.found) return [];
  const now = options.now ?? new Date();
  try {
    const rows = await sql<{
      period_kind: string;
      period_start: Date;
      period_end: Date;
      as_of: Date;
      expected: number;
      p10: number;
      p90: number;
      actual: number;
    }>`
      select distinct on (r.period_kind, p.period_start)
             r.period_kind, p.period_start, p.period_end, r.as_of, p.expected, p.p10, p.p90,
             (select coalesce(sum(o.amount), 0)::double precision from opportunities o
              where o.status = 'won' and o.closed_at >= p.period_start and o.closed_at < p.period_end) as actual
      from forecast_run_periods p
      join forecast_runs r on r.id = p.run_id and r.scenario is null
      where r.as_of <= p.period_start and p.period_end <= ${now}
        and p.period_start >= ${options.from} and p.period_start < ${options.to}
      order by r.period_kind, p.period_start, r.as_of desc`.execute(db);
    return rows.rows.map((r) => {
      const forecast = Number(r.expected);
      const actual = Number(r.actual);
      return {
        period_kind: r.period_kind,
        period_start: new Date(r.period_start).toISOString(),
        period_end: new Date(r.period_end).toISOString(),
        as_of: new Date(r.as_of).toISOString(),
        forecast,
        p10: Number(r.p10),
        p90: Number(r.p90),
        actual,
        abs_pct_error: actual ? Math.abs(forecast - actual) / actual : null,
        bias: actual ? (forecast - actual) / actual : null,
        within_p10_p90: actual >= Number(r.p10) && actual <= Number(r.p90),
      };
    });
  } catch {
    // The forecasting tables changed shape: report no forecast rather than fail every KPI.
    return [];
  }
}
