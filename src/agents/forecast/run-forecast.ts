// The forecasting agent's use cases: a forecast (stored as a run, with each period's figure and each open
// deal's probability), a scenario (the same with changed assumptions, stored as a scenario run), the backtest,
// the week-over-week changes between two stored runs, and the forecast errors of periods that are over.
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { backtest, calibrationScores, wonBetween, type BacktestSummary } from './backtest.ts';
import { explainChanges, type ForecastChanges, type StoredDeal } from './changes.ts';
import { forecastPipeline, type Forecast } from './forecast.ts';
import { NO_SCENARIO, type Scenario } from './hazard-model.ts';
import { loadOpportunityHistory } from './load-history.ts';
import { periodContaining, type PeriodKind } from './periods.ts';

export const FORECAST_AGENT = { name: 'forecasting', version: '1.0.0' } as const;

export interface StoredForecast {
  run_id: string | null;
  as_of: string;
  period_kind: PeriodKind;
  scenario: Scenario | null;
  periods: {
    label: string;
    start: string;
    end: string;
    expected: number;
    p10: number;
    p50: number;
    p90: number;
    /** How the range was made: calibrated on past periods' errors, or the Monte Carlo's alone. */
    range: {
      method: 'monte_carlo' | 'calibrated';
      periods: number;
      q: number | null;
      monte_carlo_p10: number;
      monte_carlo_p90: number;
    };
    won_to_date: number;
    from_open: number;
    from_new: number;
    breakdown: Forecast['periods'][0]['breakdown'];
  }[];
  deals: number;
  model: Forecast['model'];
}

export async function runForecast(
  db: Db,
  options: { asOf?: Date; kind: PeriodKind; scenario?: Scenario; store?: boolean; by: string },
): Promise<StoredForecast> {
  const asOf = (options.asOf ?? new Date()).getTime();
  const history = await loadOpportunityHistory(db);
  let forecast: Forecast;
  try {
    forecast = forecastPipeline(history, {
      asOf,
      kind: options.kind,
      calibration: cachedCalibration(history, asOf, options.kind),
      ...(options.scenario ? { scenario: options.scenario } : {}),
    });
  } catch (error) {
    if (error instanceof RangeError)
      throw new AppError(
        'bad_request',
        `Cannot forecast yet: ${error.message}. Import or ingest the opportunity history first.`,
      );
    throw error;
  }
  const scenario = options.scenario && !isNoScenario(options.scenario) ? options.scenario : null;
  const runId = options.store === false ? null : await storeRun(db, forecast, scenario, options.by);
  return toStored(runId, forecast, scenario);
}

// The calibration scores need a forecast of each of the last K periods as of its first day; they change when a
// period ends or the history does, so they are kept per period kind, current period and history size.
const calibrationCache = new Map<string, number[]>();

function cachedCalibration(
  history: Parameters<typeof calibrationScores>[0],
  asOf: number,
  kind: PeriodKind,
): number[] {
  const latest = history.reduce((m, o) => Math.max(m, o.closedAt ?? o.openedAt), 0);
  const key = `${kind}|${periodContaining(kind, asOf).label}|${history.length}|${latest}`;
  let scores = calibrationCache.get(key);
  if (!scores) {
    scores = calibrationScores(history, { asOf, kind });
    if (calibrationCache.size >= 32) calibrationCache.delete(calibrationCache.keys().next().value!);
    calibrationCache.set(key, scores);
  }
  return scores;
}

function isNoScenario(s: Scenario): boolean {
  return (
    s.win_rate === NO_SCENARIO.win_rate &&
    s.cycle_time === NO_SCENARIO.cycle_time &&
    s.pipeline_creation === NO_SCENARIO.pipeline_creation
  );
}

async function storeRun(db: Db, forecast: Forecast, scenario: Scenario | null, by: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const run = await trx
      .insertInto('forecast_runs')
      .values({
        as_of: new Date(forecast.asOf),
        period_kind: forecast.kind,
        scenario: scenario ? JSON.stringify(scenario) : null,
        model: JSON.stringify(forecast.model),
        created_by: by,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('forecast_run_periods')
      .values(
        forecast.periods.map((p) => ({
          run_id: run.id,
          period_start: new Date(p.period.start),
          period_end: new Date(p.period.end),
          label: p.period.label,
          expected: p.expected,
          p10: p.p10,
          p50: p.p50,
          p90: p.p90,
          won_to_date: p.wonToDate,
          from_open: p.fromOpen,
          from_new: p.fromNew,
          breakdown: JSON.stringify(p.breakdown),
        })),
      )
      .execute();
    for (let i = 0; i < forecast.deals.length; i += 1000) {
      await trx
        .insertInto('forecast_run_deals')
        .values(
          forecast.deals.slice(i, i + 1000).map((d) => ({
            run_id: run.id,
            opportunity_id: d.id,
            name: d.name,
            stage: d.stage,
            owner: d.owner,
            segment: d.segment,
            value: d.value,
            p_current: d.pCurrent,
            p_next: d.pNext,
          })),
        )
        .execute();
    }
    return run.id;
  });
}

