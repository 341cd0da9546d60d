// The backtest: for each of the last N complete periods, forecast the period as of its first day with only what
// was known then (models refitted on the history before it), and compare with the value actually won in it.
// Next to it, two naive forecasts made at the same moment: last period's actual, and the stage-weighted
// pipeline (each open deal's amount times the historical win rate of its current stage). The range of each
// period is calibrated as a live forecast's is (interval.ts): on the scores of the K periods before it, themselves
// forecast as of their first day (K more forecasts before the first period), so its coverage is out of sample.
import { forecastPipeline, type PeriodForecast } from './forecast.ts';
import type { HazardModelOptions } from './hazard-model.ts';
import { fallbackAmounts } from './hazard-model.ts';
import { isOpenAt, stateAt, wonAmount, type OpportunityHistory } from './history.ts';
import { calibratedRange, calibrationScore } from './interval.ts';
import { periodContaining, previousPeriod, type Period, type PeriodKind } from './periods.ts';

export interface BacktestPeriod {
  period: string;
  as_of: string;
  actual: number;
  forecast: number;
  /** The calibrated range (the Monte Carlo's when fewer than two earlier periods could be scored). */
  p10: number;
  p90: number;
  /** The Monte Carlo's own range. */
  p10_monte_carlo: number;
  p90_monte_carlo: number;
  /** Earlier periods whose errors calibrated the range. */
  calibration_periods: number;
  last_period: number;
  stage_weighted: number;
  /** (forecast - actual) / actual for each method; null when nothing was won. */
  error: { forecast: number | null; last_period: number | null; stage_weighted: number | null };
}

export interface BacktestSummary {
  kind: PeriodKind;
  periods: BacktestPeriod[];
  /** Mean absolute percentage error and mean signed percentage error (bias), over periods with an actual. */
  mape: { forecast: number; last_period: number; stage_weighted: number };
  bias: { forecast: number; last_period: number; stage_weighted: number };
  /** Σ forecast / Σ actual − 1 over the periods: the bias of the total, not weighted towards small periods. */
  total_error: { forecast: number; last_period: number; stage_weighted: number };
  /** Share of periods whose actual fell inside the P10–P90 range (nominal 80 %), calibrated and Monte Carlo. */
  coverage_p10_p90: number;
  coverage_p10_p90_monte_carlo: number;
  /** Mean (P90 − P10) / actual: what the coverage costs in width. */
  width_p10_p90: number;
  width_p10_p90_monte_carlo: number;
  /** Earlier periods forecast to calibrate the first one's range (K). */
  calibration_periods: number;
}

export interface BacktestOptions {
  asOf: number;
  kind: PeriodKind;
  periods: number;
  hazard?: Partial<HazardModelOptions>;
  /** K: how many earlier periods calibrate each range (default 9 months, 4 quarters; 0 = Monte Carlo only). */
  calibrationPeriods?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * With n scores, split-conformal takes the ⌈0.8 (n + 1)⌉-th smallest: 9 months and 4 quarters make that exactly
 * 80 % (8 / 10, 4 / 5) while keeping the window within a year.
 */
export function defaultCalibrationPeriods(kind: PeriodKind): number {
  return kind === 'month' ? 9 : 4;
}

interface PastForecast {
  period: Period;
  forecast: PeriodForecast | null;
  actual: number;
  score: number | null;
}

/** Each period forecast as of its first day (null when there was too little history then), with its score. */
function forecastPeriods(
  opportunities: readonly OpportunityHistory[],
  kind: PeriodKind,
  periods: readonly Period[],
  hazard: Partial<HazardModelOptions> | undefined,
  mayFail: (i: number) => boolean,
  onDone?: (i: number) => void,
): PastForecast[] {
  return periods.map((period, i) => {
    const actual = wonBetween(opportunities, period.start, period.end);
    let forecast: PeriodForecast | null = null;
    try {
      forecast = forecastPipeline(opportunities, {
        asOf: period.start,
        kind,
        simulations: 1000,
        ...(hazard ? { hazard } : {}),
      }).periods[0];
    } catch (error) {
      if (!(error instanceof RangeError) || !mayFail(i)) throw error;
    }
    onDone?.(i);
    const score =
      forecast &&
      calibrationScore(
        actual - forecast.wonToDate,
        forecast.expected - forecast.wonToDate,
        forecast.monteCarlo.p10 - forecast.wonToDate,
        forecast.monteCarlo.p90 - forecast.wonToDate,
      );
    return { period, forecast, actual, score: score ?? null };
  });
}

/** The last `count` periods complete by `asOf`, oldest first. */
function periodsBefore(kind: PeriodKind, asOf: number, count: number): Period[] {
  const out: Period[] = [];
  let period = previousPeriod(periodContaining(kind, asOf));
  while (out.length < count) {
    out.unshift(period);
    period = previousPeriod(period);
  }
  return out;
}

/**
 * The scores that calibrate a forecast as of `asOf`: the last `periods` complete periods, each forecast as of
 * its first day with what was known then (periods with too little history are left out).
 */
export function calibrationScores(
  opportunities: readonly OpportunityHistory[],
  options: { asOf: number; kind: PeriodKind; periods?: number; hazard?: Partial<HazardModelOptions> },
): number[] {
  const count = options.periods ?? defaultCalibrationPeriods(options.kind);
  const past = forecastPeriods(
    opportunities,
    options.kind,
    periodsBefore(options.kind, options.asOf, count),
    options.hazard,
    () => true,
  );
  return past.flatMap((p) => (p.score === null ? [] : [p.score]));
}

const METHODS = ['forecast', 'last_period', 'stage_weighted'] as const;

export function backtest(
  opportunities: readonly OpportunityHistory[],
  options: BacktestOptions,
): BacktestSummary {
  const k = Math.max(0, options.calibrationPeriods ?? defaultCalibrationPeriods(options.kind));
  const all = periodsBefore(options.kind, options.asOf, options.periods + k);
  const total = all.length;
  const past = forecastPeriods(
    opportunities,
    options.kind,
    all,
    options.hazard,
    (i) => i < k,
    (i) => options.onProgress?.(i + 1, total),
  );
  const rows: BacktestPeriod[] = [];
  for (let i = k; i < all.length; i++) {
    const { period: target, forecast: f, actual } = past[i]!;
    const forecast = f!;
    const origin = target.start;
    const scores = past.slice(i - k, i).flatMap((p) => (p.score === null ? [] : [p.score]));
    const range = calibratedRange(
      forecast.expected - forecast.wonToDate,
      forecast.monteCarlo.p10 - forecast.wonToDate,
      forecast.monteCarlo.p90 - forecast.wonToDate,
      scores,
    );
    const lastPeriod = wonBetween(opportunities, previousPeriod(target).start, origin);
    const stageWeighted = stageWeightedPipeline(opportunities, origin);
    const error = (value: number) => (actual > 0 ? (value - actual) / actual : null);
    rows.push({
      period: target.label,
      as_of: new Date(origin).toISOString(),
      actual: Math.round(actual),
      forecast: Math.round(forecast.expected),
      p10: Math.round(forecast.wonToDate + range.p10),
      p90: Math.round(forecast.wonToDate + range.p90),
      p10_monte_carlo: Math.round(forecast.monteCarlo.p10),
      p90_monte_carlo: Math.round(forecast.monteCarlo.p90),
      calibration_periods: scores.length,
      last_period: Math.round(lastPeriod),
      stage_weighted: Math.round(stageWeighted),
      error: {
        forecast: error(forecast.expected),
        last_period: error(lastPeriod),
        stage_weighted: error(stageWeighted),
      },
    });
  }
  const scored = rows.filter((r) => r.actual > 0);
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  const metric = (f: (e: number) => number) =>
    Object.fromEntries(
      METHODS.map((m) => [m, round(mean(scored.map((r) => f(r.error[m]!))), 4)]),
    ) as BacktestSummary['mape'];
  const sum = (f: (r: BacktestPeriod) => number) => scored.reduce((a, r) => a + f(r), 0);
  const actualTotal = sum((r) => r.actual);
  const totalError = Object.fromEntries(
    METHODS.map((m) => [
      m,
      actualTotal > 0 ? round(sum((r) => r.actual * (1 + r.error[m]!)) / actualTotal - 1, 4) : 0,
    ]),
  ) as BacktestSummary['total_error'];
  const inside = (lo: number, hi: number, actual: number) => (actual >= lo && actual <= hi ? 1 : 0);
  return {
    kind: options.kind,
    periods: rows,
    mape: metric(Math.abs),
    bias: metric((e) => e),
    total_error: totalError,
    coverage_p10_p90: round(mean(scored.map((r) => inside(r.p10, r.p90, r.actual))), 3),
    coverage_p10_p90_monte_carlo: round(
      mean(scored.map((r) => inside(r.p10_monte_carlo, r.p90_monte_carlo, r.actual))),
      3,
    ),
    width_p10_p90: round(mean(scored.map((r) => (r.p90 - r.p10) / r.actual)), 3),
    width_p10_p90_monte_carlo: round(
      mean(scored.map((r) => (r.p90_monte_carlo - r.p10_monte_carlo) / r.actual)),
      3,
    ),
    calibration_periods: k,
  };
}

export function wonBetween(opportunities: readonly OpportunityHistory[], from: number, to: number): number {
  let sum = 0;
  for (const o of opportunities)
    if (o.status === 'won' && o.closedAt !== null && o.closedAt >= from && o.closedAt < to)
      sum += wonAmount(o);
  return sum;
}

/** Σ open deals' amount x the win rate of deals that were in the same stage and closed before `at`. */
export function stageWeightedPipeline(opportunities: readonly OpportunityHistory[], at: number): number {
  const visits = new Map<string, { won: number; closed: number }>();
  for (const o of opportunities) {
    if (o.closedAt === null || o.closedAt > at) continue;
    for (const stage of new Set(o.stages.map((s) => s.stage))) {
      const v = visits.get(stage) ?? { won: 0, closed: 0 };
      v.closed++;
      if (o.status === 'won') v.won++;
      visits.set(stage, v);
    }
  }
  const overall = opportunities.filter((o) => o.closedAt !== null && o.closedAt <= at);
  const overallRate = overall.length ? overall.filter((o) => o.status === 'won').length / overall.length : 0;
  const fallback = fallbackAmounts(opportunities, at);
  let sum = 0;
  for (const o of opportunities) {
    if (!isOpenAt(o, at)) continue;
    const state = stateAt(o, at);
    const v = visits.get(state.stage);
    const rate = v && v.closed >= 5 ? v.won / v.closed : overallRate;
    sum +=
      rate *
      (state.amount !== null && state.amount > 0
        ? state.amount
        : (fallback.byProduct[o.product] ?? fallback.overall));
  }
  return sum;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