function toStored(runId: string | null, f: Forecast, scenario: Scenario | null): StoredForecast {
  const r = (v: number) => Math.round(v);
  return {
    run_id: runId,
    as_of: new Date(f.asOf).toISOString(),
    period_kind: f.kind,
    scenario,
    periods: f.periods.map((p) => ({
      label: p.period.label,
      start: new Date(p.period.start).toISOString(),
      end: new Date(p.period.end).toISOString(),
      expected: r(p.expected),
      p10: r(p.p10),
      p50: r(p.p50),
      p90: r(p.p90),
      range: {
        method: p.range.method,
        periods: p.range.periods,
        q: p.range.q === null ? null : Math.round(p.range.q * 1000) / 1000,
        monte_carlo_p10: r(p.monteCarlo.p10),
        monte_carlo_p90: r(p.monteCarlo.p90),
      },
      won_to_date: r(p.wonToDate),
      from_open: r(p.fromOpen),
      from_new: r(p.fromNew),
      breakdown: p.breakdown,
    })),
    deals: f.deals.length,
    model: f.model,
  };
}

export async function runBacktest(
  db: Db,
  options: {
    asOf?: Date;
    kind: PeriodKind;
    periods: number;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<BacktestSummary> {
  const history = await loadOpportunityHistory(db);
  try {
    return backtest(history, {
      asOf: (options.asOf ?? new Date()).getTime(),
      kind: options.kind,
      periods: options.periods,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    if (error instanceof RangeError)
      throw new AppError(
        'bad_request',
        `Cannot backtest that far back: ${error.message}. Ask for fewer periods.`,
      );
    throw error;
  }
}

/** The latest plain run against the latest plain run at least `days` before it (or the one before it). */
export async function forecastChanges(
  db: Db,
  options: { kind: PeriodKind; days: number },
): Promise<ForecastChanges> {
  const runs = db
    .selectFrom('forecast_runs')
    .select(['id', 'as_of'])
    .where('scenario', 'is', null)
    .where('period_kind', '=', options.kind)
    .orderBy('as_of', 'desc')
    .orderBy('created_at', 'desc');
  const latest = await runs.executeTakeFirst();
  if (!latest)
    throw new AppError(
      'not_found',
      `No ${options.kind} forecast stored yet: run \`funnelgate forecast --period ${options.kind}\` first.`,
    );
  const cutoff = new Date(latest.as_of.getTime() - options.days * 86_400_000);
  const earlier =
    (await runs.where('as_of', '<=', cutoff).executeTakeFirst()) ??
    (await runs.where('id', '!=', latest.id).where('as_of', '<=', latest.as_of).executeTakeFirst());
  if (!earlier)
    throw new AppError(
      'not_found',
      'Only one forecast stored: changes need two (the job stores one every day).',
    );
  const [before, after] = await Promise.all([loadRun(db, earlier.id), loadRun(db, latest.id)]);
  const history = await loadOpportunityHistory(db);
  const outcome = new Map(history.map((o) => [o.id, { status: o.status, closedAt: o.closedAt }]));
  return explainChanges(before, after, outcome);
}

async function loadRun(db: Db, id: string) {
  const run = await db.selectFrom('forecast_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const periods = await db
    .selectFrom('forecast_run_periods')
    .selectAll()
    .where('run_id', '=', id)
    .orderBy('period_start')
    .execute();
  const deals: StoredDeal[] = await db
    .selectFrom('forecast_run_deals')
    .selectAll()
    .where('run_id', '=', id)
    .execute();
  return { id, asOf: run.as_of, periods, deals };
}

export interface ForecastError {
  period_kind: PeriodKind;
  label: string;
  period_start: Date;
  period_end: Date;
  run_id: string;
  as_of: Date;
  forecast: number;
  actual: number;
  /** (forecast - actual) / actual; null when nothing was won. */
  error: number | null;
}

/**
 * For the KPIs: every period that is over and was forecast, the forecast made closest to its start (the latest
 * plain run at or before the start, else the first one inside the period) against the value won in it.
 */
export async function latestForecastErrors(
  db: Db,
  options: { now?: Date; limit?: number } = {},
): Promise<ForecastError[]> {
  const now = options.now ?? new Date();
  const rows = await sql<{
    run_id: string;
    as_of: Date;
    period_kind: PeriodKind;
    label: string;
    period_start: Date;
    period_end: Date;
    expected: number;
  }>`
    select distinct on (r.period_kind, p.period_start)
           r.id as run_id, r.as_of, r.period_kind, p.label, p.period_start, p.period_end, p.expected
    from forecast_run_periods p
    join forecast_runs r on r.id = p.run_id and r.scenario is null
    where p.period_end <= ${now} and r.as_of < p.period_end
    order by r.period_kind, p.period_start,
             (r.as_of > p.period_start), abs(extract(epoch from r.as_of - p.period_start)), r.created_at desc
    limit ${options.limit ?? 100}`.execute(db);
  if (rows.rows.length === 0) return [];
  const history = await loadOpportunityHistory(db);
  return rows.rows.map((r) => {
    const actual = wonBetween(history, r.period_start.getTime(), r.period_end.getTime());
    return {
      period_kind: r.period_kind,
      label: r.label,
      period_start: r.period_start,
      period_end: r.period_end,
      run_id: r.run_id,
      as_of: r.as_of,
      forecast: Math.round(r.expected),
      actual: Math.round(actual),
      error: actual > 0 ? (r.expected - actual) / actual : null,
    };
  });
}
